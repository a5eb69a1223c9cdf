// Floating-point formats and round-to-nearest (ties to even) by bit manipulation.
//
// F_t = {±k·2^(e−t) : k ∈ [2^(t−1), 2^t − 1], e ∈ Z} ∪ {0}: t counts significant
// bits including the leading one (fp16 ↔ 11). A bounded format adds an exponent
// range [emin, emax], subnormals with spacing 2^(emin−t+1), a largest finite value
// and an overflow policy. Values are carried in IEEE doubles throughout.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/detail/simd.hpp"

namespace scaleq {

enum class Overflow { saturate, inf };

struct Format {
  int t = 53;
  bool bounded = false;
  int emin = 0;
  int emax = 0;
  bool subnormals = true;
  Overflow overflow = Overflow::saturate;
  double max_value = std::numeric_limits<double>::infinity();

  // The paper's F_t: unbounded exponent (in practice, the double range).
  static Format unbounded(int t) {
    check_t(t);
    Format f;
    f.t = t;
    return f;
  }

  // A bounded format. max_value <= 0 means the IEEE default (2 − 2^(1−t))·2^emax;
  // formats such as fp8 e4m3fn (max 448) pass their own.
  static Format make_bounded(int t, int emin, int emax, bool subnormals, Overflow overflow, double max_value = 0.0) {
    check_t(t);
    if (emin > emax) throw std::invalid_argument("emin must be <= emax");
    if (emax > 1023) throw std::invalid_argument("emax must be <= 1023 (double range)");
    if (emin < -1022 || emin - t + 1 < -1074)
      throw std::invalid_argument("emin too small: subnormal spacing 2^(emin-t+1) must be >= 2^-1074");
    Format f;
    f.t = t;
    f.bounded = true;
    f.emin = emin;
    f.emax = emax;
    f.subnormals = subnormals;
    f.overflow = overflow;
    const double ieee_max = std::ldexp(2.0 - std::ldexp(1.0, 1 - t), emax);
    if (max_value <= 0.0) {
      f.max_value = ieee_max;
    } else {
      if (!(max_value <= ieee_max) || max_value < std::ldexp(1.0, emin))
        throw std::invalid_argument("max_value must lie in [2^emin, (2-2^(1-t))*2^emax]");
      f.max_value = max_value;
      // max_value must itself be representable.
      if (round_unbounded(max_value, t) != max_value)
        throw std::invalid_argument("max_value is not representable with t significant bits");
    }
    return f;
  }

  static void check_t(int t) {
    if (t < 1 || t > 53) throw std::invalid_argument("t must be in [1, 53], got " + std::to_string(t));
  }

  double min_normal() const { return std::ldexp(1.0, emin); }

  // Largest element of F_t below DBL_MAX: (2 − 2^(1−t))·2^1023.
  static double unbounded_max(int t) { return std::ldexp(2.0 - std::ldexp(1.0, 1 - std::min(t, 53)), 1023); }

  // Round to nearest, ties to even significand, in F_t (double range). F_t values are
  // carried in doubles, so the representable part of F_t is F_t within the double range
  // and a finite x rounds to an element of it: beyond unbounded_max(t) it saturates there
  // (the nearest element; the bounded formats' default policy) instead of carrying into
  // 2^1024 = inf, which is not in the format. NaN and ±inf pass through.
  static double round_unbounded(double x, int t) {
    const double r = round_unbounded_inf(x, t);
    return std::fabs(r) <= std::numeric_limits<double>::max() || !(std::fabs(x) <= std::numeric_limits<double>::max())
               ? r
               : std::copysign(unbounded_max(t), x);
  }

  // Same, but a carry past the double range gives ±inf (the overflow = inf policy).
  static double round_unbounded_inf(double x, int t) {
    if (t >= 53 || !(std::fabs(x) < std::numeric_limits<double>::infinity())) return x;  // NaN/Inf pass
    if (std::fabs(x) < std::numeric_limits<double>::min()) {
      // Double subnormals carry fewer bits: scale up exactly, round, scale back
      // (the result has <= t bits above 2^-1074, so the way back is exact).
      if (x == 0.0) return x;
      return std::ldexp(round_normal_bits(std::ldexp(x, 600), t), -600);
    }
    return round_normal_bits(x, t);
  }

