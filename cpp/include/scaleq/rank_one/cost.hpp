// The cost of a rank-one state: y's prefix table, the cost model the sweeps evaluate in
// double-double, the relative error recomputed from x̂, ŷ at any scale, the optimal μ, and
// the assembly of a solver's result.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "scaleq/detail/double_double.hpp"
#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/direct_y.hpp"
#include "scaleq/rank_one/problem.hpp"

namespace scaleq {

namespace detail {

// Prefix sums of yᵀŷ and ‖ŷ‖² over y's sorted breakpoints: entry p = state after p crossings.
struct PrefixTable {
  std::vector<double> lam;
  std::vector<DD> s1, s2;
  mutable std::size_t hint = 0;

  explicit PrefixTable(const Side& s) {
    lam.reserve(s.bps.size());
    s1.reserve(s.bps.size() + 1);
    s2.reserve(s.bps.size() + 1);
    DD a, b;
    for (std::uint32_t j = 0; j < s.m.size(); ++j) {
      a = a + contrib1(s, j, s.k0[j]);
      b = b + contrib2(s, j, s.k0[j]);
    }
    s1.push_back(a);
    s2.push_back(b);
    for (const Breakpoint& bp : s.bps) {
      if ((lam.size() & ((std::size_t(1) << 20) - 1)) == 0) poll_interrupt();
      lam.push_back(bp.lam);
      a = a + delta1(s, bp.coord, bp.k);
      b = b + delta2(s, bp.coord, bp.k);
      s1.push_back(a);
      s2.push_back(b);
    }
  }

