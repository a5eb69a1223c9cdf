// The 2K-level midrise quantizer and Sigma-Delta (ΣΔ) loops along a permutation, and their
// composition with a harmonic frame (Na 2024; docs/design.md §5).
//
// Midrise alphabet A = {±(j − 1/2)·δ : j = 1..K}. Q(v) = (n + 1/2)·δ with
// n = clamp(floor(v/δ), −K, K−1): the nearest element of A (a decision boundary v = nδ goes up).
// The stored code is the odd integer 2n+1 ∈ {±1, ±3, …, ±(2K−1)}, so q = (code/2)·δ exactly;
// codes fit in int8 for K ≤ 64.
//
// First order, along p: u_0 = 0, q_k = Q(u_{k−1} + c_{p(k)}), u_k = u_{k−1} + c_{p(k)} − q_k.
//   Stability: |v − Q(v)| ≤ δ/2 whenever |v| ≤ Kδ. If |u_{k−1}| ≤ δ/2 and |c| ≤ (K − 1/2)δ then
//   |v| ≤ Kδ, so |u_k| ≤ δ/2: by induction every |u_k| ≤ δ/2 (the paper's condition (9)).
// Second order (greedy): v = 2u_{k−1} − u_{k−2} + c_{p(k)}, q_k = Q(v), u_k = v − q_k, so that
//   c − q = u_k − 2u_{k−1} + u_{k−2} (a second difference). Stability: if |u_{k−1}|, |u_{k−2}| ≤ δ/2
//   then |v| ≤ 3δ/2 + |c|, which is ≤ Kδ when |c| ≤ (K − 3/2)δ; then again |u_k| ≤ δ/2. This needs
//   K ≥ 2 (for K = 1 the condition only admits c = 0 … and even then 3δ/2 > δ: no guarantee).
// Both conditions are checked (std::invalid_argument when violated; the fused frame loop checks
// each block before quantizing it and throws after the parallel region).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/detail/simd.hpp"
#include "scaleq/frames.hpp"

