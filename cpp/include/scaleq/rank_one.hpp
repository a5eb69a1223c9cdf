// Optimal rank-one quantization (Gribonval–Mary–Riccietti, Theorem 2.3):
// the x̂ŷᵀ closest to xyᵀ in Frobenius norm with x̂, ŷ in a format.
//
// An optimum is x̂ = round(λx), ŷ = round(μy) with μ = xᵀx̂/‖x̂‖² and λ the midpoint
// of two consecutive breakpoints of λ ↦ round(λx). Two solvers share the breakpoints:
//  * rank_one_reference: the paper's Algorithm 1, literally — O(m+n) per midpoint.
//  * rank_one_sweep: walks the sorted breakpoints updating xᵀx̂ and ‖x̂‖² in O(1);
//    the ŷ side is read off prefix sums over y's sorted breakpoints (galloping search).
// Unbounded F_t: λ ∈ (1, 2) suffices by the power-of-two invariance. Bounded formats:
// the invariance breaks (subnormals, saturation), so λ ranges over (0, ∞) and every
// breakpoint of the finite format is enumerated.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scaleq/detail/parallel.hpp"
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
};

namespace detail {

// ---- double-double arithmetic: the costs are differences of nearly equal terms ----
struct DD {
  double hi = 0.0, lo = 0.0;
};
inline DD two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
inline DD quick_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}
inline DD operator+(DD a, DD b) {
  DD s = two_sum(a.hi, b.hi);
  return quick_two_sum(s.hi, s.lo + a.lo + b.lo);
}
inline DD operator+(DD a, double b) {
  DD s = two_sum(a.hi, b);
  return quick_two_sum(s.hi, s.lo + a.lo);
}
inline DD operator-(DD a) { return {-a.hi, -a.lo}; }
inline DD operator*(DD a, DD b) {
  const double p = a.hi * b.hi;
  const double e = std::fma(a.hi, b.hi, -p) + (a.hi * b.lo + a.lo * b.hi);
  return quick_two_sum(p, e);
}
inline DD ldexp(DD a, int k) { return {std::ldexp(a.hi, k), std::ldexp(a.lo, k)}; }
// 2^k for |k| < 1023 by building the exponent field (no libm call in hot loops)
inline double pow2(int k) {
  const std::uint64_t bits = std::uint64_t(k + 1023) << 52;
  double r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
inline bool operator<(DD a, DD b) { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo); }

// exact sign of p·q − r·s for doubles (products exact via fma)
inline int cross_compare(double p, double q, double r, double s) {
  const double a = p * q, ea = std::fma(p, q, -a);
  const double b = r * s, eb = std::fma(r, s, -b);
  if (a != b) return a < b ? -1 : 1;
  if (ea != eb) return ea < eb ? -1 : 1;
  return 0;
}

// ---- grids: the positive points of the format that λ·|x_i| can reach -------
// vals ascending, mids[k] = (vals[k] + vals[k+1]) / 2 (exact: dyadic, <= t+1 bits).
struct Grid {
  std::vector<double> vals, mids;
};

// Unbounded F_t: the points of F_t in [1, 4] (λ ∈ (1,2) times mantissas in [1,2)).
inline Grid unbounded_grid(int t) {
  Grid g;
  const std::int64_t per = std::int64_t(1) << (t - 1);
  if (t > 24) throw std::invalid_argument("rank-one quantization supports t <= 24 (2^(t-1) breakpoints per entry)");
  g.vals.reserve(std::size_t(2 * per + 1));
  for (int b = 0; b < 2; ++b) {
    const double unit = std::ldexp(1.0, b + 1 - t);  // exact products: no ldexp per point
    for (std::int64_t j = 0; j < per; ++j) g.vals.push_back(double(per + j) * unit);
  }
  g.vals.push_back(4.0);
  g.mids.reserve(g.vals.size());
  for (std::size_t k = 0; k + 1 < g.vals.size(); ++k) g.mids.push_back(0.5 * (g.vals[k] + g.vals[k + 1]));
  return g;
}

// Bounded format: 0, the subnormals, the normals up to max_value.
inline Grid bounded_grid(const Format& f) {
  const double count = double(f.emax - f.emin + 2) * std::ldexp(1.0, f.t - 1);
  if (count > double(1 << 22))
    throw std::invalid_argument(
        "bounded rank-one quantization enumerates every point of the format; "
        "(emax-emin+2)*2^(t-1) must be <= 2^22 (use the unbounded Format(t) for wider formats)");
  Grid g;
  g.vals.push_back(0.0);
  const std::int64_t per = std::int64_t(1) << (f.t - 1);
  g.vals.reserve(std::size_t(count) + 1);
  if (f.subnormals) {
    const double unit = std::ldexp(1.0, f.emin - f.t + 1);  // exact products: no ldexp per point
    for (std::int64_t k = 1; k < per; ++k) g.vals.push_back(double(k) * unit);
  }
  for (int e = f.emin; e <= f.emax; ++e) {
    const double unit = std::ldexp(1.0, e - f.t + 1);
    for (std::int64_t j = 0; j < per; ++j) {
      const double v = double(per + j) * unit;
      if (v > f.max_value) break;
      g.vals.push_back(v);
    }
  }
  for (std::size_t k = 0; k + 1 < g.vals.size(); ++k) g.mids.push_back(0.5 * (g.vals[k] + g.vals[k + 1]));
  return g;
}

struct Breakpoint {
  double lam;           // mids[k] / m[coord], correctly rounded
  std::uint32_t coord;  // index into the side's nonzero coordinates
  std::uint32_t k;      // crossing it moves the coordinate from vals[k] to vals[k+1]
};

// One vector prepared for the sweep, in normalized units v' = v·2^−E (max |v'| in [1,2)).
// Unbounded: |v'_i| = m_i·2^(e_i) with m_i ∈ [1,2), weight c_i = 4^(e_i), value vals·2^(e_i).
// Bounded:   m_i = |v'_i|, c_i = 1, and x̂ takes the absolute values vals (λ absorbs 2^E).
struct Side {
  const Format* fmt = nullptr;
  std::shared_ptr<const Grid> grid_ptr;  // shared across a batch: built once per format
  const Grid& grid() const { return *grid_ptr; }
  int E = 0;                       // normalization exponent
  std::vector<std::uint32_t> idx;  // original index of each nonzero coordinate
  std::vector<double> m, c;
  std::vector<int> ex;            // unbounded: exponent of |v_i| in original units
  std::vector<std::uint32_t> k0;  // initial grid index (state just above the window's start)
  DD norm2;                       // ‖v'‖²
  std::vector<Breakpoint> bps;    // sorted by λ (exactly)
  double lo = 0.0, hi = std::numeric_limits<double>::infinity();  // bounded: λ window swept (normalized)

  bool exact_less(const Breakpoint& a, const Breakpoint& b) const {
    // a.lam < b.lam  ⟺  mids[a.k]·m[b] < mids[b.k]·m[a]
    return cross_compare(grid().mids[a.k], m[b.coord], grid().mids[b.k], m[a.coord]) < 0;
  }
  bool exact_equal(const Breakpoint& a, const Breakpoint& b) const {
    return a.lam == b.lam && cross_compare(grid().mids[a.k], m[b.coord], grid().mids[b.k], m[a.coord]) == 0;
  }
};

