// Real harmonic frames in R^d (Benedetto, Powell, Yılmaz 2006) and their analysis/synthesis
// operators, applied to many columns at once (docs/design.md §5).
//
// Frame vector k = 1..N (stored as column i = k−1 of the d×N matrix E), with θ = 2π·k/N:
//   d even: e_k = sqrt(2/d)·[cos θ, sin θ, cos 2θ, sin 2θ, …, cos (d/2)θ, sin (d/2)θ]
//   d odd:  e_k = sqrt(2/d)·[1/√2, cos θ, sin θ, …, cos ((d−1)/2)θ, sin ((d−1)/2)θ]
// Every e_k has unit norm. E·Eᵀ = (N/d)·I (tight, frame bound N/d) needs Σ_k cos²(jθ) = N/2 for
// each frequency j ≤ d/2, i.e. N ∤ 2j, and Σ_k cos((j±l)θ) = 0, i.e. N ∤ j±l: N > d for even d
// (for N = d the sin((d/2)θ) row vanishes), N ≥ d for odd d. Those are the N accepted.
//
// Analysis C = Eᵀ·W and synthesis W = (d/N)·E·Q act on W (d×m) and C, Q (N×m), all row-major
// (blocks of columns are copied to buffers local to each thread).
// Two paths compute the same thing: "direct" (dense E, O(d·N) per column, Eigen GEMM) and "fft"
// (one complex FFT of size N per *pair* of columns: a real column is the real part of a
// Hermitian spectrum, so two columns ride in the real and imaginary parts; O(N log N)).
// For N a power of two the FFT path runs our own radix-2 FFT on 8 column pairs at once
// (lane_fft.hpp; blocks are row-major N×16), otherwise Eigen's FFT one pair at a time (blocks
// are column-major).
// Columns are independent: OpenMP over fixed blocks of columns, so results do not depend on the
// thread count.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unsupported/Eigen/FFT>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/lane_fft.hpp"