namespace scaleq {

struct SigmaDeltaParams {
  double step = 1.0;
  int levels = 1;  // K: 2K levels
  int order = 1;
};

// (K − 1/2) for order 1, (K − 3/2) for order 2: the largest |c|/δ the loop is guaranteed stable for.
inline double stability_margin(int levels, int order) { return order == 1 ? levels - 0.5 : levels - 1.5; }

inline void check_levels_order(int levels, int order) {
  if (levels < 1 || levels > 64)
    throw std::invalid_argument("levels must be in [1, 64] (codes ±1..±(2·levels−1) are int8), got " +
                                std::to_string(levels));
  if (order != 1 && order != 2) throw std::invalid_argument("order must be 1 or 2, got " + std::to_string(order));
  if (order == 2 && levels < 2)
    throw std::invalid_argument("order=2 needs levels >= 2: its stability condition is |c| <= (levels - 3/2)*step");
}

inline void check_params(const SigmaDeltaParams& P) {
  check_levels_order(P.levels, P.order);
  if (!(P.step > 0.0) || !std::isfinite(P.step))
    throw std::invalid_argument("step must be a positive finite number, got " + std::to_string(P.step));
}

// Smallest δ with cmax ≤ margin·δ in floating point (nudged up when the division rounds down).
// An all-zero input gets the smallest normal double: every step is stable and this one adds no error.
inline double smallest_stable_step(double cmax, int levels, int order) {
  check_levels_order(levels, order);
  if (!(cmax > 0.0)) return std::numeric_limits<double>::min();
  const double margin = stability_margin(levels, order);
  double step = cmax / margin;
  while (margin * step < cmax) step = std::nextafter(step, std::numeric_limits<double>::infinity());
  return step;
}

// %.6g: std::to_string's fixed six decimals print 1e-300 as 0.000000
inline std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Fewest levels K (at least 1 for order 1, 2 for order 2) with cmax <= margin(K)·step, by the
// same comparison check_stable makes; more than 64 (int8 codes) throws, naming the step that fits.
inline int smallest_stable_levels(double cmax, double step, int order) {
  if (order != 1 && order != 2) throw std::invalid_argument("order must be 1 or 2, got " + std::to_string(order));
  if (!(step > 0.0) || !std::isfinite(step))
    throw std::invalid_argument("step must be a positive finite number, got " + short_number(step));
  if (!(cmax >= 0.0) || !std::isfinite(cmax))
    throw std::invalid_argument("cmax must be a finite number >= 0, got " + short_number(cmax));
  const int kmin = order == 1 ? 1 : 2;
  const double ratio = cmax / step;
  auto too_many = [&] {
    return std::invalid_argument(
        "step " + short_number(step) + " needs more than 64 levels for max|c| = " + short_number(cmax) +
        " (cmax/step = " + short_number(ratio) +
        "); at most 64 are supported (int8 codes): use step >= " + short_number(smallest_stable_step(cmax, 64, order)));
  };
  if (!(ratio <= 64.0)) throw too_many();  // also inf: before any integer arithmetic on it
  // the closed form, then at most one step either way for the rounding of ratio
  int k = std::max(kmin, int(std::ceil(ratio + (order == 1 ? 0.5 : 1.5))));
  if (k > kmin && stability_margin(k - 1, order) * step >= cmax) --k;
  if (stability_margin(k, order) * step < cmax) ++k;
  if (k > 64) throw too_many();
  return k;
}

inline void check_stable(double cmax, const SigmaDeltaParams& P) {
  const double margin = stability_margin(P.levels, P.order);
  if (!(cmax <= margin * P.step))
    throw std::invalid_argument("step " + short_number(P.step) + " is unstable for levels=" + std::to_string(P.levels) +
                                ", order=" + std::to_string(P.order) +
                                ": need max|c| <= " + (P.order == 1 ? "(levels - 1/2)" : "(levels - 3/2)") +
                                "*step, but max|c| = " + short_number(cmax) + " (use step >= " +
                                short_number(smallest_stable_step(cmax, P.levels, P.order)) + " or more levels)");
}

namespace detail {
SCALEQ_SIMD_BEGIN

// One ΣΔ step on 4 columns, branch-free (signs of c are random: a branch would mispredict half
// the time), with vector extensions because GCC does not vectorize the scalar form. The code
// 2n+1 of Q(v): t = v/δ clamped to [−K, K−1], n = floor(t) by int32 truncation minus a 0/1
// correction (no SSE4.1 needed; |t| ≤ 64); floor(clamp(t)) = clamp(floor(t)) because the bounds
// are integers. Each column sees the same IEEE operations in the same order as the Python
// transcription in the tests, so results are bit-identical.
// OneBit (K = 1): t is clamped to [−1, 0], whose floor is −1 exactly when t < 0 (t = −0 gives
// floor −0, code +1), so the code is a sign test on t: the same codes and values with a
// dependency chain u → u of add, divide, compare, select, subtract instead of also the clamps
// and the int32 round trip. The loop is latency-bound (each column's u feeds its next step),
// so the shorter chain is what counts.
template <int Order, bool OneBit>
SCALEQ_SIMD_INLINE void step4(double* u1p, double* u2p, double* ump, const double* cinp, double* codep, double* valuep,
                              const double* stepp, double lo, double hi) {
  const v4d u1 = *reinterpret_cast<const v4d_u*>(u1p), u2 = *reinterpret_cast<const v4d_u*>(u2p);
  const v4d c = *reinterpret_cast<const v4d_u*>(cinp), step = *reinterpret_cast<const v4d_u*>(stepp);
  const v4d v = Order == 1 ? u1 + c : (2.0 * u1 - u2) + c;
  v4d t = v / step;
  v4d code;
  if (OneBit) {
    const v4d one = {1.0, 1.0, 1.0, 1.0};
    code = t < 0.0 ? -one : one;
  } else {
    t = t < lo ? lo : t;
    t = hi < t ? hi : t;
    const v4d n = __builtin_convertvector(__builtin_convertvector(t, v4i), v4d);  // truncation
    code = 2.0 * (n > t ? n - 1.0 : n) + 1.0;                                     // floor, exact in doubles
  }
  const v4d value = (code * 0.5) * step;
  const v4d u = v - value;
  const v4d um = *reinterpret_cast<const v4d_u*>(ump), au = u < 0.0 ? -u : u;
  *reinterpret_cast<v4d_u*>(ump) = um < au ? au : um;
  *reinterpret_cast<v4d_u*>(u2p) = u1;
  *reinterpret_cast<v4d_u*>(u1p) = u;
  *reinterpret_cast<v4d_u*>(codep) = code;
  *reinterpret_cast<v4d_u*>(valuep) = value;
}
// Max |x| over one contiguous chunk with 2-double vectors (native on plain x86-64, where this
// runs: 4-double ones would be split through the stack) and two running maxima each: GCC does
// not vectorize a floating-point max reduction without -ffast-math. max is exact, so the
// grouping does not change the result.
inline double max_abs_chunk(const double* x, std::int64_t n) {
  v2d acc0 = {0.0, 0.0}, acc1 = {0.0, 0.0};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v2d v0 = *reinterpret_cast<const v2d_u*>(x + i), v1 = *reinterpret_cast<const v2d_u*>(x + i + 2);
    const v2d a0 = v0 < 0.0 ? -v0 : v0, a1 = v1 < 0.0 ? -v1 : v1;
    acc0 = acc0 < a0 ? a0 : acc0;
    acc1 = acc1 < a1 ? a1 : acc1;
  }
  double m = std::max(std::max(acc0[0], acc0[1]), std::max(acc1[0], acc1[1]));
  for (; i < n; ++i) m = std::max(m, std::abs(x[i]));
  return m;
}
// x − x is +0 for finite x and NaN for ±Inf and NaN, and a NaN stays in the sum: one sum per
// lane and no branch (a scalar std::isfinite loop does not vectorize).
inline bool all_finite_chunk(const double* x, std::int64_t n) {
  v2d acc0 = {0.0, 0.0}, acc1 = {0.0, 0.0};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v2d v0 = *reinterpret_cast<const v2d_u*>(x + i), v1 = *reinterpret_cast<const v2d_u*>(x + i + 2);
    acc0 += v0 - v0;
    acc1 += v1 - v1;
  }
  double s = (acc0[0] + acc0[1]) + (acc1[0] + acc1[1]);
  for (; i < n; ++i) s += x[i] - x[i];
  return s == 0.0;
}

