// Optimal rank-one quantization of short vectors (at most kSmallRankOne entries a side),
// allocation-free: the many tiny problems of chain quantization (a butterfly column has 2
// entries).
//
// Same x̂, ŷ, λ, μ as rank_one_sweep (tests/test_rank_one_small.py); only the bookkeeping
// differs:
//  * no sorted breakpoint list: each coordinate's breakpoints mids[k]/m_i come in order, so
//    they are merged on the fly (approximate keys; near-equal keys are settled by the exact
//    cross comparison rank_one_sweep sorts with, and exactly equal ones crossed together);
//  * every state is screened in plain double, with cost formulas whose rounding errors scale
//    with the cost and xᵀx̂, ‖x̂‖² recomputed from the grid indices (no drift); only states
//    near the best are evaluated in double-double, exactly as rank_one_sweep evaluates them;
//  * ŷ is rounded directly for the screen, and its exact S1, S2 (rank_one_sweep's prefix
//    table) found coordinate by coordinate by binary search for the few evaluated states;
//  * two entries with ŷ free (nearest_two): no sweep at all, one pass over one coordinate's
//    grid points, with a rigorous bound on every state it does not look at.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "scaleq/detail/double_double.hpp"
#include "scaleq/detail/simd.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/bounded.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/cost.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/reference.hpp"
#include "scaleq/rank_one/rescale.hpp"

namespace scaleq {

// Longest side the small solver takes.
constexpr std::size_t kSmallRankOne = 8;

namespace detail {

// A short vector prepared as prepare_side prepares it, minus the breakpoint list: per
// nonzero coordinate i, its normalized magnitude m_i, weight c_i, and the range
// [kb_i, ke_i) of grid midpoints its breakpoints λ = mids[k]/m_i run over.
struct SmallSide {
  const Format* fmt = nullptr;
  const Grid* grid = nullptr;
  int count = 0, E = 0;
  double lo = 0.0, hi = std::numeric_limits<double>::infinity();  // bounded: λ window (normalized)
  std::uint32_t idx[kSmallRankOne], kb[kSmallRankOne], ke[kSmallRankOne];
  double m[kSmallRankOne], c[kSmallRankOne], w[kSmallRankOne], inv[kSmallRankOne];
  int ex[kSmallRankOne];
  DD norm2;
  bool divide = false;  // some 1/m_i is not a normal double: keys by division

  double key(int i, std::uint32_t k) const {  // ≈ λ of breakpoint k of coordinate i
    return divide ? grid->mids[k] / m[i] : grid->mids[k] * inv[i];
  }
  double lam(int i, std::uint32_t k) const { return grid->mids[k] / m[i]; }  // as rank_one_sweep rounds it
  // exact order of breakpoint ka of coordinate a and kb of b (the cross comparison of Side)
  int compare(int a, std::uint32_t ka, int b, std::uint32_t kb2) const {
    return cross_compare(grid->mids[ka], m[b], grid->mids[kb2], m[a]);
  }
  // exact xᵀx̂ and ‖x̂‖² of coordinate i at grid index k (contrib1/contrib2 of rank_one_sweep)
  DD dot(int i, std::uint32_t k) const {
    const double v = grid->vals[k], p = w[i] * v;
    return {p, std::fma(w[i], v, -p)};
  }
  DD sq(int i, std::uint32_t k) const {
    const double v = grid->vals[k];
    return {c[i] * v * v, 0.0};
  }
};

// prepare_side's normalization and per-entry ranges, for at most kSmallRankOne entries.
inline void prepare_small(const double* v, std::size_t n, const Format& f, const Grid& g, double lo, double hi,
                          SmallSide& s) {
  s.fmt = &f;
  s.grid = &g;
  s.E = side_exponent(v, n, f, hi);
  s.lo = side_lo(lo, s.E, f, g.mids);
  s.hi = std::ldexp(hi, s.E);
  s.count = 0;
  s.norm2 = DD{};
  s.divide = false;
  const std::vector<double>& mids = g.mids;
  for (std::size_t i = 0; i < n; ++i) {
    if (v[i] == 0.0) continue;
    const int j = s.count++;
    const double a = std::fabs(v[i]);
    s.idx[j] = std::uint32_t(i);
    const EntryRange e = entry_range(a, s.E, f, mids, s.lo, s.hi);
    s.m[j] = e.m;
    s.ex[j] = e.ex;
    s.c[j] = e.c;
    s.norm2 = s.norm2 + exact_square(e.m, e.c);
    s.kb[j] = std::uint32_t(e.kb);
    s.ke[j] = std::uint32_t(e.ke);
    s.w[j] = s.c[j] * s.m[j];
    s.inv[j] = 1.0 / s.m[j];
    if (!(std::fabs(s.inv[j]) < 0x1p1000) || s.m[j] < 0x1p-1000) s.divide = true;
  }
}

// Branch-free rounding to the format's nearest element (round_saturating, as the quantizers
// round: a bounded format saturates instead of overflowing).
inline Rounder saturating_rounder(const Format& f) {
  Format sat = f;
  sat.overflow = Overflow::saturate;
  return Rounder(sat);
}

// 2^k as a double for |k| < 1023 (pow2), ldexp otherwise.
inline double pow2_any(int k) { return (k > -1023 && k < 1023) ? pow2(k) : std::ldexp(1.0, k); }

// ŷ's side of a joint problem. Exact: S1(μ) = y'ᵀŷ', S2(μ) = ‖ŷ'‖² with ŷ = round(μy), as
// rank_one_sweep's PrefixTable and CostModel read them. Screening: y itself, rounded directly.
struct SmallY {
  SmallSide s;
  const double* y = nullptr;  // original units
  std::size_t n = 0;
  double scale2 = 1.0;  // 4^−Ey: (original units)² → normalized
  Rounder round{Format::unbounded(53)};
  bool bounded = false, subnormals = true;