// LSD radix sort on the bits of the positive double keys (their order is the order of the
// values), 11 bits a pass, skipping digits that all keys share (e.g. the exponent of
// λ ∈ (1,2)). Stable, so equal keys keep their generation order. Much faster than a
// comparison sort on millions of breakpoints.
inline void radix_sort_by_lam(std::vector<Breakpoint>& v) {
  constexpr int kBits = 11;
  constexpr std::size_t kBuckets = std::size_t(1) << kBits;
  if (v.size() < 256) {
    std::stable_sort(v.begin(), v.end(), [](const Breakpoint& a, const Breakpoint& b) { return a.lam < b.lam; });
    return;
  }
  auto key = [](const Breakpoint& b) {
    std::uint64_t u;
    std::memcpy(&u, &b.lam, sizeof u);
    return u;
  };
  std::vector<Breakpoint> tmp(v.size());
  std::vector<std::size_t> count(kBuckets);
  for (int shift = 0; shift < 64; shift += kBits) {
    poll_interrupt();  // a pass over 2^26 keys takes ~0.2 s
    std::fill(count.begin(), count.end(), 0);
    for (const Breakpoint& b : v) ++count[(key(b) >> shift) & (kBuckets - 1)];
    if (std::find(count.begin(), count.end(), v.size()) != count.end()) continue;  // constant digit
    std::size_t sum = 0;
    for (std::size_t& c : count) {
      const std::size_t n = c;
      c = sum;
      sum += n;
    }
    for (const Breakpoint& b : v) tmp[count[(key(b) >> shift) & (kBuckets - 1)]++] = b;
    v.swap(tmp);
  }
}

inline int max_exponent(const double* v, std::size_t n) {
  double amax = 0.0;
  for (std::size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(v[i]));
  if (amax == 0.0) return 0;
  int e;
  std::frexp(amax, &e);  // amax = f·2^e, f ∈ [0.5, 1)
  return e - 1;
}
inline int max_exponent(const std::vector<double>& v) { return max_exponent(v.data(), v.size()); }

inline bool is_zero(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double a) { return a == 0.0; });
}

// c·a² as an exact double-double (c a power of two)
inline DD exact_square(double a, double c) {
  const double p = a * a;
  return {c * p, c * std::fma(a, a, -p)};
}

inline std::shared_ptr<const Grid> make_grid(const Format& f) {
  return std::make_shared<const Grid>(f.bounded ? bounded_grid(f) : unbounded_grid(f.t));
}

// One nonzero entry a = |v_i| in a side's normalized units (max exponent E; window lo, hi
// already normalized): its magnitude m, exponent, weight c (see Side) and the range [kb, ke)
// of grid midpoints its breakpoints λ = mids[k]/m run over. Shared by prepare_side and the
// short-vector solver (rank_one_small.hpp).
struct EntryRange {
  double m, c;
  int ex;
  std::size_t kb, ke;
};
inline EntryRange entry_range(double a, int E, const Format& f, const std::vector<double>& mids, double lo, double hi) {
  EntryRange r;
  if (!f.bounded) {
    int e;
    r.m = 2.0 * std::frexp(a, &e);  // a = m·2^(e−1)
    r.ex = e - 1;
    r.c = std::ldexp(1.0, 2 * (r.ex - E));  // may underflow to 0: negligible
    // state on (1, first breakpoint): round(λ·m) for λ slightly above 1
    r.kb = std::size_t(std::upper_bound(mids.begin(), mids.end(), r.m) - mids.begin());
    r.ke = std::size_t(std::lower_bound(mids.begin(), mids.end(), 2.0 * r.m) - mids.begin());
    return r;
  }
  const double mi = std::ldexp(a, -E);
  r.m = mi;
  r.ex = 0;
  r.c = 1.0;
  // state just above lo: the number of midpoints <= lo·mi; the window ends before the
  // first midpoint >= hi·mi, and before λ = mid/mi leaves the double range (exact tests)
  auto first_after = [&](double bound, bool inclusive) {
    return std::size_t(std::partition_point(mids.begin(), mids.end(),
                                            [&](double md) {
                                              const int c = cross_compare(md, 1.0, bound, mi);
                                              return inclusive ? c <= 0 : c < 0;
                                            }) -
                       mids.begin());
  };
  r.kb = lo > 0.0 ? first_after(lo, true) : 0;
  const std::size_t ke = hi < std::numeric_limits<double>::infinity() ? first_after(hi, false) : mids.size();
  r.ke = std::max(
      r.kb, std::min(ke, std::size_t(std::partition_point(
                                         mids.begin(), mids.end(),
                                         [&](double md) { return md / mi < std::numeric_limits<double>::infinity(); }) -
                                     mids.begin())));
  return r;
}

// Bounded formats: only the breakpoints with lo < λ < hi (λ in original units) are generated
// and the sweep starts from the state just above lo (lo = 0: everything rounds to 0).
// Unbounded F_t ignores the window: λ ∈ (1, 2) suffices by the power-of-two invariance.
inline Side prepare_side(const std::vector<double>& v, const Format& f, std::shared_ptr<const Grid> grid = nullptr,
                         double lo = 0.0, double hi = std::numeric_limits<double>::infinity(),
                         std::size_t max_breakpoints = std::numeric_limits<std::size_t>::max()) {
  Side s;
  s.fmt = &f;
  s.grid_ptr = grid ? std::move(grid) : make_grid(f);
  s.E = max_exponent(v);
  s.lo = std::ldexp(lo, s.E);  // normalized units: λ applies to v' = v·2^−E
  s.hi = std::ldexp(hi, s.E);
  const std::vector<double>& mids = s.grid().mids;
  std::vector<std::size_t> run_starts;  // each entry's breakpoints come out sorted: a run
  // First each entry's range [k_begin, k_end) of grid midpoints (binary searches), then the
  // breakpoints into storage reserved once: no regrowth copies, no per-point window tests.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  std::size_t total = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == 0.0) continue;
    const double a = std::fabs(v[i]);
    s.idx.push_back(std::uint32_t(i));
    const EntryRange e = entry_range(a, s.E, f, mids, s.lo, s.hi);
    s.m.push_back(e.m);
    s.ex.push_back(e.ex);
    s.c.push_back(e.c);
    s.norm2 = s.norm2 + exact_square(e.m, e.c);
    const std::size_t kb = e.kb, ke = e.ke;
    s.k0.push_back(std::uint32_t(kb));
    ranges.emplace_back(kb, ke);
    total += ke - kb;
  }
  // callers reserved memory for count_breakpoints(): the same count
  if (total > max_breakpoints) throw std::logic_error("prepare_side: more breakpoints than reserved");
  s.bps.resize(total);  // filled field by field: a struct built on the stack and copied
  std::size_t pos = 0;  // as 16 bytes stalls store forwarding in this hot loop
  for (std::uint32_t coord = 0; coord < ranges.size(); ++coord) {
    if ((coord & 255) == 0) poll_interrupt();
    run_starts.push_back(pos);
    const double mi = s.m[coord];
    Breakpoint* out = s.bps.data() + pos;
    const std::size_t kb = ranges[coord].first, ke = ranges[coord].second;
    for (std::size_t k = kb; k < ke; ++k, ++out) {
      out->lam = mids[k] / mi;
      out->coord = coord;
      out->k = std::uint32_t(k);
    }
    pos += ke - kb;
  }
  // Sort by the rounded key, then settle runs of equal keys exactly (division is
  // monotone, so only equal keys can be out of order).
  if (run_starts.size() <= 16) {
    // few entries: merging their sorted runs beats sorting (batches of tiny problems)
    run_starts.push_back(s.bps.size());
    auto by_lam = [](const Breakpoint& a, const Breakpoint& b) { return a.lam < b.lam; };
    for (std::size_t width = 1; width + 1 < run_starts.size(); width *= 2)
      for (std::size_t r = 0; r + width + 1 < run_starts.size(); r += 2 * width) {
        const std::size_t hi = std::min(r + 2 * width, run_starts.size() - 1);
        std::inplace_merge(s.bps.begin() + run_starts[r], s.bps.begin() + run_starts[r + width],
                           s.bps.begin() + run_starts[hi], by_lam);
      }
  } else {
    radix_sort_by_lam(s.bps);
  }
  for (std::size_t i = 0, polled = 0; i < s.bps.size();) {
    if (i - polled > (std::size_t(1) << 20)) poll_interrupt(), polled = i;
    std::size_t j = i + 1;
    while (j < s.bps.size() && s.bps[j].lam == s.bps[i].lam) ++j;
    if (j - i > 1)
      std::stable_sort(s.bps.begin() + i, s.bps.begin() + j,
                       [&s](const Breakpoint& a, const Breakpoint& b) { return s.exact_less(a, b); });
    i = j;
  }
  return s;
}