// ΣΔ down nb ≤ kFrameBlock columns (sigma_delta_block), compiled into each copy of
// simd_dispatch: the step runs two doubles wide on plain x86-64, four wide in the AVX2 copy.
// Column j steps with steps[j] (a per-column step is a lane of a vector: no cost over one step).
template <int Order, bool OneBit>
SCALEQ_SIMD_INLINE void sigma_delta_block_impl(const double* C, std::int64_t rs, std::int64_t cs, std::int64_t N,
                                               std::int64_t nb, const std::int64_t* perm, const double* steps, int K,
                                               std::int8_t* codes, std::int64_t ldq, double* qout, double* umax) {
  // The state is local arrays of fixed width kFrameBlock (lanes ≥ nb are fed zeros and
  // ignored), stepped 4 columns at a time (the recursion runs along k, columns are
  // independent); writes through int8_t* (which may alias anything) happen only after it.
  constexpr std::int64_t B = kFrameBlock;
  static_assert(B % 4 == 0, "step4 covers the block");
  double u1[B] = {}, u2[B] = {}, um[B] = {}, cin[B] = {}, code[B], value[B], step[B];
  for (std::int64_t j = 0; j < B; ++j) step[j] = j < nb ? steps[j] : 1.0;  // unused lanes see zeros
  const double lo = -double(K), hi = double(K - 1);
  // A full block with contiguous rows (the lane layout) is read, and q written, in place.
  const bool in_place = cs == 1 && nb == B;
  for (std::int64_t k = 0; k < N; ++k) {
    const std::int64_t row = perm ? perm[k] : k;
    const double* c = C + row * rs;
    if (!in_place)
      for (std::int64_t j = 0; j < nb; ++j) cin[j] = c[j * cs];
    const double* in = in_place ? c : cin;
    double* out = in_place && qout ? qout + row * rs : value;
    for (std::int64_t j = 0; j < B; j += 4)
      step4<Order, OneBit>(u1 + j, u2 + j, um + j, in + j, code + j, out + j, step + j, lo, hi);
    std::int8_t* q = codes + row * ldq;
    for (std::int64_t j = 0; j < nb; ++j) q[j] = std::int8_t(code[j]);
    if (qout && !in_place)
      for (std::int64_t j = 0; j < nb; ++j) qout[row * rs + j * cs] = value[j];
  }
  for (std::int64_t j = 0; j < nb; ++j) umax[j] = um[j];
}

