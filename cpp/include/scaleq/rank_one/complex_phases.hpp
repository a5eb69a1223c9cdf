// The fast complex rank-one solver: the complex problem as a family of real ones, one per
// phase of λ, searched best-first with a certified gap.
//
// Why it works. Write E(z) = (Re z, Im z) ∈ R^2m; the complex format is the real format on
// E, and E(a)ᵀE(b) = Re(aᴴb). For a pair (x̂, ŷ) let p = xᴴx̂, q = ŷᴴy, K = ‖x‖²‖y‖² +
// ‖x̂‖²‖ŷ‖²; the complex cost is J = K − 2Re(pq). The real problem at phase φ, on
// u = E(e^{iφ}x) and v = E(e^{iφ}y), gives the same pair the cost
//   R_φ = K − 2Re(e^{−iφ}p)·Re(e^{iφ}q) = K − |p||q|(cos s + cos(d − 2φ)),
// s = arg p + arg q, d = arg p − arg q. So min_φ R_φ = K − |p||q|(1 + cos s) <= J: the
// real optima R*(φ) (Theorem 2.3, solved exactly by rank_one_sweep) bound the complex
// optimum J* from below once φ is dense enough, and every real solution is a feasible
// complex x̂ (scored with its best ŷ = round(ᾱy)). Per pair, R_φ is a sinusoid in φ of
// amplitude |p||q|; the pair (i^k x̂, i^k ŷ) has the same J with d shifted by kπ, so some
// rotation of the optimal pair has its minimizing φ in [0, π/2). If that φ lies in an
// interval of width w whose centre φ_c was solved,
//   J* >= R*(φ_c) − 2 sin²(w/2)·|p*||q*|,   |p*||q*| <= ‖x‖²‖y‖²(1 + error_rtn)
// (‖x̂*‖‖ŷ*‖ <= ‖xyᴴ‖ + √J*). With ŷ free, J = ‖y‖²(‖x‖² − |p|²/‖x̂‖²) and R_φ − J =
// ‖y‖²|p|²/‖x̂‖²·sin²(arg p − φ), so J* >= R*(φ_c) − sin²(w/2)·‖x‖²‖y‖².
//
// The search. The quarter turn starts as 8 intervals; the one with the lowest bound is
// split in three (its centre kept, two new real problems solved), a fixed number of
// intervals per round so that the samples — and the result — do not depend on the thread
// count. It stops when the certified gap (error − √(lowest bound)) is within
// gap_target·error or max_phases real problems were solved. Each costs a real sweep of
// 2m and 2n entries, O((m + n)·2^t·log(m + n)); the gap shrinks like the interval widths,
// so certifying a small gap needs about 2^t/error phases, far fewer to beat RTN.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <queue>
#include <stdexcept>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/complex_cells.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/sweep.hpp"

namespace scaleq {

struct ComplexPhasesOptions {
  bool quantize_y = true;
  std::size_t max_phases = 0;  // real problems solved at most (>= 8); 0: max(256, 8192/(m + n))
  double gap_target = 0.01;    // stop once gap <= gap_target·error
  // bounded formats: |λ| in [window.lo, window.hi) only (what chains use, as the real steps do);
  // the real optima then bound only that window's family, so no gap is certified (NaN)
  LamWindow window{};
};

namespace detail {

// One phase's real problem, solved; x̂ scored as a complex vector with its best ŷ.
struct PhaseSample {
  double phi = 0.0, width = 0.0;
  double real_e2 = 0.0;  // R*(φ) / (‖x‖²‖y‖²)
  double error = std::numeric_limits<double>::infinity();
  double raw_error = std::numeric_limits<double>::infinity();  // before the polish
  cplx lam{1.0, 0.0}, alpha{0.0, 0.0};
  std::vector<cplx> xh;
};

class PhaseSearch {
 public:
  PhaseSearch(const std::vector<cplx>& x, const std::vector<cplx>& y, const Format& fx, const Format& fy,
              bool quantize_y, LamWindow window)
      : x_(x),
        y_(y),
        fx_(fx),
        fy_(fy),
        qy_(quantize_y),
        window_(window),
        gx_(make_grid(fx)),
        gy_(quantize_y ? make_grid(fy) : nullptr) {
    // the score runs on copies scaled by powers of two (the relative error is homogeneous)
    ex_ = scale_exponent(x);
    ey_ = scale_exponent(y);
    for (const cplx& z : x) nx2_ += std::norm(scaled(z, ex_));
    for (const cplx& z : y) ny2_ += std::norm(scaled(z, ey_));
  }