  double rounded(double v) const {
    if (!bounded) return round.unbounded(v);
    return subnormals ? round.bounded<true>(v) : round.bounded<false>(v);
  }
  // ‖μy − round(μy)‖² in normalized units (screening).
  double rounding_error2(double mu) const {
    double e2 = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      const double v = mu * y[j], d = v - rounded(v);
      e2 += d * d;
    }
    return e2 * scale2;
  }
  // Exact S1, S2 at ν: the state after the breakpoints whose rounded λ is below ν
  // (PrefixTable::count_below), coordinate by coordinate.
  void exact(double nu, DD& s1, DD& s2) const {
    s1 = DD{};
    s2 = DD{};
    for (int j = 0; j < s.count; ++j) {
      std::uint32_t lo = s.kb[j], hi = s.ke[j];
      while (lo < hi) {
        const std::uint32_t mid = lo + (hi - lo) / 2;
        if (s.lam(j, mid) < nu)
          lo = mid + 1;
        else
          hi = mid;
      }
      s1 = s1 + s.dot(j, lo);
      s2 = s2 + s.sq(j, lo);
    }
  }
};

inline void prepare_small_y(const double* y, std::size_t n, const Format& fy, const Grid& g, SmallY& sy) {
  prepare_small(y, n, fy, g, 0.0, std::numeric_limits<double>::infinity(), sy.s);
  sy.y = y;
  sy.n = n;
  sy.scale2 = pow2_any(-2 * sy.s.E);
  sy.round = saturating_rounder(fy);
  sy.bounded = fy.bounded;
  sy.subnormals = fy.subnormals;
}

// The double-double cost of rank_one_sweep's CostModel for (A, B) already rescaled.
inline DD small_cost(DD A, DD B, const SmallY* y, DD x2, DD x2y2) {
  return state_cost(A, B, x2, x2y2, y == nullptr, y && y->s.fmt->bounded, y ? y->s.E : 0,
                    [y](double nu, DD& s1, DD& s2) { y->exact(nu, s1, s2); });
}

// The exact group of the next breakpoints when keys are near-equal: the exact minimum
// among the near keys and every breakpoint exactly equal to it (rare: kept out of line).
inline void exact_group(const SmallSide& sx, int n, const std::uint32_t* k, const double* key, double near, bool* adv) {
  int lo = -1;
  for (int i = 0; i < n; ++i)
    if (key[i] <= near && (lo < 0 || sx.compare(i, k[i], lo, k[lo]) < 0)) lo = i;
  for (int i = 0; i < n; ++i) adv[i] = key[i] <= near && sx.compare(i, k[i], lo, k[lo]) == 0;
}

// The states of the sweep, visited in λ order: each is screened in plain double and, if it
// may beat the best, evaluated exactly as rank_one_sweep evaluates it. NF > 0 fixes the number
// of nonzero coordinates at compile time (the loops unroll, the state stays in registers).
//
// Screened costs (normalized units), written so that rounding errors scale with the cost:
//  * ŷ free: ‖x − μx̂‖² = Σ c_i (m_i·B − A·v_i)² / B² (for two coordinates the Lagrange form
//    c_0 c_1 (m_0 v_1 − m_1 v_0)² / B), |error| ≲ 4ε·sqrt(cost·‖x‖²): errors in A, B only
//    move μ, to which the cost is stationary.
//  * ŷ quantized: ‖xyᵀ − x̂ŷᵀ‖² = ‖x − μx̂‖²‖y‖² + ‖x̂‖²‖μy − ŷ‖² (the two terms are
//    orthogonal), with ŷ = round(μy) rounded directly; the first term alone is a lower bound.
// The margin is 100 times those error bounds.
template <int NF>
struct SmallSweep {
  static constexpr int NMAX = NF > 0 ? NF : int(kSmallRankOne);
  const SmallSide& sx;
  const SmallY* y;  // null: ŷ free
  int n_;
  const double* vals;
  int ashift;
  bool direct_scale;
  double sa, sb;
  DD x2, x2y2, best;
  double scale, tie_tol, y2 = 0.0, limit = 0.0;
  std::uint32_t best_k[NMAX];