SCALEQ_SIMD_END
}  // namespace detail

inline void check_finite(const double* x, std::int64_t n, const char* name) {
  constexpr std::int64_t chunk = 1 << 16;
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  bool ok = true;
#pragma omp parallel for reduction(&& : ok) schedule(static) if (chunks > 4) num_threads(detail::team_size())
  for (std::int64_t c = 0; c < chunks; ++c)
    ok = detail::all_finite_chunk(x + c * chunk, std::min(chunk, n - c * chunk)) && ok;
  if (!ok) throw std::invalid_argument(std::string(name) + " contains NaN or Inf");
}

inline double max_abs(const double* x, std::int64_t n) {
  if (n <= (1 << 18)) return detail::max_abs_chunk(x, n);
  constexpr std::int64_t chunk = 1 << 16;
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  double m = 0.0;
#pragma omp parallel for reduction(max : m) schedule(static) num_threads(detail::team_size())
  for (std::int64_t c = 0; c < chunks; ++c)
    m = std::max(m, detail::max_abs_chunk(x + c * chunk, std::min(chunk, n - c * chunk)));
  return m;
}

// ΣΔ down nb ≤ kFrameBlock columns at once. Entry (k, j) of C is C[k·rs + j·cs], in frame
// order; q_k for frame index p(k) goes to row p(k) of codes (row stride ldq) and, when qout is
// given, its value to qout[p(k)·rs + j·cs] (same layout as C; qout may be C). umax[j] = max_k |u_k|
// of column j. Column j steps with steps[j] when steps is given, else with P.step.
inline void sigma_delta_block(const double* C, std::int64_t rs, std::int64_t cs, std::int64_t N, std::int64_t nb,
                              const std::int64_t* perm, const SigmaDeltaParams& P, std::int8_t* codes, std::int64_t ldq,
                              double* qout, double* umax, const double* steps = nullptr) {
  double one_step[kFrameBlock];
  if (!steps) {
    std::fill(one_step, one_step + kFrameBlock, P.step);
    steps = one_step;
  }
  if (P.order == 2)  // needs K ≥ 2
    detail::simd_dispatch([&] {
      detail::sigma_delta_block_impl<2, false>(C, rs, cs, N, nb, perm, steps, P.levels, codes, ldq, qout, umax);
    });
  else if (P.levels == 1)
    detail::simd_dispatch([&] {
      detail::sigma_delta_block_impl<1, true>(C, rs, cs, N, nb, perm, steps, P.levels, codes, ldq, qout, umax);
    });
  else
    detail::simd_dispatch([&] {
      detail::sigma_delta_block_impl<1, false>(C, rs, cs, N, nb, perm, steps, P.levels, codes, ldq, qout, umax);
    });
}

// ΣΔ on every column of C (N×m row-major); codes N×m, umax m. Checks the stability condition.
inline void sigma_delta(const double* C, std::int64_t N, std::int64_t m, const std::int64_t* perm,
                        const SigmaDeltaParams& P, std::int8_t* codes, double* umax) {
  check_params(P);
  if (perm) check_permutation(perm, N);
  check_stable(max_abs(C, N * m), P);
  if (P.levels * P.step > 0x1p1000 || P.step < 0x1p-900) {
    // |u + c| reaches levels·step, which may overflow (inf − inf = NaN gave code 0), and a
    // tiny step makes the values code·step/2 subnormal, i.e. inexact. The loop only sees
    // c/step: run it on c·2^−s, step·2^−s with step·2^−s ∈ [1, 2) (exact, but for entries
    // below 2^−1022·2^s, which are < 2^−120·step and cannot change a code's rounding).
    int e;
    std::frexp(P.step, &e);
    const int s = e - 1;
    const double f1 = std::ldexp(1.0, -s / 2), f2 = std::ldexp(1.0, -s + s / 2);
    std::vector<double> Cs(C, C + N * m);
    for (double& v : Cs) v = v * f1 * f2;
    SigmaDeltaParams Ps = P;
    Ps.step = std::ldexp(P.step, -s);
    sigma_delta(Cs.data(), N, m, perm, Ps, codes, umax);
    for (std::int64_t j = 0; j < m; ++j) umax[j] = std::ldexp(umax[j], s);
    return;
  }
  const std::int64_t blocks = (m + kFrameBlock - 1) / kFrameBlock;
  detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1 && N * m > (1 << 16)) num_threads(detail::team_size())
  for (std::int64_t b = 0; b < blocks; ++b) {
    capture.run(b, [&] {
      poll_interrupt();
      const std::int64_t c0 = b * kFrameBlock;
      sigma_delta_block(C + c0, m, 1, N, std::min(kFrameBlock, m - c0), perm, P, codes + c0, m, nullptr, umax + c0);
    });
  }
  capture.rethrow();
}