  PhaseSample solve(double phi, double width) const {
    PhaseSample s;
    s.phi = phi;
    s.width = width;
    const cplx w = std::polar(1.0, phi);
    const std::size_t m = x_.size(), n = y_.size();
    std::vector<double> u(2 * m), v(2 * n);
    for (std::size_t k = 0; k < m; ++k) {
      const cplx z = w * x_[k];
      u[k] = z.real();
      u[m + k] = z.imag();
    }
    for (std::size_t j = 0; j < n; ++j) {
      const cplx z = w * y_[j];
      v[j] = z.real();
      v[n + j] = z.imag();
    }
    const RankOneResult r = rank_one_sweep(u, v, fx_, fy_, qy_, gx_, gy_, window_);
    s.real_e2 = r.error * r.error;
    s.lam = r.lam * w;
    s.xh.resize(m);
    for (std::size_t k = 0; k < m; ++k) s.xh[k] = cplx(r.x[k], r.x[m + k]);
    score(s);
    return s;
  }

  // error of x̂ with its best ŷ, from residuals: ‖x̂‖²‖ᾱy − ŷ‖² + ‖x − αx̂‖²‖y‖²
  void score(PhaseSample& s) const {
    // x̂ on its own power-of-two scale (a bounded x̂ may lie 2^500 below x: ‖x̂‖² in x's units
    // would underflow), α in those units (as), then back in true units
    const int eh = scale_exponent(s.xh);
    double xh2 = 0.0;
    cplx dot{0.0, 0.0};
    for (std::size_t k = 0; k < x_.size(); ++k) {
      const cplx a = scaled(s.xh[k], eh);
      xh2 += std::norm(a);
      dot += std::conj(a) * scaled(x_[k], ex_);
    }
    if (!(xh2 > 0.0)) return;  // x̂ = 0: not a candidate (RTN covers the degenerate case)
    const cplx as = dot / xh2;
    const cplx alpha = scaled(as, eh - ex_);  // x ≈ α·x̂ in true units
    double r2 = 0.0;
    for (std::size_t k = 0; k < x_.size(); ++k) r2 += std::norm(scaled(x_[k], ex_) - as * scaled(s.xh[k], eh));
    double d2 = 0.0;
    if (qy_)
      for (const cplx& b : y_)
        // ᾱy − ŷ is of order 2^(ex − eh + ey): in those units, so that xh2·d2 is in xyᴴ's
        d2 += std::norm(scaled(std::conj(alpha) * b - round_complex(fy_, std::conj(alpha) * b), ey_ + ex_ - eh));
    s.alpha = alpha;
    s.error = std::sqrt((xh2 * d2 + r2 * ny2_) / (nx2_ * ny2_));
  }

  // Alternating exact minimizations from s: ŷ = round(ᾱy) is optimal for x̂, and symmetrically
  // x̂ = round(λx), λ = yᴴŷ/‖ŷ‖² (ŷ free: λ = 1/α) for ŷ; each strictly better pair replaces
  // s. It leaves the phases' family (x̂ from real optima) and keeps x̂ a nearest point of λx.
  void alternate(PhaseSample& s, int rounds) const {
    for (int r = 0; r < rounds; ++r) {
      cplx lam;
      if (qy_) {
        const std::vector<cplx> yh = y_hat(s.alpha);
        double yh2 = 0.0;
        cplx dot{0.0, 0.0};
        for (std::size_t j = 0; j < y_.size(); ++j) {
          const cplx b = scaled(yh[j], ey_);
          yh2 += std::norm(b);
          dot += std::conj(scaled(y_[j], ey_)) * b;
        }
        if (!(yh2 > 0.0)) return;
        lam = dot / yh2;
      } else {
        lam = 1.0 / s.alpha;
      }
      if (!std::isfinite(lam.real()) || !std::isfinite(lam.imag())) return;
      PhaseSample next = s;
      for (std::size_t k = 0; k < x_.size(); ++k) next.xh[k] = round_complex(fx_, lam * x_[k]);
      score(next);
      if (!(next.error < s.error)) return;
      next.lam = lam;
      s = std::move(next);
    }
  }