  // Number of breakpoints below nu, searched by galloping from the previous answer:
  // successive queries of a sweep move little, so this is O(1) amortized.
  std::size_t count_below(double nu) const {
    const std::size_t n = lam.size();
    std::size_t lo, hi;
    std::size_t p = std::min(hint, n);
    if (p < n && lam[p] < nu) {  // answer > p
      std::size_t step = 1;
      lo = p + 1;
      hi = p + 1;
      while (hi < n && lam[hi] < nu) {
        lo = hi + 1;
        hi = std::min(n, hi + step);
        step *= 2;
      }
    } else {  // answer <= p
      std::size_t step = 1;
      hi = p;
      lo = p;
      while (lo > 0 && !(lam[lo - 1] < nu)) {
        hi = lo - 1;
        lo = lo > step ? lo - step : 0;
        step *= 2;
      }
    }
    const std::size_t r = std::lower_bound(lam.begin() + lo, lam.begin() + hi, nu) - lam.begin();
    hint = r;
    return r;
  }
};

// ‖xyᵀ − x̂ŷᵀ‖_F / ‖xyᵀ‖_F without cancellation and without over/underflow at any scale:
// each of x, y, x̂, ŷ is scaled by the power of two of its own largest entry (exact), the
// scale ratio 2^s of x̂ŷᵀ to xyᵀ is split over x̂ and ŷ, and with c = ‖x̂‖²/(xᵀx̂),
// x̂ŷᵀ = (x̂/c)(cŷ)ᵀ and dx = x̂/c − x, dy = cŷ − y are small, so
// ‖·‖² = ‖x̂/c‖²‖dy‖² + ‖dx‖²‖y‖² + 2(x̂ᵀdx/c)(yᵀdy) is a sum of small, accurate terms —
// evaluated with dx, dy divided by the power of two of their largest entry, so that an
// error of 1e-200 is not squared into 0. An error beyond DBL_MAX reads +inf.
inline double relative_error(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& xh,
                             const std::vector<double>& yh) {
  const int ex = max_exponent(x), ey = max_exponent(y);
  const int exh = max_exponent(xh), eyh = max_exponent(yh);
  auto dot = [](const std::vector<double>& a, int ea, const std::vector<double>& b, int eb) {
    double r = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) r += std::ldexp(a[i], -ea) * std::ldexp(b[i], -eb);
    return r;
  };
  const bool xh0 = is_zero(xh), yh0 = is_zero(yh);
  if (is_zero(x) || is_zero(y)) return (xh0 || yh0) ? 0.0 : std::numeric_limits<double>::infinity();
  if (xh0 || yh0) return 1.0;                                   // x̂ŷᵀ = 0
  const double xx = dot(x, ex, x, ex), yy = dot(y, ey, y, ey);  // in [1, 4n)
  const long s = long(exh) + eyh - ex - ey;                     // x̂ŷᵀ ≈ 2^s·xyᵀ in scaled units
  if (s < -600) return 1.0;                                     // x̂ŷᵀ below 2^-590·‖xyᵀ‖: error 1 − O(2^-590)
  const double nxh = std::sqrt(dot(xh, exh, xh, exh)), nyh = std::sqrt(dot(yh, eyh, yh, eyh));
  if (s > 600)  // x̂ŷᵀ dominates: error = ‖x̂ŷᵀ‖/‖xyᵀ‖·(1 + O(2^-590))
    return std::ldexp(nxh * nyh / std::sqrt(xx * yy), int(std::min(s, 4000L)));
  // x̂ in units of 2^(exh − sa), ŷ of 2^(eyh − sb), sa + sb = s: their product is in the
  // units 2^(ex+ey) of xyᵀ, and each is within 2^±301 of 1
  const int sa = int(s / 2), sb = int(s - s / 2);
  const int fxh = exh - sa, fyh = eyh - sb;
  const double xxh = dot(x, ex, xh, fxh), xhxh = dot(xh, fxh, xh, fxh);
  // The identity below holds for any c ≠ 0. c = ‖x̂‖²/(xᵀx̂) keeps dx, dy small when x̂ is
  // close to x's direction; otherwise, or when that c still overflows a term, c = 1.
  auto eval = [&](const double cc) {
    // pass 1: the largest |dx_i|, |dy_j|; pass 2: the sums with d scaled by its power of two
    auto dxi = [&](std::size_t i) { return std::ldexp(xh[i], -fxh) / cc - std::ldexp(x[i], -ex); };
    auto dyj = [&](std::size_t j) { return std::ldexp(yh[j], -fyh) * cc - std::ldexp(y[j], -ey); };
    double dmax = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) dmax = std::max(dmax, std::fabs(dxi(i)));
    for (std::size_t j = 0; j < y.size(); ++j) dmax = std::max(dmax, std::fabs(dyj(j)));
    if (dmax == 0.0) return 0.0;
    if (!std::isfinite(dmax)) return std::numeric_limits<double>::quiet_NaN();
    int ed;
    std::frexp(dmax, &ed);
    double dx2 = 0.0, xhdx = 0.0, dy2 = 0.0, ydy = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double d = std::ldexp(dxi(i), -ed);
      dx2 += d * d;
      xhdx += (std::ldexp(xh[i], -fxh) / cc) * d;
    }
    for (std::size_t j = 0; j < y.size(); ++j) {
      const double d = std::ldexp(dyj(j), -ed);
      dy2 += d * d;
      ydy += std::ldexp(y[j], -ey) * d;
    }
    const double xh2 = (xhxh / cc) / cc;                         // cc² alone may overflow (x̂ far from x's direction)
    const double num = xh2 * dy2 + dx2 * yy + 2.0 * xhdx * ydy;  // in units of 4^ed
    if (!(num >= 0.0)) return num < 0.0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    return std::ldexp(std::sqrt(num / (xx * yy)), ed);
  };
  // (x̂ at an angle of more than 60° to x: the error is then at least sin 60°, no cancellation
  // to avoid, and that c would be extreme: 1/c·x̂ underflows while c·ŷ dominates)
  const bool aligned = std::fabs(xxh) >= 0.5 * std::sqrt(xx) * std::sqrt(xhxh);
  const double c = (xxh != 0.0 && aligned) ? xhxh / xxh : 1.0;
  const double e = eval(c);
  return (std::isfinite(e) || c == 1.0) ? e : eval(1.0);
}

