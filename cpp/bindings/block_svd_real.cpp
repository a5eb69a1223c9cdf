// The real block SVD, instantiated once (see block_svd.hpp).
#include "block_svd.hpp"

template class Eigen::JacobiSVD<Eigen::MatrixXd>;