  double round(double x) const {
    if (!bounded) return overflow == Overflow::inf ? round_unbounded_inf(x, t) : round_unbounded(x, t);
    const double ax = std::fabs(x);
    if (std::isnan(x)) return x;
    double r;
    if (ax >= min_normal()) {
      r = round_normal_bits(x, t);  // also handles ±inf (mantissa 0 stays 0)
    } else if (subnormals) {
      // Adding C = 2^(emin−t+1+52) puts the rounding position of the sum exactly at the
      // subnormal spacing; the FPU then rounds to nearest-even for us.
      const double c = std::ldexp(1.0, emin - t + 1 + 52);
      const double y = (ax + c) - c;
      r = std::copysign(y, x);
    } else {
      // Flush-to-zero format: nearest of {0, 2^emin}, ties to 0.
      r = std::copysign(ax > 0.5 * min_normal() ? min_normal() : 0.0, x);
    }
    if (std::fabs(r) > max_value) {
      r = overflow == Overflow::saturate ? std::copysign(max_value, x)
                                         : std::copysign(std::numeric_limits<double>::infinity(), x);
    }
    return r;
  }

  // Same as round() but always saturating: the nearest element of the finite set.
  // This is the rounding the quantizers use (a nearest point must exist).
  double round_saturating(double x) const {
    if (!bounded) return round_unbounded(x, t);
    Format f = *this;
    f.overflow = Overflow::saturate;
    return f.round(x);
  }

 private:
  // x a normal double (or ±inf/0): clear the low 53−t significand bits, ties to even.
  // A carry out of the significand bumps the exponent, which is the right answer.
  static double round_normal_bits(double x, int t) {
    const int drop = 53 - t;
    if (drop <= 0) return x;
    std::uint64_t u;
    std::memcpy(&u, &x, sizeof u);
    const std::uint64_t half = std::uint64_t(1) << (drop - 1);
    const std::uint64_t mask = (std::uint64_t(1) << drop) - 1;
    // t = 1: both neighbours of a tie have significand "1"; as k·2^(e−t+1) with k ∈ {1, 2}
    // the even one is the upper, and that choice keeps round(2a) = 2·round(a).
    const std::uint64_t lsb = t == 1 ? 1u : (u >> drop) & 1u;
    u = (u + (half - 1) + lsb) & ~mask;
    std::memcpy(&x, &u, sizeof u);
    return x;
  }
};

// Round-to-nearest with every per-format constant precomputed and no branches in the
// element functions, so the compiler vectorizes the array loops; must agree with
// Format::round bit for bit (tests).
class Rounder {
 public:
  explicit Rounder(const Format& f) {
    const int drop = 53 - std::min(f.t, 53);
    half_m1_ = drop > 0 ? (std::uint64_t(1) << (drop - 1)) - 1 : 0;
    keep_ = ~((std::uint64_t(1) << drop) - 1);
    lsb_shift_ = drop;
    lsb_mask_ = drop > 0 ? 1 : 0;  // t = 53 drops nothing: no tie, no increment
    lsb_force_ = f.t == 1 ? 1 : 0;
    if (f.bounded) {
      min_normal_ = std::ldexp(1.0, f.emin);
      half_min_normal_ = 0.5 * min_normal_;
      sub_c_ = std::ldexp(1.0, f.emin - f.t + 1 + 52);
      max_ = f.max_value;
      over_ = f.overflow == Overflow::saturate ? f.max_value : std::numeric_limits<double>::infinity();
    } else {
      // F_t within the double range: a carry into 2^1024 saturates (see Format::round_unbounded)
      umax_ = Format::unbounded_max(f.t);
      uover_ = f.overflow == Overflow::saturate ? umax_ : std::numeric_limits<double>::infinity();
    }
  }

  double unbounded(double x) const {
    // Double subnormals carry fewer bits: scale by 2^600 (exact), round, scale back.
    const double ax = std::fabs(x);
    const bool tiny = ax < std::numeric_limits<double>::min();
    const double r = bits(select(tiny, x * 0x1p600, x));
    const double back = select(tiny, r * 0x1p-600, r);
    const double sat = select(std::fabs(back) > umax_, std::copysign(uover_, x), back);
    return select(ax <= std::numeric_limits<double>::max(), sat, x);  // NaN/Inf pass
  }

  template <bool Subnormals>
  double bounded(double x) const {
    const double ax = std::fabs(x);
    const double normal = bits(x);
    const double small = Subnormals ? std::copysign((ax + sub_c_) - sub_c_, x)  // FPU rounds at the spacing
                                    : std::copysign(select(ax > half_min_normal_, min_normal_, 0.0), x);
    const double r = select(ax >= min_normal_, normal, small);  // NaN takes `small`, which stays NaN
    return select(std::fabs(r) > max_, std::copysign(over_, x), r);
  }

