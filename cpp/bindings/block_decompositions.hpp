// The factorization's dense block algebra (scaleq::BlockSVD, scaleq::detail::gram_top_singular_pair) is
// compiled once per scalar type, in block_decompositions_real.cpp and _complex.cpp; the units
// that call it only declare it. It is most of what compiling the factorization costs, in time
// and in memory, and these two units build in parallel with the rest.
#pragma once

#include <complex>

#include "scaleq/factorize.hpp"

extern template class Eigen::JacobiSVD<scaleq::BlockMatrix<double>>;
extern template class Eigen::JacobiSVD<scaleq::BlockMatrix<std::complex<double>>>;
extern template void scaleq::detail::gram_top_singular_pair<double>(const scaleq::BlockMatrix<double>&,
                                                                    scaleq::BlockVector<double>&,
                                                                    scaleq::BlockVector<double>&, double&);
extern template void scaleq::detail::gram_top_singular_pair<std::complex<double>>(
    const scaleq::BlockMatrix<std::complex<double>>&, scaleq::BlockVector<std::complex<double>>&,
    scaleq::BlockVector<std::complex<double>>&, double&);
