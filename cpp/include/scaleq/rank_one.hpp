// Optimal rank-one quantization (Gribonval–Mary–Riccietti, Theorem 2.3):
// the x̂ŷᵀ closest to xyᵀ in Frobenius norm with x̂, ŷ in a format.
//
// An optimum is x̂ = round(λx), ŷ = round(μy) with μ = xᵀx̂/‖x̂‖² and λ the midpoint
// of two consecutive breakpoints of λ ↦ round(λx). Two solvers share the breakpoints:
//  * rank_one_reference: the paper's Algorithm 1, literally — O(m+n) per midpoint.
//  * rank_one_sweep: walks the sorted breakpoints updating xᵀx̂ and ‖x̂‖² in O(1);
//    the ŷ side is read off prefix sums over y's sorted breakpoints (galloping search).
// Unbounded F_t: λ ∈ (1, 2) suffices by the power-of-two invariance. Bounded formats:
// the invariance breaks (subnormals, saturation), so λ ranges over (0, ∞); a bounded format
// is a subset of F_t, so F_t's optimum is used when a power of two moves it into the format;
// otherwise, with one bounded side, only λ's top binades, and with two, every breakpoint of
// the finite formats.
//
// This header gathers the pieces (cpp/include/scaleq/rank_one/):
//   problem.hpp      RankOneResult, LamWindow, input checks
//   breakpoints.hpp  grids, breakpoints and their exact sort, Side (one prepared vector)
//   memory.hpp       bytes per breakpoint, the memory-budget check
//   cost.hpp         prefix table, cost model, relative_error, optimal μ, result assembly
//   direct_y.hpp     ŷ's side read at each state without a table (short swept sides)
//   rescale.hpp      power-of-two prescaling of extreme inputs (solve_checked)
//   bounded.hpp      a bounded format's optimum from F_t's, moved by a power of two, or
//                    from λ's top binades
//   reference.hpp    rank_one_reference (Algorithm 1)
//   sweep.hpp        rank_one_sweep
//   batch.hpp        rank_one_batch
//   small.hpp        rank_one_small, the allocation-free solver of vectors of <= 8 entries
//   complex_cells.hpp complex_rank_one: complex x, y, by the cells of the λ-plane arrangement
//   complex_phases.hpp complex_rank_one_phases: the fast complex solver (phases of λ, certified gap)
// and double-double arithmetic lives in detail/double_double.hpp.
#pragma once

#include "scaleq/rank_one/batch.hpp"
#include "scaleq/rank_one/bounded.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/complex_cells.hpp"
#include "scaleq/rank_one/complex_phases.hpp"
#include "scaleq/rank_one/cost.hpp"
#include "scaleq/rank_one/direct_y.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/reference.hpp"
#include "scaleq/rank_one/rescale.hpp"
#include "scaleq/rank_one/small.hpp"
#include "scaleq/rank_one/sweep.hpp"