  SmallSweep(const SmallSide& s, const SmallY* yy, const std::uint32_t* k0)
      : sx(s), y(yy), n_(s.count), vals(s.grid->vals.data()) {
    ashift = sx.fmt->bounded ? -sx.E : 0;
    direct_scale = ashift > -500 && ashift < 500;
    sa = direct_scale ? pow2(ashift) : 1.0;
    sb = sa * sa;
    x2 = sx.norm2;
    x2y2 = y ? sx.norm2 * y->s.norm2 : x2;
    if (y) y2 = y->s.norm2.hi;
    scale = y ? x2y2.hi : x2.hi;
    tie_tol = 1e-28 * scale;
    record(exact_cost(k0), k0);
  }

  int count() const { return NF > 0 ? NF : n_; }  // a constant when NF > 0: loops unroll

  DD exact_cost(const std::uint32_t* k) const {
    const int n = count();
    DD A, B;
    for (int i = 0; i < n; ++i) {
      A = A + sx.dot(i, k[i]);
      B = B + sx.sq(i, k[i]);
    }
    if (ashift != 0) {
      if (direct_scale) {
        A = {A.hi * sa, A.lo * sa};
        B = {B.hi * sb, B.lo * sb};
      } else {
        A = ldexp(A, ashift);
        B = ldexp(B, 2 * ashift);
      }
    }
    return small_cost(A, B, y, x2, x2y2);
  }

  void record(DD c, const std::uint32_t* k) {
    best = c;
    for (int i = 0; i < count(); ++i) best_k[i] = k[i];
    limit = best.hi + 1e-13 * std::sqrt(std::max(best.hi, 0.0) * scale) + 1e-27 * scale;
  }

  // ‖x − μx̂‖²·B (two coordinates) or ·B², and which power of B it carries.
  double free_cost_times_b(double A, double B, const std::uint32_t* k, int& power) const {
    if (NF == 2) {
      power = 1;
      const double d = sx.m[0] * vals[k[1]] - sx.m[1] * vals[k[0]];
      return (sx.c[0] * sx.c[1]) * (d * d);
    }
    power = 2;
    double r2 = 0.0;
    for (int i = 0; i < count(); ++i) {
      const double r = sx.m[i] * B - A * vals[k[i]];
      r2 += sx.c[i] * r * r;
    }
    return r2;
  }

  void visit(const std::uint32_t* k) {
    double A = 0.0, B = 0.0;
    for (int i = 0; i < count(); ++i) {
      const double v = vals[k[i]];
      A += sx.w[i] * v;
      B += sx.c[i] * v * v;
    }
    if (B > 0.0) {
      int power;
      const double fb = free_cost_times_b(A, B, k, power);
      const double bp = power == 1 ? B : B * B;
      if (!y) {
        if (fb > limit * bp) return;
      } else if (direct_scale) {           // (far-off exponents: every state exact)
        if (fb * y2 > limit * bp) return;  // the lower bound alone: no division
        const double mu = (A * sa) / (B * sb);
        if ((fb / bp) * y2 + (B * sb) * y->rounding_error2(mu) > limit) return;
      }
    }
    evaluate(k);
  }

