// The breakpoints of λ ↦ round(λx): the format's grid of reachable points, one vector
// prepared as a Side (normalized entries, their breakpoints sorted exactly), the counts
// that size it beforehand, and a side's state after a number of crossings.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "scaleq/detail/double_double.hpp"
#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"

namespace scaleq {

namespace detail {

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
// λ ∈ (1,2)). Stable, so equal keys keep their generation order. Linear in the number of
// breakpoints (millions), where a comparison sort is O(n log n) with unpredictable branches.
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
  if (v.size() <= (std::size_t(1) << 16)) {
    // Up to 64k keys (the phase search's many small sweeps): one most-significant-digit pass
    // on the bits just below the keys' common prefix leaves a few keys per bucket, each
    // bucket then insertion-sorted — two passes where the LSD sort makes five.
    std::uint64_t kmin = ~std::uint64_t(0), kmax = 0;
    for (const Breakpoint& b : v) kmin = std::min(kmin, key(b)), kmax = std::max(kmax, key(b));
    if (kmin == kmax) return;
    int top = 63;  // highest bit where keys differ
    while (!(((kmin ^ kmax) >> top) & 1)) --top;
    int bits = 8;
    while (bits < 16 && (std::size_t(1) << bits) < v.size()) ++bits;
    const int shift = std::max(0, top + 1 - bits);
    const std::uint64_t base = kmin >> shift;  // the keys agree above bit top: digits < 2^bits
    std::vector<std::size_t> start((std::size_t(1) << bits) + 1);
    for (const Breakpoint& b : v) ++start[(key(b) >> shift) - base + 1];
    for (std::size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (const Breakpoint& b : v) tmp[fill[(key(b) >> shift) - base]++] = b;
    auto by_lam = [](const Breakpoint& a, const Breakpoint& b) { return a.lam < b.lam; };
    for (std::size_t d = 0; d + 1 < start.size(); ++d) {
      Breakpoint* first = tmp.data() + start[d];
      Breakpoint* last = tmp.data() + start[d + 1];
      if (last - first > 32) {  // clustered keys: a comparison sort for this bucket
        std::stable_sort(first, last, by_lam);
        continue;
      }
      for (Breakpoint* p = first + 1; p < last; ++p) {  // stable insertion sort
        const Breakpoint b = *p;
        Breakpoint* q = p;
        while (q > first && b.lam < (q - 1)->lam) *q = *(q - 1), --q;
        *q = b;
      }
    }
    v.swap(tmp);
    return;
  }
  std::vector<std::size_t> count(kBuckets);
  for (int shift = 0; shift < 64; shift += kBits) {
    poll_interrupt();  // once a pass: a pass over millions of keys is a long loop
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

// The normalization exponent E of a side (v' = v·2^−E): v's largest binade, except that a
// bounded side's λ window must stay finite in normalized units (λ' = λ·2^E): x near DBL_MAX
// with λ ∈ [1, 2) would put the window's end at 2^1024 and its last state at λ = inf.
inline int side_exponent(const double* v, std::size_t n, const Format& f, double hi) {
  const int E = max_exponent(v, n);
  if (!f.bounded || !(hi > 0.0) || !std::isfinite(hi)) return E;
  return std::min(E, 1022 - std::ilogb(hi));
}

// The lower end of a bounded side's λ window in normalized units (λ' = λ·2^E). λ in original
// units must stay a normal double: below 2^−1022 it has lost bits, and for x near DBL_MAX the
// smallest states' λ underflows to 0, where round(λx) is no longer the state (with ŷ free such
// a state ties with the one 2^k higher). The floor is set only where a breakpoint mid/m (m < 2)
// can lie below it, so ordinary sides keep lo = 0 and start from the zero state.
inline double side_lo(double lo, int E, const Format& f, const std::vector<double>& mids) {
  const double dmin = std::numeric_limits<double>::min();
  if (f.bounded && lo < dmin && !mids.empty()) {
    const double floor = std::ldexp(dmin, E);
    if (0.5 * mids.front() <= floor) return floor;
  }
  return std::ldexp(lo, E);
}

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
// short-vector solver (rank_one/small.hpp).
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
  s.E = side_exponent(v.data(), v.size(), f, hi);
  const std::vector<double>& mids = s.grid().mids;
  s.lo = side_lo(lo, s.E, f, mids);  // normalized units: λ applies to v' = v·2^−E
  s.hi = std::ldexp(hi, s.E);
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
        const std::size_t last = std::min(r + 2 * width, run_starts.size() - 1);
        std::inplace_merge(s.bps.begin() + run_starts[r], s.bps.begin() + run_starts[r + width],
                           s.bps.begin() + run_starts[last], by_lam);
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

// The number of breakpoints prepare_side(v, f, grid, lo, hi) generates, without generating
// them (two binary searches per entry); `entries` receives the number of nonzero entries.
inline std::size_t count_breakpoints(const std::vector<double>& v, const Format& f, const Grid& grid, double lo,
                                     double hi, std::size_t& entries) {
  const int E = side_exponent(v.data(), v.size(), f, hi);
  const double nlo = side_lo(lo, E, f, grid.mids), nhi = std::ldexp(hi, E);
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

// λ (normalized units) inside the interval after `pos` sorted breakpoints have been crossed.
// A λ in the last interval (lo, ∞): 2·lo, or halfway to DBL_MAX when that overflows (a window
// [1, ∞) on x near DBL_MAX is 2^1023 in normalized units).
inline double above(double lo) {
  const double up = 2.0 * lo;
  return std::isfinite(up) ? up : lo + 0.5 * (std::numeric_limits<double>::max() - lo);
}
inline double interval_mid(const Side& s, std::size_t pos) {
  const double lo = pos == 0 ? (s.fmt->bounded ? s.lo : 1.0) : s.bps[pos - 1].lam;
  if (pos < s.bps.size()) return 0.5 * (lo + s.bps[pos].lam);
  if (!s.fmt->bounded) return 0.5 * (lo + 2.0);  // past the last breakpoint
  return s.hi < std::numeric_limits<double>::infinity() ? 0.5 * (lo + s.hi) : above(lo);
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

}  // namespace detail

}  // namespace scaleq
