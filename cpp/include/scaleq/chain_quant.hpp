// Quantization of chains of Kronecker-sparse factors by chains of rank-one problems
// (Gribonval, Mary, Riccietti, Algorithm 2 and variants). Never forms a product of factors.
//
// For consecutive factors B_k, B_(k+1), column j of B_k and row j of B_(k+1) form the
// rank-one block x_j y_jᵀ of the pair's product; for butterflies the blocks of different j
// have disjoint supports, so the pair splits into independent rank-one problems.
//  * l2r (Algorithm 2): each column of the current factor is quantized with ŷ free
//    (x̂ = round(λx), only its direction matters), its μ is pushed into row j of the next
//    factor; the last pair is solved with both sides quantized.
//  * r2l: the same on the transposed chain. pairwise: (B_1,B_2), (B_3,B_4), ... jointly.
//  * rtn: every entry rounded.
//  * lookahead (scaleq's): l2r whose per-column choice of λ also weighs the next step — see
//    quantize_lookahead.
// Bounded formats: every factor k has a power-of-two scale s_k; its codes s_k·B̂_k lie in the
// format. rtn takes s_k = 2^e bringing max|B_k| into the top binade; the rank-one methods
// one binade lower (headroom for λ ∈ [1, 2)) and search λ ∈ [1, 2) only, as for F_t.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaleq/format.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/rank_one.hpp"