  std::vector<cplx> y_hat(const cplx& alpha) const {
    std::vector<cplx> yh(y_.size());
    for (std::size_t j = 0; j < y_.size(); ++j)
      yh[j] = qy_ ? round_complex(fy_, std::conj(alpha) * y_[j]) : std::conj(alpha) * y_[j];
    return yh;
  }

 private:
  static cplx scaled(const cplx& z, int e) { return cplx(std::ldexp(z.real(), -e), std::ldexp(z.imag(), -e)); }

  const std::vector<cplx>& x_;
  const std::vector<cplx>& y_;
  Format fx_, fy_;
  bool qy_;
  LamWindow window_;
  std::shared_ptr<const Grid> gx_, gy_;
  int ex_ = 0, ey_ = 0;
  double nx2_ = 0.0, ny2_ = 0.0;
};

}  // namespace detail

// x̂, ŷ (parts in fx, fy; ŷ free unless quantize_y) with ‖xyᴴ − x̂ŷᴴ‖_F within the reported
// certified gap of the optimum over the formats; never worse than RTN. `states` counts the
// real problems solved.
inline ComplexRankOneResult complex_rank_one_phases(const std::vector<cplx>& x, const std::vector<cplx>& y,
                                                    const Format& fx, const Format& fy,
                                                    const ComplexPhasesOptions& opt = {}) {
  detail::check_complex_vector(x, "x");
  detail::check_complex_vector(y, "y");
  const std::size_t max_phases =
      opt.max_phases != 0 ? opt.max_phases : std::max<std::size_t>(256, 8192 / (x.size() + y.size()));
  if (max_phases < 8) throw std::invalid_argument("max_phases must be >= 8 (or 0: by the problem's size)");
  if (!(opt.gap_target >= 0.0)) throw std::invalid_argument("gap_target must be >= 0");
  ComplexRankOneResult res;
  std::vector<cplx> xr(x.size()), yr(y.size());
  for (std::size_t k = 0; k < x.size(); ++k) xr[k] = detail::round_complex(fx, x[k]);
  for (std::size_t j = 0; j < y.size(); ++j) yr[j] = opt.quantize_y ? detail::round_complex(fy, y[j]) : y[j];
  res.rtn_error = detail::complex_relative_error(x, y, xr, yr);
  res.x = xr;
  res.y = yr;
  res.error = res.rtn_error;
  if (detail::max_abs(x) == 0.0 || detail::max_abs(y) == 0.0) return res;

  const detail::PhaseSearch search(x, y, fx, fy, opt.quantize_y, opt.window);
  // (with a window the bound is only a stopping rule: see ComplexPhasesOptions::window)
  // the bound's constant: 2(1 + error_rtn) with ŷ quantized (error* <= error_rtn), 1 free
  const double c = opt.quantize_y ? 2.0 * (1.0 + std::min(res.rtn_error, 1.0)) : 1.0;
  auto bound = [c](const detail::PhaseSample& s) {
    const double h = std::sin(0.5 * s.width);
    return s.real_e2 * (1.0 - 1e-12) - c * h * h;
  };
  struct Node {
    double lb;
    std::size_t id;
  };
  auto later = [](const Node& a, const Node& b) { return a.lb != b.lb ? a.lb > b.lb : a.id > b.id; };
  std::priority_queue<Node, std::vector<Node>, decltype(later)> heap(later);
  std::vector<detail::PhaseSample> samples;
  // the stopping rule sees the unpolished errors (so the samples are those an unpolished
  // search takes), the result is the best polished pair: never worse than polishing the
  // unpolished winner alone
  double best_raw = std::numeric_limits<double>::infinity(), best = best_raw;
  std::size_t best_id = 0;

  // solve the problems at these (φ, width) in parallel, then file them in order
  auto run = [&](const std::vector<std::pair<double, double>>& todo) {
    std::vector<detail::PhaseSample> out(todo.size());
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(todo.size());
    detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1) num_threads(detail::team_size())
    for (std::ptrdiff_t k = 0; k < n; ++k)
      capture.run(k, [&] {
        poll_interrupt();
        out[k] = search.solve(todo[k].first, todo[k].second);
        out[k].raw_error = out[k].error;
        // polished here, not only the winner: a runner-up often polishes past it, at the
        // cost of a few roundings of x and y (the sweep costs 2^t times more)
        if (std::isfinite(out[k].error)) search.alternate(out[k], 32);
      });
    capture.rethrow();
    for (auto& s : out) {
      const std::size_t id = samples.size();
      best_raw = std::min(best_raw, s.raw_error);
      if (s.error < best) {
        best = s.error;
        best_id = id;
      }
      heap.push({bound(s), id});
      samples.push_back(std::move(s));
    }
  };

