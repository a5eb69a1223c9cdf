// Floating-point formats and round-to-nearest (ties to even) by bit manipulation.
//
// F_t = {±k·2^(e−t) : k ∈ [2^(t−1), 2^t − 1], e ∈ Z} ∪ {0}: t counts significant
// bits including the leading one (fp16 ↔ 11). A bounded format adds an exponent
// range [emin, emax], subnormals with spacing 2^(emin−t+1), a largest finite value
// and an overflow policy. Values are carried in IEEE doubles throughout.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

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
  static Format make_bounded(int t, int emin, int emax, bool subnormals, Overflow overflow,
                             double max_value = 0.0) {
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
  double subnormal_spacing() const { return std::ldexp(1.0, emin - t + 1); }

  // Round to nearest, ties to even significand, in F_t (double range).
  static double round_unbounded(double x, int t) {
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
    if (!bounded) return round_unbounded(x, t);
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

// Elementwise rounding of n doubles; OpenMP over large arrays. in may equal out.
inline void round_array(const double* in, double* out, std::ptrdiff_t n, const Format& f) {
  constexpr std::ptrdiff_t kParallelMin = 1 << 16;
  if (!f.bounded) {
    const int t = f.t;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (std::ptrdiff_t i = 0; i < n; ++i) out[i] = Format::round_unbounded(in[i], t);
  } else {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (std::ptrdiff_t i = 0; i < n; ++i) out[i] = f.round(in[i]);
  }
}

// Worst-case relative error of round-to-nearest in F_t: v_t = 2^−t / (1 + 2^−t).
inline double unit_roundoff(int t) {
  Format::check_t(t);
  const double u = std::ldexp(1.0, -t);
  return u / (1.0 + u);
}

}  // namespace scaleq
