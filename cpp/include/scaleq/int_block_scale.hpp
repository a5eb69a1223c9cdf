// Integer grids with one scale per block (GGUF Q4_0/Q8_0, int4 groups): a block w of b entries
// is stored as s·q, codes q integers in [−qneg, qpos], s in a scale format (fp16). For a fixed
// s the best codes round w/s to nearest and clamp, so the error is a function of s alone; it
// changes form only where some |w_k|/s crosses a half-integer (a breakpoint) and between two
// breakpoints it is the quadratic A − 2sB + s²C. Walking the breakpoints downward in s and
// taking, on each piece, the scale value nearest the quadratic's vertex visits every candidate
// that can be optimal; doubling codes and the largest entry bound the walk (docs/design.md §7).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "scaleq/block_scale.hpp"
#include "scaleq/format.hpp"

namespace scaleq {

// The codes and how a recipe picks the scale (the anchors' rules, a = max|w_k|):
// s = round(a / divisor) in the scale format; with `signed_scale` the stored scale may be
// negative (GGUF's d), and with `recipe_to_qneg` the recipe gives it the sign that sends the
// entry of largest magnitude to −qneg (Q4_0's d = max/−8; Q8_0's d = amax/127 stays positive).
struct IntGrid {
  int qneg = 8, qpos = 7;
  bool signed_scale = false;
  bool recipe_to_qneg = false;
  double divisor = 7.0;
};

class IntBlockScaler {
 public:
  // per-thread scratch: the breakpoints (value, entry) of a walk and the current codes
  struct Workspace {
    std::vector<std::pair<double, int>> events;  // (u, entry), sorted by u
    std::vector<double> codes, first;            // codes of the current piece; breakpoints per entry
    std::vector<double> abs, inv, cap;           // |w_k|, 1/|w_k|, the largest code of its side
    std::vector<std::size_t> start, fill;        // counting-sort buckets
  };

  IntBlockScaler(const IntGrid& grid, const Format& scale) : g_(grid), fs_(scale) {
    if (grid.qneg < 0 || grid.qpos < 1 || grid.qneg > (1 << 24) || grid.qpos > (1 << 24))
      throw std::invalid_argument("integer codes need 0 <= qneg, 1 <= qpos <= 2^24");
    if (!(grid.divisor > 0.0)) throw std::invalid_argument("the recipe's divisor must be positive");
    if (!scale.bounded) throw std::invalid_argument("the scale format must be bounded (e.g. fp16)");
    ulp_min_ = std::ldexp(1.0, scale.emin - scale.t + 1);
    smallest_ = scale.subnormals ? ulp_min_ : scale.min_normal();
  }

  // One block: the stored scale (signed when the grid allows) into *s, codes into q, the squared
  // errors of that scale and of the recipe's; *s and q are the recipe's when !optimal.
  void solve(const double* w, int b, bool optimal, double* s, double* q, double& err2, double& recipe2,
             std::int64_t& evaluated, Workspace& ws) const {
    double amax = 0.0, extreme = 0.0;
    for (int i = 0; i < b; ++i)
      if (std::fabs(w[i]) > amax) amax = std::fabs(w[i]), extreme = w[i];
    ++evaluated;
    if (amax == 0.0) {  // all zero: the zero scale (what llama.cpp stores) is exact
      *s = 0.0;
      std::fill(q, q + b, 0.0);
      err2 = recipe2 = 0.0;
      return;
    }
    // sign = +1: codes in [−qneg, qpos] against a positive scale; −1: the scale is stored
    // negative, which is the grid [−qpos, qneg] against its magnitude.
    const double sr = std::max(fs_.round_saturating(amax / g_.divisor), smallest_);
    const int sign_r = g_.signed_scale && g_.recipe_to_qneg && extreme > 0.0 ? -1 : 1;
    recipe2 = error_at(w, b, sr, sign_r, nullptr);
    double best = recipe2, best_s = sr;
    int best_sign = sign_r;
    if (optimal) {
      const double inf = std::numeric_limits<double>::infinity();
      walk(w, b, sign_r, inf, best, best_s, best_sign, evaluated, ws);
      // The other sign gives the same codes wherever every |w_k|/s rounds to at most
      // min(qneg, qpos): only smaller scales can differ.
      if (g_.signed_scale)
        walk(w, b, -sign_r, amax / (std::min(g_.qneg, g_.qpos) + 0.5), best, best_s, best_sign, evaluated, ws);
    }
    err2 = error_at(w, b, best_s, best_sign, q);
    if (err2 > recipe2) {  // the walk compares closed forms; the recipe's error is exact
      best_s = sr, best_sign = sign_r;
      err2 = error_at(w, b, best_s, best_sign, q);
    }
    *s = best_sign * best_s;
  }