// ---- memory: every buffer of a sweep counted before any is allocated ----
// Per breakpoint of the swept side: the sorted list (16 B) and the radix sort's scratch copy
// (16 B; inplace_merge's buffer is no larger). Per breakpoint of a quantized ŷ side: its
// list (16 B) and prefix table (λ 8 B, two double-doubles 32 B); its sort scratch is freed
// before the table is built. Per nonzero entry: index, m, c, exponent, start, range and run
// start (52 B), twice that for vector growth.
constexpr std::size_t kSweptBytes = 2 * sizeof(Breakpoint);
constexpr std::size_t kTableBytes = sizeof(Breakpoint) + sizeof(double) + 2 * sizeof(DD);
constexpr std::size_t kEntryBytes = 128;

inline std::size_t grid_bytes(const Grid& g) { return (g.vals.capacity() + g.mids.capacity()) * sizeof(double); }

// The number of breakpoints prepare_side(v, f, grid, lo, hi) generates, without generating
// them (two binary searches per entry); `entries` receives the number of nonzero entries.
inline std::size_t count_breakpoints(const std::vector<double>& v, const Format& f, const Grid& grid, double lo,
                                     double hi, std::size_t& entries) {
  const int E = max_exponent(v);
  const double nlo = std::ldexp(lo, E), nhi = std::ldexp(hi, E);
  std::size_t total = 0;
  entries = 0;
  for (double a : v) {
    if (a == 0.0) continue;
    const EntryRange e = entry_range(std::fabs(a), E, f, grid.mids, nlo, nhi);
    total += e.ke - e.kb;
    ++entries;
  }
  return total;
}

[[noreturn]] inline void over_memory_budget(std::size_t breakpoints, double bytes, const Format& fx, bool windowed,
                                            std::size_t pinned) {
  std::string msg = "rank-one quantization would enumerate " + std::to_string(breakpoints) +
                    " breakpoints and hold about " + format_bytes(bytes) + ", over the memory budget of " +
                    format_bytes(double(memory_budget())) + " (environment variable SCALEQ_MEMORY_BUDGET_MB)";
  if (pinned) msg += ", of which " + format_bytes(double(pinned)) + " are held by shared tables";
  msg += ": ";
  if (fx.bounded && !windowed)
    msg +=
        "pass lam_window=(1, 2) (one binade of lambda: the optimum up to a power-of-two scale, with x "
        "pre-scaled to its top binade), ";
  msg += "use a format with a smaller t (2^(t-1) breakpoints per entry and binade), or split the vectors";
  throw std::invalid_argument(msg);
}

// Value of coordinate `coord` (original units, divided by 2^shift) at grid index k.
inline double side_value(const Side& s, std::uint32_t coord, std::uint32_t k, double sign, int shift = 0) {
  const double v = s.grid().vals[k];
  return std::copysign(std::ldexp(v, (s.fmt->bounded ? 0 : s.ex[coord]) - shift), sign);
}

// Contributions of grid index k of coordinate `coord` to vᵀv̂ and ‖v̂‖² (normalized units),
// exactly: c is a power of two, c·m·v is an exact two-product (fma), v² has <= 2t bits.
inline DD contrib1(const Side& s, std::uint32_t coord, std::uint32_t k) {
  const double cm = s.c[coord] * s.m[coord], v = s.grid().vals[k];
  const double p = cm * v;
  return {p, std::fma(cm, v, -p)};
}
inline DD contrib2(const Side& s, std::uint32_t coord, std::uint32_t k) {
  const double v = s.grid().vals[k];
  return {s.c[coord] * v * v, 0.0};
}
// Changes when coordinate `coord` moves from grid index k to k+1. Consecutive grid points
// differ by a power of two, so both are exact doubles: A and B stay exact in double-double.
inline double delta1(const Side& s, std::uint32_t coord, std::uint32_t k) {
  return s.c[coord] * s.m[coord] * (s.grid().vals[k + 1] - s.grid().vals[k]);
}
inline double delta2(const Side& s, std::uint32_t coord, std::uint32_t k) {
  const double a = s.grid().vals[k], b = s.grid().vals[k + 1];
  return s.c[coord] * ((b - a) * (b + a));
}

// Prefix sums of yᵀŷ and ‖ŷ‖² over y's sorted breakpoints: entry p = state after p crossings.
struct PrefixTable {
  std::vector<double> lam;
  std::vector<DD> s1, s2;
  mutable std::size_t hint = 0;

  explicit PrefixTable(const Side& s) {
    lam.reserve(s.bps.size());
    s1.reserve(s.bps.size() + 1);
    s2.reserve(s.bps.size() + 1);
    DD a, b;
    for (std::uint32_t j = 0; j < s.m.size(); ++j) {
      a = a + contrib1(s, j, s.k0[j]);
      b = b + contrib2(s, j, s.k0[j]);
    }
    s1.push_back(a);
    s2.push_back(b);
    for (const Breakpoint& bp : s.bps) {
      if ((lam.size() & ((std::size_t(1) << 20) - 1)) == 0) poll_interrupt();
      lam.push_back(bp.lam);
      a = a + delta1(s, bp.coord, bp.k);
      b = b + delta2(s, bp.coord, bp.k);
      s1.push_back(a);
      s2.push_back(b);
    }
  }

  // Number of breakpoints below nu, searched by galloping from the previous answer:
  // successive queries of a sweep move little, so this is O(1) amortized.
  std::size_t count_below(double nu) const {
    const std::size_t n = lam.size();
    std::size_t lo, hi;
    std::size_t p = std::min(hint, n);
    if (p < n && lam[p] < nu) {  // answer > p
      std::size_t step = 1;
      lo = p + 1;
      hi = p + 1;
      while (hi < n && lam[hi] < nu) {
        lo = hi + 1;
        hi = std::min(n, hi + step);
        step *= 2;
      }
    } else {  // answer <= p
      std::size_t step = 1;
      hi = p;
      lo = p;
      while (lo > 0 && !(lam[lo - 1] < nu)) {
        hi = lo - 1;
        lo = lo > step ? lo - step : 0;
        step *= 2;
      }
    }
    const std::size_t r = std::lower_bound(lam.begin() + lo, lam.begin() + hi, nu) - lam.begin();
    hint = r;
    return r;
  }
};

