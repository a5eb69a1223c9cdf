// The factorization's block SVD (scaleq::BlockSVD) is compiled once per scalar type, in
// block_svd_real.cpp and block_svd_complex.cpp; the units that call it only declare it.
// JacobiSVD is most of what compiling the factorization costs, in time and in memory.
#pragma once

#include <complex>
#include <type_traits>

#include "scaleq/factorize.hpp"

extern template class Eigen::JacobiSVD<Eigen::MatrixXd>;
extern template class Eigen::JacobiSVD<Eigen::MatrixXcd>;

static_assert(std::is_same_v<scaleq::BlockSVD<double>, Eigen::JacobiSVD<Eigen::MatrixXd>>);
static_assert(std::is_same_v<scaleq::BlockSVD<std::complex<double>>, Eigen::JacobiSVD<Eigen::MatrixXcd>>);