namespace scaleq {

enum class ChainMethod { rtn, l2r, r2l, pairwise, m2m, lookahead };

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

// Power of two 2^e with max|v|·2^e in (max/2, max] for bounded formats; 1 otherwise.
inline double rtn_scale(const std::vector<double>& v, const Format& f) {
  if (!f.bounded) return 1.0;
  double m = 0.0;
  for (double a : v) m = std::max(m, std::fabs(a));
  if (m == 0.0) return 1.0;
  return std::ldexp(1.0, int(std::floor(std::log2(f.max_value / m))));
}

inline std::vector<double> rtn_values(const std::vector<double>& v, const Format& f, double& scale) {
  scale = rtn_scale(v, f);
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = f.round_saturating(v[i] * scale) / scale;
  return out;
}

// Bounded formats work on 2^e·B_k, the power of two putting max|B_k| in (max/4, max/2]:
// one binade of headroom for λ ∈ [1, 2). The codes round(λ·2^e·x) lie in the format and
// the factor's values are codes/2^e (μ = xᵀx̂/‖x̂‖² is the same in both units).
inline double working_scale(const std::vector<double>& v, const Format& f) {
  if (!f.bounded) return 1.0;
  double m = 0.0;
  for (double a : v) m = std::max(m, std::fabs(a));
  if (m == 0.0) return 1.0;
  return std::ldexp(1.0, int(std::floor(std::log2(f.max_value / m))) - 1);
}

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

inline Pattern transposed(const Pattern& p) { return {p.a, p.c, p.b, p.d}; }

inline ChainQuantResult quantize_r2l(const std::vector<Pattern>& pats, const std::vector<std::vector<double>>& vals,
                                     const Format& f) {
  // (B_1⋯B_J)ᵀ = B_Jᵀ⋯B_1ᵀ: run l2r on the transposed chain, transpose back.
  const std::size_t J = pats.size();
  std::vector<Pattern> tp(J);
  std::vector<std::vector<double>> tv(J);
  for (std::size_t k = 0; k < J; ++k) {
    tp[k] = transposed(pats[J - 1 - k]);
    tv[k] = ks_transpose_values(pats[J - 1 - k], vals[J - 1 - k].data());
  }
  ChainQuantResult t = quantize_l2r(tp, std::move(tv), f);
  ChainQuantResult r;
  r.values.resize(J);
  r.scales.resize(J);
  r.lam.resize(J);
  r.mu.resize(J);
  for (std::size_t k = 0; k < J; ++k) {
    r.values[J - 1 - k] = ks_transpose_values(tp[k], t.values[k].data());
    r.scales[J - 1 - k] = t.scales[k];
    r.lam[J - 1 - k] = std::move(t.lam[k]);  // here: per row of B_(J−k), scalings of Bᵀ's columns
    r.mu[J - 1 - k] = std::move(t.mu[k]);
  }
  return r;
}

// One ŷ-free step on the rows of factor k, pushing μ into the columns of factor k−1 (the
// mirror of an l2r step).
inline void free_rows_step(const std::vector<Pattern>& pats, std::vector<std::vector<double>>& vals, std::size_t k,
                           const Format& f, ChainQuantResult& r) {
  const Pattern &p = pats[k], &q = pats[k - 1];
  const double sk = r.scales[k] = working_scale(vals[k], f);
  solve_step(
      vals[k], [&](std::int64_t i) { return row_slice(p, i); }, sk, vals[k - 1],
      [&](std::int64_t i) { return column_slice(q, i); }, 1.0, p.rows(), false, f, r.lam[k], r.mu[k]);
}

// Meet in the middle: l2r steps on the left half, their mirror on the right half, and the
// joint step on the middle pair (scaleq's variant; same number of steps as Algorithm 2).
inline ChainQuantResult quantize_m2m(const std::vector<Pattern>& pats, std::vector<std::vector<double>> vals,
                                     const Format& f) {
  const std::size_t J = pats.size();
  if (J < 3) return quantize_l2r(pats, std::move(vals), f);
  ChainQuantResult r = empty_result(J);
  const std::size_t mid = J / 2;  // joint pair (mid−1, mid)
  for (std::size_t k = 0; k + 1 < mid; ++k) free_columns_step(pats, vals, k, f, r);
  for (std::size_t k = J - 1; k > mid; --k) free_rows_step(pats, vals, k, f, r);
  joint_pair(pats[mid - 1], vals[mid - 1], pats[mid], vals[mid], f, r.lam[mid - 1], r.mu[mid - 1], r.scales[mid - 1],
             r.scales[mid]);
  r.values = std::move(vals);
  return r;
}

// ---- look-ahead l2r ---------------------------------------------------------------
// In an l2r step every column's optimal λ is chosen alone, but its μ rescales a row of the
// next factor and so sets the directions the next step must approximate. Many λ are almost
// as good locally and give very different next-step errors (how well a direction is
// approximable by F_t points varies wildly). The look-ahead step keeps the K locally best
// λ of each column and, block by block of the next factor (its rows couple only inside a
// block (ia, id)), picks by coordinate descent the λ's minimizing
//   Σ_j ‖row_j(B_(k+1))‖²·‖x_j − μ_j x̂_j‖²  +  Σ_i ‖row_i(B_(k+2))‖²·min_ẑ ‖z_i − ν ẑ_i‖²,
// z_i the columns of diag(μ)·B_(k+1): the product error of this step plus an estimate of the
// next one (row norms stand in for the unquantized rest of the chain; exact when it is
// orthogonal). Next-step costs are taken in F_t (range ignored). Costs O(nnz·K·c·b·2^t).

// Column j of factor k becomes x̂/s_k (x̂ in working units) and its μ moves into row j of
// factor k+1: a look-ahead step's choice committed.
inline void commit_column(const std::vector<Pattern>& pats, std::vector<std::vector<double>>& vals, std::size_t k,
                          std::int64_t j, const std::vector<double>& xhat, double sk, double lam, double mu,
                          ChainQuantResult& r) {
  scatter(vals[k], column_slice(pats[k], j), xhat.data(), 1.0 / sk);
  scale_slice(vals[k + 1], row_slice(pats[k + 1], j), mu);
  r.lam[k][std::size_t(j)] = lam;
  r.mu[k][std::size_t(j)] = mu;
}

struct DirCandidate {
  double cost;  // ‖x − μ x̂‖² (x̂ in working units, x real)
  double lam, mu;
  std::vector<double> xhat;  // working units
};

// Midpoints of consecutive breakpoints of λ ↦ round(λx) on [1, 2) (plus 1): every distinct
// x̂ = round(λx) with λ there, for F_t; for bounded formats the same λ's (their subnormal
// breakpoints are a subset of these).
inline std::vector<double> candidate_lambdas(const std::vector<double>& x, int t) {
  std::vector<double> bps{1.0};
  std::vector<std::size_t> runs{0, 1};  // each entry's breakpoints come out sorted: merge runs
  const double step = std::ldexp(1.0, 1 - t);
  for (double v : x) {
    const double a = std::fabs(v);
    if (a == 0.0) continue;
    int e;
    const double m = 2.0 * std::frexp(a, &e);  // a = m·2^(e−1), m ∈ [1, 2)
    // midpoints of F_t in (m, 2m): (k + 1/2)·2^(1−t), k ∈ [2^(t−1), 2^t), in [1, 2), and twice
    // those in [2, 4); k starts at the first midpoint above m
    const double lo = std::ldexp(1.0, t - 1), hi = std::ldexp(1.0, t);
    for (double k = std::max(lo, std::floor(m / step - 0.5)); k < hi; k += 1.0) {
      const double mid = (k + 0.5) * step;
      if (mid > m) bps.push_back(mid / m);
    }
    for (double k = lo; k < hi; k += 1.0) {
      const double mid = 2.0 * (k + 0.5) * step;
      if (mid >= 2.0 * m) break;
      bps.push_back(mid / m);
    }
    runs.push_back(bps.size());
  }
  bps.push_back(2.0);
  runs.push_back(bps.size());
  for (std::size_t width = 1; width + 1 < runs.size(); width *= 2)
    for (std::size_t r = 0; r + width + 1 < runs.size(); r += 2 * width)
      std::inplace_merge(bps.begin() + std::ptrdiff_t(runs[r]), bps.begin() + std::ptrdiff_t(runs[r + width]),
                         bps.begin() + std::ptrdiff_t(runs[std::min(r + 2 * width, runs.size() - 1)]));
  bps.erase(std::unique(bps.begin(), bps.end()), bps.end());
  std::vector<double> lams;
  lams.reserve(bps.size());
  for (std::size_t i = 0; i + 1 < bps.size(); ++i) lams.push_back(0.5 * (bps[i] + bps[i + 1]));
  return lams;
}

// ‖x − μ x̂‖² (real units) of x̂ = round(λ·xw), and its μ, without storing x̂.
inline double direction_cost(const std::vector<double>& xw, double to_real, double lam, const Format& f, double& mu) {
  double xx = 0.0, xq = 0.0, qq = 0.0;
  for (std::size_t i = 0; i < xw.size(); ++i) {
    const double q = f.round_saturating(lam * xw[i]);
    xx += xw[i] * xw[i];
    xq += xw[i] * q;
    qq += q * q;
  }
  if (qq == 0.0) {
    mu = 1.0;
    return xx * to_real * to_real;
  }
  mu = xq / qq;
  double r2 = 0.0;
  for (std::size_t i = 0; i < xw.size(); ++i) {
    const double d = xw[i] - mu * f.round_saturating(lam * xw[i]);
    r2 += d * d;
  }
  return r2 * to_real * to_real;
}

inline DirCandidate direction_candidate(const std::vector<double>& xw, double to_real, double lam, const Format& f) {
  DirCandidate c{0.0, lam, 1.0, std::vector<double>(xw.size())};
  c.cost = direction_cost(xw, to_real, lam, f, c.mu);
  for (std::size_t i = 0; i < xw.size(); ++i) c.xhat[i] = f.round_saturating(lam * xw[i]);
  return c;
}

// The K candidates of smallest (cost, λ) (working-unit column xw = sk·x; costs in real
// units). Only the K kept are materialized: the λ's number 2^(t−1) per entry.
inline std::vector<DirCandidate> best_candidates(const std::vector<double>& xw, double sk, const Format& f,
                                                 std::size_t K) {
  std::vector<std::pair<double, double>> top;  // (cost, λ), ascending, at most K
  const std::vector<double> lams = candidate_lambdas(xw, f.t);
  for (std::size_t i = 0; i < lams.size(); ++i) {
    if ((i & 4095) == 4095) poll_interrupt();
    double mu;
    const std::pair<double, double> c{direction_cost(xw, 1.0 / sk, lams[i], f, mu), lams[i]};
    if (top.size() == K && !(c < top.back())) continue;
    top.insert(std::upper_bound(top.begin(), top.end(), c), c);
    if (top.size() > K) top.pop_back();
  }
  std::vector<DirCandidate> out;
  for (const auto& c : top) out.push_back(direction_candidate(xw, 1.0 / sk, c.second, f));
  return out;
}

// min over F_t directions of ‖z − ν ẑ‖² (the ŷ-free cost of a column), by the sweep.
inline double best_direction_cost(const std::vector<double>& z, const Format& ft,
                                  const std::shared_ptr<const Grid>& grid) {
  double z2 = 0.0;
  for (double a : z) z2 += a * a;
  if (z2 == 0.0) return 0.0;
  if ((std::size_t(1) << ft.t) * z.size() <= 512) {  // few breakpoints: enumerate them directly
    double best = z2, mu;
    for (double lam : candidate_lambdas(z, ft.t)) best = std::min(best, direction_cost(z, 1.0, lam, ft, mu));
    return best;
  }
  const RankOneResult r = rank_one_sweep(z, std::vector<double>{1.0}, ft, ft, false, grid);
  return z2 * r.error * r.error;
}

inline double row_norm2(const Pattern& p, const std::vector<double>& v, std::int64_t i) {
  double s = 0.0;
  for (double a : gather(v, row_slice(p, i))) s += a * a;
  return s;
}

// Memory of the look-ahead, all counted in the ledger (MemoryLedger) before it is allocated:
//  * held for the whole call (pinned): the F_t grid (16 B per point, 2^t + 1 points) and
//    the K kept candidates of every column of a step (x̂ of b entries and λ, μ, cost each);
//  * per column, while its candidates are scored (reserved per task, so threads wait rather
//    than overcommit): its candidate λ's, 2^(t−1) per entry, as list, merge buffer and
//    midpoints (24 B each);
//  * the next-step sweeps reserve their own (rank_one_sweep).
inline double lookahead_pinned_bytes(const std::vector<Pattern>& pats, const Format& f, std::size_t K) {
  double kept = 0.0;
  for (std::size_t k = 0; k + 2 < pats.size(); ++k)
    kept = std::max(kept, double(pats[k].cols()) * double(K) * (8.0 * double(pats[k].b) + 64.0));
  return kept + 16.0 * (std::ldexp(1.0, f.t) + 1.0);
}
inline double lookahead_column_bytes(std::int64_t len, const Format& f) {
  return 24.0 * double(len) * (std::ldexp(1.0, f.t - 1) + 2.0) + 64.0 * double(len);
}

// The look-ahead's time and memory grow as 2^t (candidate λ's per entry, next-step sweeps of
// 2^(t−1) breakpoints per entry): refused, before anything is allocated, for t > 20 (t = 24
// asked 8 GB for an 8x8 butterfly and aborted) and when one task would not fit the budget.
constexpr int kLookaheadMaxT = 20;
inline void check_lookahead_memory(const std::vector<Pattern>& pats, const Format& f, std::size_t K) {
  auto refuse = [&](const std::string& why) {
    throw std::invalid_argument("method 'lookahead' " + why +
                                ": use a format with a smaller t, or another method ('l2r', 'm2m', 'pairwise')");
  };
  if (f.t > kLookaheadMaxT)
    refuse("supports t <= " + std::to_string(kLookaheadMaxT) + " (got t = " + std::to_string(f.t) +
           "; its work and memory grow as 2^t per entry)");
  double task = 0.0;
  for (std::size_t k = 0; k + 2 < pats.size(); ++k) {
    task = std::max(task, lookahead_column_bytes(pats[k].b, f));
    task = std::max(task, double(pats[k + 1].b) * (32.0 * std::ldexp(1.0, f.t - 1) + 128.0));  // a next-step sweep
  }
  const double need = lookahead_pinned_bytes(pats, f, K) + task;
  if (need > double(memory_budget()))
    refuse("would hold about " + format_bytes(need) + " for t = " + std::to_string(f.t) +
           ", over the memory budget of " + format_bytes(double(memory_budget())) +
           " (environment variable SCALEQ_MEMORY_BUDGET_MB)");
}

inline ChainQuantResult quantize_lookahead(const std::vector<Pattern>& pats, std::vector<std::vector<double>> vals,
                                           const Format& f, std::size_t K = 3) {
  const std::size_t J = pats.size();
  if (J < 3) return quantize_l2r(pats, std::move(vals), f);
  check_lookahead_memory(pats, f, K);
  ChainQuantResult r = empty_result(J);
  const Format ft = Format::unbounded(f.t);
  const auto grid = make_grid(ft);
  const MemoryPin pin(std::size_t(lookahead_pinned_bytes(pats, f, K)));
  for (std::size_t k = 0; k + 2 < J; ++k) {
    const Pattern& p = pats[k];
    const Pattern& q = pats[k + 1];  // its rows are p's columns
    const std::int64_t n = p.cols();
    const double sk = r.scales[k] = working_scale(vals[k], f);
    std::vector<std::vector<DirCandidate>> cand(static_cast<std::size_t>(n));
    std::vector<double> w_row(static_cast<std::size_t>(n)), w_next(static_cast<std::size_t>(q.cols()));
    ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 64) if (n > 64) num_threads(detail::team_size())
    for (std::int64_t j = 0; j < n; ++j) {
      capture.run(j, [&] {
        poll_interrupt();
        const MemoryReservation reservation(std::size_t(lookahead_column_bytes(p.b, f)));
        if (!reservation.ok())
          throw std::invalid_argument("method 'lookahead': over the memory budget (shared with other calls)");
        cand[std::size_t(j)] = best_candidates(gather(vals[k], column_slice(p, j), sk), sk, f, K);
        w_row[std::size_t(j)] = row_norm2(q, vals[k + 1], j);
      });
    }
    capture.rethrow();
#pragma omp parallel for schedule(static) if (q.cols() > 256) num_threads(detail::team_size())
    for (std::int64_t i = 0; i < q.cols(); ++i)
      capture.run(i, [&] { w_next[std::size_t(i)] = row_norm2(pats[k + 2], vals[k + 2], i); });
    capture.rethrow();
    std::vector<std::size_t> pick(static_cast<std::size_t>(n), 0);
    // Coordinate descent inside each block (ia, id) of B_(k+1): b rows × c columns.
#pragma omp parallel for schedule(dynamic, 16) if (q.a * q.d > 16) num_threads(detail::team_size())
    for (std::int64_t blk = 0; blk < q.a * q.d; ++blk)
      capture.run(blk, [&] {
        const std::int64_t ia = blk / q.d, id = blk % q.d;
        auto row_of = [&](std::int64_t ib) { return (ia * q.b + ib) * q.d + id; };
        auto col_cost = [&](std::int64_t ic) {  // next-step cost of column i with the current picks
          std::vector<double> z(std::size_t(q.b));
          for (std::int64_t ib = 0; ib < q.b; ++ib) {
            const std::int64_t j = row_of(ib);
            z[std::size_t(ib)] = cand[std::size_t(j)][pick[std::size_t(j)]].mu *
                                 vals[k + 1][std::size_t(((ia * q.b + ib) * q.c + ic) * q.d + id)];
          }
          return w_next[std::size_t((ia * q.c + ic) * q.d + id)] * best_direction_cost(z, ft, grid);
        };
        std::vector<double> cc(std::size_t(q.c));
        for (std::int64_t ic = 0; ic < q.c; ++ic) cc[std::size_t(ic)] = col_cost(ic);
        for (int sweep = 0; sweep < 2; ++sweep) {
          bool changed = false;
          for (std::int64_t ib = 0; ib < q.b; ++ib) {
            poll_interrupt();
            const std::size_t j = std::size_t(row_of(ib));
            const std::size_t keep = pick[j];
            double best = INFINITY;
            std::size_t arg = keep;
            std::vector<double> best_cc = cc;
            for (std::size_t c = 0; c < cand[j].size(); ++c) {
              pick[j] = c;
              std::vector<double> trial(std::size_t(q.c));
              double total = w_row[j] * cand[j][c].cost;
              for (std::int64_t ic = 0; ic < q.c; ++ic)  // the kept pick's costs are already known
                total += trial[std::size_t(ic)] = c == keep ? cc[std::size_t(ic)] : col_cost(ic);
              if (total < best) {
                best = total;
                arg = c;
                best_cc = trial;
              }
            }
            pick[j] = arg;
            cc = best_cc;
            changed = changed || arg != keep;
          }
          if (!changed) break;
        }
      });
    capture.rethrow();
    r.lam[k].resize(std::size_t(n));
    r.mu[k].resize(std::size_t(n));
    for (std::int64_t j = 0; j < n; ++j) {
      const DirCandidate& c = cand[std::size_t(j)][pick[std::size_t(j)]];
      commit_column(pats, vals, k, j, c.xhat, sk, c.lam, c.mu, r);
    }
  }
  joint_pair(pats[J - 2], vals[J - 2], pats[J - 1], vals[J - 1], f, r.lam[J - 2], r.mu[J - 2], r.scales[J - 2],
             r.scales[J - 1]);
  r.values = std::move(vals);
  return r;
}