  // ‖w − s·q‖² with the best codes for the scale sign·s (s > 0); codes written when asked for.
  double error_at(const double* w, int b, double s, int sign, double* q) const {
    const double inv = 1.0 / s;
    double e = 0.0;
    for (int i = 0; i < b; ++i) {
      const double c = std::clamp(std::nearbyint(sign * w[i] * inv), double(-g_.qneg), double(g_.qpos));
      const double r = sign * w[i] - s * c;
      e += r * r;
      if (q) q[i] = c;
    }
    return e;
  }

  // The largest and smallest value of the scale format <= v and >= v (0 when there is none).
  double floor_value(double v) const {
    if (v >= fs_.max_value) return fs_.max_value;
    if (v < smallest_) return 0.0;
    if (!fs_.subnormals && v < fs_.min_normal()) return 0.0;
    const double ulp = v < fs_.min_normal() ? ulp_min_ : std::ldexp(1.0, std::ilogb(v) - fs_.t + 1);
    return std::floor(v / ulp) * ulp;
  }
  double ceil_value(double v) const {
    if (v <= smallest_) return smallest_;
    if (v > fs_.max_value) return 0.0;
    if (!fs_.subnormals && v < fs_.min_normal()) return fs_.min_normal();
    const double ulp = v < fs_.min_normal() ? ulp_min_ : std::ldexp(1.0, std::ilogb(v) - fs_.t + 1);
    return std::min(std::ceil(v / ulp) * ulp, fs_.max_value);
  }

