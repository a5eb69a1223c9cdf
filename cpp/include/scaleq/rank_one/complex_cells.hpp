// Complex rank-one quantization: x̂, ŷ with real and imaginary parts in a format minimizing
// ‖xyᴴ − x̂ŷᴴ‖_F, by enumerating the cells of a line arrangement in the λ-plane.
//
// Why it is exact. Write x = αx̂ + r with α = x̂ᴴx/‖x̂‖², r ⊥ x̂. Then
//   ‖xyᴴ − x̂ŷᴴ‖² = ‖x̂‖²·‖ᾱy − ŷ‖² + ‖r‖²·‖y‖²,
// so for a fixed x̂ the best ŷ is round(ᾱy) (ŷ free: ᾱy), and by the symmetric argument an
// optimal x̂ is a nearest point of λx for some complex λ. round(λx) changes only where
// Re(λx_k) or Im(λx_k) crosses a midpoint of the grid: lines in the (Re λ, Im λ) plane.
// ×i (a symmetric grid) and ×2 (F_t) leave the problem unchanged, so λ = a + ib ranges over
// the quadrant a, b >= 0 cut to the band lo <= a + b <= hi (F_t: [1, 2]; the L1 band keeps
// the domain a polygon). Every cell has a vertex, and at every vertex all nearest-point
// selections of round(λx) (each tied part to either neighbour) are visited — which covers
// the cells around it and the states that exist only at a multiple tie.
//
// F_t's midpoints accumulate at 0 (on the rays where Re or Im of λx_k vanishes), so the
// arrangement is infinite. F_t is solved on G = {0} ∪ {v ∈ F_t : |v| >= 2^-B} (x scaled to
// max|x_k| ∈ [1, 2)): exact over G, feasible in F_t, and within a certified `gap` of the
// F_t optimum (complex_gap below). Bounded formats have a finite grid and are solved
// exactly over λ in the band (by default one that covers every vertex); asked for a floor
// (their subnormal lines are as many as a dozen binades'), they are solved as F_t is.
//
// Cost: V vertices, V <= Σ over pairs of (k, part) families of the product of their line
// counts (lines per family ≈ 2^(t−1) per binade of |λx_k| crossed); each costs
// O(m log(grid) + 2^ties·(m + n)). V is counted before the work and checked against a budget.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"

namespace scaleq {

using cplx = std::complex<double>;

struct ComplexRankOneOptions {
  bool quantize_y = true;
  int floor_binades = -1;       // B of G for F_t; -1: t + 10
  double lo = 0.0, hi = 0.0;    // bounded formats: the band lo <= Re λ + Im λ <= hi; hi <= 0: automatic
  double max_vertices = 5.0e7;  // refuse (std::length_error) an arrangement with more vertices
};

struct ComplexRankOneResult {
  std::vector<cplx> x, y;  // x̂ (parts in fx), ŷ (parts in fy, or mu·y when free)
  cplx lam{1.0, 0.0};      // x̂ is a nearest point of lam·x
  cplx mu{1.0, 0.0};       // ŷ = round(mu·y) (free: mu·y), mu = conj(x̂ᴴx / ‖x̂‖²)
  double error = 0.0;      // ‖xyᴴ − x̂ŷᴴ‖_F / (‖x‖‖y‖), recomputed from the returned vectors
  double rtn_error = 0.0;  // the same for the componentwise rounding of x and y
  double gap = 0.0;        // certified: the optimum over the format is >= error − gap (0: exact)
  std::uint64_t vertices = 0, states = 0;
};

namespace detail {

// The signed grid of one side: nonnegative points `vals` (0 first) and their midpoints.
struct SignedGrid {
  std::vector<double> vals, mids;