inline ChainQuantResult quantize_pairwise(const std::vector<Pattern>& pats, std::vector<std::vector<double>> vals,
                                          const Format& f) {
  const std::size_t J = pats.size();
  ChainQuantResult r = empty_result(J);
  for (std::size_t k = 0; k + 1 < J; k += 2)
    joint_pair(pats[k], vals[k], pats[k + 1], vals[k + 1], f, r.lam[k], r.mu[k], r.scales[k], r.scales[k + 1]);
  if (J % 2 == 1) vals[J - 1] = rtn_values(vals[J - 1], f, r.scales[J - 1]);
  r.values = std::move(vals);
  return r;
}

}  // namespace detail

inline ChainQuantResult quantize_chain(const std::vector<Pattern>& pats, const std::vector<std::vector<double>>& vals,
                                       const Format& f, ChainMethod method) {
  check_chain(pats);
  if (vals.size() != pats.size()) throw std::invalid_argument("one value array per pattern is required");
  for (std::size_t k = 0; k < pats.size(); ++k) {
    if (std::int64_t(vals[k].size()) != pats[k].nnz())
      throw std::invalid_argument("factor " + std::to_string(k) + ": expected " + std::to_string(pats[k].nnz()) +
                                  " values for pattern " + pats[k].str());
    for (double a : vals[k])
      if (!std::isfinite(a)) throw std::invalid_argument("factor " + std::to_string(k) + " contains NaN or Inf");
  }
  switch (method) {
    case ChainMethod::l2r:
      return detail::quantize_l2r(pats, vals, f);
    case ChainMethod::r2l:
      return detail::quantize_r2l(pats, vals, f);
    case ChainMethod::pairwise:
      return detail::quantize_pairwise(pats, vals, f);
    case ChainMethod::m2m:
      return detail::quantize_m2m(pats, vals, f);
    case ChainMethod::lookahead:
      return detail::quantize_lookahead(pats, vals, f);
    default: {
      ChainQuantResult r = detail::empty_result(pats.size());
      for (std::size_t k = 0; k < pats.size(); ++k) r.values.push_back(detail::rtn_values(vals[k], f, r.scales[k]));
      return r;
    }
  }
}

