// The rank-one solvers' memory accounting: bytes per breakpoint and per entry, checked
// against the process-wide budget before anything large is allocated.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "scaleq/detail/double_double.hpp"
#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"

namespace scaleq {

namespace detail {

// ---- memory: every buffer of a sweep counted before any is allocated ----
// Per breakpoint of the swept side: the sorted list (16 B) and the radix sort's scratch copy
// (16 B; inplace_merge's buffer is no larger). Per breakpoint of a quantized ŷ side: its
// list (16 B) and prefix table (λ 8 B, two double-doubles 32 B); its sort scratch is freed
// before the table is built. Per nonzero entry: index, m, c, exponent, start, range and run
// start (52 B), twice that for vector growth.
constexpr std::size_t kSweptBytes = 2 * sizeof(Breakpoint);
constexpr std::size_t kTableBytes = sizeof(Breakpoint) + sizeof(double) + 2 * sizeof(DD);
constexpr std::size_t kEntryBytes = 128;

inline std::size_t grid_bytes(const Grid& g) { return (g.vals.capacity() + g.mids.capacity()) * sizeof(double); }

// What over_memory_budget throws (a ValueError in Python): a solver that tries a cheaper path
// first can tell it from other errors and let the full path state its own way out.
struct OverMemoryBudget : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

[[noreturn]] inline void over_memory_budget(std::size_t breakpoints, double bytes, const Format& fx, bool windowed,
                                            std::size_t pinned) {
  std::string msg = "rank-one quantization would enumerate " + std::to_string(breakpoints) +
                    " breakpoints and hold about " + format_bytes(bytes) + ", over the memory budget of " +
                    format_bytes(double(memory_budget())) + " (environment variable SCALEQ_MEMORY_BUDGET_MB)";
  if (pinned) msg += ", of which " + format_bytes(double(pinned)) + " are held by shared tables";
  msg += ": ";
  if (fx.bounded && !windowed)
    msg +=
        "pass lam_window=(1, 2) (one binade of lambda: the optimum up to a power-of-two scale, with x "
        "pre-scaled to its top binade), ";
  msg += "use a format with a smaller t (2^(t-1) breakpoints per entry and binade), or split the vectors";
  throw OverMemoryBudget(msg);
}

}  // namespace detail

}  // namespace scaleq
