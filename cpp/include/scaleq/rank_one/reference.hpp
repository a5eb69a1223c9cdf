// The paper's Algorithm 1, literally: every midpoint λ evaluated from scratch.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/cost.hpp"
#include "scaleq/rank_one/memory.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/rescale.hpp"

namespace scaleq {

// The paper's Algorithm 1, literally: for every midpoint λ of consecutive breakpoints,
// x̂ = round(λx), μ = xᵀx̂/‖x̂‖², ŷ = round(μy), keep the smallest cost. O((m+n)·#breakpoints).
inline RankOneResult rank_one_reference_unscaled(const std::vector<double>& x, const std::vector<double>& y,
                                                 const Format& fx, const Format& fy, bool quantize_y = true,
                                                 LamWindow window = {}) {
  using namespace detail;
  check_vector(x, "x");
  check_vector(y, "y");
  check_window(window);
  if (is_zero(x) || is_zero(y)) return trivial_result(x, y, fx, fy, quantize_y);
  // Algorithm 1 sweeps x; an F_t x against a bounded ŷ needs the bounded side swept instead
  // (sweep_y_side: λ ∈ (1, 2) is then not enough)
  if (quantize_y && !fx.bounded && fy.bounded) {
    RankOneResult r = rank_one_reference_unscaled(y, x, fy, fx, true);
    std::swap(r.x, r.y);
    std::swap(r.lam, r.mu);
    return r;
  }
  const auto gx = make_grid(fx);
  std::size_t entries = 0;
  const std::size_t nx = count_breakpoints(x, fx, *gx, window.lo, window.hi, entries);
  // list, sort scratch and one group end (8 B) per breakpoint
  const std::size_t need = grid_bytes(*gx) + kEntryBytes * entries + (kSweptBytes + sizeof(std::size_t)) * nx;
  const bool windowed = window.restricts(fx);
  if (need > memory_budget()) over_memory_budget(nx, double(need), fx, windowed, 0);
  MemoryReservation reservation(need);
  if (!reservation.ok()) over_memory_budget(nx, double(need), fx, windowed, MemoryLedger::global().pinned());
  const Side sx = prepare_side(x, fx, gx, window.lo, window.hi, nx);
  // positions in the sorted list after each distinct breakpoint: 0 (λ_0), then one per group
  std::vector<std::size_t> ends{0};
  for (std::size_t i = 0; i < sx.bps.size();) {
    std::size_t j = i + 1;
    while (j < sx.bps.size() && sx.exact_equal(sx.bps[j], sx.bps[i])) ++j;
    ends.push_back(j);
    i = j;
  }
  // normalized λ → original units
  const double scale = std::ldexp(1.0, fx.bounded ? -sx.E : -overflow_shift(sx));
  double best = std::numeric_limits<double>::infinity(), best_lam = 1.0;
  std::vector<double> best_xh;
  for (std::size_t pos : ends) {
    poll_interrupt();  // O(m + n) per midpoint
    const double lam = interval_mid(sx, pos) * scale;
    std::vector<double> xh = round_vector(x, lam, fx);
    const std::vector<double> yh = y_side(y, optimal_mu(x, xh, sx.E), fy, quantize_y);
    const double c = relative_error(x, y, xh, yh);
    if (c < best) {
      best = c;
      best_lam = lam;
      best_xh = std::move(xh);
    }
  }
  RankOneResult r = finish(x, y, std::move(best_xh), best_lam, sx.E, fx, fy, quantize_y);
  r.breakpoints = ends.size() - 1;
  return r;
}

// rank_one_reference_unscaled with the prescaling of rank_one_sweep.
inline RankOneResult rank_one_reference(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                        const Format& fy, bool quantize_y = true, LamWindow window = {}) {
  return detail::solve_checked(x, y, fx, fy, quantize_y, window,
                               [&](const std::vector<double>& xs, const std::vector<double>& ys) {
                                 return rank_one_reference_unscaled(xs, ys, fx, fy, quantize_y, window);
                               });
}

}  // namespace scaleq
