// The factorization's block decompositions (scaleq::BlockSVD, scaleq::GramEigensolver) are
// compiled once per scalar type, in block_decompositions_real.cpp and _complex.cpp; the units
// that call them only declare them. They are most of what compiling the factorization costs,
// in time and in memory, and these two units build in parallel with the rest.
#pragma once

#include <complex>
#include <type_traits>

#include "scaleq/factorize.hpp"

extern template class Eigen::JacobiSVD<Eigen::MatrixXd>;
extern template class Eigen::JacobiSVD<Eigen::MatrixXcd>;
extern template class Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>;
extern template class Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd>;

static_assert(std::is_same_v<scaleq::BlockMatrix<double>, Eigen::MatrixXd>);
static_assert(std::is_same_v<scaleq::BlockMatrix<std::complex<double>>, Eigen::MatrixXcd>);