  std::size_t size() const { return 2 * mids.size(); }
  // signed midpoints in ascending order: index i < K is −mids[K−1−i], else mids[i−K]
  double mid(std::ptrdiff_t i) const {
    const auto K = std::ptrdiff_t(mids.size());
    return i < K ? -mids[std::size_t(K - 1 - i)] : mids[std::size_t(i - K)];
  }
  // the neighbours of signed midpoint i: below (up = false) or above it
  double neighbour(std::ptrdiff_t i, bool up) const {
    const auto K = std::ptrdiff_t(mids.size());
    if (i < K) {
      const std::size_t j = std::size_t(K - 1 - i);  // −mids[j] lies between −vals[j+1] and −vals[j]
      return up ? -vals[j] : -vals[j + 1];
    }
    const std::size_t j = std::size_t(i - K);
    return up ? vals[j + 1] : vals[j];
  }
  // first signed midpoint index whose midpoint is >= c
  std::ptrdiff_t lower_index(double c) const {
    const auto K = std::ptrdiff_t(mids.size());
    if (c <= 0.0) {
      // −mids[j] >= c  <=>  mids[j] <= −c ; the ascending index of −mids[j] is K−1−j
      const auto n_le = std::ptrdiff_t(std::upper_bound(mids.begin(), mids.end(), -c) - mids.begin());
      return K - n_le;
    }
    return K + std::ptrdiff_t(std::lower_bound(mids.begin(), mids.end(), c) - mids.begin());
  }
  // nearest point (saturating); exact ties go up in magnitude (ties are enumerated anyway)
  double round(double c) const {
    const double a = std::fabs(c);
    const auto j = std::size_t(std::lower_bound(mids.begin(), mids.end(), a) - mids.begin());
    const double v = (j < mids.size() && mids[j] == a) ? vals[j + 1] : vals[j];
    return std::copysign(v, c);
  }
};

// G for F_t: 0 and the points of F_t in [2^−B, 8] (λx_n stays below 4 in the band [1, 2]).
inline SignedGrid floored_grid(int t, int B) {
  SignedGrid g;
  const std::int64_t per = std::int64_t(1) << (t - 1);
  g.vals.push_back(0.0);
  for (int e = -B; e < 3; ++e) {
    const double unit = std::ldexp(1.0, e - t + 1);
    for (std::int64_t j = 0; j < per; ++j) g.vals.push_back(double(per + j) * unit);
  }
  g.vals.push_back(8.0);
  for (std::size_t k = 0; k + 1 < g.vals.size(); ++k) g.mids.push_back(0.5 * (g.vals[k] + g.vals[k + 1]));
  return g;
}

// The points of g at or above `floor` (and 0), with their midpoints.
inline SignedGrid floor_grid(const SignedGrid& g, double floor) {
  SignedGrid out;
  out.vals.push_back(0.0);
  for (double v : g.vals)
    if (v >= floor) out.vals.push_back(v);
  for (std::size_t k = 0; k + 1 < out.vals.size(); ++k) out.mids.push_back(0.5 * (out.vals[k] + out.vals[k + 1]));
  return out;
}

inline SignedGrid signed_grid(const Grid& grid) {
  SignedGrid g;
  g.vals = grid.vals;
  g.mids = grid.mids;
  return g;
}

// One family of parallel lines: c(λ) = na·a + nb·b is Re(λx_k) (part 0) or Im(λx_k) (part 1).
struct Family {
  double na, nb;
  std::size_t k;
  int part;
  std::ptrdiff_t i0, i1;  // signed midpoints in [i0, i1) cross the band
};

// The band polygon a, b >= 0, lo <= a + b <= hi: the segment of c(λ) = p inside it, as the
// parameter range [s0, s1] of λ(s) = p·n/|n|² + s·(−nb, na); false when empty.
inline bool clip_line(const Family& f, double p, double lo, double hi, double& s0, double& s1) {
  const double nn = f.na * f.na + f.nb * f.nb;
  const double pa = p * f.na / nn, pb = p * f.nb / nn, da = -f.nb, db = f.na;
  s0 = -std::numeric_limits<double>::infinity();
  s1 = std::numeric_limits<double>::infinity();
  // constraint u + s·w >= 0
  auto cut = [&](double u, double w) {
    if (w == 0.0) return u >= 0.0;
    const double s = -u / w;
    if (w > 0)
      s0 = std::max(s0, s);
    else
      s1 = std::min(s1, s);
    return true;
  };
  const bool ok = cut(pa, da) && cut(pb, db) && cut(pa + pb - lo, da + db) && cut(hi - pa - pb, -(da + db));
  return ok && s0 <= s1;
}

// Evaluates every candidate state at one point of the plane and keeps the best.
class CellSearch {
 public:
  CellSearch(const std::vector<cplx>& xn, const std::vector<cplx>& y, const std::vector<Family>& fams,
             const SignedGrid& g, const Format& fy, bool quantize_y, double y_scale)
      : xn_(xn), y_(y), fams_(fams), g_(g), fy_(fy), quantize_y_(quantize_y), ys_(y_scale) {
    xr_.resize(xn.size());
    xi_.resize(xn.size());
    xh_.resize(xn.size());
    for (const cplx& v : y) ny2_ += std::norm(v * ys_);
  }

