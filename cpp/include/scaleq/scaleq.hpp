// Umbrella header: everything scaleq offers to C++ users.
#pragma once

#include "scaleq/factorize.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one.hpp"