  void evaluate(const std::uint32_t* k) {
    const DD c = exact_cost(k);
    if ((c.hi - best.hi) + (c.lo - best.lo) < -tie_tol) record(c, k);
  }
};

// Two coordinates: both breakpoint lists λ ≈ mids[k]·(1/m_i) are generated up front (a
// vectorized loop) and merged branch-free; keys within a few ulps of each other are ordered
// exactly (mids·(1/m) is within 1.5 ulp of mids/m). Calls state(k0, k1) for every state after
// state 0, in λ order.
template <class State>
void merge_two(const SmallSide& sx, State&& state) {
  static thread_local std::vector<double> buf;
  const std::uint32_t n0 = sx.ke[0] - sx.kb[0], n1 = sx.ke[1] - sx.kb[1];
  buf.resize(std::size_t(n0) + n1 + 2);
  double* a0 = buf.data();
  double* a1 = a0 + n0 + 1;
  const double* mids = sx.grid->mids.data();
  if (sx.divide) {
    for (std::uint32_t i = 0; i < n0; ++i) a0[i] = mids[sx.kb[0] + i] / sx.m[0];
    for (std::uint32_t i = 0; i < n1; ++i) a1[i] = mids[sx.kb[1] + i] / sx.m[1];
  } else {
    for (std::uint32_t i = 0; i < n0; ++i) a0[i] = mids[sx.kb[0] + i] * sx.inv[0];
    for (std::uint32_t i = 0; i < n1; ++i) a1[i] = mids[sx.kb[1] + i] * sx.inv[1];
  }
  constexpr double inf = std::numeric_limits<double>::infinity();
  a0[n0] = inf;
  a1[n1] = inf;
  const std::uint32_t kb0 = sx.kb[0], kb1 = sx.kb[1];
  std::uint32_t i0 = 0, i1 = 0;
  for (;;) {
    const double h0 = a0[i0], h1 = a1[i1];
    std::uint32_t t0 = h0 < h1, t1 = 1 - t0;
    if (std::fabs(h0 - h1) <= 1e-15 * std::min(h0, h1) || h0 == h1) {  // near or equal keys: exact order
      if (h0 == inf) break;
      const int c = sx.compare(0, kb0 + i0, 1, kb1 + i1);
      t0 = c <= 0;
      t1 = c >= 0;
    }
    i0 += t0;
    i1 += t1;
    state(kb0 + i0, kb1 + i1);
  }
}

// Calls f(round) with the format's branch-free rounding (saturating) as a lambda, one
// instantiation per kind of format, so that loops over it vectorize.
template <class F>
void with_rounding(const Format& fmt, F&& f) {
  const Rounder round = saturating_rounder(fmt);
  if (!fmt.bounded)
    f([&round](double v) { return round.unbounded(v); });
  else if (fmt.subnormals)
    f([&round](double v) { return round.bounded<true>(v); });
  else
    f([&round](double v) { return round.bounded<false>(v); });
}

// ŷ free, two coordinates, every state (the exact fallback of nearest_two): the Lagrange screen
// inline, on registers.
inline void free_two(const SmallSide& sx, SmallSweep<2>& sw) {
  const double* vals = sx.grid->vals.data();
  const double m0 = sx.m[0], m1 = sx.m[1], c0 = sx.c[0], c1 = sx.c[1], c01 = c0 * c1;
  merge_two(sx, [&](std::uint32_t k0, std::uint32_t k1) {
    const double v0 = vals[k0], v1 = vals[k1];
    const double B = c0 * v0 * v0 + c1 * v1 * v1, d = m0 * v1 - m1 * v0;
    if (B > 0.0 && c01 * (d * d) > sw.limit * B) return;
    const std::uint32_t k[2] = {k0, k1};
    sw.evaluate(k);
  });
}

// The screened cost of joint states (SmallSweep::visit's, branch-free) for x and y of two
// entries: a standalone loop over restrict pointers, which GCC vectorizes (the same loop in a
// lambda over captured arrays it does not).
struct JointTwo {
  double w0, w1, c0, c1, m0, m1, sa, sb, y0, y1, ys, y2;
};
template <class Round>
inline void joint_two_costs(const JointTwo& q, Round round_one, const double* __restrict v0s,
                            const double* __restrict v1s, double* __restrict cost, int count) {
  const double c01 = q.c0 * q.c1;
  for (int i = 0; i < count; ++i) {
    const double v0 = v0s[i], v1 = v1s[i];
    const double A = q.w0 * v0 + q.w1 * v1, B = q.c0 * v0 * v0 + q.c1 * v1 * v1, d = q.m0 * v1 - q.m1 * v0;
    const double mu = (A * q.sa) / (B * q.sb);
    const double p0 = mu * q.y0, p1 = mu * q.y1, e0 = p0 - round_one(p0), e1 = p1 - round_one(p1);
    cost[i] = c01 * (d * d) / B * q.y2 + (B * q.sb) * ((e0 * e0 + e1 * e1) * q.ys);  // NaN when x̂ = 0
  }
}

// ŷ quantized, x and y of two entries (a butterfly's last pair): the merged states are
// screened in chunks by the vectorized joint_two_costs, then the few below the current limit
// are evaluated in order — the limit only falls, so this is visit's decision state by state.
inline void joint_two(const SmallSide& sx, const SmallY& y, SmallSweep<2>& sw) {
  constexpr int kChunk = 256;
  std::uint32_t K0[kChunk], K1[kChunk];
  double V0[kChunk], V1[kChunk], cost[kChunk];  // values stored as merged: contiguous loads
  int count = 0;
  const double* vals = sx.grid->vals.data();
  const JointTwo q{sx.w[0], sx.w[1], sx.c[0], sx.c[1], sx.m[0], sx.m[1], sw.sa, sw.sb, y.y[0], y.y[1], y.scale2, sw.y2};
  with_rounding(*y.s.fmt, [&](auto round_one) {
    auto flush = [&] {
      simd_dispatch([&] { joint_two_costs(q, round_one, V0, V1, cost, count); });
      for (int i = 0; i < count; ++i)
        if (cost[i] <= sw.limit) {
          const std::uint32_t k[2] = {K0[i], K1[i]};
          sw.evaluate(k);
        }
      count = 0;
    };
    merge_two(sx, [&](std::uint32_t k0, std::uint32_t k1) {
      K0[count] = k0;
      K1[count] = k1;
      V0[count] = vals[k0];
      V1[count] = vals[k1];
      if (++count == kChunk) flush();
    });
    flush();
  });
}

// Any count: the next breakpoint is the smallest approximate key mids·(1/m_i); near-equal
// keys are settled exactly, and groups of exactly equal breakpoints are crossed together.
template <int NF>
void merge_any(const SmallSide& sx, SmallSweep<NF>& sw) {
  constexpr int NMAX = SmallSweep<NF>::NMAX;
  const int n = sw.count();
  const std::size_t last_mid = sx.grid->mids.size() - 1;
  std::uint32_t k[NMAX];
  double key[NMAX];
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (int i = 0; i < n; ++i) {
    k[i] = sx.kb[i];
    key[i] = k[i] < sx.ke[i] ? sx.key(i, k[i]) : inf;
  }
  for (;;) {
    double mn = key[0];
    for (int i = 1; i < n; ++i) mn = std::min(mn, key[i]);
    if (mn == inf) break;
    const double near = mn * (1.0 + 1e-15);
    bool adv[NMAX];
    int close = 0;
    for (int i = 0; i < n; ++i) close += adv[i] = key[i] <= near;
    if (close > 1) {
      std::uint32_t kk[NMAX];
      double kk_key[NMAX];
      for (int i = 0; i < n; ++i) {
        kk[i] = k[i];
        kk_key[i] = key[i];
      }
      exact_group(sx, n, kk, kk_key, near, adv);
    }
    for (int i = 0; i < n; ++i) {
      k[i] += adv[i];
      const double next = sx.key(i, std::uint32_t(std::min<std::size_t>(k[i], last_mid)));
      key[i] = adv[i] ? (k[i] < sx.ke[i] ? next : inf) : key[i];
    }
    sw.visit(k);
  }
}

// Exactly whether (k0, k1) is a state of the sweep: the open λ-intervals on which
// coordinate i sits at grid index k_i (between its breakpoints k_i − 1 and k_i, the window's
// ends standing in past its first and last) intersect.
inline bool is_state(const SmallSide& sx, std::uint32_t k0, std::uint32_t k1) {
  const std::uint32_t k[2] = {k0, k1};
  for (int i = 0; i < 2; ++i)
    if (k[i] < sx.kb[i] || k[i] > sx.ke[i]) return false;
  const double wlo = sx.fmt->bounded ? sx.lo : 1.0;
  const double whi = sx.fmt->bounded ? sx.hi : 2.0;
  for (int i = 0; i < 2; ++i)      // lower end of i
    for (int j = 0; j < 2; ++j) {  // upper end of j
      const bool has_lo = k[i] > sx.kb[i], has_hi = k[j] < sx.ke[j];
      if (!has_hi && !(whi < std::numeric_limits<double>::infinity())) continue;  // upper end +∞
      if (!has_lo && !has_hi) {
        if (!(wlo < whi)) return false;
        continue;
      }
      int c;  // sign of (lower end of i) − (upper end of j)
      if (has_lo && has_hi)
        c = i == j ? -1 : sx.compare(i, k[i] - 1, j, k[j]);
      else if (has_lo)  // mids/m_i vs the window's upper end
        c = cross_compare(sx.grid->mids[k[i] - 1], 1.0, whi, sx.m[i]);
      else  // the window's lower end vs mids/m_j
        c = -cross_compare(sx.grid->mids[k[j]], 1.0, wlo, sx.m[j]);
      if (c >= 0) return false;
    }
  return true;
}

// The screened cost c_ic_o·d²/B of the state (v_i, round(v_i·r)) of each grid point v_i: a
// standalone loop over restrict pointers, so that GCC vectorizes it.
struct NearestTwo {
  double r, mi, mo, ci, co;
};
template <class Round>
inline void nearest_two_costs(const NearestTwo& q, Round round_one, const double* __restrict vi_s,
                              double* __restrict cost, std::uint32_t len) {
  const double cc = q.ci * q.co;
  for (std::uint32_t j = 0; j < len; ++j) {
    const double vi = vi_s[j], vo = round_one(vi * q.r);
    const double B = q.ci * vi * vi + q.co * vo * vo, d = q.mi * vo - q.mo * vi;
    cost[j] = cc * (d * d) / B;
  }
}

// ŷ free, two coordinates: a state's cost c_0c_1(m_0v_1 − m_1v_0)²/B is small only when v_1 is
// the grid point nearest v_0·m_1/m_0, so one pass over coordinate 0's grid points (no merge, no
// dependency chain) screens every state that can win; the candidates are checked to be states
// (is_state) and evaluated exactly in λ order after state 0, as the sweep's records would be
// (the sweep's outcome depends only on the states within a margin ≫ tie_tol of the best).
// Every other state has |m_0v_1 − m_1v_0| ≥ m_0·s/2 (s the smallest grid spacing it can see),
// hence cost ≥ LB; if the best found is not clearly below LB (tiny t, degenerate data), or is
// not within the margin of the lowest screened cost, the exact merge reruns: returns false.
inline bool nearest_two(const SmallSide& sx, SmallSweep<2>& sw) {
  const std::vector<double>& vals = sx.grid->vals;
  // iterate over the coordinate with fewer states; p = v_it·m_other/m_it is rounded in the format
  const int it = (sx.ke[1] - sx.kb[1] < sx.ke[0] - sx.kb[0]) ? 1 : 0, ot = 1 - it;
  const double r = sx.m[ot] / sx.m[it];
  const double mi = sx.m[it], mo = sx.m[ot], ci = sx.c[it], co = sx.c[ot], cc = ci * co;
  const bool bounded = sx.fmt->bounded;
  // Pass 1, branch-free (AVX2/SSE4.2 copies picked at run time, as for rounding): the screened
  // cost c_ic_o·d²/B of every grid point's nearest state (NaN for x̂ = 0: such a state costs
  // ‖x‖², the most there is, and can only be the first, which is already evaluated).
  // Pass 2: the states within the screening margin of the smallest, exactly, in λ order —
  // every state the sweep's records can end on.
  static thread_local std::vector<double> cost;
  const std::uint32_t k_lo = sx.kb[it], len = sx.ke[it] + 1 - k_lo;
  cost.resize(len);
  const double* in = vals.data() + k_lo;
  double* out = cost.data();
  double lowest = 0.0, margin = 0.0;
  with_rounding(*sx.fmt, [&](auto round_one) {
    simd_dispatch([&] { nearest_two_costs(NearestTwo{r, mi, mo, ci, co}, round_one, in, out, len); });
    // (four running minima and blocks of eight tested at once: no loop-carried compare chain)
    constexpr double inf = std::numeric_limits<double>::infinity();
    double low[4] = {inf, inf, inf, inf};
    std::uint32_t j = 0;
    for (; j + 4 <= len; j += 4)
      for (int q = 0; q < 4; ++q) low[q] = out[j + q] < low[q] ? out[j + q] : low[q];
    for (; j < len; ++j) low[0] = out[j] < low[0] ? out[j] : low[0];
    lowest = std::min(std::min(low[0], low[1]), std::min(low[2], low[3]));
    margin = 1e-13 * std::sqrt(std::max(lowest, 0.0) * sw.scale) + 1e-27 * sw.scale;
    const double bound = lowest + 2.0 * margin;
    for (std::uint32_t j0 = 0; j0 < len; j0 += 8) {
      const std::uint32_t j1 = std::min(len, j0 + 8);
      bool any = false;
      for (std::uint32_t q = j0; q < j1; ++q) any |= out[q] <= bound;
      if (!any) continue;
      for (std::uint32_t q = j0; q < j1; ++q) {
        if (!(out[q] <= bound)) continue;
        const std::uint32_t ki = k_lo + q;
        const double vo = round_one(vals[ki] * r);
        const std::uint32_t ko = std::uint32_t(std::lower_bound(vals.begin(), vals.end(), vo) - vals.begin());
        std::uint32_t k[2];
        k[it] = ki;
        k[ot] = ko;
        if (ko < vals.size() && vals[ko] == vo && is_state(sx, k[0], k[1])) sw.evaluate(k);
      }
    }
  });
  // LB: the other states' v_o lie at least half a grid spacing from v_i·r; the smallest spacing
  // any of them can see is below the lowest such point, taken a binade lower to be safe.
  const double p_low = 0.5 * vals[sx.kb[it]] * r;
  double spacing;
  if (!bounded) {
    int e;
    std::frexp(p_low, &e);
    spacing = std::ldexp(1.0, e - 1 - (sx.fmt->t - 1));
  } else {
    int e;
    std::frexp(std::max(p_low, sx.fmt->min_normal()), &e);
    spacing = std::ldexp(1.0, e - 1 - (sx.fmt->t - 1));  // at least the subnormal spacing
  }
  const double B_max = ci * vals[sx.ke[it]] * vals[sx.ke[it]] + co * vals[sx.ke[ot]] * vals[sx.ke[ot]];
  const double half = 0.5 * mi * spacing;
  const double LB = std::min(cc * half * half / B_max, sw.x2.hi);  // (x̂ = 0 states cost ‖x‖²)
  // The lowest screened cost may belong to a grid point whose nearest partner is not a state
  // (at the window's ends): then the states within the margin were not all evaluated. And no
  // other state can be a record: it would have to beat the best by tie_tol.
  return sw.best.hi <= lowest + 0.5 * margin && sw.best.hi + 2.0 * sw.tie_tol <= LB * (1.0 - 1e-9);
}

// The sweep over x's states (λ increasing), ŷ free (y == nullptr) or quantized: the winning
// state's grid indices go to best_k.
template <int NF>
void small_sweep(const SmallSide& sx, const SmallY* y, std::uint32_t* best_k) {
  SmallSweep<NF> sw(sx, y, sx.kb);
  if constexpr (NF == 2) {
    if (y && y->n == 2 && sw.direct_scale) {
      joint_two(sx, *y, sw);
    } else if (y) {
      merge_two(sx, [&](std::uint32_t k0, std::uint32_t k1) {
        const std::uint32_t k[2] = {k0, k1};
        sw.visit(k);
      });
    } else if (!nearest_two(sx, sw)) {
      SmallSweep<2> full(sx, y, sx.kb);
      free_two(sx, full);
      for (int i = 0; i < 2; ++i) best_k[i] = full.best_k[i];
      return;
    }
  } else {
    merge_any(sx, sw);
  }
  for (int i = 0; i < sw.count(); ++i) best_k[i] = sw.best_k[i];
}

inline void small_sweep_any(const SmallSide& sx, const SmallY* y, std::uint32_t* best_k) {
  switch (sx.count) {
    case 1:
      return small_sweep<1>(sx, y, best_k);
    case 2:
      return small_sweep<2>(sx, y, best_k);
    default:
      return small_sweep<0>(sx, y, best_k);
  }
}

// The number of distinct breakpoints of x (rank_one_sweep's `breakpoints`): a merge that only
// counts exactly coinciding breakpoints of different coordinates.
inline std::size_t count_breakpoints(const SmallSide& sx) {
  std::size_t total = 0, repeats = 0;
  for (int i = 0; i < sx.count; ++i) total += sx.ke[i] - sx.kb[i];
  if (sx.count < 2) return total;
  std::uint32_t k[kSmallRankOne];
  for (int i = 0; i < sx.count; ++i) k[i] = sx.kb[i];
  for (;;) {
    int lo = -1;
    for (int i = 0; i < sx.count; ++i)
      if (k[i] < sx.ke[i] && (lo < 0 || sx.compare(i, k[i], lo, k[lo]) < 0)) lo = i;
    if (lo < 0) break;
    const std::uint32_t klo = k[lo];
    int in_group = 0;
    for (int i = 0; i < sx.count; ++i)
      if (k[i] < sx.ke[i] && (i == lo || sx.compare(i, k[i], lo, klo) == 0)) {
        ++in_group;
        ++k[i];
      }
    repeats += std::size_t(in_group - 1);
  }
  return total - repeats;
}

// λ (original units) inside the winning state's interval, exactly as rank_one_sweep's
// interval_mid: between the last breakpoint crossed and the next one.
inline double small_lambda(const SmallSide& s, const std::uint32_t* k) {
  double lo = -1.0, hi = std::numeric_limits<double>::infinity();
  for (int i = 0; i < s.count; ++i) {
    if (k[i] > s.kb[i]) lo = std::max(lo, s.lam(i, k[i] - 1));
    if (k[i] < s.ke[i]) hi = std::min(hi, s.lam(i, k[i]));
  }
  if (lo < 0.0) lo = s.fmt->bounded ? s.lo : 1.0;
  double mid;
  if (hi < std::numeric_limits<double>::infinity())
    mid = 0.5 * (lo + hi);
  else if (!s.fmt->bounded)
    mid = 0.5 * (lo + 2.0);
  else
    mid = s.hi < std::numeric_limits<double>::infinity() ? 0.5 * (lo + s.hi) : above(lo);
  const int shift = (!s.fmt->bounded && s.E >= 1022) ? 1 : 0;  // overflow_shift
  return s.fmt->bounded ? std::ldexp(mid, -s.E) : std::ldexp(mid, -shift);
}

}  // namespace detail