// ‖xyᵀ − x̂ŷᵀ‖_F / ‖xyᵀ‖_F without cancellation and without over/underflow at any scale:
// each of x, y, x̂, ŷ is scaled by the power of two of its own largest entry (exact), the
// scale ratio 2^s of x̂ŷᵀ to xyᵀ is split over x̂ and ŷ, and with c = ‖x̂‖²/(xᵀx̂),
// x̂ŷᵀ = (x̂/c)(cŷ)ᵀ and dx = x̂/c − x, dy = cŷ − y are small, so
// ‖·‖² = ‖x̂/c‖²‖dy‖² + ‖dx‖²‖y‖² + 2(x̂ᵀdx/c)(yᵀdy) is a sum of small, accurate terms —
// evaluated with dx, dy divided by the power of two of their largest entry, so that an
// error of 1e-200 is not squared into 0. An error beyond DBL_MAX reads +inf.
inline double relative_error(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& xh,
                             const std::vector<double>& yh) {
  const int ex = max_exponent(x), ey = max_exponent(y);
  const int exh = max_exponent(xh), eyh = max_exponent(yh);
  auto dot = [](const std::vector<double>& a, int ea, const std::vector<double>& b, int eb) {
    double r = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) r += std::ldexp(a[i], -ea) * std::ldexp(b[i], -eb);
    return r;
  };
  const bool xh0 = is_zero(xh), yh0 = is_zero(yh);
  if (is_zero(x) || is_zero(y)) return (xh0 || yh0) ? 0.0 : std::numeric_limits<double>::infinity();
  if (xh0 || yh0) return 1.0;                                   // x̂ŷᵀ = 0
  const double xx = dot(x, ex, x, ex), yy = dot(y, ey, y, ey);  // in [1, 4n)
  const long s = long(exh) + eyh - ex - ey;                     // x̂ŷᵀ ≈ 2^s·xyᵀ in scaled units
  if (s < -600) return 1.0;                                     // x̂ŷᵀ below 2^-590·‖xyᵀ‖: error 1 − O(2^-590)
  const double nxh = std::sqrt(dot(xh, exh, xh, exh)), nyh = std::sqrt(dot(yh, eyh, yh, eyh));
  if (s > 600)  // x̂ŷᵀ dominates: error = ‖x̂ŷᵀ‖/‖xyᵀ‖·(1 + O(2^-590))
    return std::ldexp(nxh * nyh / std::sqrt(xx * yy), int(std::min(s, 4000L)));
  // x̂ in units of 2^(exh − sa), ŷ of 2^(eyh − sb), sa + sb = s: their product is in the
  // units 2^(ex+ey) of xyᵀ, and each is within 2^±301 of 1
  const int sa = int(s / 2), sb = int(s - s / 2);
  const int fxh = exh - sa, fyh = eyh - sb;
  const double xxh = dot(x, ex, xh, fxh), xhxh = dot(xh, fxh, xh, fxh);
  // the identity below holds for any c ≠ 0; c = 1 when x̂ ⟂ x
  const double cc = (xxh != 0.0) ? xhxh / xxh : 1.0;
  // pass 1: the largest |dx_i|, |dy_j|; pass 2: the sums with d scaled by its power of two
  auto dxi = [&](std::size_t i) { return std::ldexp(xh[i], -fxh) / cc - std::ldexp(x[i], -ex); };
  auto dyj = [&](std::size_t j) { return std::ldexp(yh[j], -fyh) * cc - std::ldexp(y[j], -ey); };
  double dmax = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) dmax = std::max(dmax, std::fabs(dxi(i)));
  for (std::size_t j = 0; j < y.size(); ++j) dmax = std::max(dmax, std::fabs(dyj(j)));
  if (dmax == 0.0) return 0.0;
  int ed;
  std::frexp(dmax, &ed);
  double dx2 = 0.0, xhdx = 0.0, dy2 = 0.0, ydy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = std::ldexp(dxi(i), -ed);
    dx2 += d * d;
    xhdx += (std::ldexp(xh[i], -fxh) / cc) * d;
  }
  for (std::size_t j = 0; j < y.size(); ++j) {
    const double d = std::ldexp(dyj(j), -ed);
    dy2 += d * d;
    ydy += std::ldexp(y[j], -ey) * d;
  }
  const double xh2 = xhxh / (cc * cc);
  const double num = xh2 * dy2 + dx2 * yy + 2.0 * xhdx * ydy;  // in units of 4^ed
  if (!(num >= 0.0)) return num < 0.0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  return std::ldexp(std::sqrt(num / (xx * yy)), ed);
}

// Its square (the solvers compare squared costs); +inf beyond sqrt(DBL_MAX).
inline double relative_error2(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& xh,
                              const std::vector<double>& yh) {
  const double e = relative_error(x, y, xh, yh);
  return e * e;
}

// round(scale·v) elementwise. v and scale are finite, so a product that overflows the double
// range lies beyond every element of the format: it saturates to the largest one.
inline std::vector<double> round_vector(const std::vector<double>& v, double scale, const Format& f) {
  std::vector<double> out(v.size());
  const double top = f.bounded ? f.max_value : Format::unbounded_max(f.t);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double p = scale * v[i];
    out[i] = std::isinf(p) ? std::copysign(top, p) : f.round_saturating(p);
  }
  return out;
}

inline void check_vector(const std::vector<double>& v, const char* name) {
  if (v.empty()) throw std::invalid_argument(std::string(name) + " must be non-empty");
  for (double a : v)
    if (!std::isfinite(a)) throw std::invalid_argument(std::string(name) + " contains NaN or Inf");
}

// λ (normalized units) inside the interval after `pos` sorted breakpoints have been crossed.
inline double interval_mid(const Side& s, std::size_t pos) {
  const double lo = pos == 0 ? (s.fmt->bounded ? s.lo : 1.0) : s.bps[pos - 1].lam;
  if (pos < s.bps.size()) return 0.5 * (lo + s.bps[pos].lam);
  if (!s.fmt->bounded) return 0.5 * (lo + 2.0);  // past the last breakpoint
  return s.hi < std::numeric_limits<double>::infinity() ? 0.5 * (lo + s.hi) : 2.0 * lo;
}

// Unbounded F_t: λ ∈ (1,2) would overflow round(λx) for entries near DBL_MAX; the
// invariance lets us report the same state at λ/2 instead (x̂ halved, μ doubled).
inline int overflow_shift(const Side& s) { return (!s.fmt->bounded && s.E >= 1022) ? 1 : 0; }

// The x̂ of the state after the first `pos` sorted breakpoints (original units, divided
// by 2^overflow_shift).
inline std::vector<double> replay_state(const Side& s, const std::vector<double>& x, std::size_t pos) {
  std::vector<std::uint32_t> k = s.k0;
  for (std::size_t p = 0; p < pos; ++p) k[s.bps[p].coord] = s.bps[p].k + 1;
  std::vector<double> xh(x.size(), 0.0);
  const int shift = overflow_shift(s);
  for (std::uint32_t j = 0; j < s.m.size(); ++j) xh[s.idx[j]] = side_value(s, j, k[j], x[s.idx[j]], shift);
  return xh;
}

