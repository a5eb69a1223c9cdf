// ŷ's side of the sweep's cost read directly at each μ, without a prefix table. The table
// costs a sorted pass over all |y|·2^(t−1) breakpoints of y; a short swept x (a few entries:
// the output column of a neuron, a block's scale) visits only |x|·2^(t−1) states, and about
// half of them survive the ŷ-free screen, so rounding μy at those states is cheaper than
// preparing the table. F_t y sides only (ν = μ reduced to [1, 2) by the invariance).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "scaleq/detail/double_double.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"

namespace scaleq {

namespace detail {

// Should the sweep read an F_t ŷ side directly? The swept side has `swept` nonzero entries;
// per surviving state the direct read costs O(|y|), the table O(2^(t−1)) per entry of y
// with a larger constant (sort, double-double prefix sums): direct wins for short swept sides.
inline bool direct_y_pays(std::size_t swept, std::size_t y_entries) { return swept <= 16 && y_entries >= 2 * swept; }

struct DirectY {
  Side s;                           // entries only (no breakpoints): m, c, k0 = first state index
  std::vector<std::uint32_t> kend;  // last state index of each entry (λ ∈ (1, 2))
  std::vector<double> cm;           // c·m
  int half = 0;                     // 2^(t−1): grid points per binade
  double big1 = 0.0, big2 = 0.0;    // 2^(53−t), 2^(54−t): rounding constants of estimate()

  DirectY(const std::vector<double>& v, const Format& f, std::shared_ptr<const Grid> grid) {
    s.fmt = &f;
    s.grid_ptr = std::move(grid);
    s.E = max_exponent(v.data(), v.size());
    half = 1 << (f.t - 1);
    big1 = std::ldexp(1.0, 53 - f.t);
    big2 = std::ldexp(1.0, 54 - f.t);
    const std::vector<double>& mids = s.grid().mids;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == 0.0) continue;
      const EntryRange e = entry_range(std::fabs(v[i]), s.E, f, mids, 0.0, std::numeric_limits<double>::infinity());
      s.idx.push_back(std::uint32_t(i));
      s.m.push_back(e.m);
      s.ex.push_back(e.ex);
      s.c.push_back(e.c);
      s.k0.push_back(std::uint32_t(e.kb));
      kend.push_back(std::uint32_t(e.ke));
      cm.push_back(e.c * e.m);
      s.norm2 = s.norm2 + exact_square(e.m, e.c);
    }
  }

  // Grid index nearest to ν·m_j (ν·m_j ∈ [1, 4): two binades of 2^(t−1) points), clamped to
  // the entry's states: the prefix table's index up to midpoint ties.
  std::uint32_t guess(std::uint32_t j, double nu) const {
    const double p = nu * s.m[j];
    const double g = p < 2.0 ? (p - 1.0) * half : half + (p - 2.0) * (0.5 * half);
    const double k = std::floor(g + 0.5);
    const std::uint32_t lo = s.k0[j], hi = kend[j];
    if (!(k > double(lo))) return lo;
    return k >= double(hi) ? hi : std::uint32_t(k);
  }

  // Plain-double y'ᵀŷ' and ‖ŷ'‖² at ν, for the screen (which allows 1e-12 of slack): ν·m_j
  // rounded to t bits by adding and removing 2^(53−t) (spacing 2^(1−t) on [1, 2)) or
  // 2^(54−t) (on [2, 4)) — branch-free, so the loop vectorizes. It can differ from the
  // table's state only at a midpoint, where both neighbours give ŷ the same cost.
  void estimate(double nu, double& s1, double& s2) const {
    const double k1 = big1, k2 = big2;
    const double* __restrict mm = s.m.data();
    const double* __restrict cc = s.c.data();
    const double* __restrict cmm = cm.data();
    double a = 0.0, b = 0.0;
    const std::size_t n = s.m.size();
    for (std::size_t j = 0; j < n; ++j) {
      const double p = nu * mm[j];
      const double k = p < 2.0 ? k1 : k2;
      const double v = (p + k) - k;
      a += cmm[j] * v;
      b += cc[j] * v * v;
    }
    s1 = a;
    s2 = b;
  }

  // The exact double-double values of the prefix table at ν: each entry's state has crossed
  // the breakpoints mids[k]/m_j (correctly rounded) below ν, found from the guess by the
  // table's own comparisons.
  void exact(double nu, DD& s1, DD& s2) const {
    const std::vector<double>& mids = s.grid().mids;
    DD a, b;
    for (std::uint32_t j = 0; j < s.m.size(); ++j) {
      std::uint32_t k = guess(j, nu);
      const double m = s.m[j];
      while (k > s.k0[j] && !(mids[k - 1] / m < nu)) --k;
      while (k < kend[j] && mids[k] / m < nu) ++k;
      a = a + contrib1(s, j, k);
      b = b + contrib2(s, j, k);
    }
    s1 = a;
    s2 = b;
  }
};

}  // namespace detail

}  // namespace scaleq