// The rank-one optimum of x (m ≤ kSmallRankOne entries) and y (n ≤ kSmallRankOne, or ŷ free
// when y is null), written into xh (m values) and yh (n values, when y is given); returns
// λ and μ. Equal to rank_one_sweep(x, y, fx, fy, quantize_y, gx, gy, window) in x̂, ŷ, λ, μ.
// gx, gy: the grids of fx, fy (make_grid), shared across a batch.
// count_breakpoints: also report rank_one_sweep's number of distinct breakpoints (a merge).
struct SmallScalings {
  double lam = 1.0, mu = 1.0;
  std::size_t breakpoints = 0;  // only when asked for
};

inline SmallScalings rank_one_small(const double* x, std::size_t m, const double* y, std::size_t n, const Format& fx,
                                    const Format& fy, const detail::Grid& gx, const detail::Grid* gy, LamWindow window,
                                    double* xh, double* yh, bool count_breakpoints = false) {
  using namespace detail;
  if (m == 0 || m > kSmallRankOne || (y && (n == 0 || n > kSmallRankOne)))
    throw std::invalid_argument("rank_one_small: vectors must have 1 to 8 entries");
  if (y && !gy) throw std::invalid_argument("rank_one_small: the grid of fy is required when y is quantized");
  for (std::size_t i = 0; i < m; ++i)
    if (!std::isfinite(x[i])) throw std::invalid_argument("x contains NaN or Inf");
  for (std::size_t j = 0; y && j < n; ++j)
    if (!std::isfinite(y[j])) throw std::invalid_argument("y contains NaN or Inf");
  check_window(window);
  const bool windowed = window.restricts(fx);
  auto all_zero = [](const double* v, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i)
      if (v[i] != 0.0) return false;
    return true;
  };
  if (all_zero(x, m) || (y && all_zero(y, n))) {  // trivial_result: xyᵀ = 0
    for (std::size_t i = 0; i < m; ++i) xh[i] = fx.round_saturating(x[i]);
    for (std::size_t j = 0; y && j < n; ++j) yh[j] = fy.round_saturating(y[j]);
    return {};
  }
  if (y && !windowed && sweep_y_side(m, n, fx, fy)) {  // the side rank_one_sweep sweeps
    SmallScalings s = rank_one_small(y, n, x, m, fy, fx, *gy, &gx, LamWindow{}, yh, xh, count_breakpoints);
    std::swap(s.lam, s.mu);
    return s;
  }
  SmallSide sx;
  prepare_small(x, m, fx, gx, window.lo, window.hi, sx);
  SmallY sy;
  if (y) prepare_small_y(y, n, fy, *gy, sy);
  std::uint32_t k[kSmallRankOne];
  SmallScalings r;
  small_sweep_any(sx, y ? &sy : nullptr, k);
  if (count_breakpoints) r.breakpoints = detail::count_breakpoints(sx);
  r.lam = small_lambda(sx, k);
  // x̂ (replay_state) and μ = xᵀx̂/‖x̂‖² in units normalized by 2^E (optimal_mu)
  for (std::size_t i = 0; i < m; ++i) xh[i] = 0.0;
  const int shift = (!fx.bounded && sx.E >= 1022) ? 1 : 0;
  for (int i = 0; i < sx.count; ++i)
    xh[sx.idx[i]] = std::copysign(std::ldexp(gx.vals[k[i]], (fx.bounded ? 0 : sx.ex[i]) - shift), x[sx.idx[i]]);
  r.mu = optimal_mu(x, xh, m, sx.E);
  for (std::size_t j = 0; y && j < n; ++j) yh[j] = fy.round_saturating(r.mu * y[j]);
  return r;
}