// μ = xᵀx̂/‖x̂‖² (0 when x̂ = 0), computed with x in units of 2^E and x̂ in units of its own
// largest power of two (a saturated or rescaled x̂ may be far from x's scale).
inline double optimal_mu(const double* x, const double* xh, std::size_t n, int E) {
  const int Eh = max_exponent(xh, n);
  double xxh = 0.0, xhxh = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double xs = std::ldexp(x[i], -E), xhs = std::ldexp(xh[i], -Eh);
    xxh += xs * xhs;
    xhxh += xhs * xhs;
  }
  return xhxh > 0.0 ? std::ldexp(xxh / xhxh, E - Eh) : 0.0;
}
inline double optimal_mu(const std::vector<double>& x, const std::vector<double>& xh, int E) {
  return optimal_mu(x.data(), xh.data(), x.size(), E);
}

inline std::vector<double> y_side(const std::vector<double>& y, double mu, const Format& fy, bool quantize_y) {
  if (quantize_y) return round_vector(y, mu, fy);
  std::vector<double> out(y.size());
  for (std::size_t j = 0; j < y.size(); ++j) out[j] = mu * y[j];
  return out;
}

// Final assembly shared by both solvers: given the winning x̂ and λ, compute μ, ŷ, errors.
inline RankOneResult finish(const std::vector<double>& x, const std::vector<double>& y, std::vector<double> xh,
                            double lam, int E, const Format& fx, const Format& fy, bool quantize_y) {
  RankOneResult r;
  r.x = std::move(xh);
  // x̂ = 0 beyond the double range means every breakpoint is, so λ = 1 rounds x to 0 too
  const bool zero = std::all_of(r.x.begin(), r.x.end(), [](double v) { return v == 0.0; });
  r.lam = (zero && !std::isfinite(lam)) ? 1.0 : lam;
  r.mu = optimal_mu(x, r.x, E);
  r.y = y_side(y, r.mu, fy, quantize_y);
  r.error = relative_error(x, y, r.x, r.y);
  const std::vector<double> yr = quantize_y ? round_vector(y, 1.0, fy) : y;
  r.rtn_error = relative_error(x, y, round_vector(x, 1.0, fx), yr);
  return r;
}

inline RankOneResult trivial_result(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                    const Format& fy, bool quantize_y) {
  // xyᵀ = 0: round(x)·round(y)ᵀ is exact whenever one side vanishes.
  RankOneResult r;
  r.x = round_vector(x, 1.0, fx);
  r.y = quantize_y ? round_vector(y, 1.0, fy) : y;
  r.error = relative_error(x, y, r.x, r.y);
  r.rtn_error = r.error;
  return r;
}

// Normalized cost of the state (A = x'ᵀx̂', B = ‖x̂'‖², both x and x̂ scaled by 2^−Ex)
// with the optimal ŷ: C' = ‖x'‖²‖y'‖² − 2A·y'ᵀŷ' + B·‖ŷ'‖², ŷ = round(μy), μ = A/B.
// With ŷ free, C'/‖y'‖² = ‖x'‖² − A²/B. s12(ν, S1, S2) reads y'ᵀŷ' and ‖ŷ'‖² at ν, μ reduced
// the way the y side was prepared (bounded: absolute ŷ values on y' = y·2^−Ey; F_t: ν ∈ [1, 2)
// by the invariance). Shared by the sweep (prefix table) and rank_one_small (binary search).
template <class S12>
DD state_cost(DD A, DD B, DD x2, DD x2y2, bool y_free, bool y_bounded, int Ey, S12&& s12) {
  if (B.hi <= 0.0) return y_free ? x2 : x2y2;  // x̂ = 0: the product vanishes
  // q = A/B in double-double (one correction step)
  const double q1 = A.hi / B.hi;
  const DD rem = A + -(DD{q1, 0.0} * B);
  const double q2 = rem.hi / B.hi;
  if (y_free) {
    const DD q = quick_two_sum(q1, q2);
    return x2 + -(q * A);
  }
  const double mu = q1 + q2;
  int shift;  // the table holds S(ν) for ν = μ·2^−shift; S1 scales by 2^shift, S2 by 4^shift
  double nu;
  if (!y_bounded) {
    int e;
    nu = 2.0 * std::frexp(mu, &e);  // invariance: reduce μ to ν ∈ [1, 2)
    shift = e - 1;
  } else {
    // table built on y' = y·2^−Ey with absolute ŷ values: ŷ = round(μy) = round(μ2^Ey·y')
    nu = std::ldexp(mu, Ey);
    shift = -Ey;
  }
  DD s1, s2;
  s12(nu, s1, s2);
  if (shift != 0) {
    if (shift > -500 && shift < 500) {  // exact power-of-two products, no libm call
      const double b = pow2(shift), b2 = b * b;
      s1 = {s1.hi * b, s1.lo * b};
      s2 = {s2.hi * b2, s2.lo * b2};
    } else {
      s1 = ldexp(s1, shift);
      s2 = ldexp(s2, 2 * shift);
    }
  }
  const DD as1 = A * s1;
  return x2y2 + DD{-2.0 * as1.hi, -2.0 * as1.lo} + B * s2;
}

struct CostModel {
  const Side* sy;            // null when ŷ is free
  const PrefixTable* table;  // y's prefix sums (null when ŷ is free)
  DD x2, x2y2;

  DD operator()(DD A, DD B) const {
    return state_cost(A, B, x2, x2y2, sy == nullptr, sy && sy->fmt->bounded, sy ? sy->E : 0,
                      [this](double nu, DD& s1, DD& s2) {
                        const std::size_t p = table->count_below(nu);
                        s1 = table->s1[p];
                        s2 = table->s2[p];
                      });
  }
};

inline void check_window(const LamWindow& w) {
  if (!(w.lo >= 0.0 && w.lo < w.hi)) throw std::invalid_argument("lambda window must satisfy 0 <= lo < hi");
}