// Its square (the solvers compare squared costs); +inf beyond sqrt(DBL_MAX).
inline double relative_error2(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& xh,
                              const std::vector<double>& yh) {
  const double e = relative_error(x, y, xh, yh);
  return e * e;
}

// round(scale·v) elementwise. v and scale are finite, so a product that overflows the double
// range lies beyond every element of the format: it saturates to the largest one.
inline std::vector<double> round_vector(const std::vector<double>& v, double scale, const Format& f) {
  std::vector<double> out(v.size());
  const double top = f.bounded ? f.max_value : Format::unbounded_max(f.t);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double p = scale * v[i];
    out[i] = std::isinf(p) ? std::copysign(top, p) : f.round_saturating(p);
  }
  return out;
}

// largest power of two (a saturated or rescaled x̂ may be far from x's scale).
inline double optimal_mu(const double* x, const double* xh, std::size_t n, int E) {
  const int Eh = max_exponent(xh, n);
  double xxh = 0.0, xhxh = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double xs = std::ldexp(x[i], -E), xhs = std::ldexp(xh[i], -Eh);
    xxh += xs * xhs;
    xhxh += xhs * xhs;
  }
  return xhxh > 0.0 ? std::ldexp(xxh / xhxh, E - Eh) : 0.0;
}
inline double optimal_mu(const std::vector<double>& x, const std::vector<double>& xh, int E) {
  return optimal_mu(x.data(), xh.data(), x.size(), E);
}

inline std::vector<double> y_side(const std::vector<double>& y, double mu, const Format& fy, bool quantize_y) {
  if (quantize_y) return round_vector(y, mu, fy);
  std::vector<double> out(y.size());
  for (std::size_t j = 0; j < y.size(); ++j) out[j] = mu * y[j];
  return out;
}

// Final assembly shared by both solvers: given the winning x̂ and λ, compute μ, ŷ, errors.
inline RankOneResult finish(const std::vector<double>& x, const std::vector<double>& y, std::vector<double> xh,
                            double lam, int E, const Format& fx, const Format& fy, bool quantize_y) {
  RankOneResult r;
  r.x = std::move(xh);
  // x̂ = 0 beyond the double range means every breakpoint is, so λ = 1 rounds x to 0 too
  const bool zero = std::all_of(r.x.begin(), r.x.end(), [](double v) { return v == 0.0; });
  r.lam = (zero && !std::isfinite(lam)) ? 1.0 : lam;
  r.mu = optimal_mu(x, r.x, E);
  r.y = y_side(y, r.mu, fy, quantize_y);
  r.error = relative_error(x, y, r.x, r.y);
  const std::vector<double> yr = quantize_y ? round_vector(y, 1.0, fy) : y;
  r.rtn_error = relative_error(x, y, round_vector(x, 1.0, fx), yr);
  return r;
}

inline RankOneResult trivial_result(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                    const Format& fy, bool quantize_y) {
  // xyᵀ = 0: round(x)·round(y)ᵀ is exact whenever one side vanishes.
  RankOneResult r;
  r.x = round_vector(x, 1.0, fx);
  r.y = quantize_y ? round_vector(y, 1.0, fy) : y;
  r.error = relative_error(x, y, r.x, r.y);
  r.rtn_error = r.error;
  return r;
}

