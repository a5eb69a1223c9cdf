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

}  // namespace detail

}  // namespace scaleq