namespace detail {
// v·2^e for |e| up to ~2000 in two exact steps (2^e alone may not be a double)
template <class Scalar>
Scalar scale_pow2(Scalar v, int e) {
  return v * std::ldexp(1.0, e / 2) * std::ldexp(1.0, e - e / 2);
}

// A chain with every factor divided by the power of two 2^e_k of its largest |entry| (exact):
// the product is the original one times 2^−Σe_k, returned in `shift`, and its entries stay
// far from over/underflow however large or small the factors are.
template <class Scalar>
std::vector<KSFactor<Scalar>> normalized_chain(const std::vector<KSFactor<Scalar>>& A,
                                               std::vector<std::vector<Scalar>>& store, long& shift) {
  std::vector<KSFactor<Scalar>> out = A;
  store.resize(A.size());
  shift = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const std::size_t nnz = std::size_t(A[k].p.nnz());
    double amax = 0.0;
    for (std::size_t i = 0; i < nnz; ++i) amax = std::max(amax, double(std::abs(A[k].v[i])));
    if (amax == 0.0 || !std::isfinite(amax)) continue;
    int e;
    std::frexp(amax, &e);
    store[k].assign(A[k].v, A[k].v + nnz);
    for (Scalar& v : store[k]) v = scale_pow2(v, -e);
    out[k].v = store[k].data();
    shift += e;
  }
  return out;
}