 private:
  // c ? a : b by masks: data-dependent branches (saturation, subnormals) mispredict.
  static double select(bool c, double a, double b) {
    std::uint64_t ua, ub;
    std::memcpy(&ua, &a, sizeof ua);
    std::memcpy(&ub, &b, sizeof ub);
    const std::uint64_t m = std::uint64_t(0) - std::uint64_t(c);
    const std::uint64_t u = (ua & m) | (ub & ~m);
    double r;
    std::memcpy(&r, &u, sizeof r);
    return r;
  }

  // Clear the low 53−t significand bits, ties to even (t = 1: see Format::round_normal_bits).
  double bits(double x) const {
    std::uint64_t u;
    std::memcpy(&u, &x, sizeof u);
    const std::uint64_t lsb = ((u >> lsb_shift_) & lsb_mask_) | lsb_force_;
    u = (u + half_m1_ + lsb) & keep_;
    std::memcpy(&x, &u, sizeof u);
    return x;
  }

  std::uint64_t half_m1_ = 0, keep_ = ~std::uint64_t(0), lsb_mask_ = 1, lsb_force_ = 0;
  int lsb_shift_ = 0;
  double min_normal_ = 0.0, half_min_normal_ = 0.0, sub_c_ = 0.0;
  double max_ = std::numeric_limits<double>::infinity(), over_ = std::numeric_limits<double>::infinity();
  double umax_ = std::numeric_limits<double>::max(), uover_ = std::numeric_limits<double>::max();
};

namespace detail {
// One thread's contiguous chunk; counts non-finite inputs.
template <class Op>
inline std::ptrdiff_t round_chunk(const double* in, double* out, std::ptrdiff_t n, Op op) {
  std::ptrdiff_t nonfinite = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const double x = in[i];
    nonfinite += std::fabs(x) <= std::numeric_limits<double>::max() ? 0 : 1;
    out[i] = op(x);
  }
  return nonfinite;
}

// The masks need 64-bit integer compares/blends, which plain x86-64 (SSE2) lacks: the chunk
// runs through the AVX2 and SSE4.2 copies of detail/simd.hpp, so a portable wheel still
// vectorizes it.
template <class Op>
std::ptrdiff_t round_chunk_dispatch(const double* in, double* out, std::ptrdiff_t n, Op op) {
  std::ptrdiff_t nonfinite = 0;
  simd_dispatch([&] { nonfinite = round_chunk(in, out, n, op); });
  return nonfinite;
}

// Static contiguous chunks, one per thread: the result does not depend on the thread count.
template <class Op>
std::ptrdiff_t round_loop(const double* in, double* out, std::ptrdiff_t n, Op op) {
  // threads only pay off on large arrays: a parallel region costs a scheduler time slice
  // whenever another process holds a core, far more than rounding 2^18 doubles
  constexpr std::ptrdiff_t kParallelMin = 1 << 18;
  std::ptrdiff_t nonfinite = 0;
#pragma omp parallel reduction(+ : nonfinite) if (n >= kParallelMin) num_threads(team_size(n, kParallelMin / 2))
  {
    std::ptrdiff_t lo = 0, hi = n;
    const std::ptrdiff_t nt = omp_num_threads(), id = omp_thread_num();
    lo = n * id / nt;
    hi = n * (id + 1) / nt;
    nonfinite += round_chunk_dispatch(in + lo, out + lo, hi - lo, op);
  }
  return nonfinite;
}
}  // namespace detail

// Elementwise rounding of n doubles; OpenMP over large arrays. in may equal out.
// Returns the number of non-finite inputs (passed through), so callers can reject them
// without a second pass over the data.
inline std::ptrdiff_t round_array(const double* in, double* out, std::ptrdiff_t n, const Format& f) {
  const Rounder r(f);
  if (!f.bounded && f.t >= 53) return detail::round_loop(in, out, n, [](double x) { return x; });
  if (!f.bounded) return detail::round_loop(in, out, n, [r](double x) { return r.unbounded(x); });
  if (f.subnormals) return detail::round_loop(in, out, n, [r](double x) { return r.bounded<true>(x); });
  return detail::round_loop(in, out, n, [r](double x) { return r.bounded<false>(x); });
}

// Worst-case relative error of round-to-nearest in F_t: v_t = 2^−t / (1 + 2^−t).
inline double unit_roundoff(int t) {
  Format::check_t(t);
  const double u = std::ldexp(1.0, -t);
  return u / (1.0 + u);
}

}  // namespace scaleq