// rank_one_small with rank_one_sweep's full result (errors recomputed from x̂, ŷ), without
// the prescaling of F_t sides.
inline RankOneResult rank_one_small_unscaled(const std::vector<double>& x, const std::vector<double>& y,
                                             const Format& fx, const Format& fy, bool quantize_y = true,
                                             LamWindow window = {}) {
  detail::check_vector(x, "x");
  detail::check_vector(y, "y");
  if (x.size() > kSmallRankOne || (quantize_y && y.size() > kSmallRankOne))
    throw std::invalid_argument("rank_one_small takes vectors of at most 8 entries");
  detail::check_window(window);
  if (detail::is_zero(x) || detail::is_zero(y)) return detail::trivial_result(x, y, fx, fy, quantize_y);
  const bool windowed = window.restricts(fx);
  if (quantize_y && !windowed && detail::sweep_y_side(x.size(), y.size(), fx, fy)) {  // as rank_one_sweep
    RankOneResult r = rank_one_small_unscaled(y, x, fy, fx, true);
    std::swap(r.x, r.y);
    std::swap(r.lam, r.mu);
    return r;
  }
  const auto gx = detail::make_grid(fx);
  const auto gy = quantize_y ? detail::make_grid(fy) : nullptr;
  std::vector<double> xh(x.size()), yh(y.size());
  const SmallScalings s = rank_one_small(x.data(), x.size(), quantize_y ? y.data() : nullptr, y.size(), fx, fy, *gx,
                                         gy.get(), window, xh.data(), yh.data(), true);
  RankOneResult r = detail::finish(x, y, xh, s.lam, detail::max_exponent(x), fx, fy, quantize_y);
  r.breakpoints = s.breakpoints;
  return r;
}