namespace scaleq {

enum class FrameMethod { Auto, Direct, FFT };

inline void check_harmonic(std::int64_t d, std::int64_t N) {
  if (d < 1) throw std::invalid_argument("d must be >= 1, got " + std::to_string(d));
  const std::int64_t nmin = d % 2 == 0 ? d + 1 : d;
  if (N < nmin)
    throw std::invalid_argument(
        "N must be >= " + std::to_string(nmin) + " for a tight harmonic frame in R^" + std::to_string(d) +
        (d % 2 == 0 ? " (d even: N = d would zero the last sine row)" : "") + ", got " + std::to_string(N));
  if (N > (std::int64_t(1) << 31)) throw std::invalid_argument("N is too large: " + std::to_string(N));
}

// Angle 2π·((j·k) mod N)/N: reducing the integer first keeps cos/sin arguments in [0, 2π).
inline double harmonic_angle(std::int64_t j, std::int64_t k, std::int64_t N) {
  const double two_pi = 6.283185307179586476925286766559;
  return two_pi * double((j * k) % N) / double(N);
}

// The d×N matrix E, row-major.
inline std::vector<double> harmonic_frame(std::int64_t d, std::int64_t N) {
  check_harmonic(d, N);
  std::vector<double> E(std::size_t(d * N));
  const std::int64_t o = d % 2;
  const double s = std::sqrt(2.0 / double(d));
  for (std::int64_t i = 0; i < N; ++i) {
    if (o) E[std::size_t(i)] = 1.0 / std::sqrt(double(d));
    for (std::int64_t j = 1; j <= d / 2; ++j) {
      const double t = harmonic_angle(j, i + 1, N);
      E[std::size_t((o + 2 * (j - 1)) * N + i)] = s * std::cos(t);
      E[std::size_t((o + 2 * (j - 1) + 1) * N + i)] = s * std::sin(t);
    }
  }
  return E;
}

// ⟨e_a, e_b⟩ depends only on t = a − b mod N: (2/d)·Σ_j cos(2πjt/N) (+ 1/d for odd d).
inline double harmonic_gram(std::int64_t d, std::int64_t N, std::int64_t t) {
  t = ((t % N) + N) % N;
  double g = d % 2 ? 1.0 / double(d) : 0.0;
  for (std::int64_t j = 1; j <= d / 2; ++j) g += 2.0 / double(d) * std::cos(harmonic_angle(j, t, N));
  return g;
}

inline void check_permutation(const std::int64_t* perm, std::int64_t N) {
  std::vector<char> seen(std::size_t(N), 0);
  for (std::int64_t k = 0; k < N; ++k) {
    const std::int64_t p = perm[k];
    if (p < 0 || p >= N || seen[std::size_t(p)])
      throw std::invalid_argument("perm must be a permutation of 0..N-1 (N = " + std::to_string(N) + ")");
    seen[std::size_t(p)] = 1;
  }
}

// Frame variation σ(E, p) = Σ_{k<N} ‖e_{p(k)} − e_{p(k+1)}‖, O(N·d) through the Gram function.
// perm == nullptr means the identity order.
inline double frame_variation(std::int64_t d, std::int64_t N, const std::int64_t* perm = nullptr) {
  check_harmonic(d, N);
  if (perm) check_permutation(perm, N);
  double s = 0.0;
  if (!perm) return double(N - 1) * std::sqrt(std::max(0.0, 2.0 - 2.0 * harmonic_gram(d, N, 1)));
  for (std::int64_t k = 0; k + 1 < N; ++k)
    s += std::sqrt(std::max(0.0, 2.0 - 2.0 * harmonic_gram(d, N, perm[k] - perm[k + 1])));
  return s;
}

// Largest prime factor of N: kissfft (behind Eigen::FFT) is fast for radices 2, 3, 4, 5 and
// quadratic in any other prime factor.
inline std::int64_t largest_prime_factor(std::int64_t n) {
  std::int64_t p = 1;
  for (std::int64_t f = 2; f * f <= n; ++f)
    while (n % f == 0) {
      p = f;
      n /= f;
    }
  return std::max(p, n);
}

// Auto: the FFT from d = 64 on, where its O(N log N) per column overtakes the dense GEMM's
// O(d·N) (below, the GEMM's better constant wins); dense for N with a large prime factor.
inline FrameMethod choose_method(std::int64_t d, std::int64_t N, FrameMethod m) {
  if (N < 2) return FrameMethod::Direct;  // kissfft does not take size 1 (an FFT of size 1 is the identity)
  if (m != FrameMethod::Auto) return m;
  return d >= 64 && largest_prime_factor(N) <= 7 ? FrameMethod::FFT : FrameMethod::Direct;
}

constexpr std::int64_t kFrameBlock = 16;  // columns per task: fixed, so results ignore thread count
static_assert(kFrameBlock == kLaneRow, "a block is one lane-FFT row wide");

// Where entry (k, j) of a local block of coefficients lives: block[k·rs + j·cs].
struct BlockLayout {
  std::int64_t rs, cs;
  bool lanes() const { return rs == kLaneRow; }
};

// Per-thread worker for one frame. It works on *local* blocks in HarmonicFrame's layouts:
// row-major d×16 and N×16 on the lane-FFT path, column-major otherwise. The callers gather a block by rows, so the
// strided, page-crossing walk down a column of a large row-major matrix happens once per block instead of once per
// column and per FFT pass.
class HarmonicOps {
 public:
  using Complex = std::complex<double>;
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ColMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

  HarmonicOps(std::int64_t d, std::int64_t N, FrameMethod method, const RowMat* E, const LaneFFTTables* T)
      : d_(d), N_(N), fft_method_(method == FrameMethod::FFT), E_(E), T_(T) {
    if (fft_method_ && !T_) {
      buf_.resize(std::size_t(N));
      out_.resize(std::size_t(N));
      fft_.SetFlag(Eigen::FFT<double>::Unscaled);
    }
  }