// Σ|v_i|² as s·4^e without over/underflow: v is divided by the power of two of max|v_i|.
struct ScaledSumSq {
  double s = 0.0;
  int e = 0;
  template <class Scalar>
  static ScaledSumSq of(const Scalar* v, std::size_t n, double factor = 1.0) {
    double amax = 0.0;
    for (std::size_t i = 0; i < n; ++i) amax = std::max(amax, double(std::abs(v[i] * factor)));
    ScaledSumSq r;
    if (amax == 0.0) return r;
    std::frexp(amax, &r.e);
    for (std::size_t i = 0; i < n; ++i) r.s += std::norm(scale_pow2(v[i] * factor, -r.e));
    return r;
  }
  // sum of the parts in their order (deterministic), as s·4^e
  static ScaledSumSq total(const std::vector<ScaledSumSq>& parts) {
    ScaledSumSq r;
    bool any = false;
    for (const ScaledSumSq& p : parts)
      if (p.s > 0.0) r.e = any ? std::max(r.e, p.e) : p.e, any = true;
    for (const ScaledSumSq& p : parts)
      if (p.s > 0.0) r.s += std::ldexp(p.s, 2 * (p.e - r.e));
    return r;
  }
};
}  // namespace detail

// ‖A − B‖_F / ‖A‖_F for two chains of the same shape, exactly: both are applied to
// blocks of `block` columns of the identity and the differences accumulated, so no
// n×n matrix is ever held and no cancellation between ‖A‖² and ‖B‖² occurs. Each chain's
// factors are first divided by powers of two (the ratio is invariant) and the sums of squares
// are scaled, so products of factors beyond 1e±154 (or the double range) do not overflow;
// the blocks' sums are combined in block order, so the result does not depend on the threads.
template <class Scalar>
double chain_relative_error(const std::vector<KSFactor<Scalar>>& A0, const std::vector<KSFactor<Scalar>>& B0,
                            std::int64_t block = 32) {
  const std::int64_t m = A0.front().p.rows(), n = A0.back().p.cols();
  if (B0.front().p.rows() != m || B0.back().p.cols() != n)
    throw std::invalid_argument("chains must have the same shape");
  std::vector<std::vector<Scalar>> store_a, store_b;
  long ea = 0, eb = 0;
  const std::vector<KSFactor<Scalar>> A = detail::normalized_chain(A0, store_a, ea);
  const std::vector<KSFactor<Scalar>> B = detail::normalized_chain(B0, store_b, eb);
  // A = 2^ea·A', B = 2^eb·B': ‖A − B‖/‖A‖ = ‖A' − 2^(eb−ea)·B'‖/‖A'‖
  const long rel = eb - ea;
  const bool far = rel > 900 || rel < -900;  // then one of A', 2^rel·B' is negligible
  const double bfac = far ? 1.0 : std::ldexp(1.0, int(rel));
  const std::int64_t nblocks = (n + block - 1) / block;
  const std::size_t nbl = static_cast<std::size_t>(nblocks);
  std::vector<detail::ScaledSumSq> num(nbl), den(nbl), nb(nbl);
  // One parallel region over column blocks (the applies inside run serially): thousands of
  // small regions per call cost more than the work when another library's threads spin.
  detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) if (nblocks > 1) num_threads(detail::team_size())
  for (std::int64_t bi = 0; bi < nblocks; ++bi)
    capture.run(bi, [&] {
      poll_interrupt();
      const std::int64_t c0 = bi * block;
      const std::int64_t w = std::min(block, n - c0);
      std::vector<Scalar> E(std::size_t(n * w), Scalar(0));
      for (std::int64_t j = 0; j < w; ++j) E[std::size_t((c0 + j) * w + j)] = Scalar(1);
      const std::vector<Scalar> ya = ks_apply_chain(A, E.data(), w);
      std::vector<Scalar> yb = ks_apply_chain(B, E.data(), w);
      den[std::size_t(bi)] = detail::ScaledSumSq::of(ya.data(), ya.size());
      nb[std::size_t(bi)] = detail::ScaledSumSq::of(yb.data(), yb.size());
      for (std::size_t i = 0; i < ya.size(); ++i) yb[i] = ya[i] - yb[i] * bfac;
      num[std::size_t(bi)] = detail::ScaledSumSq::of(yb.data(), yb.size());
    });
  capture.rethrow();
  const detail::ScaledSumSq N = detail::ScaledSumSq::total(num), D = detail::ScaledSumSq::total(den),
                            NB = detail::ScaledSumSq::total(nb);
  if (D.s == 0.0) return NB.s > 0.0 ? INFINITY : 0.0;
  if (far && rel < 0) return 1.0;  // B = 2^rel·B' with rel < −900: error 1 − O(2^−890)
  if (far) {                       // B dominates: ‖A − B‖/‖A‖ = 2^rel·‖B'‖/‖A'‖·(1 + O(2^−890))
    if (NB.s == 0.0) return 1.0;
    return std::ldexp(std::sqrt(NB.s / D.s), int(std::min(rel + NB.e - D.e, 4000L)));
  }
  return std::ldexp(std::sqrt(N.s / D.s), N.e - D.e);
}

}  // namespace scaleq
