// One step of chain quantization (chain_quant.hpp): the result type, the slices of a factor
// that form its rank-one problems, the working scales, a step's problems solved together
// (solve_step), the joint pair and the ŷ-free l2r step, and Algorithm 2 (l2r) itself, which
// the other methods fall back to or build on.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/rank_one.hpp"

namespace scaleq {

struct ChainQuantResult {
  std::vector<std::vector<double>> values;  // quantized factors (the real values they stand for)
  std::vector<double> scales;               // stored codes = values·scale, in the format
  std::vector<std::vector<double>> lam;     // per factor: λ of each column (empty when not used)
  std::vector<std::vector<double>> mu;      // per factor: μ pushed into each row of the next one
};

namespace detail {

// One column or row of a factor: `len` values at off, off + step, ... of its value array.
struct Slice {
  std::size_t off, step, len;
};
// Column j: its b entries sit at stride c·d from ((ja·b)·c + jc)·d + jd.
inline Slice column_slice(const Pattern& p, std::int64_t j) {
  const std::int64_t ja = j / (p.c * p.d), jc = (j / p.d) % p.c, jd = j % p.d;
  return {std::size_t(((ja * p.b) * p.c + jc) * p.d + jd), std::size_t(p.c * p.d), std::size_t(p.b)};
}
// Row i: its c entries sit at stride d from ((ia·b + ib)·c)·d + id.
inline Slice row_slice(const Pattern& p, std::int64_t i) {
  const std::int64_t ia = i / (p.b * p.d), ib = (i / p.d) % p.b, id = i % p.d;
  return {std::size_t(((ia * p.b + ib) * p.c) * p.d + id), std::size_t(p.d), std::size_t(p.c)};
}
inline std::vector<double> gather(const std::vector<double>& v, Slice s, double scale = 1.0) {
  std::vector<double> out(s.len);
  for (std::size_t i = 0; i < s.len; ++i) out[i] = v[s.off + i * s.step] * scale;
  return out;
}
inline void scatter(std::vector<double>& v, Slice s, const double* x, double scale = 1.0) {
  for (std::size_t i = 0; i < s.len; ++i) v[s.off + i * s.step] = x[i] * scale;
}
inline void scale_slice(std::vector<double>& v, Slice s, double mu) {
  for (std::size_t i = 0; i < s.len; ++i) v[s.off + i * s.step] *= mu;
}

// The one power-of-two scale of a factor: 2^e with max|v|·2^e in (max/2^(h+1), max/2^h] for a
// bounded format (h binades of headroom below its largest value), 1 for F_t or v = 0. The
// exponent is found by exact comparisons (no log2 of a ratio that over- or underflows), and
// 2^e is kept in the double range.
inline double pow2_scale(const std::vector<double>& v, const Format& f, int headroom) {
  if (!f.bounded) return 1.0;
  double m = 0.0;
  for (double a : v) m = std::max(m, std::fabs(a));
  if (m == 0.0) return 1.0;
  int e = std::ilogb(f.max_value) - std::ilogb(m);
  while (std::ldexp(m, e + 1) <= f.max_value) ++e;  // the largest e with m·2^e <= max
  while (std::ldexp(m, e) > f.max_value) --e;
  // values are codes·2^-e: at most max·2^-e, which must stay finite (e >= ilogb(max) + 1 − 1024)
  return std::ldexp(1.0, std::min(std::max({e - headroom, -1074, std::ilogb(f.max_value) + 1 - 1024}), 1023));
}
// RTN's scale: max|v|·2^e in (max/2, max].
inline double rtn_scale(const std::vector<double>& v, const Format& f) { return pow2_scale(v, f, 0); }

inline std::vector<double> rtn_values(const std::vector<double>& v, const Format& f, double& scale) {
  scale = rtn_scale(v, f);
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = f.round_saturating(v[i] * scale) / scale;
  return out;
}

// Bounded formats work on 2^e·B_k, the power of two putting max|B_k| in (max/4, max/2]:
// one binade of headroom for λ ∈ [1, 2). The codes round(λ·2^e·x) lie in the format and
// the factor's values are codes/2^e (μ = xᵀx̂/‖x̂‖² is the same in both units).
inline double working_scale(const std::vector<double>& v, const Format& f) { return pow2_scale(v, f, 1); }

// The working scale leaves one binade of headroom: λ ∈ [1, 2) cannot saturate, and only that
// binade's breakpoints are swept (bounded formats: 2^(t−1) per entry instead of one binade's
// worth per exponent of the format — 30x fewer for fp16).
inline LamWindow unit_octave() { return LamWindow{1.0, 2.0}; }

// The rank-one problems of one chain step, for j < n: x_j = sx·(slice xof(j) of vx), and
//  * quantize_y: y_j = sy·(slice yof(j) of vy), both quantized, x̂_j/sx and ŷ_j/sy written back;
//  * otherwise ŷ free: x̂_j/sx written back, and μ_j multiplies slice yof(j) of vy.
// λ ∈ [1, 2) (unit_octave). Slices of at most kSmallRankOne entries (every butterfly) go
// through the allocation-free rank_one_small in one parallel loop; longer ones through
// rank_one_batch. Both give rank_one_sweep's optimum; results do not depend on the threads.
template <class XOf, class YOf>
void solve_step(std::vector<double>& vx, XOf xof, double sx, std::vector<double>& vy, YOf yof, double sy,
                std::int64_t n, bool quantize_y, const Format& f, std::vector<double>& lam, std::vector<double>& mu) {
  lam.resize(std::size_t(n));
  mu.resize(std::size_t(n));
  if (n == 0) return;
  const auto grid = make_grid(f);
  const std::size_t lx = xof(0).len, ly = yof(0).len;  // the same for every j of a factor
  if (lx <= kSmallRankOne && (!quantize_y || ly <= kSmallRankOne)) {
    ErrorCapture capture;
#pragma omp parallel for schedule(static, 64) if (n > 64) num_threads(detail::team_size())
    for (std::int64_t j = 0; j < n; ++j) {
      capture.run(j, [&] {
        poll_interrupt();
        const Slice xs = xof(j), ys = yof(j);
        double x[kSmallRankOne], y[kSmallRankOne], xh[kSmallRankOne], yh[kSmallRankOne];
        for (std::size_t i = 0; i < xs.len; ++i) x[i] = vx[xs.off + i * xs.step] * sx;
        if (quantize_y)
          for (std::size_t i = 0; i < ys.len; ++i) y[i] = vy[ys.off + i * ys.step] * sy;
        const SmallScalings r =
            rank_one_small(x, xs.len, quantize_y ? y : nullptr, ys.len, f, f, *grid, grid.get(), unit_octave(), xh, yh);
        lam[std::size_t(j)] = r.lam;
        mu[std::size_t(j)] = r.mu;
        scatter(vx, xs, xh, 1.0 / sx);
        if (quantize_y)
          scatter(vy, ys, yh, 1.0 / sy);
        else
          scale_slice(vy, ys, mu[std::size_t(j)]);
      });
    }
    capture.rethrow();
    return;
  }
  std::vector<std::vector<double>> xs(static_cast<std::size_t>(n)), ys(static_cast<std::size_t>(n), {1.0});
  for (std::int64_t j = 0; j < n; ++j) {
    if ((j & 1023) == 0) poll_interrupt();
    xs[std::size_t(j)] = gather(vx, xof(j), sx);
    if (quantize_y) ys[std::size_t(j)] = gather(vy, yof(j), sy);
  }
  const std::vector<RankOneResult> rs = rank_one_batch(xs, ys, f, f, quantize_y, unit_octave());
  for (std::int64_t j = 0; j < n; ++j) {
    const RankOneResult& q = rs[std::size_t(j)];
    scatter(vx, xof(j), q.x.data(), 1.0 / sx);
    if (quantize_y)
      scatter(vy, yof(j), q.y.data(), 1.0 / sy);
    else
      scale_slice(vy, yof(j), q.mu);
    lam[std::size_t(j)] = q.lam;
    mu[std::size_t(j)] = q.mu;
  }
}

// Quantize the pair (B_k = left, B_(k+1) = right) jointly, column j with row j, both sides.
inline void joint_pair(const Pattern& pl, std::vector<double>& left, const Pattern& pr, std::vector<double>& right,
                       const Format& f, std::vector<double>& lam, std::vector<double>& mu, double& scale_l,
                       double& scale_r) {
  scale_l = working_scale(left, f);
  scale_r = working_scale(right, f);
  solve_step(
      left, [&](std::int64_t j) { return column_slice(pl, j); }, scale_l, right,
      [&](std::int64_t j) { return row_slice(pr, j); }, scale_r, pl.cols(), true, f, lam, mu);
}

// A result for J factors: unit scales, no scalings yet.
inline ChainQuantResult empty_result(std::size_t J) {
  ChainQuantResult r;
  r.scales.assign(J, 1.0);
  r.lam.assign(J, {});
  r.mu.assign(J, {});
  return r;
}

// One ŷ-free l2r step on the columns of factor k, pushing μ into the rows of factor k+1
// (Algorithm 2's inner step; free_rows_step is its mirror).
inline void free_columns_step(const std::vector<Pattern>& pats, std::vector<std::vector<double>>& vals, std::size_t k,
                              const Format& f, ChainQuantResult& r) {
  const Pattern &p = pats[k], &q = pats[k + 1];
  const double sk = r.scales[k] = working_scale(vals[k], f);
  solve_step(
      vals[k], [&](std::int64_t j) { return column_slice(p, j); }, sk, vals[k + 1],
      [&](std::int64_t j) { return row_slice(q, j); }, 1.0, p.cols(), false, f, r.lam[k], r.mu[k]);
}

inline ChainQuantResult quantize_l2r(const std::vector<Pattern>& pats, std::vector<std::vector<double>> vals,
                                     const Format& f) {
  const std::size_t J = pats.size();
  ChainQuantResult r = empty_result(J);
  if (J == 1) {
    r.values = {rtn_values(vals[0], f, r.scales[0])};
    return r;
  }
  for (std::size_t k = 0; k + 2 < J; ++k) free_columns_step(pats, vals, k, f, r);
  joint_pair(pats[J - 2], vals[J - 2], pats[J - 1], vals[J - 1], f, r.lam[J - 2], r.mu[J - 2], r.scales[J - 2],
             r.scales[J - 1]);
  r.values = std::move(vals);
  return r;
}

}  // namespace detail

}  // namespace scaleq
