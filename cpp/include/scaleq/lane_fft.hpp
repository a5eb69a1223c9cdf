// Radix-2 FFTs of size N = 2^n run on 8 complex sequences at once ("lanes"), for the harmonic
// frame's FFT path (frames.hpp).
//
// Layout: a block is N rows of 16 doubles; row n holds the real parts of lanes 0..7 at [0, 8)
// and their imaginary parts at [8, 16). Every butterfly then runs the same straight-line code
// over 8 contiguous doubles, which vectorizes without shuffles, and the block is also the
// row-major N×16 matrix of 16 real columns (column l rides in the real part of lane l, column
// l + 8 in its imaginary part). One block is 128 KiB per 1024 rows: N = 8192 fits in L2.
// Twiddles exp(−2πi·t/N), t < N, are computed once per frame and shared read-only.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace scaleq {

constexpr int kLanes = 8;
constexpr int kLaneRow = 2 * kLanes;  // doubles per row

inline bool is_pow2(std::int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

struct LaneFFTTables {
  std::int64_t N = 0;
  std::vector<double> wr, wi;       // exp(−2πi·t/N) = wr[t] + i·wi[t], t < N
  std::vector<std::uint32_t> rev;   // bit reversal of log2(N) bits

  explicit LaneFFTTables(std::int64_t n) : N(n), wr(std::size_t(n)), wi(std::size_t(n)), rev(std::size_t(n)) {
    const double two_pi = 6.283185307179586476925286766559;
    for (std::int64_t t = 0; t < N; ++t) {
      wr[std::size_t(t)] = std::cos(two_pi * double(t) / double(N));
      wi[std::size_t(t)] = -std::sin(two_pi * double(t) / double(N));
    }
    int bits = 0;
    while ((std::int64_t(1) << bits) < N) ++bits;
    for (std::int64_t t = 0; t < N; ++t) {
      std::uint32_t r = 0;
      for (int b = 0; b < bits; ++b) r |= std::uint32_t((t >> b) & 1) << (bits - 1 - b);
      rev[std::size_t(t)] = r;
    }
  }
};

namespace lane_detail {

// A row as four 4-double vectors (GCC/Clang vector extensions: two SSE2 registers each on plain
// x86-64, one AVX2 register in the avx2 copies below). Written out explicitly because the
// auto-vectorizer prefers the loop over butterflies (strided twiddles, aliasing checks) to the
// one over lanes, and is then slower than scalar code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // v4d never crosses a call: everything here is inlined
#endif
typedef double v4d __attribute__((vector_size(32)));
typedef double v4d_u __attribute__((vector_size(32), aligned(8), may_alias));  // unaligned access
struct Row {
  v4d re0, re1, im0, im1;
};
// Forced inline: otherwise GCC keeps them out of line, compiled for plain x86-64, and the avx2
// copies below call them.
#define SCALEQ_LANE_INLINE inline __attribute__((always_inline))

SCALEQ_LANE_INLINE Row load(const double* p) {
  const v4d_u* v = reinterpret_cast<const v4d_u*>(p);
  return Row{v[0], v[1], v[2], v[3]};
}
SCALEQ_LANE_INLINE void store(double* p, const Row& r) {
  v4d_u* v = reinterpret_cast<v4d_u*>(p);
  v[0] = r.re0;
  v[1] = r.re1;
  v[2] = r.im0;
  v[3] = r.im1;
}

// (a, b) ← (a + w·b, a − w·b) on the 8 lanes of rows a and b.
SCALEQ_LANE_INLINE void dit_butterfly(double* a, double* b, double wr, double wi) {
  const Row x = load(a), y = load(b);
  const v4d br0 = y.re0 * wr - y.im0 * wi, br1 = y.re1 * wr - y.im1 * wi;
  const v4d bi0 = y.re0 * wi + y.im0 * wr, bi1 = y.re1 * wi + y.im1 * wr;
  store(a, Row{x.re0 + br0, x.re1 + br1, x.im0 + bi0, x.im1 + bi1});
  store(b, Row{x.re0 - br0, x.re1 - br1, x.im0 - bi0, x.im1 - bi1});
}

// (a, b) ← (a + b, w·(a − b)).
SCALEQ_LANE_INLINE void dif_butterfly(double* a, double* b, double wr, double wi) {
  const Row x = load(a), y = load(b);
  const v4d dr0 = x.re0 - y.re0, dr1 = x.re1 - y.re1, di0 = x.im0 - y.im0, di1 = x.im1 - y.im1;
  store(a, Row{x.re0 + y.re0, x.re1 + y.re1, x.im0 + y.im0, x.im1 + y.im1});
  store(b, Row{dr0 * wr - di0 * wi, dr1 * wr - di1 * wi, dr0 * wi + di0 * wr, dr1 * wi + di1 * wr});
}

// Decimation in time: bit-reversed input → natural-order output. sign = −1 for the forward
// kernel exp(−2πi·kn/N), +1 for the inverse (unscaled).
SCALEQ_LANE_INLINE void dit(double* x, const LaneFFTTables& T, double sign) {
  const std::int64_t N = T.N;
  for (std::int64_t h = 1; h < N; h *= 2) {
    const std::int64_t ts = N / (2 * h);
    for (std::int64_t g = 0; g < N; g += 2 * h)
      for (std::int64_t j = 0; j < h; ++j)
        dit_butterfly(x + (g + j) * kLaneRow, x + (g + j + h) * kLaneRow, T.wr[std::size_t(j * ts)],
                      -sign * T.wi[std::size_t(j * ts)]);
  }
}

// Decimation in frequency: natural-order input → bit-reversed output.
SCALEQ_LANE_INLINE void dif(double* x, const LaneFFTTables& T, double sign) {
  const std::int64_t N = T.N;
  for (std::int64_t h = N / 2; h >= 1; h /= 2) {
    const std::int64_t ts = N / (2 * h);
    for (std::int64_t g = 0; g < N; g += 2 * h)
      for (std::int64_t j = 0; j < h; ++j)
        dif_butterfly(x + (g + j) * kLaneRow, x + (g + j + h) * kLaneRow, T.wr[std::size_t(j * ts)],
                      -sign * T.wi[std::size_t(j * ts)]);
  }
}

// Plain x86-64 (SSE2) runs the butterflies two doubles wide; an AVX2 copy (no "fma": results
// must not depend on the machine) runs them four wide where the CPU has it.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SCALEQ_NO_DISPATCH)
__attribute__((target("avx2"))) inline void dit_avx2(double* x, const LaneFFTTables& T, double sign) {
  dit(x, T, sign);
}
__attribute__((target("avx2"))) inline void dif_avx2(double* x, const LaneFFTTables& T, double sign) {
  dif(x, T, sign);
}
inline bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#else
inline bool has_avx2() { return false; }
inline void dit_avx2(double* x, const LaneFFTTables& T, double sign) { dit(x, T, sign); }
inline void dif_avx2(double* x, const LaneFFTTables& T, double sign) { dif(x, T, sign); }
#endif

#undef SCALEQ_LANE_INLINE
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace lane_detail

// In place on a block of N rows (layout above).
inline void lane_fft_dit(double* x, const LaneFFTTables& T, double sign) {
  if (lane_detail::has_avx2()) lane_detail::dit_avx2(x, T, sign);
  else lane_detail::dit(x, T, sign);
}
inline void lane_fft_dif(double* x, const LaneFFTTables& T, double sign) {
  if (lane_detail::has_avx2()) lane_detail::dif_avx2(x, T, sign);
  else lane_detail::dif(x, T, sign);
}

}  // namespace scaleq