// Range of μ = A/B over the sweep's states with x̂ ≠ 0 ({0, 0} when there is none), A, B
// rescaled as the cost model sees them. Every state the sweep evaluates is among these.
inline std::pair<double, double> mu_range(const Side& sx, int ashift) {
  DD A, B;
  for (std::uint32_t j = 0; j < sx.m.size(); ++j) {
    A = A + contrib1(sx, j, sx.k0[j]);
    B = B + contrib2(sx, j, sx.k0[j]);
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
  auto visit = [&]() {
    if (B.hi <= 0.0) return;
    const double mu = std::ldexp(A.hi / B.hi, -ashift);  // (A·2^s)/(B·4^s)
    lo = std::min(lo, mu);
    hi = std::max(hi, mu);
  };
  visit();
  std::size_t n = 0;
  for (const Breakpoint& bp : sx.bps) {
    if ((++n & ((std::size_t(1) << 20) - 1)) == 0) poll_interrupt();
    A = A + delta1(sx, bp.coord, bp.k);
    B = B + delta2(sx, bp.coord, bp.k);
    visit();
  }
  return hi > 0.0 ? std::make_pair(lo, hi) : std::make_pair(0.0, 0.0);
}

// ---- power-of-two prescaling ------------------------------------------------
// On an unbounded F_t side (x̂ = round(λx) or ŷ = round(μy), or ŷ = μy free) scaling the
// input by 2^a scales the optimum by 2^a: the problem is invariant. A bounded side has no
// such invariance, but {round(λx) : λ > 0} does not depend on the scale of x, so scaling x
// by 2^a and y by 2^−a (same product) is exact too (not with a λ window, which is in x's
// units). The solvers, λ and μ, and the double arithmetic of the results (x̂ subnormal, μy
// overflowing) are only exact in a safe range, so inputs reaching beyond 2^±900 are solved
// on such a rescaled copy and the result mapped back: x̂ = x̂_s·2^p, ŷ = ŷ_s·2^q with
// p + q = −(ax + ay), p = 0 on a bounded x side, q = 0 on a bounded y side. When both sides
// are F_t the split is free and keeps both vectors normal when the double range allows.
struct ExpRange {
  int lo = 0, hi = 0;
  bool any = false;  // some nonzero entry
};
inline ExpRange exp_range(const std::vector<double>& v, int shift = 0) {
  ExpRange r;
  for (double a : v) {
    if (a == 0.0 || !std::isfinite(a)) continue;
    int e;
    std::frexp(a, &e);
    e -= 1 + shift;  // |a|·2^−shift ∈ [2^e, 2^(e+1))
    r.lo = r.any ? std::min(r.lo, e) : e;
    r.hi = r.any ? std::max(r.hi, e) : e;
    r.any = true;
  }
  return r;
}
inline bool extreme(const ExpRange& r) { return r.any && (r.hi >= 900 || r.lo < -900); }
// The exponent a that centers v's binades at 0, never pushing the largest entry beyond
// 2^1000 (a vector spanning more than the double range loses its smallest entries).
inline int centering_shift(const ExpRange& r) { return extreme(r) ? std::min(-(r.lo + r.hi) / 2, 1000 - r.hi) : 0; }

template <class Solve>
bool solve_rescaled(const std::vector<double>& x, const std::vector<double>& y, const Format& fx, const Format& fy,
                    bool quantize_y, const LamWindow& window, RankOneResult& out, Solve&& solve) {
  const bool x_inv = !fx.bounded, y_inv = !quantize_y || !fy.bounded;
  const bool windowed = fx.bounded && (window.lo > 0.0 || window.hi < std::numeric_limits<double>::infinity());
  const ExpRange xr = exp_range(x), yr = exp_range(y);
  // a zero side makes xyᵀ = 0: the solvers' trivial case, nothing to rescale (λ would be 2^±k)
  if (!xr.any || !yr.any || (!extreme(xr) && !extreme(yr))) return false;
  int ax = 0, ay = 0;
  if (x_inv || y_inv) {  // each side may be centered on its own (the F_t side absorbs the rest)
    ax = (x_inv || !windowed) ? centering_shift(xr) : 0;
    ay = centering_shift(yr);
  } else if (!windowed && xr.any && yr.any) {  // both bounded: x·2^a, y·2^−a, both kept in range
    const int lo = std::max(-1000 - xr.lo, yr.hi - 1000), hi = std::min(1000 - xr.hi, yr.lo + 1000);
    const int a = ((yr.lo + yr.hi) - (xr.lo + xr.hi)) / 4;  // meet in the middle
    if (lo <= hi) ax = std::min(std::max(a, lo), hi), ay = -ax;
  }
  if (ax == 0 && ay == 0) return false;
  std::vector<double> xs(x), ys(y);
  for (double& a : xs) a = std::ldexp(a, ax);
  for (double& a : ys) a = std::ldexp(a, ay);
  out = solve(xs, ys);
  int p = 0, q = 0;
  if (x_inv && y_inv) {
    // x̂_s·2^−ax = round(λ_s·x), ŷ_s·2^−ay = round(μ_s·y); then the free split x̂·2^k, ŷ·2^−k
    int k = 0;
    const ExpRange A = exp_range(out.x, ax), B = exp_range(out.y, ay);
    if (A.any && B.any) {
      const int lo = std::max(-1022 - A.lo, B.hi - 1023), hi = std::min(1023 - A.hi, B.lo + 1022);
      if (lo <= hi) {
        k = std::min(std::max(0, lo), hi);
      } else {  // both cannot be normal: keep the largest entries finite, balance the underflow
        const int lo2 = B.hi - 1023, hi2 = 1023 - A.hi;
        k = lo2 <= hi2 ? std::min(std::max((B.lo - A.lo) / 2, lo2), hi2) : (B.hi - A.hi) / 2;
      }
    }
    p = k - ax;
    q = -k - ay;
  } else if (x_inv) {
    p = -(ax + ay);
  } else if (y_inv) {
    q = -(ax + ay);
  }
  out.lam = std::ldexp(out.lam, ax + p);  // may leave the double range (a bounded x̂ of tiny x)
  out.mu = std::ldexp(out.mu, ay + q);
  // the F_t side: x̂ = round(λx) in original units (λ finite), else x̂_s·2^p
  auto back = [](std::vector<double>& v, const std::vector<double>& orig, double scale, int shift, const Format& f,
                 bool quantized) {
    if (shift == 0) return;
    if (!quantized) {
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * orig[i];
    } else if (std::isfinite(scale) && scale > 0.0) {
      v = round_vector(orig, scale, f);
    } else {
      for (double& a : v) a = std::ldexp(a, shift);
    }
  };
  back(out.x, x, out.lam, p, fx, true);
  back(out.y, y, out.mu, q, fy, quantize_y);
  out.error = relative_error(x, y, out.x, out.y);
  out.rtn_error = relative_error(x, y, round_vector(x, 1.0, fx), quantize_y ? round_vector(y, 1.0, fy) : y);
  return true;
}

// The fast solvers (sweep, rank_one_small) keep a bounded side in normalized units: entries
// m ∈ [2^−span, 2), breakpoints λ' = mid/m, exact double-double sums of m·v and v² over grid
// values v. All of that is exact only while it stays within 2^±1000, i.e. while the format's
// values stay within 2^±480 and the entries span less than 2^1000 minus the format's reach.
// Outside (a wide bounded format, or entries 2^1000 apart), breakpoints overflow and sums
// round: those problems go to the reference, which evaluates every state's error from
// scratch (relative_error holds at any scale). A prescaling cannot help: a bounded format
// is not scale invariant, and the span is the vector's own.
inline bool fast_solver_in_range(const std::vector<double>& v, const Format& f) {
  if (!f.bounded) return true;
  const ExpRange r = exp_range(v);
  if (!r.any) return true;
  const int top = std::ilogb(f.max_value) + 1;
  const int bottom = f.subnormals ? f.emin - f.t + 1 : f.emin;
  const int span = r.hi - r.lo + 1;
  return top <= 480 && bottom >= -480 && top + span <= 1000 && span - bottom <= 1000;
}
inline bool fast_solver_in_range(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                 const Format& fy, bool quantize_y) {
  return fast_solver_in_range(x, fx) && (!quantize_y || fast_solver_in_range(y, fy));
}

// The public solvers' common front: checks x and y, then runs solve on them, on a prescaled
// copy (solve_rescaled) when they reach beyond 2^±900.
template <class Solve>
RankOneResult solve_checked(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                            const Format& fy, bool quantize_y, const LamWindow& window, Solve&& solve) {
  check_vector(x, "x");
  check_vector(y, "y");
  RankOneResult r;
  if (solve_rescaled(x, y, fx, fy, quantize_y, window, r, solve)) return r;
  return solve(x, y);
}

}  // namespace detail

