// The real block decompositions, instantiated once (see block_decompositions.hpp).
#include "block_decompositions.hpp"

template class Eigen::JacobiSVD<Eigen::MatrixXd>;
template class Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>;
