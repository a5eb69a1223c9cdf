// Real harmonic frames in R^d (Benedetto, Powell, Yılmaz 2006) and their analysis/synthesis
// operators, applied to many columns at once (DESIGN.md §5).
//
// Frame vector k = 1..N (stored as column i = k−1 of the d×N matrix E), with θ = 2π·k/N:
//   d even: e_k = sqrt(2/d)·[cos θ, sin θ, cos 2θ, sin 2θ, …, cos (d/2)θ, sin (d/2)θ]
//   d odd:  e_k = sqrt(2/d)·[1/√2, cos θ, sin θ, …, cos ((d−1)/2)θ, sin ((d−1)/2)θ]
// Every e_k has unit norm. E·Eᵀ = (N/d)·I (tight, frame bound N/d) needs Σ_k cos²(jθ) = N/2 for
// each frequency j ≤ d/2, i.e. N ∤ 2j, and Σ_k cos((j±l)θ) = 0, i.e. N ∤ j±l: N > d for even d
// (for N = d the sin((d/2)θ) row vanishes), N ≥ d for odd d. Those are the N accepted.
//
// Analysis C = Eᵀ·W and synthesis W = (d/N)·E·Q act on W (d×m) and C, Q (N×m), all row-major.
// Two paths compute the same thing: "direct" (dense E, O(d·N) per column, Eigen GEMM) and "fft"
// (one complex FFT of size N per *pair* of columns: a real column is the real part of a
// Hermitian spectrum, so two columns ride in the real and imaginary parts; O(N log N)).
// Columns are independent: OpenMP over fixed blocks of columns, so results do not depend on the
// thread count.
#pragma once

#include <Eigen/Dense>
#include <unsupported/Eigen/FFT>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace scaleq {

enum class FrameMethod { Auto, Direct, FFT };

inline void check_harmonic(std::int64_t d, std::int64_t N) {
  if (d < 1) throw std::invalid_argument("d must be >= 1, got " + std::to_string(d));
  const std::int64_t nmin = d % 2 == 0 ? d + 1 : d;
  if (N < nmin)
    throw std::invalid_argument("N must be >= " + std::to_string(nmin) + " for a tight harmonic frame in R^" +
                                std::to_string(d) + (d % 2 == 0 ? " (d even: N = d would zero the last sine row)" : "") +
                                ", got " + std::to_string(N));
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
    while (n % f == 0) { p = f; n /= f; }
  return std::max(p, n);
}

// Auto: FFT when it wins (measured on a 2-core EPYC with N = 4d: dense GEMM is 2× faster at
// d ≤ 48, the FFT 1.7× faster at d = 64 and 4× at d = 784); dense for N with a large prime factor.
inline FrameMethod choose_method(std::int64_t d, std::int64_t N, FrameMethod m) {
  if (N < 2) return FrameMethod::Direct;  // kissfft does not take size 1 (an FFT of size 1 is the identity)
  if (m != FrameMethod::Auto) return m;
  return d >= 64 && largest_prime_factor(N) <= 7 ? FrameMethod::FFT : FrameMethod::Direct;
}

constexpr std::int64_t kFrameBlock = 16;  // columns per task: fixed, so results ignore thread count

// Per-thread worker for one frame: transforms one block of ≤ kFrameBlock columns.
class HarmonicOps {
 public:
  using Complex = std::complex<double>;
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using CMap = Eigen::Map<const RowMat, 0, Stride>;
  using MMap = Eigen::Map<RowMat, 0, Stride>;

  HarmonicOps(std::int64_t d, std::int64_t N, FrameMethod method, const RowMat* E)
      : d_(d), N_(N), fft_method_(method == FrameMethod::FFT), E_(E), buf_(std::size_t(N)), out_(std::size_t(N)) {
    fft_.SetFlag(Eigen::FFT<double>::Unscaled);
  }

  // C[:, 0:nb] = Eᵀ·W[:, 0:nb]; W rows have stride ldw, C rows stride ldc.
  void analyze(const double* W, std::int64_t ldw, std::int64_t nb, double* C, std::int64_t ldc) {
    if (!fft_method_) {
      MMap(C, N_, nb, Stride(ldc)).noalias() = E_->transpose() * CMap(W, d_, nb, Stride(ldw));
      return;
    }
    const std::int64_t o = d_ % 2;
    const double s = std::sqrt(2.0 / double(d_));
    for (std::int64_t c = 0; c < nb; c += 2) {
      const bool two = c + 1 < nb;
      std::fill(buf_.begin(), buf_.end(), Complex(0.0, 0.0));
      // Hermitian spectrum H with Σ_k H[k]e^{+ikθ} = Σ_j s·(a_j cos jθ + b_j sin jθ) (+ const):
      // H[j] = s(a_j − i b_j)/2, H[N−j] = conj(H[j]). Column c goes in as H1, column c+1 as i·H2.
      for (int p = 0; p < (two ? 2 : 1); ++p) {
        const Complex unit = p ? Complex(0.0, 1.0) : Complex(1.0, 0.0);
        const double* w = W + c + p;
        if (o) buf_[0] += unit * (w[0] / std::sqrt(double(d_)));
        for (std::int64_t j = 1; j <= d_ / 2; ++j) {
          const Complex h = 0.5 * s * Complex(w[(o + 2 * (j - 1)) * ldw], -w[(o + 2 * (j - 1) + 1) * ldw]);
          buf_[std::size_t(j)] += unit * h;
          buf_[std::size_t(N_ - j)] += unit * std::conj(h);
        }
      }
      fft_.inv(out_.data(), buf_.data(), N_);  // out[n] = Σ_k buf[k] e^{+2πikn/N}
      for (std::int64_t i = 0; i < N_; ++i) {
        const Complex y = out_[std::size_t((i + 1) % N_)];  // frame index k = i+1
        C[i * ldc + c] = y.real();
        if (two) C[i * ldc + c + 1] = y.imag();
      }
    }
  }

