// Block-scaled formats (NVFP4, OCP MX): a block w of b entries is stored as g·s·q — codes q in
// an element format, one scale s per block in a scale format, g one tensor scale. This is
// the rank-one problem with y = [1] (x̂ = q, ŷ = s): for a fixed s the best codes round
// w/(g·s) to nearest, coordinatewise, so the exact optimum is the best of the scale format's
// values. A lower bound on a candidate's error (the largest entry beyond g·s·qmax) and the
// comparison of c with c/2 when c/2 saturates nothing rule out all but a few candidates
// (docs/design.md §7).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"

namespace scaleq {

// How a recipe picks a block's scale from its largest magnitude amax (the anchors' rules):
// nearest: s = round(amax/(g·qmax)) in the scale format (NVIDIA's NVFP4, modelopt, torchao);
// mx_floor: s = 2^(floor(log2 amax) − emax of the element format) (the OCP MX specification).
enum class ScaleRecipe { nearest, mx_floor };

struct BlockScaleResult {
  double error2 = 0.0;         // Σ over blocks of ‖w − g·s·q‖² (units of W as passed)
  double recipe_error2 = 0.0;  // the same with the recipe's scales
  std::int64_t evaluated = 0;  // candidate scales evaluated, the recipe's included
};

class BlockScaler {
 public:
  BlockScaler(const Format& element, const Format& scale, ScaleRecipe recipe)
      : fe_(element), fs_(scale), recipe_(recipe) {
    if (!element.bounded) throw std::invalid_argument("the element format must be bounded (e.g. fp4_e2m1)");
    if (!scale.bounded) throw std::invalid_argument("the scale format must be bounded (e.g. fp8_e4m3)");
    const detail::Grid ge = detail::bounded_grid(element);
    qmax_ = ge.vals.back();
    vals_ = ge.vals;  // 0 and the positive values, ascending
    mids_ = ge.mids;
    const detail::Grid gs = detail::bounded_grid(scale);
    scales_.assign(gs.vals.begin() + 1, gs.vals.end());  // the positive values, ascending
    if (scales_.empty()) throw std::invalid_argument("the scale format has no positive value");
    min_normal2_ = std::ldexp(1.0, scale.emin + 1);  // from here on, c/2 is a normal scale value
  }

  // One block of b entries, tensor scale g: its optimal scale (or the recipe's when !optimal)
  // into *s, codes into q, and the squared errors of that scale and of the recipe's.
  void solve(const double* w, int b, double g, bool optimal, double* s, double* q, double& err2, double& recipe2,
             std::int64_t& evaluated) const {
    double amax = 0.0;
    for (int i = 0; i < b; ++i) amax = std::max(amax, std::fabs(w[i]));
    const double sr = recipe_scale(amax, g);
    ++evaluated;
    if (!optimal || amax == 0.0) {
      *s = sr;
      err2 = recipe2 = error_at(w, b, g, sr, q);
      return;
    }
    recipe2 = error_below(w, b, g, sr, std::numeric_limits<double>::infinity());
    double best_s = sr, best = recipe2;
    // Below s_lo the largest entry alone misses by more than √best (1e-9 of slack for rounding).
    auto lo_of = [&](double e) { return (amax - std::sqrt(e * (1.0 + 1e-9))) / (g * qmax_); };
    double s_lo = lo_of(best);
    // outward from the recipe's scale, the likeliest optimum: the bound tightens early
    const std::ptrdiff_t count = std::ptrdiff_t(scales_.size());
    const std::ptrdiff_t start = std::lower_bound(scales_.begin(), scales_.end(), sr) - scales_.begin();
    std::ptrdiff_t up = start, down = start - 1;
    bool up_open = true;
    while (best > 0.0) {
      const bool can_up = up_open && up < count;
      const bool can_down = down >= 0 && scales_[std::size_t(down)] >= s_lo;
      if (!can_up && !can_down) break;
      const std::ptrdiff_t k = can_up ? up++ : down--;
      const double c = scales_[std::size_t(k)];
      if (k >= start) {
        // c is no better than c/2 when c/2 is a scale that saturates no entry: c/2's grid of
        // reconstructions holds every point of c's up to g·(c/2)·qmax >= max|w| (doubling a
        // code <= qmax/2 keeps its bits), and nothing nearer lies beyond. From a normal c on,
        // the same holds for every larger scale: the upward side is done.
        if (c >= min_normal2_ && g * (0.5 * c) * qmax_ >= amax * (1.0 + 1e-12)) {
          up_open = false;
          continue;
        }
      }
      if (c == sr) continue;
      ++evaluated;
      const double e = error_below(w, b, g, c, best);
      if (e < best) {  // ties: the recipe's scale, then the one met first
        best = e, best_s = c;
        s_lo = lo_of(best);
      }
    }
    *s = best_s;
    err2 = error_at(w, b, g, best_s, q);
  }