  // cT (nb coefficient columns) = Eᵀ · wT (nb columns of length d), in HarmonicFrame's layouts.
  void analyze(const double* wT, std::int64_t nb, double* cT) {
    if (T_) return analyze_lanes(wT, cT);
    if (!fft_method_) {
      Eigen::Map<ColMat>(cT, N_, nb).noalias() = E_->transpose() * Eigen::Map<const ColMat>(wT, d_, nb);
      return;
    }
    const std::int64_t o = d_ % 2;
    const double s = std::sqrt(2.0 / double(d_));
    for (std::int64_t c = 0; c < nb; c += 2) {
      const bool two = c + 1 < nb;
      std::fill(buf_.begin(), buf_.end(), Complex(0.0, 0.0));
      // Hermitian spectrum H with Σ_k H[k]e^{+ikθ} = Σ_j s·(a_j cos jθ + b_j sin jθ) (+ const):
      // H[j] = s(a_j − i b_j)/2, H[N−j] = conj(H[j]). Column c goes in as H1, column c+1 as i·H2,
      // so one inverse FFT returns both (real and imaginary parts).
      for (int p = 0; p < (two ? 2 : 1); ++p) {
        const double* w = wT + (c + p) * d_;
        const auto put = [&](std::size_t k, double re, double im) {  // buf[k] += unit·(re + i·im)
          if (p)
            buf_[k] += Complex(-im, re);
          else
            buf_[k] += Complex(re, im);
        };
        if (o) put(0, w[0] / std::sqrt(double(d_)), 0.0);
        for (std::int64_t j = 1; j <= d_ / 2; ++j) {
          const double a = 0.5 * s * w[o + 2 * (j - 1)], b = 0.5 * s * w[o + 2 * (j - 1) + 1];
          put(std::size_t(j), a, -b);
          put(std::size_t(N_ - j), a, b);
        }
      }
      fft_.inv(out_.data(), buf_.data(), N_);  // out[n] = Σ_k buf[k] e^{+2πikn/N}
      // frame index k = i+1 reads out[(i+1) mod N]
      double* c1 = cT + c * N_;
      for (std::int64_t i = 0; i < N_; ++i) c1[i] = out_[std::size_t(i + 1 < N_ ? i + 1 : 0)].real();
      if (two) {
        double* c2 = c1 + N_;
        for (std::int64_t i = 0; i < N_; ++i) c2[i] = out_[std::size_t(i + 1 < N_ ? i + 1 : 0)].imag();
      }
    }
  }

  // wT (nb columns of length d) = (d/N)·E · qT (nb coefficient columns), in HarmonicFrame's layouts. On the lane
  // path qT is overwritten (the FFT runs in place) and its unused columns should be zero: they
  // share the FFTs with the used ones and leak into them at rounding level.
  void synthesize(double* qT, std::int64_t nb, double* wT) {
    if (T_) return synthesize_lanes(qT, wT);
    const double scale = double(d_) / double(N_);
    if (!fft_method_) {
      Eigen::Map<ColMat>(wT, d_, nb).noalias() = scale * (*E_) * Eigen::Map<const ColMat>(qT, N_, nb);
      return;
    }
    const std::int64_t o = d_ % 2;
    const double s = scale * std::sqrt(2.0 / double(d_));
    for (std::int64_t c = 0; c < nb; c += 2) {
      const bool two = c + 1 < nb;
      const double* q1 = qT + c * N_;
      const double* q2 = two ? q1 + N_ : nullptr;
      for (std::int64_t i = 0; i < N_; ++i)  // x[(i+1) mod N] = q1_i + i·q2_i
        buf_[std::size_t(i + 1 < N_ ? i + 1 : 0)] = Complex(q1[i], two ? q2[i] : 0.0);
      fft_.fwd(out_.data(), buf_.data(), N_);  // X[k] = Σ_n x[n] e^{−2πikn/N}
      // Split the spectrum of x = q1 + i·q2: Q1[k] = (X[k] + conj X[N−k])/2, Q2[k] = (X[k] − conj X[N−k])/(2i).
      // Σ_i q_i cos(jθ_i) = Re Q[j], Σ_i q_i sin(jθ_i) = −Im Q[j].
      for (int p = 0; p < (two ? 2 : 1); ++p) {
        double* w = wT + (c + p) * d_;
        auto spec = [&](std::int64_t k) {
          const Complex a = out_[std::size_t(k)], b = std::conj(out_[std::size_t((N_ - k) % N_)]);
          return p ? (a - b) * Complex(0.0, -0.5) : (a + b) * 0.5;  // (a − b)/(2i)
        };
        if (o) w[0] = scale / std::sqrt(double(d_)) * spec(0).real();
        for (std::int64_t j = 1; j <= d_ / 2; ++j) {
          const Complex z = spec(j);
          w[o + 2 * (j - 1)] = s * z.real();
          w[o + 2 * (j - 1) + 1] = -s * z.imag();
        }
      }
    }
  }

