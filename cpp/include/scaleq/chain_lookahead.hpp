// The look-ahead variant of l2r (ChainMethod::lookahead): each column keeps its K locally best
// λ, and the choice among them weighs the next step's error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scaleq/chain_step.hpp"
#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/rank_one.hpp"

namespace scaleq {

namespace detail {

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

}  // namespace detail

}  // namespace scaleq