  // The states at λ = (a, b): the families listed in `forced` sit on the given signed midpoint
  // (exactly, by construction); others within a relative 1e−9 of a midpoint are ties too.
  void visit(double a, double b, const std::size_t* forced_fam, const std::ptrdiff_t* forced_mid, int n_forced) {
    ties_.clear();
    std::fill(xr_.begin(), xr_.end(), 0.0);
    std::fill(xi_.begin(), xi_.end(), 0.0);
    for (std::size_t f = 0; f < fams_.size(); ++f) {
      const Family& F = fams_[f];
      std::ptrdiff_t tie = -1;
      for (int q = 0; q < n_forced; ++q)
        if (forced_fam[q] == f) tie = forced_mid[q];
      double v;
      if (tie < 0) {
        const double c = F.na * a + F.nb * b;
        const std::ptrdiff_t i = g_.lower_index(c);  // nearest midpoints: i−1 and i
        for (std::ptrdiff_t j : {i - 1, i}) {
          if (j < 0 || j >= std::ptrdiff_t(g_.size())) continue;
          const double mj = g_.mid(j), span = g_.neighbour(j, true) - g_.neighbour(j, false);
          if (std::fabs(c - mj) <= 1e-9 * span) tie = j;
        }
        v = g_.round(c);
      } else {
        v = 0.0;
      }
      if (tie >= 0) {
        ties_.push_back({f, tie});
        v = g_.neighbour(tie, false);
      }
      (F.part == 0 ? xr_ : xi_)[F.k] = v;
    }
    const std::size_t nt = std::min<std::size_t>(ties_.size(), 16);  // beyond: the lower neighbour
    for (std::uint32_t mask = 0; mask < (1u << nt); ++mask) {
      for (std::size_t q = 0; q < nt; ++q) {
        const Family& F = fams_[ties_[q].fam];
        (F.part == 0 ? xr_ : xi_)[F.k] = g_.neighbour(ties_[q].mid, (mask >> q) & 1u);
      }
      for (std::size_t k = 0; k < xh_.size(); ++k) xh_[k] = cplx(xr_[k], xi_[k]);
      consider(cplx(a, b));
    }
  }

  // Scores x̂ = xh_ (in the units of xn) and keeps it when strictly better.
  void consider(cplx lam) {
    ++states_;
    cplx sxx = 0.0;
    double nh = 0.0;
    for (std::size_t k = 0; k < xh_.size(); ++k) {
      sxx += std::conj(xh_[k]) * xn_[k];
      nh += std::norm(xh_[k]);
    }
    const cplx alpha = nh > 0.0 ? sxx / nh : cplx(0.0);  // x̂ = 0: ŷ = 0, cost ‖x‖²‖y‖²
    double r2 = 0.0;
    for (std::size_t k = 0; k < xh_.size(); ++k) r2 += std::norm(xn_[k] - alpha * xh_[k]);
    double cost = r2 * ny2_;
    if (quantize_y_) {
      const cplx mu = std::conj(alpha);
      double ey = 0.0;
      for (const cplx& v : y_) {
        const cplx t = mu * v;
        const cplx q(fy_.round_saturating(t.real()), fy_.round_saturating(t.imag()));
        ey += std::norm((t - q) * ys_);
        if (nh * ey + r2 * ny2_ >= best_) return;  // already worse: stop early
      }
      cost += nh * ey;
    }
    if (cost < best_) {
      best_ = cost;
      best_x_ = xh_;
      best_lam_ = lam;
      best_alpha_ = alpha;
    }
  }

  std::vector<cplx>& scratch() { return xh_; }
  double best() const { return best_; }
  const std::vector<cplx>& best_x() const { return best_x_; }
  cplx best_lam() const { return best_lam_; }
  cplx best_alpha() const { return best_alpha_; }
  std::uint64_t states() const { return states_; }