 private:
  // Lane path: W blocks are row-major d×16 and coefficient blocks row-major N×16, so one pass
  // over the frequencies j handles all 16 columns with contiguous rows. Column c is lane c mod 8,
  // in the real part (c < 8) or the imaginary part (c ≥ 8) of the complex sequence, as the Eigen
  // path's pairs.
  //
  // Analysis: bin k of every column's spectrum H (see analyze()), times exp(+2πi·k/N) so that
  // the inverse FFT's output n is frame index n + 1 (no rotation afterwards), goes to row rev[k];
  // the DIT FFT then leaves the coefficients in natural row order. X = H1 + i·H2 per lane.
  // Only bins k ≤ d/2 and k ≥ N − d/2 are nonzero, so the first DIT stage (bins k and k + N/2,
  // rows rev[k] and rev[k] + 1, twiddle 1) is done here with the zeros known: it costs a copy
  // for most pairs, and no pass zeroes the block (for N = 2d every pair has a nonzero bin).
  // Same values as zero-filling and running the full FFT (x ± 0 = x).
  void analyze_lanes(const double* w, double* x) const {
    const LaneFFTTables& T = *T_;
    const std::int64_t half = N_ / 2;
    double A[kLaneRow], B[kLaneRow];
    for (std::int64_t k = 0; k < half; ++k) {
      const bool a = spectrum_bin(w, k, A), b = spectrum_bin(w, k + half, B);
      double* r0 = x + std::int64_t(T.rev[std::size_t(k)]) * kLaneRow;  // even row; r0 + kLaneRow holds bin k + N/2
      double* r1 = r0 + kLaneRow;
      for (int c = 0; c < kLaneRow; ++c) {
        const double p = a ? A[c] : 0.0, q = b ? B[c] : 0.0;
        r0[c] = a && b ? p + q : a ? p : q;
        r1[c] = a && b ? p - q : a ? p : -q;
      }
    }
    if (N_ >= 2)
      lane_fft_dit(x, T, +1.0, 2);
    else
      spectrum_bin(w, 0, x);  // N = 1: the transform is the identity
  }

  // Row X[k]·exp(+2πi·k/N) of the analysis spectrum (16 doubles into out); false (out untouched)
  // for the zero bins d/2 < k < N − d/2.
  bool spectrum_bin(const double* w, std::int64_t k, double* out) const {
    const std::int64_t o = d_ % 2;
    const double h = 0.5 * std::sqrt(2.0 / double(d_));
    // out = exp(+2πi·k/N)·(re + i·im) per column, re/im = 16 values each scaled by f
    const auto put = [&](const double* re, const double* im, double f) {
      const double cr = T_->wr[std::size_t(k)], ci = -T_->wi[std::size_t(k)];
      for (int l = 0; l < kLanes; ++l) {
        const double r1 = f * re[l], i1 = f * im[l], r2 = f * re[kLanes + l], i2 = f * im[kLanes + l];
        const double h1r = r1 * cr - i1 * ci, h1i = r1 * ci + i1 * cr;
        const double h2r = r2 * cr - i2 * ci, h2i = r2 * ci + i2 * cr;
        out[l] = h1r - h2i;
        out[kLanes + l] = h1i + h2r;
      }
    };
    double neg[kLaneRow], zero[kLaneRow] = {};
    if (k == 0) {
      if (o) put(w, zero, 1.0 / std::sqrt(double(d_)));
      return o;
    }
    const std::int64_t j = k <= d_ / 2 ? k : N_ - k <= d_ / 2 ? N_ - k : 0;
    if (j == 0) return false;
    const double* a = w + (o + 2 * (j - 1)) * kLaneRow;  // H[j] = h(a − i·b), H[N−j] = h(a + i·b)
    const double* b = a + kLaneRow;
    if (j == k) {
      for (int c = 0; c < kLaneRow; ++c) neg[c] = -b[c];
      put(a, neg, h);
    } else {
      put(a, b, h);
    }
    return true;
  }