// Normalized cost of the state (A = x'ᵀx̂', B = ‖x̂'‖², both x and x̂ scaled by 2^−Ex)
// with the optimal ŷ: C' = ‖x'‖²‖y'‖² − 2A·y'ᵀŷ' + B·‖ŷ'‖², ŷ = round(μy), μ = A/B.
// With ŷ free, C'/‖y'‖² = ‖x'‖² − A²/B. s12(ν, S1, S2) reads y'ᵀŷ' and ‖ŷ'‖² at ν, μ reduced
// the way the y side was prepared (bounded: absolute ŷ values on y' = y·2^−Ey; F_t: ν ∈ [1, 2)
// by the invariance). Shared by the sweep (prefix table) and rank_one_small (binary search).
template <class S12>
DD state_cost(DD A, DD B, DD x2, DD x2y2, bool y_free, bool y_bounded, int Ey, S12&& s12) {
  if (B.hi <= 0.0) return y_free ? x2 : x2y2;  // x̂ = 0: the product vanishes
  // q = A/B in double-double (one correction step)
  const double q1 = A.hi / B.hi;
  const DD rem = A + -(DD{q1, 0.0} * B);
  const double q2 = rem.hi / B.hi;
  if (y_free) {
    const DD q = quick_two_sum(q1, q2);
    return x2 + -(q * A);
  }
  const double mu = q1 + q2;
  int shift;  // the table holds S(ν) for ν = μ·2^−shift; S1 scales by 2^shift, S2 by 4^shift
  double nu;
  if (!y_bounded) {
    nu = split_binade(mu, shift);  // invariance: reduce μ to ν ∈ [1, 2)
  } else {
    // table built on y' = y·2^−Ey with absolute ŷ values: ŷ = round(μy) = round(μ2^Ey·y')
    nu = std::ldexp(mu, Ey);
    shift = -Ey;
  }
  DD s1, s2;
  s12(nu, s1, s2);
  if (shift != 0) {
    if (shift > -500 && shift < 500) {  // exact power-of-two products, no libm call
      const double b = pow2(shift), b2 = b * b;
      s1 = {s1.hi * b, s1.lo * b};
      s2 = {s2.hi * b2, s2.lo * b2};
    } else {
      s1 = ldexp(s1, shift);
      s2 = ldexp(s2, 2 * shift);
    }
  }
  const DD as1 = A * s1;
  return x2y2 + DD{-2.0 * as1.hi, -2.0 * as1.lo} + B * s2;
}

struct CostModel {
  const Side* sy;            // null when ŷ is free
  const PrefixTable* table;  // y's prefix sums (null when ŷ is free or read directly)
  DD x2, x2y2;
  const DirectY* direct = nullptr;  // an F_t ŷ side read without a table (rank_one/direct_y.hpp)

  // ŷ quantized: true when the state's cost certainly exceeds `bound`, judged in plain double
  // (the sweep's screen before the double-double cost). The estimate's error — roundings
  // and a μ one ulp off, which can only pick a ŷ state tied up to ~1e-16 at a midpoint — is
  // far below 1e-12 of the terms' magnitude, the margin required; false when unsure.
  bool exceeds(double A, double B, double bound) const {
    if (!(B > 0.0)) return false;
    const double mu = A / B;
    int shift;
    double nu;
    if (!sy->fmt->bounded) {
      nu = split_binade(mu, shift);
    } else {
      if (sy->E <= -500 || sy->E >= 500) return false;
      nu = mu * pow2(sy->E);
      shift = -sy->E;
    }
    if (shift <= -500 || shift >= 500 || !(nu > 0.0)) return false;
    double s1, s2;
    if (direct) {
      direct->estimate(nu, s1, s2);
    } else {
      const std::size_t p = table->count_below(nu);
      s1 = table->s1[p].hi;
      s2 = table->s2[p].hi;
    }
    const double b = pow2(shift);
    const double t2 = 2.0 * A * (s1 * b), t3 = B * (s2 * b * b);
    const double est = x2y2.hi - t2 + t3;
    return est - 1e-12 * (x2y2.hi + std::fabs(t2) + t3) > bound;
  }

  DD operator()(DD A, DD B) const {
    return state_cost(A, B, x2, x2y2, sy == nullptr, sy && sy->fmt->bounded, sy ? sy->E : 0,
                      [this](double nu, DD& s1, DD& s2) {
                        if (direct) return direct->exact(nu, s1, s2);
                        const std::size_t p = table->count_below(nu);
                        s1 = table->s1[p];
                        s2 = table->s2[p];
                      });
  }
};

}  // namespace detail

}  // namespace scaleq