// The fast solver. fx, fy: formats of x̂ and ŷ; quantize_y = false leaves ŷ = μy free.
// Cost O((m+n)·G·log(m+n)) with G = 2^(t−1) breakpoints per entry (unbounded F_t) or the
// number of positive values of a bounded format.
// rank_one_sweep without the power-of-two prescaling of F_t sides (see rank_one_sweep).
inline RankOneResult rank_one_sweep_unscaled(const std::vector<double>& x, const std::vector<double>& y,
                                             const Format& fx, const Format& fy, bool quantize_y = true,
                                             std::shared_ptr<const detail::Grid> gx = nullptr,
                                             std::shared_ptr<const detail::Grid> gy = nullptr, LamWindow window = {}) {
  using namespace detail;
  check_vector(x, "x");
  check_vector(y, "y");
  check_window(window);
  const bool windowed = fx.bounded && (window.lo > 0.0 || window.hi < std::numeric_limits<double>::infinity());
  if (is_zero(x) || is_zero(y)) return trivial_result(x, y, fx, fy, quantize_y);
  // Loop over the shorter vector's breakpoints (the problem is symmetric when ŷ is quantized;
  // a λ window is x's, so it pins the sides).
  if (quantize_y && y.size() < x.size() && !windowed) {
    RankOneResult r = rank_one_sweep_unscaled(y, x, fy, fx, true, gy, gx);
    std::swap(r.x, r.y);
    std::swap(r.lam, r.mu);
    return r;
  }
  // Memory: every buffer counted, and reserved in the process-wide ledger (shared with the
  // other problems of a batch and other calls), before anything large is allocated.
  std::size_t own = 0;  // bytes of the grids built here (a batch pins the grids it shares)
  if (!gx) {
    gx = make_grid(fx);
    own += grid_bytes(*gx);
  }
  if (quantize_y && !gy) {
    gy = make_grid(fy);
    own += grid_bytes(*gy);
  }
  std::size_t ex = 0, ey = 0, ny = 0;
  const std::size_t nx = count_breakpoints(x, fx, *gx, window.lo, window.hi, ex);
  if (quantize_y) ny = count_breakpoints(y, fy, *gy, 0.0, std::numeric_limits<double>::infinity(), ey);
  const std::size_t base =
      own + kEntryBytes * (ex + ey) + kSweptBytes * nx + (quantize_y && !fy.bounded ? kTableBytes * ny : 0);
  // a bounded ŷ side is windowed to the μ of x's states, known only after x's sweep: reserve
  // for its whole count (an upper bound), at most the budget, and check the windowed count
  const std::size_t reserve = quantize_y && fy.bounded ? std::min(memory_budget(), base + kTableBytes * ny) : base;
  if (base > memory_budget()) over_memory_budget(nx + (fy.bounded ? 0 : ny), double(base), fx, windowed, 0);
  MemoryReservation reservation(reserve);
  if (!reservation.ok())
    over_memory_budget(nx + (fy.bounded ? 0 : ny), double(reserve), fx, windowed, MemoryLedger::global().pinned());
  // The two sides are independent: prepare them concurrently (a no-op when nested in
  // another parallel region, e.g. a batch of problems).
  Side sx, sy;
  std::unique_ptr<PrefixTable> table;
  ErrorCapture capture;
  // (a bounded ŷ side is prepared after x's, for the μ window x's states need: nothing to overlap)
  const bool par =
      quantize_y && !fy.bounded && (x.size() + y.size()) * (std::size_t(1) << std::min(fx.t, 20)) > (1u << 16);
#pragma omp parallel sections num_threads(2) if (par && detail::team_size() >= 2)
  {
#pragma omp section
    {
      capture.run([&] { sx = prepare_side(x, fx, gx, window.lo, window.hi, nx); });
    }
#pragma omp section
    {
      if (quantize_y && !fy.bounded) {
        capture.run([&] {
          sy = prepare_side(y, fy, gy, 0.0, std::numeric_limits<double>::infinity(), ny);
          table = std::make_unique<PrefixTable>(sy);
        });
      }
    }
  }
  capture.rethrow();
  // Bounded x̂ values are absolute while x' = x·2^−Ex: rescale A, B to normalized x̂'.
  const int ashift = fx.bounded ? -sx.E : 0;
  if (quantize_y && fy.bounded) {
    // A bounded ŷ side would enumerate every binade of the format. The sweep only asks for
    // μ = xᵀx̂/‖x̂‖² of the states it visits: one cheap pass finds their range, and y's
    // breakpoints are generated for that window only (widened far beyond rounding noise).
    const auto [mu_lo, mu_hi] = mu_range(sx, ashift);
    const double ylo = mu_lo > 0.0 ? mu_lo * (1.0 - 0x1p-20) : 0.0;
    const double yhi = mu_lo > 0.0 ? mu_hi * (1.0 + 0x1p-20) : std::numeric_limits<double>::infinity();
    const std::size_t nyw = count_breakpoints(y, fy, *gy, ylo, yhi, ey);
    if (base + kTableBytes * nyw > reserve)
      over_memory_budget(nx + nyw, double(base + kTableBytes * nyw), fx, windowed, 0);
    sy = prepare_side(y, fy, gy, ylo, yhi, nyw);
    table = std::make_unique<PrefixTable>(sy);
  }
  const DD y2 = quantize_y ? sy.norm2 : DD{1.0, 0.0};
  const CostModel cost{quantize_y ? &sy : nullptr, table.get(), sx.norm2, sx.norm2 * y2};

  DD A, B;
  for (std::uint32_t j = 0; j < sx.m.size(); ++j) {
    A = A + contrib1(sx, j, sx.k0[j]);
    B = B + contrib2(sx, j, sx.k0[j]);
  }
  // 2^ashift and 4^ashift as plain factors (exact) when representable: ldexp is a libm call
  const bool direct_scale = ashift > -500 && ashift < 500;
  const double sa = direct_scale ? pow2(ashift) : 1.0, sb = sa * sa;
  auto eval = [&]() {
    if (ashift == 0) return cost(A, B);
    if (direct_scale) return cost(DD{A.hi * sa, A.lo * sa}, DD{B.hi * sb, B.lo * sb});
    return cost(ldexp(A, ashift), ldexp(B, 2 * ashift));
  };
  DD best = eval();
  // Mathematically equal costs (e.g. proportional x̂ when ŷ is free) differ here by
  // double-double noise, ~1e-32 of the terms: a later state must beat the best by more
  // than that to win, so exact ties keep the smallest λ (docs/design.md §3).
  const double tie_tol = 1e-28 * (quantize_y ? cost.x2y2.hi : cost.x2.hi);
  std::size_t best_pos = 0, groups = 0;
  const std::vector<Breakpoint>& bps = sx.bps;
  for (std::size_t i = 0, polled = 0; i < bps.size();) {
    if (i - polled > (std::size_t(1) << 18)) poll_interrupt(), polled = i;
    std::size_t j = i;
    do {  // cross a group of exactly equal breakpoints together
      const Breakpoint& bp = bps[j];
      A = A + delta1(sx, bp.coord, bp.k);
      B = B + delta2(sx, bp.coord, bp.k);
      ++j;
    } while (j < bps.size() && sx.exact_equal(bps[j], bps[i]));
    ++groups;
    // ŷ free: a plain-double estimate of ‖x‖² − A²/B (error ~1e-16·‖x‖²) rules out most
    // states before the double-double evaluation.
    if (!quantize_y && B.hi > 0.0) {  // A²/B is invariant under the 2^ashift rescaling
      if (cost.x2.hi - A.hi * (A.hi / B.hi) > best.hi + 1e-12 * cost.x2.hi) {
        i = j;
        continue;
      }
    }
    const DD c = eval();
    if ((c.hi - best.hi) + (c.lo - best.lo) < -tie_tol) {
      best = c;
      best_pos = j;
    }
    i = j;
  }
  const double lam_norm = interval_mid(sx, best_pos);
  const double lam = fx.bounded ? std::ldexp(lam_norm, -sx.E) : std::ldexp(lam_norm, -overflow_shift(sx));
  RankOneResult r = finish(x, y, replay_state(sx, x, best_pos), lam, sx.E, fx, fy, quantize_y);
  r.breakpoints = groups;
  return r;
}