  // Synthesis: the forward DIF FFT of the q columns as they stand (row i = frame index i + 1)
  // leaves Σ_i q_i e^{−2πik·i/N} in row rev[k]; times exp(−2πi·k/N) it is the spectrum X[k] of
  // the sequence indexed by frame index, split into the two real columns as in synthesize().
  // (Not finishing the last DIF stage here for the bins read, the way the analysis starts its
  // FFT: the split would then lose its direct row reads.)
  void synthesize_lanes(double* x, double* w) const {
    const LaneFFTTables& T = *T_;
    lane_fft_dif(x, T, -1.0);
    const double scale = double(d_) / double(N_);
    const std::int64_t o = d_ % 2;
    const double s = scale * std::sqrt(2.0 / double(d_));
    // out_re/out_im[c] = f·Re/f·Im of column c's Q[k], Q1 = (X[k] + conj X[N−k])/2, Q2 = (X[k] − conj X[N−k])/(2i)
    const auto split = [&](std::int64_t k, double* out_re, double* out_im, double f) {
      const std::int64_t k2 = (N_ - k) % N_;
      const double* ya = x + std::int64_t(T.rev[std::size_t(k)]) * kLaneRow;
      const double* yb = x + std::int64_t(T.rev[std::size_t(k2)]) * kLaneRow;
      const double war = T.wr[std::size_t(k)], wai = T.wi[std::size_t(k)];
      const double wbr = T.wr[std::size_t(k2)], wbi = T.wi[std::size_t(k2)];
      for (int l = 0; l < kLanes; ++l) {
        const double ar = ya[l] * war - ya[kLanes + l] * wai, ai = ya[l] * wai + ya[kLanes + l] * war;
        const double br = yb[l] * wbr - yb[kLanes + l] * wbi, bi = -(yb[l] * wbi + yb[kLanes + l] * wbr);
        out_re[l] = f * ((ar + br) * 0.5);
        out_im[l] = f * ((ai + bi) * 0.5);
        out_re[kLanes + l] = f * ((ai - bi) * 0.5);
        out_im[kLanes + l] = f * -((ar - br) * 0.5);
      }
    };
    double im0[kLaneRow];
    if (o) split(0, w, im0, scale / std::sqrt(double(d_)));
    for (std::int64_t j = 1; j <= d_ / 2; ++j) {
      double* a = w + (o + 2 * (j - 1)) * kLaneRow;  // w_a = s·Re Q[j], w_b = −s·Im Q[j]
      split(j, a, a + kLaneRow, s);
      for (int c = 0; c < kLaneRow; ++c) a[kLaneRow + c] = -a[kLaneRow + c];
    }
  }

  std::int64_t d_, N_;
  bool fft_method_;
  const RowMat* E_;
  const LaneFFTTables* T_;  // set on the FFT path when N is a power of two
  Eigen::FFT<double> fft_;
  std::vector<Complex> buf_, out_;
};

// Shared set-up for a frame: the dense E only when the direct path needs it, the twiddles only
// for the lane FFT.
struct HarmonicFrame {
  std::int64_t d, N;
  FrameMethod method;
  HarmonicOps::RowMat E;
  std::unique_ptr<LaneFFTTables> lane_tables;

