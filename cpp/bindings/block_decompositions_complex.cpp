// The complex block decompositions, instantiated once (see block_decompositions.hpp).
#include "block_decompositions.hpp"

template class Eigen::JacobiSVD<Eigen::MatrixXcd>;
template class Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd>;
