// The fast solver: one walk over the sorted breakpoints, xᵀx̂ and ‖x̂‖² updated in O(1)
// per crossing, ŷ's side read off the prefix table.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "scaleq/detail/double_double.hpp"
#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/bounded.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/cost.hpp"
#include "scaleq/rank_one/direct_y.hpp"
#include "scaleq/rank_one/memory.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/reference.hpp"
#include "scaleq/rank_one/rescale.hpp"

namespace scaleq {

namespace detail {

// Range of μ = A/B over the sweep's states with x̂ ≠ 0 ({0, 0} when there is none), A, B
// rescaled as the cost model sees them. Every state the sweep evaluates is among these.
inline std::pair<double, double> mu_range(const Side& sx, int ashift) {
  DD A, B;
  for (std::uint32_t j = 0; j < sx.m.size(); ++j) {
    A = A + contrib1(sx, j, sx.k0[j]);
    B = B + contrib2(sx, j, sx.k0[j]);
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
  auto visit = [&]() {
    if (B.hi <= 0.0) return;
    const double mu = std::ldexp(A.hi / B.hi, -ashift);  // (A·2^s)/(B·4^s)
    lo = std::min(lo, mu);
    hi = std::max(hi, mu);
  };
  visit();
  std::size_t n = 0;
  for (const Breakpoint& bp : sx.bps) {
    if ((++n & ((std::size_t(1) << 20) - 1)) == 0) poll_interrupt();
    A = A + delta1(sx, bp.coord, bp.k);
    B = B + delta2(sx, bp.coord, bp.k);
    visit();
  }
  return hi > 0.0 ? std::make_pair(lo, hi) : std::make_pair(0.0, 0.0);
}

}  // namespace detail

// The fast solver. fx, fy: formats of x̂ and ŷ; quantize_y = false leaves ŷ = μy free.
// Cost O((m+n)·G·log(m+n)) with G = 2^(t−1) breakpoints per entry (unbounded F_t) or the
// number of positive values of a bounded format.
// rank_one_sweep without the power-of-two prescaling of F_t sides (see rank_one_sweep).
inline RankOneResult rank_one_sweep_unscaled(const std::vector<double>& x, const std::vector<double>& y,
                                             const Format& fx, const Format& fy, bool quantize_y = true,
                                             std::shared_ptr<const detail::Grid> gx = nullptr,
                                             std::shared_ptr<const detail::Grid> gy = nullptr, LamWindow window = {}) {
  using namespace detail;
  check_vector(x, "x");
  check_vector(y, "y");
  check_window(window);
  const bool windowed = window.restricts(fx);
  if (is_zero(x) || is_zero(y)) return trivial_result(x, y, fx, fy, quantize_y);
  // Which side's breakpoints to loop over: sweep_y_side (a λ window is x's, so it pins the sides).
  if (quantize_y && !windowed && sweep_y_side(x.size(), y.size(), fx, fy)) {
    RankOneResult r = rank_one_sweep_unscaled(y, x, fy, fx, true, gy, gx);
    std::swap(r.x, r.y);
    std::swap(r.lam, r.mu);
    return r;
  }
  // Memory: every buffer counted, and reserved in the process-wide ledger (shared with the
  // other problems of a batch and other calls), before anything large is allocated.
  std::size_t own = 0;  // bytes of the grids built here (a batch pins the grids it shares)
  if (!gx) {
    gx = make_grid(fx);
    own += grid_bytes(*gx);
  }
  if (quantize_y && !gy) {
    gy = make_grid(fy);
    own += grid_bytes(*gy);
  }
  std::size_t ex = 0, ey = 0, ny = 0;
  const std::size_t nx = count_breakpoints(x, fx, *gx, window.lo, window.hi, ex);
  if (quantize_y) ny = count_breakpoints(y, fy, *gy, 0.0, std::numeric_limits<double>::infinity(), ey);
  // a short swept x against a long F_t y: ŷ read at each state, no table (rank_one/direct_y.hpp)
  const bool direct = quantize_y && !fy.bounded && direct_y_pays(ex, ey);
  const std::size_t base =
      own + kEntryBytes * (ex + ey) + kSweptBytes * nx + (quantize_y && !fy.bounded && !direct ? kTableBytes * ny : 0);
  // a bounded ŷ side is windowed to the μ of x's states, known only after x's sweep: reserve
  // for its whole count (an upper bound), at most the budget, and check the windowed count
  const std::size_t reserve = quantize_y && fy.bounded ? std::min(memory_budget(), base + kTableBytes * ny) : base;
  if (base > memory_budget()) over_memory_budget(nx + (fy.bounded ? 0 : ny), double(base), fx, windowed, 0);
  MemoryReservation reservation(reserve);
  if (!reservation.ok())
    over_memory_budget(nx + (fy.bounded ? 0 : ny), double(reserve), fx, windowed, MemoryLedger::global().pinned());
  // The two sides are independent: prepare them concurrently (a no-op when nested in
  // another parallel region, e.g. a batch of problems).
  Side sx, sy;
  std::unique_ptr<PrefixTable> table;
  std::unique_ptr<DirectY> direct_y;
  ErrorCapture capture;
  // (a bounded ŷ side is prepared after x's, for the μ window x's states need: nothing to overlap)
  const bool par = quantize_y && !fy.bounded && !direct &&
                   (x.size() + y.size()) * (std::size_t(1) << std::min(fx.t, 20)) > (1u << 16);
#pragma omp parallel sections num_threads(2) if (par && detail::team_size() >= 2)
  {
#pragma omp section
    {
      capture.run([&] { sx = prepare_side(x, fx, gx, window.lo, window.hi, nx); });
    }
#pragma omp section
    {
      if (quantize_y && !fy.bounded && !direct) {
        capture.run([&] {
          sy = prepare_side(y, fy, gy, 0.0, std::numeric_limits<double>::infinity(), ny);
          table = std::make_unique<PrefixTable>(sy);
        });
      }
    }
  }
  capture.rethrow();
  // Bounded x̂ values are absolute while x' = x·2^−Ex: rescale A, B to normalized x̂'.
  const int ashift = fx.bounded ? -sx.E : 0;
  if (quantize_y && fy.bounded) {
    // A bounded ŷ side would enumerate every binade of the format. The sweep only asks for
    // μ = xᵀx̂/‖x̂‖² of the states it visits: one cheap pass finds their range, and y's
    // breakpoints are generated for that window only (widened far beyond rounding noise).
    const auto [mu_lo, mu_hi] = mu_range(sx, ashift);
    const double ylo = mu_lo > 0.0 ? mu_lo * (1.0 - 0x1p-20) : 0.0;
    const double yhi = mu_lo > 0.0 ? mu_hi * (1.0 + 0x1p-20) : std::numeric_limits<double>::infinity();
    const std::size_t nyw = count_breakpoints(y, fy, *gy, ylo, yhi, ey);
    if (base + kTableBytes * nyw > reserve)
      over_memory_budget(nx + nyw, double(base + kTableBytes * nyw), fx, windowed, 0);
    sy = prepare_side(y, fy, gy, ylo, yhi, nyw);
    table = std::make_unique<PrefixTable>(sy);
  }
  if (direct) direct_y = std::make_unique<DirectY>(y, fy, gy);
  const Side* ys = direct ? &direct_y->s : (quantize_y ? &sy : nullptr);
  const DD y2 = quantize_y ? ys->norm2 : DD{1.0, 0.0};
  const CostModel cost{ys, table.get(), sx.norm2, sx.norm2 * y2, direct_y.get()};

  DD A, B;
  for (std::uint32_t j = 0; j < sx.m.size(); ++j) {
    A = A + contrib1(sx, j, sx.k0[j]);
    B = B + contrib2(sx, j, sx.k0[j]);
  }
  // 2^ashift and 4^ashift as plain factors (exact) when representable: ldexp is a libm call
  const bool direct_scale = ashift > -500 && ashift < 500;
  const double sa = direct_scale ? pow2(ashift) : 1.0, sb = sa * sa;
  auto eval = [&]() {
    if (ashift == 0) return cost(A, B);
    if (direct_scale) return cost(DD{A.hi * sa, A.lo * sa}, DD{B.hi * sb, B.lo * sb});
    return cost(ldexp(A, ashift), ldexp(B, 2 * ashift));
  };
  DD best = eval();
  // Mathematically equal costs (e.g. proportional x̂ when ŷ is free) differ here by
  // double-double noise, ~1e-32 of the terms: a later state must beat the best by more
  // than that to win, so exact ties keep the smallest λ (docs/design.md §3).
  const double tie_tol = 1e-28 * (quantize_y ? cost.x2y2.hi : cost.x2.hi);
  std::size_t best_pos = 0, groups = 0;
  const std::vector<Breakpoint>& bps = sx.bps;
  for (std::size_t i = 0, polled = 0; i < bps.size();) {
    if (i - polled > (std::size_t(1) << 18)) poll_interrupt(), polled = i;
    std::size_t j = i;
    do {  // cross a group of exactly equal breakpoints together
      const Breakpoint& bp = bps[j];
      A = A + delta1(sx, bp.coord, bp.k);
      B = B + delta2(sx, bp.coord, bp.k);
      ++j;
    } while (j < bps.size() && sx.exact_equal(bps[j], bps[i]));
    ++groups;
    // ŷ free: a plain-double estimate of ‖x‖² − A²/B (error ~1e-16·‖x‖²) rules out most
    // states before the double-double evaluation.
    if (!quantize_y && B.hi > 0.0) {  // A²/B is invariant under the 2^ashift rescaling
      if (cost.x2.hi - A.hi * (A.hi / B.hi) > best.hi + 1e-12 * cost.x2.hi) {
        i = j;
        continue;
      }
    }
    // ŷ quantized: its cost is at least the free ŷ's, ‖y‖²(‖x‖² − A²/B) — a screen without the
    // table lookup — then the same screen on the table's plain-double prefix sums
    if (quantize_y && B.hi > 0.0 && y2.hi * (cost.x2.hi - A.hi * (A.hi / B.hi)) > best.hi + 1e-12 * cost.x2y2.hi) {
      i = j;
      continue;
    }
    if (quantize_y && direct_scale && cost.exceeds(A.hi * sa, B.hi * sb, best.hi)) {
      i = j;
      continue;
    }
    const DD c = eval();
    if ((c.hi - best.hi) + (c.lo - best.lo) < -tie_tol) {
      best = c;
      best_pos = j;
    }
    i = j;
  }
  const double lam_norm = interval_mid(sx, best_pos);
  const double lam = fx.bounded ? std::ldexp(lam_norm, -sx.E) : std::ldexp(lam_norm, -overflow_shift(sx));
  RankOneResult r = finish(x, y, replay_state(sx, x, best_pos), lam, sx.E, fx, fy, quantize_y);
  r.breakpoints = groups;
  return r;
}

// The fast solver with F_t sides prescaled to a safe exponent range (detail::solve_rescaled):
// the optimum over F_t within the double range for subnormal, huge and mixed-range inputs;
// bounded sides beyond the fast solvers' exact range go to the reference (fast_solver_in_range).
inline RankOneResult rank_one_sweep(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                    const Format& fy, bool quantize_y = true,
                                    std::shared_ptr<const detail::Grid> gx = nullptr,
                                    std::shared_ptr<const detail::Grid> gy = nullptr, LamWindow window = {}) {
  // A bounded side: first F_t's optimum (one binade of λ), kept when a power of two moves it
  // into the bounded formats (rank_one/bounded.hpp); otherwise the top binades, or every
  // binade.
  RankOneResult shifted;
  if (detail::solve_by_shift(
          x, y, fx, fy, quantize_y, window,
          [&](const Format& ux, const Format& uy) { return rank_one_sweep(x, y, ux, uy, quantize_y); }, shifted))
    return shifted;
  // otherwise only the top binades of λ (rank_one/bounded.hpp)
  if (detail::solve_in_top_binades(
          x, y, fx, fy, quantize_y, window,
          [&](const std::vector<double>& xa, const std::vector<double>& ya, const Format& fxa, const Format& fya,
              const LamWindow& w, bool swapped) {
            return rank_one_sweep(xa, ya, fxa, fya, quantize_y, swapped ? gy : gx, swapped ? gx : gy, w);
          },
          shifted))
    return shifted;
  return detail::solve_checked(x, y, fx, fy, quantize_y, window,
                               [&](const std::vector<double>& xs, const std::vector<double>& ys) {
                                 if (!detail::fast_solver_in_range(xs, ys, fx, fy, quantize_y, window))
                                   return rank_one_reference_unscaled(xs, ys, fx, fy, quantize_y, window);
                                 return rank_one_sweep_unscaled(xs, ys, fx, fy, quantize_y, gx, gy, window);
                               });
}

}  // namespace scaleq