  HarmonicFrame(std::int64_t d_, std::int64_t N_, FrameMethod m) : d(d_), N(N_) {
    check_harmonic(d, N);
    method = choose_method(d, N, m);
    if (method == FrameMethod::Direct) {
      const auto e = harmonic_frame(d, N);
      E = Eigen::Map<const HarmonicOps::RowMat>(e.data(), d, N);
    } else if (is_pow2(N)) {
      lane_tables = std::make_unique<LaneFFTTables>(N);
    }
  }
  HarmonicOps ops() const { return HarmonicOps(d, N, method, &E, lane_tables.get()); }
  // Local block layouts of coefficients (length N) and of W-side columns (length d).
  BlockLayout layout() const { return lane_tables ? BlockLayout{kLaneRow, 1} : BlockLayout{1, N}; }
  BlockLayout w_layout() const { return lane_tables ? BlockLayout{kLaneRow, 1} : BlockLayout{1, d}; }
};

// Block of columns [c0, c0+nb) of a row-major rows×m matrix A ↔ local buffer with layout L.
// The lane layout's unused columns are zeroed: they ride in the same FFTs as the used ones.
inline void gather_columns(const double* A, std::int64_t rows, std::int64_t m, std::int64_t c0, std::int64_t nb,
                           double* local, BlockLayout L) {
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < nb; ++c) local[r * L.rs + c * L.cs] = A[r * m + c0 + c];
    if (L.lanes())
      for (std::int64_t c = nb; c < kLaneRow; ++c) local[r * L.rs + c] = 0.0;
  }
}
inline void scatter_columns(const double* local, std::int64_t rows, std::int64_t m, std::int64_t c0, std::int64_t nb,
                            double* A, BlockLayout L) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < nb; ++c) A[r * m + c0 + c] = local[r * L.rs + c * L.cs];
}

// Per-thread state for for_column_blocks: the frame worker and local buffers.
struct BlockWork {
  HarmonicOps ops;
  std::vector<double> w, c;  // kFrameBlock columns of length d and N
  explicit BlockWork(const HarmonicFrame& F)
      : ops(F.ops()), w(std::size_t(F.d * kFrameBlock)), c(std::size_t(F.N * kFrameBlock)) {}
};

// Runs fn(work, first column, block width) over fixed column blocks, one BlockWork per thread.
template <class Fn>
void for_column_blocks(const HarmonicFrame& F, std::int64_t m, Fn fn) {
  const std::int64_t blocks = (m + kFrameBlock - 1) / kFrameBlock;
  // Runs of 4 blocks (64 columns) per thread when there are plenty: the int8 codes of 4 blocks
  // share each 64-byte line of a row, which then stays with one core instead of moving between
  // the cores at every row.
  const int chunk = blocks >= 32 ? 4 : 1;
  detail::ErrorCapture capture;
#pragma omp parallel if (blocks > 1 && F.d * F.N * m > (1 << 16)) num_threads(detail::team_size())
  {
    std::unique_ptr<BlockWork> work;
    capture.run(-1, [&] { work = std::make_unique<BlockWork>(F); });  // its failure stops every block
#pragma omp for schedule(dynamic, chunk)
    for (std::int64_t b = 0; b < blocks; ++b) {
      if (!work) continue;
      capture.run(b, [&] {
        poll_interrupt();
        const std::int64_t c0 = b * kFrameBlock;
        fn(*work, c0, std::min(kFrameBlock, m - c0));
      });
    }
  }
  capture.rethrow();
}

// C = Eᵀ·W: W is d×m, C is N×m (row-major, preallocated).
inline void frame_analysis(const HarmonicFrame& F, const double* W, std::int64_t m, double* C) {
  for_column_blocks(F, m, [&](BlockWork& k, std::int64_t c0, std::int64_t nb) {
    gather_columns(W, F.d, m, c0, nb, k.w.data(), F.w_layout());
    k.ops.analyze(k.w.data(), nb, k.c.data());
    scatter_columns(k.c.data(), F.N, m, c0, nb, C, F.layout());
  });
}

// W = (d/N)·E·Q: Q is N×m, W is d×m.
inline void frame_synthesis(const HarmonicFrame& F, const double* Q, std::int64_t m, double* W) {
  for_column_blocks(F, m, [&](BlockWork& k, std::int64_t c0, std::int64_t nb) {
    gather_columns(Q, F.N, m, c0, nb, k.c.data(), F.layout());
    k.ops.synthesize(k.c.data(), nb, k.w.data());
    scatter_columns(k.w.data(), F.d, m, c0, nb, W, F.w_layout());
  });
}

}  // namespace scaleq
