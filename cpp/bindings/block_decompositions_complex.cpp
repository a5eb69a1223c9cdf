// The complex block decompositions, instantiated once (see block_decompositions.hpp).
#include "block_decompositions.hpp"

template class Eigen::JacobiSVD<scaleq::BlockMatrix<std::complex<double>>>;
template void scaleq::detail::gram_top_singular_pair<std::complex<double>>(
    const scaleq::BlockMatrix<std::complex<double>>&, scaleq::BlockVector<std::complex<double>>&,
    scaleq::BlockVector<std::complex<double>>&, double&);
