// The real block decompositions, instantiated once (see block_decompositions.hpp).
#include "block_decompositions.hpp"

template class Eigen::JacobiSVD<scaleq::BlockMatrix<double>>;
template void scaleq::detail::gram_top_singular_pair<double>(const scaleq::BlockMatrix<double>&,
                                                             scaleq::BlockVector<double>&, scaleq::BlockVector<double>&,
                                                             double&);
