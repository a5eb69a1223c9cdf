// Umbrella header: everything scaleq offers to C++ users.
#pragma once

#include "scaleq/block_scale.hpp"
#include "scaleq/chain_quant.hpp"
#include "scaleq/factorize.hpp"
#include "scaleq/format.hpp"
#include "scaleq/frames.hpp"
#include "scaleq/int_block_scale.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/kron_sparse_error.hpp"
#include "scaleq/kron_sparse_error_dyadic.hpp"
#include "scaleq/rank_one.hpp"
#include "scaleq/sigma_delta.hpp"