  // W[:, 0:nb] = (d/N)·E·Q[:, 0:nb]; Q rows have stride ldq, W rows stride ldw.
  void synthesize(const double* Q, std::int64_t ldq, std::int64_t nb, double* W, std::int64_t ldw) {
    const double scale = double(d_) / double(N_);
    if (!fft_method_) {
      MMap(W, d_, nb, Stride(ldw)).noalias() = scale * (*E_) * CMap(Q, N_, nb, Stride(ldq));
      return;
    }
    const std::int64_t o = d_ % 2;
    const double s = scale * std::sqrt(2.0 / double(d_));
    for (std::int64_t c = 0; c < nb; c += 2) {
      const bool two = c + 1 < nb;
      for (std::int64_t i = 0; i < N_; ++i)
        buf_[std::size_t((i + 1) % N_)] = Complex(Q[i * ldq + c], two ? Q[i * ldq + c + 1] : 0.0);
      fft_.fwd(out_.data(), buf_.data(), N_);  // X[k] = Σ_n x[n] e^{−2πikn/N}
      // Split the spectrum of x = q1 + i·q2: Q1[k] = (X[k] + conj X[N−k])/2, Q2[k] = (X[k] − conj X[N−k])/(2i).
      // Σ_i q_i cos(jθ_i) = Re Q[j], Σ_i q_i sin(jθ_i) = −Im Q[j].
      for (int p = 0; p < (two ? 2 : 1); ++p) {
        double* w = W + c + p;
        auto spec = [&](std::int64_t k) {
          const Complex a = out_[std::size_t(k)], b = std::conj(out_[std::size_t((N_ - k) % N_)]);
          return p ? (a - b) / Complex(0.0, 2.0) : (a + b) * 0.5;
        };
        if (o) w[0] = scale / std::sqrt(double(d_)) * spec(0).real();
        for (std::int64_t j = 1; j <= d_ / 2; ++j) {
          const Complex z = spec(j);
          w[(o + 2 * (j - 1)) * ldw] = s * z.real();
          w[(o + 2 * (j - 1) + 1) * ldw] = -s * z.imag();
        }
      }
    }
  }

 private:
  std::int64_t d_, N_;
  bool fft_method_;
  const RowMat* E_;
  Eigen::FFT<double> fft_;
  std::vector<Complex> buf_, out_;
};

// Shared set-up for a frame: the dense E only when the direct path needs it.
struct HarmonicFrame {
  std::int64_t d, N;
  FrameMethod method;
  HarmonicOps::RowMat E;

  HarmonicFrame(std::int64_t d_, std::int64_t N_, FrameMethod m) : d(d_), N(N_) {
    check_harmonic(d, N);
    method = choose_method(d, N, m);
    if (method == FrameMethod::Direct) {
      const auto e = harmonic_frame(d, N);
      E = Eigen::Map<const HarmonicOps::RowMat>(e.data(), d, N);
    }
  }
  HarmonicOps ops() const { return HarmonicOps(d, N, method, &E); }
};

// Runs fn(ops, first column, block width) over fixed column blocks, one ops per thread.
template <class Fn>
void for_column_blocks(const HarmonicFrame& F, std::int64_t m, Fn fn) {
  const std::int64_t blocks = (m + kFrameBlock - 1) / kFrameBlock;
#pragma omp parallel if (blocks > 1 && F.d * F.N * m > (1 << 16))
  {
    HarmonicOps ops = F.ops();
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t c0 = b * kFrameBlock;
      fn(ops, c0, std::min(kFrameBlock, m - c0));
    }
  }
}

// C = Eᵀ·W: W is d×m, C is N×m (row-major, preallocated).
inline void frame_analysis(const HarmonicFrame& F, const double* W, std::int64_t m, double* C) {
  for_column_blocks(F, m, [&](HarmonicOps& ops, std::int64_t c0, std::int64_t nb) {
    ops.analyze(W + c0, m, nb, C + c0, m);
  });
}

// W = (d/N)·E·Q: Q is N×m, W is d×m.
inline void frame_synthesis(const HarmonicFrame& F, const double* Q, std::int64_t m, double* W) {
  for_column_blocks(F, m, [&](HarmonicOps& ops, std::int64_t c0, std::int64_t nb) {
    ops.synthesize(Q + c0, m, nb, W + c0, m);
  });
}

}  // namespace scaleq
