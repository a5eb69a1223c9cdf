// The public solvers' common front: inputs beyond 2^±900 solved on a power-of-two rescaled
// copy, and the test of whether the fast solvers are exact on a bounded side.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "scaleq/format.hpp"
#include "scaleq/rank_one/cost.hpp"
#include "scaleq/rank_one/problem.hpp"

namespace scaleq {

namespace detail {

// ---- power-of-two prescaling ------------------------------------------------
// On an unbounded F_t side (x̂ = round(λx) or ŷ = round(μy), or ŷ = μy free) scaling the
// input by 2^a scales the optimum by 2^a: the problem is invariant. A bounded side has no
// such invariance, but {round(λx) : λ > 0} does not depend on the scale of x, so scaling x
// by 2^a and y by 2^−a (same product) is exact too (not with a λ window, which is in x's
// units). The solvers, λ and μ, and the double arithmetic of the results (x̂ subnormal, μy
// overflowing) are only exact in a safe range, so inputs reaching beyond 2^±900 are solved
// on such a rescaled copy and the result mapped back: x̂ = x̂_s·2^p, ŷ = ŷ_s·2^q with
// p + q = −(ax + ay), p = 0 on a bounded x side, q = 0 on a bounded y side. When both sides
// are F_t the split is free and keeps both vectors normal when the double range allows.
struct ExpRange {
  int lo = 0, hi = 0;
  bool any = false;  // some nonzero entry
};
inline ExpRange exp_range(const std::vector<double>& v, int shift = 0) {
  ExpRange r;
  for (double a : v) {
    if (a == 0.0 || !std::isfinite(a)) continue;
    int e;
    std::frexp(a, &e);
    e -= 1 + shift;  // |a|·2^−shift ∈ [2^e, 2^(e+1))
    r.lo = r.any ? std::min(r.lo, e) : e;
    r.hi = r.any ? std::max(r.hi, e) : e;
    r.any = true;
  }
  return r;
}
inline bool extreme(const ExpRange& r) { return r.any && (r.hi >= 900 || r.lo < -900); }
inline bool far(const ExpRange& r) { return r.any && (r.hi >= 256 || r.lo < -256); }
// The exponent a that centers v's binades at 0 (when v is extreme, or when asked), never
// pushing the largest entry beyond 2^1000 (a vector spanning more than the double range loses
// its smallest entries).
inline int centering_shift(const ExpRange& r, bool always = false) {
  return (always || extreme(r)) ? std::min(-(r.lo + r.hi) / 2, 1000 - r.hi) : 0;
}

template <class Solve>
bool solve_rescaled(const std::vector<double>& x, const std::vector<double>& y, const Format& fx, const Format& fy,
                    bool quantize_y, const LamWindow& window, RankOneResult& out, Solve&& solve) {
  const bool x_inv = !fx.bounded, y_inv = !quantize_y || !fy.bounded;
  const bool windowed = window.restricts(fx);
  const ExpRange xr = exp_range(x), yr = exp_range(y);
  // a zero side makes xyᵀ = 0: the solvers' trivial case, nothing to rescale (λ would be 2^±k)
  if (!xr.any || !yr.any) return false;
  // One F_t side against a bounded one: the F_t side's values carry the product's scale over
  // the bounded side's (x̂ ≈ 2^528 for y = 2^528 in fp16), and the solvers' ‖x̂‖² overflows
  // from 2^512 on. Centering the bounded side (exact, see above) moves that scale into the F_t
  // side's input, which the solvers normalize.
  const bool far_bounded = x_inv != y_inv && !windowed && far(x_inv ? yr : xr);
  if (!extreme(xr) && !extreme(yr) && !far_bounded) return false;
  int ax = 0, ay = 0;
  if (x_inv || y_inv) {  // each side may be centered on its own (the F_t side absorbs the rest)
    ax = (x_inv || !windowed) ? centering_shift(xr, far_bounded && !x_inv) : 0;
    ay = centering_shift(yr, far_bounded && !y_inv);
  } else if (!windowed && xr.any && yr.any) {  // both bounded: x·2^a, y·2^−a, both kept in range
    const int lo = std::max(-1000 - xr.lo, yr.hi - 1000), hi = std::min(1000 - xr.hi, yr.lo + 1000);
    const int a = ((yr.lo + yr.hi) - (xr.lo + xr.hi)) / 4;  // meet in the middle
    if (lo <= hi) ax = std::min(std::max(a, lo), hi), ay = -ax;
  }
  if (ax == 0 && ay == 0) return false;
  std::vector<double> xs(x), ys(y);
  for (double& a : xs) a = std::ldexp(a, ax);
  for (double& a : ys) a = std::ldexp(a, ay);
  out = solve(xs, ys);
  int p = 0, q = 0;
  if (x_inv && y_inv) {
    // x̂_s·2^−ax = round(λ_s·x), ŷ_s·2^−ay = round(μ_s·y); then the free split x̂·2^k, ŷ·2^−k
    int k = 0;
    const ExpRange A = exp_range(out.x, ax), B = exp_range(out.y, ay);
    if (A.any && B.any) {
      const int lo = std::max(-1022 - A.lo, B.hi - 1023), hi = std::min(1023 - A.hi, B.lo + 1022);
      if (lo <= hi) {
        k = std::min(std::max(0, lo), hi);
      } else {  // both cannot be normal: keep the largest entries finite, balance the underflow
        const int lo2 = B.hi - 1023, hi2 = 1023 - A.hi;
        k = lo2 <= hi2 ? std::min(std::max((B.lo - A.lo) / 2, lo2), hi2) : (B.hi - A.hi) / 2;
      }
    }
    p = k - ax;
    q = -k - ay;
  } else if (x_inv) {
    p = -(ax + ay);
  } else if (y_inv) {
    q = -(ax + ay);
  }
  out.lam = std::ldexp(out.lam, ax + p);  // may leave the double range (a bounded x̂ of tiny x)
  out.mu = std::ldexp(out.mu, ay + q);
  // the F_t side: x̂ = round(λx) in original units (λ finite), else x̂_s·2^p
  auto back = [](std::vector<double>& v, const std::vector<double>& orig, double scale, int shift, const Format& f,
                 bool quantized) {
    if (shift == 0) return;
    if (!quantized) {
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * orig[i];
    } else if (std::isfinite(scale) && scale > 0.0) {
      v = round_vector(orig, scale, f);
    } else {
      for (double& a : v) a = std::ldexp(a, shift);
    }
  };
  back(out.x, x, out.lam, p, fx, true);
  back(out.y, y, out.mu, q, fy, quantize_y);
  out.error = relative_error(x, y, out.x, out.y);
  std::vector<double> x_rtn = round_vector(x, 1.0, fx), y_rtn = quantize_y ? round_vector(y, 1.0, fy) : y;
  out.rtn_error = relative_error(x, y, x_rtn, y_rtn);
  // A product near 2^−1074 cannot have both factors normal: the F_t side's values lose their
  // low bits in the subnormal range, and the mapped optimum may fall behind RTN (which always
  // survives: it is the input rounded). RTN is then what is returned.
  if (out.error > out.rtn_error && !windowed) {
    out.x = std::move(x_rtn);
    out.y = std::move(y_rtn);
    out.lam = out.mu = 1.0;
    out.error = out.rtn_error;
  }
  return true;
}

// The fast solvers (sweep, rank_one_small) keep a bounded side in normalized units: entries
// m ∈ [2^−span, 2), breakpoints λ' = mid/m, exact double-double sums of m·v and v² over grid
// values v. All of that is exact only while it stays within 2^±1000, i.e. while the format's
// values stay within 2^±480 and the entries span less than 2^1000 minus the format's reach.
// Outside (a wide bounded format, or entries 2^1000 apart), breakpoints overflow and sums
// round: those problems go to the reference, which evaluates every state's error from
// scratch (relative_error holds at any scale). A prescaling cannot help: a bounded format
// is not scale invariant, and the span is the vector's own.
inline bool fast_solver_in_range(const std::vector<double>& v, const Format& f) {
  if (!f.bounded) return true;
  const ExpRange r = exp_range(v);
  if (!r.any) return true;
  const int top = std::ilogb(f.max_value) + 1;
  const int bottom = f.subnormals ? f.emin - f.t + 1 : f.emin;
  const int span = r.hi - r.lo + 1;
  return top <= 480 && bottom >= -480 && top + span <= 1000 && span - bottom <= 1000;
}
// A λ window whose end times max|x| passes 2^1022 moves x's normalization below its largest
// binade (side_exponent): entries m beyond [1, 2), which only the reference takes.
inline bool fast_solver_in_range(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                 const Format& fy, bool quantize_y, const LamWindow& window) {
  if (fx.bounded && side_exponent(x.data(), x.size(), fx, window.hi) != max_exponent(x)) return false;
  return fast_solver_in_range(x, fx) && (!quantize_y || fast_solver_in_range(y, fy));
}

// ---- results the double range cannot hold as the solver left them ----------------------
// x̂ = 2^k·x̂' with ŷ = μ'·y/2^k ties exactly when both stay exact. With ŷ = μy free and a
// bounded x̂ format the solvers pick the smallest such λ, so x̂ may sit 2^1000 below x and
// μy overflow; the tie nearest x's scale then keeps ŷ finite (unless xyᵀ itself is beyond the
// double range, which is refused). A zero product (the optimum when every nonzero x̂ŷᵀ is
// farther from xyᵀ than 0 is, e.g. xyᵀ below 2^-1074) may come with a λ or μ beyond the double
// range; when RTN's product is zero too, RTN is reported (λ = μ = 1, consistent).
inline bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double a) { return std::isfinite(a); });
}
// Is 2^k·x̂ = round(λ'·x) for some double λ'? λ' is tried as λ·2^k and, since λ itself may have
// lost bits to the double range (x̂ 2^1000 below x), as 2^k·x̂_j/x_j at x's largest entry j;
// on success the scaling that works is returned in lam_out.
inline bool same_state_scaled(const std::vector<double>& x, const std::vector<double>& xh, double lam, int k,
                              const Format& fx, double& lam_out) {
  std::size_t j = 0;
  for (std::size_t i = 1; i < x.size(); ++i)
    if (std::fabs(x[i]) > std::fabs(x[j])) j = i;
  const double tries[2] = {std::ldexp(lam, k), std::ldexp(xh[j], k) / x[j]};
  for (const double lk : tries) {
    if (!(std::isfinite(lk) && lk > 0.0)) continue;
    const std::vector<double> r = round_vector(x, lk, fx);
    bool same = true;
    for (std::size_t i = 0; i < xh.size() && same; ++i) same = r[i] == std::ldexp(xh[i], k) && std::isfinite(r[i]);
    if (same) {
      lam_out = lk;
      return true;
    }
  }
  return false;
}
// A positive scaling s with round(s·v) = 0: a quarter of the format's smallest positive value
// over max|v| (1 when that is beyond the double range: v is then too small to round to nonzero).
inline double zero_scaling(const std::vector<double>& v, const Format& f) {
  double m = 0.0;
  for (double a : v) m = std::max(m, std::fabs(a));
  if (!f.bounded || m == 0.0) return 1.0;
  const double smallest = std::ldexp(1.0, f.subnormals ? f.emin - f.t + 1 : f.emin);
  const double s = 0.25 * smallest / m;
  return std::isfinite(s) ? std::max(s, std::numeric_limits<double>::denorm_min()) : 1.0;
}
// The farthest k from 0 toward `target` with 2^k·vh = round(s'·v) for a double s' (the valid k
// form an interval around 0, so a binary search finds its end); 0 when there is none, else s'
// in s_out.
inline int farthest_tie(const std::vector<double>& v, const std::vector<double>& vh, double s, int target,
                        const Format& f, double& s_out) {
  if (target == 0) return 0;
  double s_try = s;
  if (same_state_scaled(v, vh, s, target, f, s_try)) {
    s_out = s_try;
    return target;
  }
  int good = 0, bad = target;  // target itself failed
  while (std::abs(bad - good) > 1) {
    const int mid = good + (bad - good) / 2;
    if (same_state_scaled(v, vh, s, mid, f, s_try)) {
      good = mid;
      s_out = s_try;
    } else {
      bad = mid;
    }
  }
  return good;
}
inline void fit_double_range(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                             const Format& fy, bool quantize_y, const LamWindow& window, RankOneResult& r) {
  const bool windowed = window.restricts(fx);
  // (the same when λ left the normal range: x̂ far below x, round(λx) is then no longer x̂)
  const bool lam_lost_bits = !(r.lam >= std::numeric_limits<double>::min());
  // (an F_t ŷ = round(μy) absorbs the 2^−k exactly too: the same ties)
  const bool y_absorbs = !quantize_y || !fy.bounded;
  if (y_absorbs && fx.bounded && !windowed && !is_zero(r.x) && (!all_finite(r.y) || lam_lost_bits)) {
    double lam_good = r.lam;
    const int good = farthest_tie(x, r.x, r.lam, max_exponent(x) - max_exponent(r.x), fx, lam_good);
    if (good != 0) {
      std::vector<double> xk(r.x);
      for (double& a : xk) a = std::ldexp(a, good);
      const double mu_k = optimal_mu(x, xk, max_exponent(x));
      std::vector<double> yk = y_side(y, mu_k, fy, quantize_y);
      const double ek = relative_error(x, y, xk, yk);
      // an exact tie, unless ŷ met the double range's end (F_t saturates there): a broken ŷ is
      // always replaced, a finite one only by an equal or better pair
      if (!all_finite(r.y) || ek <= r.error) {
        r.x = std::move(xk);
        r.y = std::move(yk);
        r.lam = lam_good;
        r.mu = mu_k;
        r.error = ek;
      }
    }
  }
  // An F_t x̂ against a bounded quantized ŷ (ŷ's side is swept): x̂ = round(λx) with the least-
  // squares λ saturates at the top of the double range when the solver's ŷ, among its exact
  // ties ŷ·2^k, sits far below y's scale (λ = 2^24 for x near DBL_MAX, or inf); the tie
  // nearest y's scale (farthest_tie) gives the same product with x̂ in range.
  if (quantize_y && !fx.bounded && fy.bounded && !is_zero(r.y) && std::any_of(r.x.begin(), r.x.end(), [&](double a) {
        return !std::isfinite(a) || std::fabs(a) == Format::unbounded_max(fx.t);
      })) {
    double mu_k = r.mu;
    const int k = farthest_tie(y, r.y, r.mu, max_exponent(y) - max_exponent(r.y), fy, mu_k);
    if (k != 0) {
      std::vector<double> yk(r.y);
      for (double& a : yk) a = std::ldexp(a, k);
      const double lam_k = optimal_mu(y, yk, max_exponent(y));  // x̂'s least-squares scaling for this ŷ
      std::vector<double> xk = round_vector(x, lam_k, fx);
      const double ek = relative_error(x, y, xk, yk);
      if (ek < r.error) {
        r.x = std::move(xk);
        r.y = std::move(yk);
        r.lam = lam_k;
        r.mu = mu_k;
        r.error = ek;
      }
    }
  }
  if (!quantize_y && !all_finite(r.y))  // no tie kept it finite (or a λ window pins x̂)
    throw std::invalid_argument(
        "quantize_y=False: y_hat = mu*y overflows the double range (x y^T is beyond what x_hat in this format "
        "times a double y_hat can hold); scale x or y down by a power of two");
  // RTN's pair, (round(x), round(y)) with λ = μ = 1, in place of the solver's
  auto use_rtn = [&](std::vector<double> xr, std::vector<double> yr) {
    r.x = std::move(xr);
    r.y = std::move(yr);
    r.lam = r.mu = 1.0;
    r.error = relative_error(x, y, r.x, r.y);
  };
  auto rtn_y = [&] { return quantize_y ? round_vector(y, 1.0, fy) : y; };
  const bool zero = is_zero(r.x) || is_zero(r.y);
  if (zero && !(std::isfinite(r.lam) && r.lam > 0.0 && std::isfinite(r.mu))) {
    std::vector<double> xr = round_vector(x, 1.0, fx), yr = rtn_y();
    if (is_zero(xr) || is_zero(yr)) {
      use_rtn(std::move(xr), std::move(yr));
    } else {  // keep the solver's zero side, with a scaling that rounds it to 0
      if (is_zero(r.x)) r.lam = zero_scaling(x, fx);
      if (quantize_y && is_zero(r.y) && !std::isfinite(r.mu)) r.mu = zero_scaling(y, fy);
    }
  }
  // A zero side must be round(λx) = 0 (or round(μy) = 0) for the reported scaling; failing
  // that, for the scaling that rounds it to 0. A zero side that no double scaling reaches
  // (x = 2^1000 in bf16: λ = 2^-1074 still rounds it to 2^-74) is not a state of the problem;
  // its error 1 is no better than RTN's (xyᵀ that far beyond both formats' products), which
  // is returned instead.
  if (is_zero(r.x) || is_zero(r.y)) {
    auto reaches_zero = [](const std::vector<double>& v, double& s, const Format& f) {
      if (is_zero(round_vector(v, s, f))) return true;
      const double z = zero_scaling(v, f);
      if (!is_zero(round_vector(v, z, f))) return false;
      s = z;
      return true;
    };
    const bool x_unreached = is_zero(r.x) && !reaches_zero(x, r.lam, fx);
    const bool y_unreached = quantize_y && is_zero(r.y) && !reaches_zero(y, r.mu, fy);
    if (x_unreached || y_unreached) use_rtn(round_vector(x, 1.0, fx), rtn_y());
  }
  // Likewise an infinite x̂ or ŷ, which no format holds (xyᵀ beyond what x̂ŷᵀ in the double
  // range can reach, e.g. x = 5.9e20 in F_1 against y = DBL_MAX in fp16): RTN saturates.
  if (!all_finite(r.x) || (quantize_y && !all_finite(r.y))) {
    std::vector<double> xr = round_vector(x, 1.0, fx), yr = rtn_y();
    if (all_finite(xr) && all_finite(yr)) use_rtn(std::move(xr), std::move(yr));
  }
}

// The public solvers' common front: checks x and y, then runs solve on them, on a prescaled
// copy (solve_rescaled) when they reach beyond 2^±900, and fits the result to the double
// range (fit_double_range).
template <class Solve>
RankOneResult solve_checked(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                            const Format& fy, bool quantize_y, const LamWindow& window, Solve&& solve) {
  check_vector(x, "x");
  check_vector(y, "y");
  RankOneResult r;
  if (!solve_rescaled(x, y, fx, fy, quantize_y, window, r, solve)) r = solve(x, y);
  fit_double_range(x, y, fx, fy, quantize_y, window, r);
  return r;
}

}  // namespace detail

}  // namespace scaleq
