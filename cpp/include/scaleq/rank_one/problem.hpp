// The rank-one problem's interface: its result, the λ window of bounded formats, and the
// input checks every solver runs.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaleq/format.hpp"

namespace scaleq {

struct RankOneResult {
  std::vector<double> x, y;     // quantized vectors
  double lam = 1.0;             // x̂ = round(lam·x)
  double mu = 1.0;              // ŷ = round(mu·y) (or mu·y when y is not quantized)
  double error = 0.0;           // ‖xyᵀ − x̂ŷᵀ‖_F / ‖xyᵀ‖_F, recomputed from x̂, ŷ
  double rtn_error = 0.0;       // same for round(x), round(y) (or round(x), y)
  std::size_t breakpoints = 0;  // number of distinct breakpoints visited
};

// Bounded formats: restrict the search to λ ∈ [lo, hi) (original units), e.g. [1, 2) when the
// caller has scaled x so that this binade neither saturates nor needlessly underflows (chains
// of factors); the optimum is then over that window. Ignored for F_t.
struct LamWindow {
  double lo = 0.0;
  double hi = std::numeric_limits<double>::infinity();
  // Does the window restrict x̂ = round(λx) in format fx (an F_t side ignores it)?
  bool restricts(const Format& fx) const {
    return fx.bounded && (lo > 0.0 || hi < std::numeric_limits<double>::infinity());
  }
};

namespace detail {

// Which side a solver sweeps when ŷ is quantized (the problem is symmetric then). Sweeping
// an F_t x over λ ∈ (1, 2) is enough only when ŷ's format is F_t too: a bounded ŷ cannot
// absorb the power of two that moves x̂ = 2^k·round(λx) (it saturates or underflows), so with
// one bounded side that side is swept, its λ over all of (0, ∞), and the F_t side is the
// least-squares one, exact at any scale. Otherwise the shorter side is swept.
inline bool sweep_y_side(std::size_t m, std::size_t n, const Format& fx, const Format& fy) {
  if (fx.bounded != fy.bounded) return fy.bounded;
  return n < m;
}

inline void check_vector(const std::vector<double>& v, const char* name) {
  if (v.empty()) throw std::invalid_argument(std::string(name) + " must be non-empty");
  for (double a : v)
    if (!std::isfinite(a)) throw std::invalid_argument(std::string(name) + " contains NaN or Inf");
}

inline void check_window(const LamWindow& w) {
  if (!(w.lo >= 0.0 && w.lo < w.hi)) throw std::invalid_argument("lambda window must satisfy 0 <= lo < hi");
}

}  // namespace detail

}  // namespace scaleq