 private:
  struct Tie {
    std::size_t fam;
    std::ptrdiff_t mid;
  };
  const std::vector<cplx>& xn_;
  const std::vector<cplx>& y_;
  const std::vector<Family>& fams_;
  const SignedGrid& g_;
  const Format& fy_;
  bool quantize_y_;
  double ys_, ny2_ = 0.0;
  std::vector<double> xr_, xi_;
  std::vector<cplx> xh_, best_x_;
  std::vector<Tie> ties_;
  double best_ = std::numeric_limits<double>::infinity();
  cplx best_lam_{1.0, 0.0}, best_alpha_{0.0, 0.0};
  std::uint64_t states_ = 0;
};

inline void check_complex_vector(const std::vector<cplx>& v, const char* name) {
  if (v.empty()) throw std::invalid_argument(std::string(name) + " must be non-empty");
  for (const cplx& z : v)
    if (!std::isfinite(z.real()) || !std::isfinite(z.imag()))
      throw std::invalid_argument(std::string(name) + " must be finite (NaN or inf in a real or imaginary part)");
}

inline double max_abs(const std::vector<cplx>& v) {
  double m = 0.0;
  for (const cplx& z : v) m = std::max(m, std::abs(z));
  return m;
}

// 2^e with max|v| · 2^−e in [1, 2) (e = 0 for a zero vector)
inline int scale_exponent(const std::vector<cplx>& v) {
  const double m = max_abs(v);
  return m > 0.0 ? std::ilogb(m) : 0;
}

// ‖xyᴴ − x̂ŷᴴ‖_F / (‖x‖‖y‖), entry by entry on copies scaled by powers of two (no overflow).
inline double complex_relative_error(const std::vector<cplx>& x, const std::vector<cplx>& y,
                                     const std::vector<cplx>& xh, const std::vector<cplx>& yh) {
  // one exponent per side, from its largest entry (a zero x̂ or ŷ must not pull it to 2^0)
  auto side = [](const std::vector<cplx>& a, const std::vector<cplx>& b) {
    const double m = std::max(max_abs(a), max_abs(b));
    return m > 0.0 ? std::ilogb(m) : 0;
  };
  const int ex = side(x, xh), ey = side(y, yh);
  auto sc = [](const cplx& z, int e) { return cplx(std::ldexp(z.real(), -e), std::ldexp(z.imag(), -e)); };
  double num = 0.0, nx = 0.0, ny = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const cplx a = sc(x[i], ex), ah = sc(xh[i], ex);
    nx += std::norm(a);
    for (std::size_t j = 0; j < y.size(); ++j)
      num += std::norm(a * std::conj(sc(y[j], ey)) - ah * std::conj(sc(yh[j], ey)));
  }
  for (const cplx& b : y) ny += std::norm(sc(b, ey));
  if (nx == 0.0 || ny == 0.0) return num == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(num / (nx * ny));
}

inline cplx round_complex(const Format& f, const cplx& z) {
  return cplx(f.round_saturating(z.real()), f.round_saturating(z.imag()));
}

// Certified bound on how much better than G's optimum F_t's can be (relative to ‖x‖‖y‖).
// Take F_t's optimum x̂* = round(λ*x_n), λ* in the band, ŷ*. G's nearest point x̂' of λ*x_n
// is a visited state and differs from x̂* only in parts below G's floor f, each by at most
// f·(1/2 + 2^−t): ‖x̂' − x̂*‖ <= δ. The best ŷ for x̂' does at least as well as ŷ*, so
// error' <= error* + δ‖ŷ*‖/‖x_n‖‖y‖, and ‖ŷ*‖ <= (1 + error*)‖x_n‖‖y‖/‖x̂*‖ with
// ‖x̂*‖ >= (1 − 2^−t)|λ*|‖x_n‖ − ε >= (1 − 2^−t)·lo·‖x_n‖/√2 − ε (ε: a bounded format's
// subnormal rounding, √(2m)·2^(emin−t); 0 for F_t). A floored bounded format: the same
// within the band, when the band cannot saturate (else no certificate: inf).
inline double complex_gap(const Format& f, double floor_abs, std::size_t small_parts, std::size_t m, double nx,
                          double lo, double error) {
  if (small_parts == 0) return 0.0;
  const double u = std::ldexp(1.0, -f.t);
  const double delta = std::sqrt(double(small_parts)) * floor_abs * (0.5 + u);
  const double eps = f.bounded ? std::sqrt(2.0 * double(m)) * std::ldexp(1.0, f.emin - f.t) : 0.0;
  const double xh_min = (1.0 - u) * lo * nx / std::sqrt(2.0) - eps;
  if (!(xh_min > 0.0)) return std::numeric_limits<double>::infinity();
  return delta * (1.0 + error) / xh_min;
}

// The optimal x̂ (parts in fx), ŷ (parts in fy, or free) for complex x, y: exact for bounded
// fx over the band; for F_t exact over G and within the returned certified gap of F_t.
// (Enumerates the arrangement of x; complex_rank_one picks the side.)
inline ComplexRankOneResult complex_rank_one_side(const std::vector<cplx>& x, const std::vector<cplx>& y,
                                                  const Format& fx, const Format& fy,
                                                  const ComplexRankOneOptions& opt) {
  if (fx.t > 16) throw std::invalid_argument("complex rank-one quantization supports t <= 16 for x's format");
  ComplexRankOneResult res;
  const std::size_t m = x.size();

  // RTN, and the trivial cases
  std::vector<cplx> xr(m), yr(y.size());
  for (std::size_t k = 0; k < m; ++k) xr[k] = detail::round_complex(fx, x[k]);
  for (std::size_t j = 0; j < y.size(); ++j) yr[j] = opt.quantize_y ? detail::round_complex(fy, y[j]) : y[j];
  res.rtn_error = detail::complex_relative_error(x, y, xr, yr);
  if (detail::max_abs(x) == 0.0 || detail::max_abs(y) == 0.0) {
    res.x = xr;
    res.y = yr;
    res.error = res.rtn_error;
    return res;
  }

  // geometry in the units of x_n = x·2^−s (F_t), or of x itself (bounded: the scale matters)
  const int s = fx.bounded ? 0 : detail::scale_exponent(x);
  std::vector<cplx> xn(m);
  for (std::size_t k = 0; k < m; ++k) xn[k] = cplx(std::ldexp(x[k].real(), -s), std::ldexp(x[k].imag(), -s));
  // F_t: G's floor 2^−B (default B = t + 10); bounded: the whole grid unless a floor is asked
  // for, then G = {0} ∪ {v >= 2^(e−B)}, 2^e <= max|x_k| < 2^(e+1)
  const bool floored = !fx.bounded || opt.floor_binades >= 0;
  const int B = opt.floor_binades >= 0 ? opt.floor_binades : fx.t + 10;
  if (B > 1000) throw std::invalid_argument("floor_binades must be <= 1000");
  const double floor_v = fx.bounded ? std::ldexp(1.0, std::ilogb(detail::max_abs(xn)) - B) : std::ldexp(1.0, -B);
  detail::SignedGrid g = fx.bounded ? detail::signed_grid(detail::bounded_grid(fx)) : detail::floored_grid(fx.t, B);
  if (fx.bounded && floored) g = detail::floor_grid(g, floor_v);
  double lo = 1.0, hi = 2.0;
  std::vector<detail::Family> fams;
  for (std::size_t k = 0; k < m; ++k) {
    if (xn[k] == 0.0) continue;
    fams.push_back({xn[k].real(), -xn[k].imag(), k, 0, 0, 0});
    fams.push_back({xn[k].imag(), xn[k].real(), k, 1, 0, 0});
  }
  if (fx.bounded) {
    // below lo every part rounds to 0; hi: past every vertex (all parts beyond the largest
    // midpoint saturate) unless a band is given
    lo = opt.lo;
    hi = opt.hi;
    if (!(hi > 0.0)) {
      const double top = g.mids.back();
      lo = g.mids.front() / (2.0 * detail::max_abs(xn));
      hi = 2.0 * lo;
      for (std::size_t f = 0; f < fams.size(); ++f)
        for (std::size_t h = f + 1; h < fams.size(); ++h) {
          const double det = fams[f].na * fams[h].nb - fams[f].nb * fams[h].na;
          if (det == 0.0) continue;
          // |λ|₁ of the vertices (±top, ±top): the solution of the 2×2 system
          for (double p : {-top, top})
            for (double q : {-top, top}) {
              const double a = (p * fams[h].nb - q * fams[f].nb) / det, b = (q * fams[f].na - p * fams[h].na) / det;
              hi = std::max(hi, 1.01 * (std::fabs(a) + std::fabs(b)));
            }
        }
      if (!std::isfinite(hi))
        throw std::invalid_argument(
            "x: nearly parallel parts put the arrangement beyond the double range; pass a band (lam_band)");
    }
    if (!(lo >= 0.0) || !(hi > lo)) throw std::invalid_argument("lam_band must satisfy 0 <= lo < hi");
  }
  // each family's midpoints crossing the band: c over the polygon spans its corners' values
  std::size_t small_parts = 0;
  const double corners[4][2] = {{lo, 0.0}, {hi, 0.0}, {0.0, hi}, {0.0, lo}};
  for (auto& F : fams) {
    double cmin = std::numeric_limits<double>::infinity(), cmax = -cmin;
    for (const auto& c : corners) {
      const double v = F.na * c[0] + F.nb * c[1];
      cmin = std::min(cmin, v);
      cmax = std::max(cmax, v);
    }
    F.i0 = g.lower_index(cmin);
    F.i1 = g.lower_index(std::nextafter(cmax, std::numeric_limits<double>::infinity()));
    if (floored && cmin < floor_v && cmax > -floor_v) ++small_parts;
  }
  // count the vertices first: the budget is checked before the work
  double count = 4.0;
  for (std::size_t f = 0; f < fams.size(); ++f) {
    count += 2.0 * double(fams[f].i1 - fams[f].i0);
    for (std::size_t h = f + 1; h < fams.size(); ++h)
      count += double(fams[f].i1 - fams[f].i0) * double(fams[h].i1 - fams[h].i0);
  }
  if (count > opt.max_vertices)
    throw std::length_error("the arrangement has up to " + std::to_string(count) +
                            " vertices, over max_vertices = " + std::to_string(opt.max_vertices) +
                            "; raise max_vertices, lower floor_binades (F_t) or narrow lam_band (bounded formats)");

  const double ys = std::ldexp(1.0, -detail::scale_exponent(y));
  detail::CellSearch search(xn, y, fams, g, fy, opt.quantize_y, ys);
  // RTN's x̂ (G's points are F_t's: RTN may use parts below G's floor)
  {
    auto& xh = search.scratch();
    for (std::size_t k = 0; k < m; ++k) xh[k] = cplx(std::ldexp(xr[k].real(), -s), std::ldexp(xr[k].imag(), -s));
    search.consider(cplx(std::ldexp(1.0, s), 0.0));
  }
  std::uint64_t vertices = 0;
  for (const auto& c : corners) {
    search.visit(c[0], c[1], nullptr, nullptr, 0);
    ++vertices;
  }
  for (std::size_t f = 0; f < fams.size(); ++f) {
    const detail::Family& F = fams[f];
    for (std::ptrdiff_t i = F.i0; i < F.i1; ++i) {
      poll_interrupt();
      const double p = g.mid(i);
      double s0, s1;
      if (!detail::clip_line(F, p, lo, hi, s0, s1)) continue;
      const double nn = F.na * F.na + F.nb * F.nb;
      const double pa = p * F.na / nn, pb = p * F.nb / nn;
      const std::size_t fl[2] = {f, 0};
      const std::ptrdiff_t ml[2] = {i, 0};
      for (double sv : {s0, s1}) {  // where the line meets the band's boundary
        search.visit(pa - sv * F.nb, pb + sv * F.na, fl, ml, 1);
        ++vertices;
      }
      for (std::size_t h = f + 1; h < fams.size(); ++h) {
        const detail::Family& H = fams[h];
        const double det = F.na * H.nb - F.nb * H.na;
        if (std::fabs(det) <= 1e-15 * std::sqrt(nn * (H.na * H.na + H.nb * H.nb))) continue;  // parallel
        // c_h along the segment, and the midpoints of h in that range
        const double c0 = H.na * (pa - s0 * F.nb) + H.nb * (pb + s0 * F.na);
        const double c1 = H.na * (pa - s1 * F.nb) + H.nb * (pb + s1 * F.na);
        const std::ptrdiff_t j0 = std::max(H.i0, g.lower_index(std::min(c0, c1)));
        const std::ptrdiff_t j1 =
            std::min(H.i1, g.lower_index(std::nextafter(std::max(c0, c1), std::numeric_limits<double>::infinity())));
        const std::size_t fh[2] = {f, h};
        for (std::ptrdiff_t j = j0; j < j1; ++j) {
          const double q = g.mid(j);
          const double a = (p * H.nb - q * F.nb) / det, b = (q * F.na - p * H.na) / det;
          const std::ptrdiff_t mh[2] = {i, j};
          search.visit(a, b, fh, mh, 2);
          ++vertices;
        }
      }
    }
  }

  // assemble: x̂ back in x's units, ŷ for it, the reported error recomputed
  res.vertices = vertices;
  res.states = search.states();
  const std::vector<cplx>& bx = search.best_x();
  res.x.resize(m);
  for (std::size_t k = 0; k < m; ++k) res.x[k] = cplx(std::ldexp(bx[k].real(), s), std::ldexp(bx[k].imag(), s));
  const cplx lam_n = search.best_lam();
  res.lam = cplx(std::ldexp(lam_n.real(), -s), std::ldexp(lam_n.imag(), -s));
  // mu in x's units: α = x̂ᴴx/‖x̂‖² is unchanged by scaling x and x̂ together
  res.mu = std::conj(search.best_alpha());
  res.y.resize(y.size());
  for (std::size_t j = 0; j < y.size(); ++j)
    res.y[j] = opt.quantize_y ? detail::round_complex(fy, res.mu * y[j]) : res.mu * y[j];
  res.error = detail::complex_relative_error(x, y, res.x, res.y);
  if (!(res.error <= res.rtn_error)) {  // only when scaling back left the double range
    res.x = xr;
    res.y = yr;
    res.error = res.rtn_error;
    res.lam = 1.0;
    res.mu = 1.0;
  }
  double nx = 0.0;
  for (const cplx& v : xn) nx += std::norm(v);
  const bool saturates = fx.bounded && hi * detail::max_abs(xn) > g.mids.back();
  res.gap = !floored ? 0.0
            : saturates && small_parts > 0
                ? std::numeric_limits<double>::infinity()
                : detail::complex_gap(fx, floor_v, small_parts, m, std::sqrt(nx), lo, res.error);
  return res;
}

}  // namespace detail