  const double quarter = 2.0 * std::atan(1.0);
  {
    std::vector<std::pair<double, double>> todo;
    for (int k = 0; k < 8; ++k) todo.push_back({(k + 0.5) * quarter / 8.0, quarter / 8.0});
    run(todo);
  }
  constexpr std::size_t kSplitsPerRound = 4;  // fixed: the samples must not depend on the threads
  double gap = std::numeric_limits<double>::infinity();
  for (;;) {
    const double e = std::min(best_raw, res.rtn_error);
    gap = e - std::sqrt(std::max(heap.top().lb, 0.0));
    if (gap <= opt.gap_target * e || samples.size() + 2 > max_phases) break;
    std::vector<std::pair<double, double>> todo;
    while (!heap.empty() && todo.size() < 2 * kSplitsPerRound && samples.size() + todo.size() + 2 <= max_phases) {
      const Node top = heap.top();
      heap.pop();
      detail::PhaseSample& s = samples[top.id];
      s.width /= 3.0;
      heap.push({bound(s), top.id});
      todo.push_back({s.phi - s.width, s.width});
      todo.push_back({s.phi + s.width, s.width});
    }
    run(todo);
  }

  res.states = samples.size();
  detail::PhaseSample& s = samples[best_id];
  if (best < res.rtn_error) {
    res.x = s.xh;
    res.y = search.y_hat(s.alpha);
    res.lam = s.lam;
    res.mu = std::conj(s.alpha);
    res.error = detail::complex_relative_error(x, y, res.x, res.y);
    if (!(res.error <= res.rtn_error)) {  // rounding of the score's formula; keep RTN
      res.x = xr;
      res.y = yr;
      res.error = res.rtn_error;
      res.lam = 1.0;
      res.mu = 1.0;
    }
  }
  res.gap = opt.window.restricts(fx) ? std::numeric_limits<double>::quiet_NaN()
                                     : std::max(0.0, res.error - std::sqrt(std::max(heap.top().lb, 0.0)));
  return res;
}

// The cells' exact enumeration when its arrangement has at most cells.max_vertices vertices
// (counted before any work) and its geometry fits the doubles (complex_cells_in_range), else
// the phase search: what a caller that cannot size the problem in advance (long vectors,
// chains of any shape) uses.
inline ComplexRankOneResult complex_rank_one_auto(const std::vector<cplx>& x, const std::vector<cplx>& y,
                                                  const Format& fx, const Format& fy,
                                                  const ComplexRankOneOptions& cells,
                                                  const ComplexPhasesOptions& phases) {
  try {
    if (complex_cells_in_range(x, y, fx, fy)) return complex_rank_one(x, y, fx, fy, cells);
  } catch (const std::length_error&) {  // only the vertex budget raises it
  }
  ComplexPhasesOptions p = phases;
  p.quantize_y = cells.quantize_y;
  return complex_rank_one_phases(x, y, fx, fy, p);
}

}  // namespace scaleq