inline void check_all_finite(const std::vector<char>& block_finite) {
  if (std::find(block_finite.begin(), block_finite.end(), 0) != block_finite.end())
    throw std::invalid_argument("W contains NaN or Inf");
}

struct FrameSigmaDelta {
  double step = 0.0;  // the δ used (per-column steps: the largest)
  double cmax = 0.0;  // max |c| over all frame coefficients
};

namespace detail {
// max |c| of each of the nb columns of one coefficient block (layout L, N rows).
inline void column_max_abs(const double* c, BlockLayout L, std::int64_t N, std::int64_t nb, double* out) {
  if (L.cs == 1) {  // lane layout: rows of kLaneRow columns
    double m[kLaneRow] = {};
    for (std::int64_t k = 0; k < N; ++k)
      for (std::int64_t j = 0; j < kLaneRow; ++j) {
        const double a = std::abs(c[k * L.rs + j]);
        m[j] = m[j] < a ? a : m[j];
      }
    std::copy(m, m + nb, out);
  } else {
    for (std::int64_t j = 0; j < nb; ++j) out[j] = max_abs_chunk(c + j * L.cs, N);
  }
}
}  // namespace detail

// W (d×m) → c = Eᵀ·W → ΣΔ along perm per column → codes (N×m, row i = frame vector e_{i+1}),
// umax (m), and ŵ = (d/N)·E·q into recon (d×m) unless recon is null. All outputs preallocated.
// One step for the matrix unless col_steps (m entries, in/out) is given: then column j steps
// with col_steps[j], and an entry ≤ 0 is replaced by that column's smallest stable step.
// step ≤ 0 picks the smallest stable step for (levels, order) from max|c| over the whole matrix,
// which needs every coefficient before the first ΣΔ step: a first pass analyzes all blocks (and,
// except on the lane-FFT path, keeps them in an N×m buffer, about 8·N·m bytes), the second
// quantizes and synthesizes block by block. With given steps one streaming pass does it all.
// Throws std::invalid_argument for NaN or Inf in W: each block is checked once it is gathered
// (in cache), instead of a separate pass over all of W (a 128 MiB read at d = m = 4096).
inline FrameSigmaDelta frame_sigma_delta(const HarmonicFrame& F, const double* W, std::int64_t m, double step,
                                         int levels, int order, const std::int64_t* perm, std::int8_t* codes,
                                         double* umax, double* recon, double* col_steps = nullptr) {
  check_levels_order(levels, order);
  if (perm) check_permutation(perm, F.N);
  const std::int64_t N = F.N, blocks = (m + kFrameBlock - 1) / kFrameBlock;
  const BlockLayout L = F.layout();
  const std::int64_t block_len = N * kFrameBlock;  // doubles per coefficient block (tail block included)
  const bool per_column = col_steps != nullptr;
  const double margin = stability_margin(levels, order);
  std::vector<double> block_max(std::size_t(blocks), 0.0), col_max(per_column ? std::size_t(m) : 0);
  std::vector<char> block_finite(std::size_t(blocks), 1);
  const std::int64_t w_len = F.d * kLaneRow;  // doubles in a lane-layout W block
  std::unique_ptr<double[]> all;              // uninitialized on purpose: every entry is written by pass 1
  bool have_max = false;                      // pass 1 ran: the block maxima are known
  const auto analyze = [&](BlockWork& k, std::int64_t c0, std::int64_t nb, double* out) {
    gather_columns(W, F.d, m, c0, nb, k.w.data(), F.w_layout());
    if (!have_max)  // the lane layout's unused columns are zeros
      block_finite[std::size_t(c0 / kFrameBlock)] =
          detail::all_finite_chunk(k.w.data(), F.w_layout().lanes() ? w_len : F.d * nb);
    k.ops.analyze(k.w.data(), nb, out);
    if (have_max) return;
    // the lane layout's unused columns are zero; the column-major one's are stale
    block_max[std::size_t(c0 / kFrameBlock)] = max_abs(out, L.lanes() ? block_len : N * nb);
    if (per_column) detail::column_max_abs(out, L, N, nb, col_max.data() + c0);
  };
  FrameSigmaDelta r;
  std::vector<double> steps(std::size_t(m), step);
  if (per_column) std::copy(col_steps, col_steps + m, steps.begin());
  const bool choose =
      per_column ? std::any_of(steps.begin(), steps.end(), [](double s) { return !(s > 0.0); }) : step <= 0.0;
  if (choose) {
    // Keep pass 1's coefficients, except on the lane-FFT path: there analyzing each block again
    // costs less than the memory traffic and page faults of an N×m buffer.
    if (!L.lanes()) all.reset(new double[std::size_t(block_len * blocks)]);
    for_column_blocks(F, m, [&](BlockWork& k, std::int64_t c0, std::int64_t nb) {
      analyze(k, c0, nb, all ? all.get() + c0 * N : k.c.data());
    });
    check_all_finite(block_finite);
    r.cmax = *std::max_element(block_max.begin(), block_max.end());
    if (per_column) {
      for (std::int64_t j = 0; j < m; ++j)
        if (!(steps[std::size_t(j)] > 0.0))
          steps[std::size_t(j)] = smallest_stable_step(col_max[std::size_t(j)], levels, order);
    } else {
      std::fill(steps.begin(), steps.end(), smallest_stable_step(r.cmax, levels, order));
    }
    have_max = true;
  }
  for (double s : steps) check_params({s, levels, order});
  r.step = m ? *std::max_element(steps.begin(), steps.end()) : step;
  const SigmaDeltaParams P{r.step, levels, order};
  // Each block's stability is judged before it is quantized (no throwing inside the parallel
  // region); a column that fails is reported after it, with the step it needs.
  const auto stable = [&](std::int64_t c0, std::int64_t nb) {
    if (!per_column) return block_max[std::size_t(c0 / kFrameBlock)] <= margin * steps[std::size_t(c0)];
    for (std::int64_t j = c0; j < c0 + nb; ++j)
      if (!(col_max[std::size_t(j)] <= margin * steps[std::size_t(j)])) return false;
    return true;
  };
  for_column_blocks(F, m, [&](BlockWork& k, std::int64_t c0, std::int64_t nb) {
    double* c = all ? all.get() + c0 * N : k.c.data();
    if (!all) analyze(k, c0, nb, c);
    if (!block_finite[std::size_t(c0 / kFrameBlock)] || !stable(c0, nb)) return;
    // The q values overwrite the coefficients in place: step k reads row p(k) of every column
    // and writes that same row, which no later step reads.
    sigma_delta_block(c, L.rs, L.cs, N, nb, perm, P, codes + c0, m, recon ? c : nullptr, umax + c0, steps.data() + c0);
    if (recon) {
      k.ops.synthesize(c, nb, k.w.data());
      scatter_columns(k.w.data(), F.d, m, c0, nb, recon, F.w_layout());
    }
  });
  check_all_finite(block_finite);
  r.cmax = *std::max_element(block_max.begin(), block_max.end());
  if (per_column) {
    for (std::int64_t j = 0; j < m; ++j)
      if (!(col_max[std::size_t(j)] <= margin * steps[std::size_t(j)])) {
        try {
          check_stable(col_max[std::size_t(j)], {steps[std::size_t(j)], levels, order});
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument("column " + std::to_string(j) + ": " + e.what());
        }
      }
    std::copy(steps.begin(), steps.end(), col_steps);
  } else {
    check_stable(r.cmax,
                 {steps.empty() ? step : steps[0], levels, order});  // the full message when a block was unstable
  }
  return r;
}

}  // namespace scaleq