// With ŷ quantized the shorter side is enumerated (the problem is symmetric: ‖yxᴴ − ŷx̂ᴴ‖);
// the band then applies to that side's scaling.
// The cells' geometry (a bounded side is not rescaled: its scale matters) multiplies parts
// pairwise in doubles, so a bounded side's entries must lie within 2^±448.
inline bool complex_cells_in_range(const std::vector<cplx>& x, const std::vector<cplx>& y, const Format& fx,
                                   const Format& fy) {
  auto ok = [](const std::vector<cplx>& v, const Format& f) {
    const double m = detail::max_abs(v);
    return !f.bounded || m == 0.0 || std::abs(std::ilogb(m)) <= 448;
  };
  return ok(x, fx) && ok(y, fy);
}

inline ComplexRankOneResult complex_rank_one(const std::vector<cplx>& x, const std::vector<cplx>& y, const Format& fx,
                                             const Format& fy, const ComplexRankOneOptions& opt = {}) {
  detail::check_complex_vector(x, "x");
  detail::check_complex_vector(y, "y");
  if (!complex_cells_in_range(x, y, fx, fy))
    throw std::invalid_argument(
        "the cells solver needs a bounded format's side within 2^±448 (its geometry would overflow); "
        "use method='phases' or 'auto', which handle any double");
  if (opt.quantize_y && y.size() < x.size()) {
    ComplexRankOneResult r = detail::complex_rank_one_side(y, x, fy, fx, opt);
    std::swap(r.x, r.y);
    std::swap(r.lam, r.mu);
    return r;
  }
  return detail::complex_rank_one_side(x, y, fx, fy, opt);
}

}  // namespace scaleq
