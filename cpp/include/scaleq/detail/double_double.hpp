// Double-double arithmetic (an unevaluated sum hi + lo of two doubles) and exact product
// comparisons: the rank-one costs are differences of nearly equal terms.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace scaleq {

namespace detail {

// ---- double-double arithmetic: the costs are differences of nearly equal terms ----
struct DD {
  double hi = 0.0, lo = 0.0;
};
inline DD two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
inline DD quick_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}
inline DD operator+(DD a, DD b) {
  DD s = two_sum(a.hi, b.hi);
  return quick_two_sum(s.hi, s.lo + a.lo + b.lo);
}
inline DD operator+(DD a, double b) {
  DD s = two_sum(a.hi, b);
  return quick_two_sum(s.hi, s.lo + a.lo);
}
inline DD operator-(DD a) { return {-a.hi, -a.lo}; }
inline DD operator*(DD a, DD b) {
  const double p = a.hi * b.hi;
  const double e = std::fma(a.hi, b.hi, -p) + (a.hi * b.lo + a.lo * b.hi);
  return quick_two_sum(p, e);
}
inline DD ldexp(DD a, int k) { return {std::ldexp(a.hi, k), std::ldexp(a.lo, k)}; }
// 2^k for |k| < 1023 by building the exponent field (no libm call in hot loops)
inline double pow2(int k) {
  const std::uint64_t bits = std::uint64_t(k + 1023) << 52;
  double r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
// a = m·2^e with m in [1, 2), for positive normal a (the exponent field read directly: no
// libm call in hot loops); anything else goes to std::frexp
inline double split_binade(double a, int& e) {
  std::uint64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  const int field = int(bits >> 52);  // the sign bit is 0 for a > 0
  if (field > 0 && field < 2047) {
    e = field - 1023;
    bits = (bits & ((std::uint64_t(1) << 52) - 1)) | (std::uint64_t(1023) << 52);
    double m;
    std::memcpy(&m, &bits, sizeof m);
    return m;
  }
  const double m = 2.0 * std::frexp(a, &e);
  e -= 1;
  return m;
}
inline bool operator<(DD a, DD b) { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo); }

// exact sign of p·q − r·s for doubles (products exact via fma)
inline int cross_compare(double p, double q, double r, double s) {
  const double a = p * q, ea = std::fma(p, q, -a);
  const double b = r * s, eb = std::fma(r, s, -b);
  if (a != b) return a < b ? -1 : 1;
  if (ea != eb) return ea < eb ? -1 : 1;
  return 0;
}

}  // namespace detail

}  // namespace scaleq