// The paper's Algorithm 1, literally: for every midpoint λ of consecutive breakpoints,
// x̂ = round(λx), μ = xᵀx̂/‖x̂‖², ŷ = round(μy), keep the smallest cost. O((m+n)·#breakpoints).
inline RankOneResult rank_one_reference_unscaled(const std::vector<double>& x, const std::vector<double>& y,
                                                 const Format& fx, const Format& fy, bool quantize_y = true,
                                                 LamWindow window = {}) {
  using namespace detail;
  check_vector(x, "x");
  check_vector(y, "y");
  check_window(window);
  if (is_zero(x) || is_zero(y)) return trivial_result(x, y, fx, fy, quantize_y);
  const auto gx = make_grid(fx);
  std::size_t entries = 0;
  const std::size_t nx = count_breakpoints(x, fx, *gx, window.lo, window.hi, entries);
  // list, sort scratch and one group end (8 B) per breakpoint
  const std::size_t need = grid_bytes(*gx) + kEntryBytes * entries + (kSweptBytes + sizeof(std::size_t)) * nx;
  const bool windowed = fx.bounded && (window.lo > 0.0 || window.hi < std::numeric_limits<double>::infinity());
  if (need > memory_budget()) over_memory_budget(nx, double(need), fx, windowed, 0);
  MemoryReservation reservation(need);
  if (!reservation.ok()) over_memory_budget(nx, double(need), fx, windowed, MemoryLedger::global().pinned());
  const Side sx = prepare_side(x, fx, gx, window.lo, window.hi, nx);
  // positions in the sorted list after each distinct breakpoint: 0 (λ_0), then one per group
  std::vector<std::size_t> ends{0};
  for (std::size_t i = 0; i < sx.bps.size();) {
    std::size_t j = i + 1;
    while (j < sx.bps.size() && sx.exact_equal(sx.bps[j], sx.bps[i])) ++j;
    ends.push_back(j);
    i = j;
  }
  // normalized λ → original units
  const double scale = std::ldexp(1.0, fx.bounded ? -sx.E : -overflow_shift(sx));
  double best = std::numeric_limits<double>::infinity(), best_lam = 1.0;
  std::vector<double> best_xh;
  for (std::size_t pos : ends) {
    poll_interrupt();  // O(m + n) per midpoint
    const double lam = interval_mid(sx, pos) * scale;
    std::vector<double> xh = round_vector(x, lam, fx);
    const std::vector<double> yh = y_side(y, optimal_mu(x, xh, sx.E), fy, quantize_y);
    const double c = relative_error(x, y, xh, yh);
    if (c < best) {
      best = c;
      best_lam = lam;
      best_xh = std::move(xh);
    }
  }
  RankOneResult r = finish(x, y, std::move(best_xh), best_lam, sx.E, fx, fy, quantize_y);
  r.breakpoints = ends.size() - 1;
  return r;
}

// The fast solver with F_t sides prescaled to a safe exponent range (detail::solve_rescaled):
// the optimum over F_t within the double range for subnormal, huge and mixed-range inputs;
// bounded sides beyond the fast solvers' exact range go to the reference (fast_solver_in_range).
inline RankOneResult rank_one_sweep(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                    const Format& fy, bool quantize_y = true,
                                    std::shared_ptr<const detail::Grid> gx = nullptr,
                                    std::shared_ptr<const detail::Grid> gy = nullptr, LamWindow window = {}) {
  return detail::solve_checked(x, y, fx, fy, quantize_y, window,
                               [&](const std::vector<double>& xs, const std::vector<double>& ys) {
                                 if (!detail::fast_solver_in_range(xs, ys, fx, fy, quantize_y))
                                   return rank_one_reference_unscaled(xs, ys, fx, fy, quantize_y, window);
                                 return rank_one_sweep_unscaled(xs, ys, fx, fy, quantize_y, gx, gy, window);
                               });
}

// rank_one_reference_unscaled with the prescaling of rank_one_sweep.
inline RankOneResult rank_one_reference(const std::vector<double>& x, const std::vector<double>& y, const Format& fx,
                                        const Format& fy, bool quantize_y = true, LamWindow window = {}) {
  return detail::solve_checked(x, y, fx, fy, quantize_y, window,
                               [&](const std::vector<double>& xs, const std::vector<double>& ys) {
                                 return rank_one_reference_unscaled(xs, ys, fx, fy, quantize_y, window);
                               });
}

// Many independent problems (x_k, y_k) — e.g. the columns of a butterfly factor or the
// neurons of a layer — solved in parallel (OpenMP, dynamic schedule: sizes differ).
// Results do not depend on the thread count. The first error raised is rethrown.
inline std::vector<RankOneResult> rank_one_batch(const std::vector<std::vector<double>>& xs,
                                                 const std::vector<std::vector<double>>& ys, const Format& fx,
                                                 const Format& fy, bool quantize_y = true, LamWindow window = {}) {
  if (xs.size() != ys.size()) throw std::invalid_argument("xs and ys must have the same number of problems");
  std::vector<RankOneResult> out(xs.size());
  if (xs.empty()) return out;
  // input errors first, serially: the one raised is that of the first bad problem
  detail::check_window(window);
  for (std::size_t k = 0; k < xs.size(); ++k) {
    detail::check_vector(xs[k], ("xs[" + std::to_string(k) + "]").c_str());
    detail::check_vector(ys[k], ("ys[" + std::to_string(k) + "]").c_str());
  }
  const auto gx = detail::make_grid(fx);
  const auto gy = quantize_y ? detail::make_grid(fy) : nullptr;
  // the shared grids count against the memory budget; each problem reserves its own buffers
  // (rank_one_sweep), so the problems running at once stay within the budget together
  const detail::MemoryPin pin(detail::grid_bytes(*gx) + (gy ? detail::grid_bytes(*gy) : 0));
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(xs.size());
  detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1) num_threads(detail::team_size())
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    capture.run(k, [&] {
      poll_interrupt();
      out[k] = rank_one_sweep(xs[k], ys[k], fx, fy, quantize_y, gx, gy, window);
    });
  }
  capture.rethrow();
  return out;
}

}  // namespace scaleq
