// Bounded formats through F_t: a bounded format with t significant bits is a subset of F_t
// (its normals and subnormals all have at most t bits), so its rank-one optimum is never
// below F_t's. When F_t's optimum x̂ŷᵀ, moved by a power of two (2^a·x̂, 2^−a·ŷ: the same
// product), lies in the bounded formats, it is their optimum too — found by one F_t solve
// (λ in one binade) and a scan of the shifts a, instead of every binade of the format.
// docs/design.md §3 states the argument and why λ·2^a still rounds x to 2^a·x̂.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/cost.hpp"
#include "scaleq/rank_one/memory.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/rescale.hpp"

namespace scaleq {

namespace detail {

// Does the shift path apply? A bounded side is involved and no λ window pins λ's binade.
inline bool shift_path_applies(const Format& fx, const Format& fy, bool quantize_y, const LamWindow& window) {
  return (fx.bounded || (quantize_y && fy.bounded)) && !window.restricts(fx);
}

// The F_t format a bounded format is a subset of (an F_t format maps to itself).
inline Format enclosing_unbounded(const Format& f) { return Format::unbounded(f.t); }

// The shifts a for which every entry of 2^a·v lies in f: an interval [lo, hi] where all
// nonzero entries are normal numbers of f (no check needed there), and a few shifts below
// it where the smallest entries become subnormal, representable only with trailing zeros.
struct ShiftRange {
  int lo = 0, normal_lo = 0, hi = -1;  // empty when lo > hi
};

inline ShiftRange shift_range(const std::vector<double>& v, const Format& f) {
  ShiftRange s;
  double mx = 0.0, mn = std::numeric_limits<double>::infinity();
  for (double a : v) {
    if (a == 0.0) continue;
    mx = std::max(mx, std::fabs(a));
    mn = std::min(mn, std::fabs(a));
  }
  if (mx == 0.0) {  // all zero: any shift
    s.lo = s.normal_lo = -2000;
    s.hi = 2000;
    return s;
  }
  int emx, emn;
  std::frexp(mx, &emx);  // mx ∈ [2^(emx−1), 2^emx)
  std::frexp(mn, &emn);
  // 2^a·mx ≤ max_value: the largest a with that, from the exponents and one exact check
  s.hi = f.emax - (emx - 1);
  while (std::ldexp(mx, s.hi) > f.max_value) --s.hi;
  s.normal_lo = f.emin - (emn - 1);                       // 2^a·mn ≥ 2^emin
  s.lo = f.subnormals ? s.normal_lo - f.t : s.normal_lo;  // below, 2^a·mn rounds to at most 1 bit
  return s;
}

// Is 2^a·v exactly in f, entry by entry (the subnormal shifts), and exact as a double?
inline bool shifted_in_format(const std::vector<double>& v, int a, const Format& f) {
  for (double e : v) {
    if (e == 0.0) continue;
    const double w = std::ldexp(e, a);
    if (!std::isfinite(w) || std::ldexp(w, -a) != e || f.round(w) != w) return false;
  }
  return true;
}

// r: the F_t optimum of (x, y). When some 2^a·x̂ ∈ fx^m and 2^−a·ŷ ∈ fy^n (ŷ free: no
// condition on y), r becomes the bounded problem's optimum (the smallest such a: the smallest
// λ, the tie rule of docs/design.md §3) and true is returned; otherwise r is left as it was.
inline bool shift_into_formats(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                               const Format& fy, bool quantize_y, RankOneResult& r) {
  if (is_zero(r.x) || is_zero(r.y)) return false;  // the degenerate cases: the full solver
  const bool check_x = fx.bounded, check_y = quantize_y && fy.bounded;
  ShiftRange sx, sy;
  if (check_x) sx = shift_range(r.x, fx);
  if (check_y) sy = shift_range(r.y, fy);  // in −a
  int lo = -2000, hi = 2000;
  if (check_x) lo = std::max(lo, sx.lo), hi = std::min(hi, sx.hi);
  if (check_y) lo = std::max(lo, -sy.hi), hi = std::min(hi, -sy.lo);
  for (int a = lo; a <= hi; ++a) {
    if (check_x && a < sx.normal_lo && !shifted_in_format(r.x, a, fx)) continue;
    if (check_y && -a < sy.normal_lo && !shifted_in_format(r.y, -a, fy)) continue;
    // an F_t side moved by 2^±a must stay exact in double too
    if (!check_x && !shifted_in_format(r.x, a, enclosing_unbounded(fx))) continue;
    if (!check_y && quantize_y && !shifted_in_format(r.y, -a, enclosing_unbounded(fy))) continue;
    const double lam = std::ldexp(r.lam, a), mu = std::ldexp(r.mu, -a);
    if (!(std::isfinite(lam) && lam > 0.0 && std::isfinite(mu) && mu != 0.0)) continue;
    std::vector<double> xh(r.x.size()), yh(r.y.size());
    for (std::size_t k = 0; k < xh.size(); ++k) xh[k] = std::ldexp(r.x[k], a);
    if (quantize_y) {
      for (std::size_t k = 0; k < yh.size(); ++k) yh[k] = std::ldexp(r.y[k], -a);
    } else {
      yh = y_side(y, mu, fy, false);  // ŷ = μy, recomputed: 2^−a·(μ'y) may have rounded differently
    }
    if (!all_finite(yh)) continue;
    r.x = std::move(xh);
    r.y = std::move(yh);
    r.lam = lam;
    r.mu = mu;
    r.error = relative_error(x, y, r.x, r.y);
    r.rtn_error = relative_error(x, y, round_vector(x, 1.0, fx), quantize_y ? round_vector(y, 1.0, fy) : y);
    return true;
  }
  return false;
}

// The shift path of a solver: solve_unbounded(ux, uy) solves the problem in the enclosing F_t
// formats; true with out = the bounded optimum when it applies and fits. When F_t's solve is
// over the memory budget the every-binade sweep needs more still: false, and that sweep's own
// message (with its way out) is what the caller sees.
template <class SolveUnbounded>
bool solve_by_shift(const std::vector<double>& x, const std::vector<double>& y, const Format& fx, const Format& fy,
                    bool quantize_y, const LamWindow& window, SolveUnbounded&& solve_unbounded, RankOneResult& out) {
  if (!shift_path_applies(fx, fy, quantize_y, window)) return false;
  try {
    RankOneResult r = solve_unbounded(enclosing_unbounded(fx), enclosing_unbounded(fy));
    if (!shift_into_formats(x, y, fx, fy, quantize_y, r)) return false;
    out = std::move(r);
    return true;
  } catch (const OverMemoryBudget&) {
    return false;
  }
}

// ---- the top binades: one bounded side ---------------------------------------------------
// When ŷ can absorb any power of two (ŷ = μy free, or ŷ ∈ F_t), an optimum x̂* with
// max|x̂*| <= M/2 (M: fx's largest value) ties with (2x̂*, ŷ*/2), and 2x̂* lies in fx too
// (doubling keeps t bits and stays <= M). So some optimum has max|x̂*| > M/2. It is a nearest
// point of λ*x for λ* = yᵀŷ*/‖ŷ*‖² (Theorem 2.3's argument from ŷ's side); M/2 ∈ fx and
// rounding is monotone, so λ*·max|x| >= M/2, and the cell just above λ* holds an optimal
// state too (docs/design.md §3). So λ >= M/(2·max|x|) suffices: each entry x_i keeps the
// binades from 2^−d_i·M/2 (d_i = log2(max|x|/|x_i|)) to its saturation instead of every
// binade of the format. A bounded ŷ with an F_t x̂ is the same problem transposed. (With
// both sides bounded the analogous windows, measured, cut almost nothing on Gaussian data.)
inline bool top_half_in_format(const Format& f) {
  const double half = 0.5 * f.max_value;
  return f.bounded && half >= std::ldexp(1.0, f.emin) && f.round(half) == half;
}

// tame magnitudes only: far inputs take the full path, whose rescaling and double-range
// repairs (rescale.hpp) do not apply to a λ window
inline bool tame(const std::vector<double>& v) {
  return !is_zero(v) &&
         std::all_of(v.begin(), v.end(), [](double a) { return a == 0.0 || std::abs(std::ilogb(a)) < 400; });
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double a : v) m = std::max(m, std::fabs(a));
  return m;
}

// The same product at the smallest λ: (2^a·x̂, 2^−a·ŷ) for the smallest a <= 0 down to which
// every step is still the rounding of (2^a·λ·x, 2^−a·μ·y) — checked by rounding, since a
// saturated or subnormal entry of a bounded side need not follow the shift.
inline void move_to_lowest_tie(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                               const Format& fy, bool quantize_y, RankOneResult& r) {
  if (is_zero(r.x) || is_zero(r.y)) return;
  // the bounded side limits the shifts: x̂ may shrink to its subnormals, ŷ grow to its top
  const int a_min = fx.bounded ? shift_range(r.x, fx).lo : -shift_range(r.y, fy).hi;
  int best = 0;
  for (int a = -1; a >= a_min; --a) {
    const double lam = std::ldexp(r.lam, a), mu = std::ldexp(r.mu, -a);
    if (!(std::isfinite(lam) && lam > 0.0 && std::isfinite(mu) && mu != 0.0)) break;
    const std::vector<double> xh = round_vector(x, lam, fx);
    bool same = true;
    for (std::size_t k = 0; same && k < xh.size(); ++k) same = xh[k] == std::ldexp(r.x[k], a);
    if (same && quantize_y) {
      const std::vector<double> yh = round_vector(y, mu, fy);
      for (std::size_t k = 0; same && k < yh.size(); ++k) same = yh[k] == std::ldexp(r.y[k], -a);
    }
    if (!same) break;
    best = a;
  }
  if (best == 0) return;
  for (double& v : r.x) v = std::ldexp(v, best);
  r.lam = std::ldexp(r.lam, best);
  r.mu = std::ldexp(r.mu, -best);
  if (quantize_y) {
    for (double& v : r.y) v = std::ldexp(v, -best);
  } else {
    r.y = y_side(y, r.mu, fy, false);
  }
  r.error = relative_error(x, y, r.x, r.y);
}

// solve(xa, ya, fxa, fya, window, swapped) solves the problem (swapped: its transpose, xa = y)
// within a λ window on xa. True with out = the optimum when the reduction applies and fits
// the memory budget (otherwise the full path states its own way out). The result is moved to
// the smallest λ among its power-of-two ties, as the every-binade sweep reports it.
template <class Solve>
bool solve_in_top_binades(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                          const Format& fy, bool quantize_y, const LamWindow& window, Solve&& solve,
                          RankOneResult& out) {
  const bool bx = fx.bounded, by = quantize_y && fy.bounded;
  if (bx == by || window.restricts(fx) || !tame(x) || !tame(y)) return false;
  const bool swapped = by;
  const std::vector<double>& xa = swapped ? y : x;
  const Format& fxa = swapped ? fy : fx;
  // a format of few binades (fp4, fp6 e2m3) sweeps them all as fast as the window's set-up
  const int binades = fxa.emax - fxa.emin + 1 + (fxa.subnormals ? fxa.t : 0);
  if (!top_half_in_format(fxa) || binades < 8) return false;
  LamWindow w;
  w.lo = (0.5 * fxa.max_value / max_abs(xa)) * (1.0 - 0x1p-20);  // a little below λ*'s cell, never above
  RankOneResult r;
  try {
    r = swapped ? solve(y, x, fy, fx, w, true) : solve(x, y, fx, fy, w, false);
  } catch (const OverMemoryBudget&) {
    return false;
  }
  if (swapped) {
    std::swap(r.x, r.y);
    std::swap(r.lam, r.mu);
  }
  if (!all_finite(r.x) || !all_finite(r.y)) return false;
  move_to_lowest_tie(x, y, fx, fy, quantize_y, r);
  out = std::move(r);
  return true;
}

}  // namespace detail

}  // namespace scaleq