  double recipe_scale(double amax, double g) const {
    if (amax == 0.0) return scales_.front();
    if (recipe_ == ScaleRecipe::mx_floor) {
      const double s = fs_.round_saturating(std::ldexp(1.0, std::ilogb(amax / g) - fe_.emax));
      return s > 0.0 ? s : scales_.front();
    }
    const double s = fs_.round_saturating(amax / (g * qmax_));
    return s > 0.0 ? s : scales_.front();  // below the scale format's smallest value
  }

  // ‖w − g·s·q‖² for a candidate, or any value above `bound` once the partial sum passes it
  // (the candidate then loses). Rounding by the element grid's midpoints, after multiplying by
  // 1/(g·s): a code can differ from round(w/(g·s)) only at a midpoint, where both neighbours
  // give the same error.
  double error_below(const double* w, int b, double g, double s, double bound) const {
    const double gs = g * s, inv = 1.0 / gs;
    const double* mids = mids_.data();
    const std::size_t nm = mids_.size();
    double e = 0.0;
    for (int i = 0; i < b; ++i) {
      const double a = std::fabs(w[i]) * inv;
      double v;
      if (nm <= 8) {  // fp4: count the midpoints below, branch-free
        std::size_t k = 0;
        for (std::size_t j = 0; j < nm; ++j) k += mids[j] <= a;
        v = vals_[k];
      } else {
        v = fe_.round_saturating(a);
      }
      const double r = std::fabs(w[i]) - gs * v;
      e += r * r;
      if (e > bound) return e;
    }
    return e;
  }

  // ‖w − g·s·q‖² with q = round(w/(g·s)) (saturating); q written when asked for.
  double error_at(const double* w, int b, double g, double s, double* q) const {
    const double gs = g * s;
    double e = 0.0;
    for (int i = 0; i < b; ++i) {
      const double c = w[i] == 0.0 ? 0.0 : fe_.round_saturating(w[i] / gs);
      const double r = w[i] - gs * c;
      e += r * r;
      if (q) q[i] = c;
    }
    return e;
  }

 private:
  Format fe_, fs_;
  ScaleRecipe recipe_;
  double qmax_ = 0.0;
  std::vector<double> vals_, mids_;  // the element grid (0 and positive values) and its midpoints
  std::vector<double> scales_;
  double min_normal2_ = 0.0;
};

namespace detail {

// Every block of W (rows × n, row-major; blocks of b consecutive entries of a row, b | n), in
// parallel over rows: solve(w, scale*, codes*, err2&, recipe2&, evaluated&, workspace&) per
// block, with one Workspace per thread; the sums taken in row order, so the same at any thread
// count.
template <class Workspace, class Solve>
BlockScaleResult solve_blocks(const double* W, std::int64_t rows, std::int64_t n, int b, double* codes, double* scales,
                              const Solve& solve) {
  if (b < 1 || n % b != 0) throw std::invalid_argument("block must divide the length of the blocked axis");
  const std::int64_t per_row = n / b;
  std::vector<double> err(std::size_t(rows), 0.0), rec(std::size_t(rows), 0.0);
  std::vector<std::int64_t> evals(std::size_t(rows), 0);
  ErrorCapture capture;
#pragma omp parallel num_threads(team_size(rows* n, 1 << 14))
  {
    Workspace ws;
#pragma omp for schedule(dynamic, 16)
    for (std::int64_t r = 0; r < rows; ++r) {
      capture.run(r, [&] {
        if ((r & 15) == 0) poll_interrupt();
        for (std::int64_t k = 0; k < per_row; ++k) {
          const std::int64_t off = r * n + k * b;
          double e = 0.0, re = 0.0;
          solve(W + off, scales + r * per_row + k, codes + off, e, re, evals[std::size_t(r)], ws);
          err[std::size_t(r)] += e;
          rec[std::size_t(r)] += re;
        }
      });
    }
  }
  capture.rethrow();
  BlockScaleResult out;
  for (std::int64_t r = 0; r < rows; ++r) {  // in row order: the same sums at any thread count
    out.error2 += err[std::size_t(r)];
    out.recipe_error2 += rec[std::size_t(r)];
    out.evaluated += evals[std::size_t(r)];
  }
  return out;
}

}  // namespace detail

// Every block of W (rows × n, row-major; blocks of b consecutive entries of a row, b | n):
// codes (rows × n), scales (rows × n/b), parallel over rows, results independent of the
// thread count. The caller scales W so that squares do not overflow (quantize_blocks in
// Python divides by a power of two and multiplies g by it).
inline BlockScaleResult quantize_blocks(const double* W, std::int64_t rows, std::int64_t n, int b,
                                        const BlockScaler& scaler, double g, bool optimal, double* codes,
                                        double* scales) {
  if (!(g > 0.0) || !std::isfinite(g)) throw std::invalid_argument("tensor_scale must be positive and finite");
  struct NoWorkspace {};
  return detail::solve_blocks<NoWorkspace>(
      W, rows, n, b, codes, scales,
      [&](const double* w, double* s, double* q, double& e, double& re, std::int64_t& evaluated, NoWorkspace&) {
        scaler.solve(w, b, g, optimal, s, q, e, re, evaluated);
      });
}

}  // namespace scaleq