 private:
  // Positive scales up to s_max for one sign of the stored scale. The walk runs in u = 1/s, where entry k's
  // breakpoints (m + 1/2)/|w_k| are evenly spaced, so a counting sort orders them in linear time.
  void walk(const double* w, int b, int sign, double s_max, double& best, double& best_s, int& best_sign,
            std::int64_t& evaluated, Workspace& ws) const {
    // per entry: |w_k|, 1/|w_k| and its cap (the largest code its side of the grid allows)
    ws.abs.resize(std::size_t(b)), ws.inv.resize(std::size_t(b)), ws.cap.resize(std::size_t(b));
    double a2 = 0.0, amax_pos = 0.0, amax_neg = 0.0;
    for (int k = 0; k < b; ++k) {
      const double a = std::fabs(w[k]);
      const bool pos = sign * w[k] > 0.0;
      a2 += a * a;
      (pos ? amax_pos : amax_neg) = std::max(pos ? amax_pos : amax_neg, a);
      ws.abs[std::size_t(k)] = a, ws.inv[std::size_t(k)] = a > 0.0 ? 1.0 / a : 0.0;
      ws.cap[std::size_t(k)] = pos ? double(g_.qpos) : double(g_.qneg);
    }
    // Doubling: once s·floor(cap/2) >= |w_k| for every k, s/2's grid holds each entry's
    // nearest point of s's grid, so s is no better than s/2 (when s/2 is a scale value).
    auto doubling_top = [](double amax, int q) {
      const double half = std::floor(q / 2.0);
      return amax == 0.0 ? 0.0 : half > 0.0 ? amax / half : 2.0 * amax;
    };
    const double top = std::max(doubling_top(amax_pos, g_.qpos), doubling_top(amax_neg, g_.qneg));
    // s/2 is a scale value for every s >= 2·min_normal; below, the walk starts at the top.
    const double s_hi = std::min({std::max(top, 2.0 * fs_.min_normal()), fs_.max_value, s_max});
    // Below low_of(E) the largest entry of one side, beyond s·cap, misses by more than √E.
    const double qp = g_.qpos, qn = g_.qneg > 0 ? double(g_.qneg) : 0.0;
    auto low_of = [&](double e) {
      const double r = std::sqrt(e * (1.0 + 1e-9));
      double lo = std::max(smallest_, (amax_pos - r) / qp);
      if (amax_neg > r) lo = qn > 0.0 ? std::max(lo, (amax_neg - r) / qn) : std::numeric_limits<double>::infinity();
      return lo;
    };
    double s_lo = low_of(best);
    if (s_lo > s_hi) return;
    const double u_lo = 1.0 / s_hi, u_hi = 1.0 / s_lo;
    // codes just below s_hi (breakpoints at s_hi itself crossed), and how many breakpoints of
    // each entry lie in (u_lo, u_hi]
    ws.codes.assign(std::size_t(b), 0.0);
    ws.first.assign(std::size_t(b), 0.0);
    double B = 0.0, C = 0.0;
    std::size_t total = 0;
    for (int k = 0; k < b; ++k) {
      const double a = ws.abs[std::size_t(k)], qc = ws.cap[std::size_t(k)], inv = ws.inv[std::size_t(k)];
      if (a == 0.0) continue;
      double m = std::min(qc, std::floor(a * u_lo + 0.5));  // then exact against the products used below
      while (m < qc && (m + 0.5) * inv <= u_lo) m += 1.0;
      while (m > 0.0 && (m - 0.5) * inv > u_lo) m -= 1.0;
      B += a * m, C += m * m;
      ws.codes[std::size_t(k)] = m;
      double j = std::max(m, std::min(qc, std::floor(u_hi * a - 0.5) + 1.0));  // one past the last
      while (j > m && (j - 0.5) * inv > u_hi) j -= 1.0;
      while (j < qc && (j + 0.5) * inv <= u_hi) j += 1.0;
      ws.first[std::size_t(k)] = j - m;  // the count
      total += std::size_t(j - m);
    }
    // counting sort of the breakpoints by u into `events`
    const std::size_t nb = std::max<std::size_t>(total, 1);
    const double width = (u_hi - u_lo) / double(nb);
    const double to_bucket = width > 0.0 ? 1.0 / width : 0.0;
    auto bucket = [&](double u) {
      const double x = (u - u_lo) * to_bucket;
      return x < 0.0 ? std::size_t(0) : std::min(nb - 1, std::size_t(x));
    };
    ws.start.assign(nb + 1, 0);
    for (int k = 0; k < b; ++k) {
      const double inv = ws.inv[std::size_t(k)], m = ws.codes[std::size_t(k)];
      for (double j = 0.0; j < ws.first[std::size_t(k)]; j += 1.0) ++ws.start[bucket((m + j + 0.5) * inv) + 1];
    }
    for (std::size_t i = 0; i < nb; ++i) ws.start[i + 1] += ws.start[i];
    ws.events.resize(total);
    ws.fill.assign(ws.start.begin(), ws.start.end() - 1);
    for (int k = 0; k < b; ++k) {
      const double inv = ws.inv[std::size_t(k)], m = ws.codes[std::size_t(k)];
      for (double j = 0.0; j < ws.first[std::size_t(k)]; j += 1.0) {
        const double u = (m + j + 0.5) * inv;
        ws.events[ws.fill[bucket(u)]++] = {u, k};
      }
    }
    // buckets hold about one breakpoint each: one insertion pass finishes the order
    for (std::size_t i = 1; i < total; ++i) {
      const auto x = ws.events[i];
      std::size_t j = i;
      for (; j > 0 && x.first < ws.events[j - 1].first; --j) ws.events[j] = ws.events[j - 1];
      ws.events[j] = x;
    }
    // The pieces: between consecutive breakpoints the codes are fixed and
    // E(s) = a2 − 2sB + s²C, least over the scale values at the one nearest B/C.
    const double tol = 64.0 * std::numeric_limits<double>::epsilon() * a2;
    double u_up = u_lo, u_stop = u_hi;  // the current piece's upper end, in u
    for (std::size_t next = 0;; ++next) {
      const bool last_piece = next >= total || ws.events[next].first > u_stop;
      const double u = last_piece ? u_stop : ws.events[next].first;
      // only a piece whose quadratic can go below best needs a scale value (no division else)
      if (C > 0.0 ? a2 * C - B * B < (best + tol) * C : a2 < best + tol) {
        const double upper = u_up == u_lo ? s_hi : 1.0 / u_up;
        const double lower = last_piece ? s_lo : 1.0 / u;
        const double vertex = C > 0.0 ? std::clamp(B / C, lower, upper) : upper;
        const double f = floor_value(vertex), c = ceil_value(vertex);
        const bool f_in = f >= lower && f > 0.0, c_in = c <= upper && c > 0.0;
        const double pick = f_in && c_in ? (vertex - f <= c - vertex ? f : c) : f_in ? f : c_in ? c : 0.0;
        if (pick > 0.0) {
          ++evaluated;
          const double e = a2 - pick * (2.0 * B - pick * C);
          if (e < best - tol) {
            best = e, best_s = pick, best_sign = sign;
            s_lo = std::max(s_lo, low_of(best));
            u_stop = std::min(u_stop, 1.0 / s_lo);
          }
        }
      }
      u_up = u;
      if (last_piece) break;
      const int k = ws.events[next].second;
      B += ws.abs[std::size_t(k)];
      C += 2.0 * ws.codes[std::size_t(k)] + 1.0;
      ws.codes[std::size_t(k)] += 1.0;
    }
  }

  IntGrid g_;
  Format fs_;
  double ulp_min_ = 0.0, smallest_ = 0.0;
};

// Every block of W (rows × n, row-major, blocks of b consecutive entries of a row, b | n):
// codes (rows × n), signed scales (rows × n/b); parallel over rows, the same sums at any
// thread count. The caller keeps squares in range (quantize_blocks refuses max|w| > 2^500).
inline BlockScaleResult quantize_int_blocks(const double* W, std::int64_t rows, std::int64_t n, int b,
                                            const IntBlockScaler& scaler, bool optimal, double* codes, double* scales) {
  return detail::solve_blocks<IntBlockScaler::Workspace>(
      W, rows, n, b, codes, scales,
      [&](const double* w, double* s, double* q, double& e, double& re, std::int64_t& evaluated,
          IntBlockScaler::Workspace& ws) { scaler.solve(w, b, optimal, s, q, e, re, evaluated, ws); });
}

}  // namespace scaleq