// rank_one_small with rank_one_sweep's prescaling of F_t sides (detail::solve_rescaled).
inline RankOneResult rank_one_small(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                    const Format& fy, bool quantize_y = true, LamWindow window = {}) {
  RankOneResult shifted;  // as rank_one_sweep
  if (detail::solve_by_shift(
          x, y, fx, fy, quantize_y, window,
          [&](const Format& ux, const Format& uy) { return rank_one_small(x, y, ux, uy, quantize_y); }, shifted))
    return shifted;
  if (detail::solve_in_top_binades(
          x, y, fx, fy, quantize_y, window,
          [&](const std::vector<double>& xa, const std::vector<double>& ya, const Format& fxa, const Format& fya,
              const LamWindow& w, bool) { return rank_one_small(xa, ya, fxa, fya, quantize_y, w); },
          shifted))
    return shifted;
  return detail::solve_checked(x, y, fx, fy, quantize_y, window,
                               [&](const std::vector<double>& xs, const std::vector<double>& ys) {
                                 if (!detail::fast_solver_in_range(xs, ys, fx, fy, quantize_y, window))
                                   return rank_one_reference_unscaled(xs, ys, fx, fy, quantize_y, window);
                                 return rank_one_small_unscaled(xs, ys, fx, fy, quantize_y, window);
                               });
}

}  // namespace scaleq
