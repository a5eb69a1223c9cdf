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

#include "scaleq/detail/simd.hpp"

namespace scaleq {

constexpr int kLanes = 8;
constexpr int kLaneRow = 2 * kLanes;  // doubles per row

inline bool is_pow2(std::int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

struct LaneFFTTables {
  std::int64_t N = 0;
  std::vector<double> wr, wi;      // exp(−2πi·t/N) = wr[t] + i·wi[t], t < N
  std::vector<std::uint32_t> rev;  // bit reversal of log2(N) bits

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

namespace detail {

// Half a row (4 lanes) as a v4d pair (detail/simd.hpp). Written out explicitly because the
// auto-vectorizer prefers the loop over butterflies (strided twiddles, aliasing checks) to the
// one over lanes, and is then slower than scalar code. Everything here is SCALEQ_SIMD_INLINE,
// so that it is compiled into the dispatched copies of lane_fft_dit/lane_fft_dif.
SCALEQ_SIMD_BEGIN
struct Half {
  v4d re, im;
};

// Lanes [o, o+4) of row p (o = 0 or 4).
SCALEQ_SIMD_INLINE Half load_half(const double* p, int o) {
  return Half{*reinterpret_cast<const v4d_u*>(p + o), *reinterpret_cast<const v4d_u*>(p + kLanes + o)};
}
SCALEQ_SIMD_INLINE void store_half(double* p, int o, const Half& h) {
  *reinterpret_cast<v4d_u*>(p + o) = h.re;
  *reinterpret_cast<v4d_u*>(p + kLanes + o) = h.im;
}

struct Twiddle {
  double re, im;
};

// DIT butterfly (a, b) ← (a + w·b, a − w·b).
SCALEQ_SIMD_INLINE void dit_bf(Half& a, Half& b, Twiddle w) {
  const v4d br = b.re * w.re - b.im * w.im, bi = b.re * w.im + b.im * w.re;
  b = Half{a.re - br, a.im - bi};
  a = Half{a.re + br, a.im + bi};
}
// DIF butterfly (a, b) ← (a + b, w·(a − b)).
SCALEQ_SIMD_INLINE void dif_bf(Half& a, Half& b, Twiddle w) {
  const v4d dr = a.re - b.re, di = a.im - b.im;
  a = Half{a.re + b.re, a.im + b.im};
  b = Half{dr * w.re - di * w.im, dr * w.im + di * w.re};
}

// Twiddle of a radix-2 stage whose butterflies span h rows, at offset j < h: exp(∓2πi·j/(2h)).
SCALEQ_SIMD_INLINE Twiddle tw(const LaneFFTTables& T, std::int64_t h, std::int64_t j, double sign) {
  const std::size_t t = std::size_t(j * (T.N / (2 * h)));
  return Twiddle{T.wr[t], -sign * T.wi[t]};
}

// Two radix-2 stages per pass over the block (radix 2²: half the memory traffic of one stage
// per pass), with the same butterflies and twiddles as the plain radix-2 algorithm; a last
// single stage when log2 N is odd.
//
// Decimation in time: bit-reversed input → natural-order output. sign = −1 for the forward
// kernel exp(−2πi·kn/N), +1 for the inverse (unscaled). Stages h and 2h on rows
// g+j, g+j+h, g+j+2h, g+j+3h. Starts at stage h0 (1 or 2): the analysis does the first stage
// (h = 1) itself while building the spectrum, where half the bins are known to be zero.
SCALEQ_SIMD_INLINE void dit(double* x, const LaneFFTTables& T, double sign, std::int64_t h0) {
  const std::int64_t N = T.N;
  std::int64_t h = h0;
  for (; 4 * h <= N; h *= 4)
    for (std::int64_t g = 0; g < N; g += 4 * h)
      for (std::int64_t j = 0; j < h; ++j) {
        const Twiddle w1 = tw(T, h, j, sign), w2 = tw(T, 2 * h, j, sign), w3 = tw(T, 2 * h, j + h, sign);
        double* r0 = x + (g + j) * kLaneRow;
        double *r1 = r0 + h * kLaneRow, *r2 = r1 + h * kLaneRow, *r3 = r2 + h * kLaneRow;
        for (int o = 0; o < kLanes; o += 4) {
          Half a = load_half(r0, o), b = load_half(r1, o), c = load_half(r2, o), d = load_half(r3, o);
          dit_bf(a, b, w1);
          dit_bf(c, d, w1);
          dit_bf(a, c, w2);
          dit_bf(b, d, w3);
          store_half(r0, o, a), store_half(r1, o, b), store_half(r2, o, c), store_half(r3, o, d);
        }
      }
  if (h < N)  // h = N/2
    for (std::int64_t j = 0; j < h; ++j) {
      const Twiddle w = tw(T, h, j, sign);
      double *r0 = x + j * kLaneRow, *r1 = r0 + h * kLaneRow;
      for (int o = 0; o < kLanes; o += 4) {
        Half a = load_half(r0, o), b = load_half(r1, o);
        dit_bf(a, b, w);
        store_half(r0, o, a), store_half(r1, o, b);
      }
    }
}

// Decimation in frequency: natural-order input → bit-reversed output. Stages h and h/2 on rows
// g+j, g+j+h/2, g+j+h, g+j+3h/2.
SCALEQ_SIMD_INLINE void dif(double* x, const LaneFFTTables& T, double sign) {
  const std::int64_t N = T.N;
  std::int64_t h = N / 2;
  for (; h >= 2; h /= 4) {
    const std::int64_t q = h / 2;
    for (std::int64_t g = 0; g < N; g += 2 * h)
      for (std::int64_t j = 0; j < q; ++j) {
        const Twiddle w0 = tw(T, h, j, sign), w1 = tw(T, h, j + q, sign), w2 = tw(T, q, j, sign);
        double* r0 = x + (g + j) * kLaneRow;
        double *r1 = r0 + q * kLaneRow, *r2 = r1 + q * kLaneRow, *r3 = r2 + q * kLaneRow;
        for (int o = 0; o < kLanes; o += 4) {
          Half a = load_half(r0, o), b = load_half(r1, o), c = load_half(r2, o), d = load_half(r3, o);
          dif_bf(a, c, w0);
          dif_bf(b, d, w1);
          dif_bf(a, b, w2);
          dif_bf(c, d, w2);
          store_half(r0, o, a), store_half(r1, o, b), store_half(r2, o, c), store_half(r3, o, d);
        }
      }
  }
  if (h == 1) {
    const Twiddle w = tw(T, 1, 0, sign);
    for (std::int64_t g = 0; g < N; g += 2) {
      double *r0 = x + g * kLaneRow, *r1 = r0 + kLaneRow;
      for (int o = 0; o < kLanes; o += 4) {
        Half a = load_half(r0, o), b = load_half(r1, o);
        dif_bf(a, b, w);
        store_half(r0, o, a), store_half(r1, o, b);
      }
    }
  }
}

SCALEQ_SIMD_END

}  // namespace detail

// In place on a block of N rows (layout above). h0 = 2 skips the first DIT stage (the caller
// did it; N ≥ 2). Plain x86-64 (SSE2) runs the butterflies two doubles wide, the AVX2 copy
// (detail::simd_dispatch) four wide where the CPU has it.
inline void lane_fft_dit(double* x, const LaneFFTTables& T, double sign, std::int64_t h0 = 1) {
  detail::simd_dispatch([&] { detail::dit(x, T, sign, h0); });
}
inline void lane_fft_dif(double* x, const LaneFFTTables& T, double sign) {
  detail::simd_dispatch([&] { detail::dif(x, T, sign); });
}

}  // namespace scaleq
