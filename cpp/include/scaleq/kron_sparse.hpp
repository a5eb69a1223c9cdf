// Kronecker-sparse factors and chains: apply without ever forming dense matrices.
//
// A factor with pattern (a,b,c,d) has support I_a ⊗ 1_{b×c} ⊗ I_d, shape (a·b·d)×(a·c·d),
// and stores V[a][b][c][d] (C order) with
//   entry(i_a·b·d + i_b·d + i_d, i_a·c·d + i_c·d + i_d) = V[i_a, i_b, i_c, i_d]
// — lazylinop's ks_values convention (docs/design.md §4). Applying it to X (rows a·c·d, k
// columns, row-major) is, for each (i_a, i_b), Y[(i_a,i_b,·), :] = Σ_ic diag(V[i_a,i_b,i_c,·])
// X[(i_a,i_c,·), :]: contiguous in i_d and in the k columns, so it vectorizes.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "scaleq/detail/parallel.hpp"

namespace scaleq {

struct Pattern {
  std::int64_t a = 1, b = 1, c = 1, d = 1;
  std::int64_t rows() const { return a * b * d; }
  std::int64_t cols() const { return a * c * d; }
  std::int64_t nnz() const { return a * b * c * d; }
  bool operator==(const Pattern& o) const { return a == o.a && b == o.b && c == o.c && d == o.d; }
  std::string str() const {
    return "(" + std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c) + "," + std::to_string(d) + ")";
  }
};

// x·y for x, y >= 1, or false when it exceeds int64 (checked division: portable, and a
// wrapped product would pass every later shape test and size a buffer too small).
inline bool checked_mul(std::int64_t x, std::int64_t y, std::int64_t& out) {
  if (x > INT64_MAX / y) return false;
  out = x * y;
  return true;
}

// Every entry >= 1 and a·b·c·d (hence rows, cols, nnz, all sub-products) within int64.
inline void check_pattern(const Pattern& p, const std::string& what) {
  if (p.a < 1 || p.b < 1 || p.c < 1 || p.d < 1)
    throw std::invalid_argument(what + ": pattern entries must be >= 1, got " + p.str());
  std::int64_t r = 0;
  if (!checked_mul(p.a, p.b, r) || !checked_mul(r, p.c, r) || !checked_mul(r, p.d, r))
    throw std::invalid_argument(what + ": pattern " + p.str() + " has a*b*c*d beyond 2^63 - 1");
}

// Two factors multiply whenever the inner dimensions agree: apply, densify and chain
// quantization need nothing more. "Nested" pairs (P.a | Q.a, Q.d | P.d: the chains of the
// butterfly papers) have a product inside (P.a, P.b·P.d/Q.d, Q.c·Q.a/P.a, Q.d).
inline bool chainable(const Pattern& p, const Pattern& q) {
  return p.cols() == q.rows() && q.a % p.a == 0 && p.d % q.d == 0;
}

namespace detail {
// conj(s) for the complex scalar of the chains, s itself for the real one
template <class Scalar>
inline Scalar conj_if_complex(const Scalar& s) {
  if constexpr (std::is_same_v<Scalar, std::complex<double>>)
    return std::conj(s);
  else
    return s;
}

inline std::vector<std::int64_t> divisors(std::int64_t n) {
  std::vector<std::int64_t> lo, hi;
  for (std::int64_t k = 1; k <= n / k; ++k)
    if (n % k == 0) {
      lo.push_back(k);
      if (k != n / k) hi.push_back(n / k);
    }
  lo.insert(lo.end(), hi.rbegin(), hi.rend());
  return lo;
}
inline std::int64_t gcd64(std::int64_t x, std::int64_t y) {
  while (y) {
    const std::int64_t t = x % y;
    x = y;
    y = t;
  }
  return x;
}
}  // namespace detail

// The smallest Kronecker-sparse pattern holding supp(P)·supp(Q), for any P, Q whose inner
// dimensions agree. The closed form above can be far too large — diag·(2,2,2,4) is
// (2,2,2,4), not (1,4,4,4) — and a too large pattern lets the factorization's class-wise
// SVDs mix rows that the next factors cannot mix, losing exactness. Middle index j links
// rows (i_a, ·, i_d) of P to columns (j_a, ·, j_d) of Q, so the product support is the union
// over j of those rectangles; supp(A, ·, ·, D) is "same block of m/A rows and n/A columns"
// and "same residue mod D", two conditions tested separately on every rectangle:
// O(P.cols()·(number of divisors)).
inline Pattern pattern_product(const Pattern& p, const Pattern& q) {
  check_pattern(p, "left factor");
  check_pattern(q, "right factor");
  if (p.cols() != q.rows())
    throw std::invalid_argument("patterns " + p.str() + " and " + q.str() + " do not multiply: " +
                                std::to_string(p.cols()) + " columns vs " + std::to_string(q.rows()) + " rows");
  const std::int64_t m = p.rows(), n = q.cols(), N = p.cols(), g = detail::gcd64(m, n);
  // rectangle of middle index j: rows i0, i0 + d, ..., i1 of P; columns k0, ..., k1 of Q
  auto rect = [&](std::int64_t j, std::int64_t& i0, std::int64_t& i1, std::int64_t& k0, std::int64_t& k1) {
    i0 = (j / (p.c * p.d)) * p.b * p.d + j % p.d;
    i1 = i0 + (p.b - 1) * p.d;
    k0 = (j / (q.b * q.d)) * q.c * q.d + j % q.d;
    k1 = k0 + (q.c - 1) * q.d;
  };
  std::vector<std::int64_t> As, Ds;
  for (std::int64_t A : detail::divisors(g)) {
    const std::int64_t rb = m / A, cb = n / A;
    bool ok = true;
    for (std::int64_t j = 0; j < N && ok; ++j) {
      std::int64_t i0, i1, k0, k1;
      rect(j, i0, i1, k0, k1);
      ok = i0 / rb == i1 / rb && k0 / cb == k1 / cb && i0 / rb == k0 / cb;
    }
    if (ok) As.push_back(A);
  }
  for (std::int64_t D : detail::divisors(g)) {
    bool ok = (p.b == 1 || p.d % D == 0) && (q.c == 1 || q.d % D == 0);
    for (std::int64_t j = 0; j < N && ok; ++j) {
      std::int64_t i0, i1, k0, k1;
      rect(j, i0, i1, k0, k1);
      ok = i0 % D == k0 % D;
    }
    if (ok) Ds.push_back(D);
  }
  Pattern best{1, m, n, 1};  // dense always holds it
  for (std::int64_t A : As)
    for (std::int64_t D : Ds)
      if (g % A == 0 && (g / A) % D == 0 && A * D > best.a * best.d) best = {A, m / (A * D), n / (A * D), D};
  return best;
}

inline Pattern chain_pattern(const std::vector<Pattern>& pats, std::size_t lo, std::size_t hi) {
  Pattern r = pats[lo];
  for (std::size_t k = lo + 1; k < hi; ++k) r = pattern_product(r, pats[k]);
  return r;
}

template <class Scalar>
struct KSFactor {
  Pattern p;
  const Scalar* v = nullptr;  // a·b·c·d values, C order
};

// Y = F·X. X: (a·c·d)×k row-major; Y: (a·b·d)×k row-major (overwritten, never read: no
// zero-fill pass). Output row (i_a, i_b, i_d) = Σ_ic V[i_a,i_b,i_c,i_d]·X[(i_a,i_c,i_d), :].
template <class Scalar>
void ks_apply_factor(const KSFactor<Scalar>& F, const Scalar* X, Scalar* Y, std::int64_t k) {
  const Pattern& p = F.p;
  const std::int64_t rows = p.rows();
  const bool par = p.nnz() * k > (1 << 15) && !detail::omp_in_parallel_region();
  if (k == 1 && p.b == 2 && p.c == 2) {
    // one vector, butterfly factor: per i_a a 2×2 block of d-vectors, both outputs from the
    // same two inputs in one pass; d = 1 and 2 (the last factors) as flat loops over i_a,
    // where the generic loop spent its time on loop control
    const std::int64_t d = p.d;
    auto flat = [&](auto D) {  // d known at compile time: the i_d loop unrolls
      constexpr std::int64_t dd = decltype(D)::value;
      for (std::int64_t ia = 0; ia < p.a; ++ia)
        for (std::int64_t id = 0; id < dd; ++id) {
          const Scalar* v = F.v + ia * 4 * dd + id;
          const Scalar x0 = X[ia * 2 * dd + id], x1 = X[ia * 2 * dd + dd + id];
          Y[ia * 2 * dd + id] = v[0] * x0 + v[dd] * x1;
          Y[ia * 2 * dd + dd + id] = v[2 * dd] * x0 + v[3 * dd] * x1;
        }
    };
    if (d == 1) return flat(std::integral_constant<std::int64_t, 1>{});
    if (d == 2) return flat(std::integral_constant<std::int64_t, 2>{});
#pragma omp parallel for schedule(static) if (par && p.a > 1) num_threads(detail::team_size())
    for (std::int64_t ia = 0; ia < p.a; ++ia) {
      const Scalar* v = F.v + ia * 4 * d;
      const Scalar *x0 = X + ia * 2 * d, *x1 = x0 + d;
      Scalar *y0 = Y + ia * 2 * d, *y1 = y0 + d;
      for (std::int64_t id = 0; id < d; ++id) {
        const Scalar a0 = x0[id], a1 = x1[id];
        y0[id] = v[id] * a0 + v[d + id] * a1;
        y1[id] = v[2 * d + id] * a0 + v[3 * d + id] * a1;
      }
    }
    return;
  }
  if (k == 1) {
    // one vector: for each (i_a, i_b), a c-term sum of vectors contiguous in i_d
    const std::int64_t ab = p.a * p.b;
#pragma omp parallel for schedule(static) if (par && ab > 1) num_threads(detail::team_size())
    for (std::int64_t q = 0; q < ab; ++q) {
      const std::int64_t ia = q / p.b;
      Scalar* y = Y + q * p.d;
      const Scalar* v = F.v + q * p.c * p.d;
      const Scalar* x = X + ia * p.c * p.d;
      for (std::int64_t id = 0; id < p.d; ++id) y[id] = v[id] * x[id];
      for (std::int64_t ic = 1; ic < p.c; ++ic)
        for (std::int64_t id = 0; id < p.d; ++id) y[id] += v[ic * p.d + id] * x[ic * p.d + id];
    }
    return;
  }
  // k columns: one output row at a time, all c input rows streamed together (each output
  // row written once; rows are independent, so the a·b·d of them parallelize evenly).
#pragma omp parallel for schedule(static) if (par) num_threads(detail::team_size())
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t q = r / p.d, id = r % p.d, ia = q / p.b;
    const Scalar* v = F.v + q * p.c * p.d + id;       // stride d over i_c
    const Scalar* x = X + (ia * p.c * p.d + id) * k;  // stride d·k over i_c
    Scalar* y = Y + r * k;
    const std::int64_t xs = p.d * k;
    if (p.c == 2) {
      const Scalar w0 = v[0], w1 = v[p.d];
      const Scalar *x0 = x, *x1 = x + xs;
      for (std::int64_t j = 0; j < k; ++j) y[j] = w0 * x0[j] + w1 * x1[j];
      continue;
    }
    const Scalar w0 = v[0];
    for (std::int64_t j = 0; j < k; ++j) y[j] = w0 * x[j];
    for (std::int64_t ic = 1; ic < p.c; ++ic) {
      const Scalar w = v[ic * p.d];
      const Scalar* xr = x + ic * xs;
      for (std::int64_t j = 0; j < k; ++j) y[j] += w * xr[j];
    }
  }
}

inline void check_chain(const std::vector<Pattern>& pats) {
  if (pats.empty()) throw std::invalid_argument("a chain needs at least one factor");
  for (std::size_t i = 0; i < pats.size(); ++i) {
    const Pattern& p = pats[i];
    check_pattern(p, "factor " + std::to_string(i));
    if (i + 1 < pats.size() && p.cols() != pats[i + 1].rows())
      throw std::invalid_argument("factors " + std::to_string(i) + " and " + std::to_string(i + 1) +
                                  " do not chain: " + std::to_string(p.cols()) + " columns vs " +
                                  std::to_string(pats[i + 1].rows()) + " rows");
  }
}

// Y = B_1⋯B_J·X, right to left, ping-pong buffers. X: (cols of B_J)×k, Y: (rows of B_1)×k.
template <class Scalar>
std::vector<Scalar> ks_apply_chain(const std::vector<KSFactor<Scalar>>& chain, const Scalar* X, std::int64_t k) {
  std::vector<Pattern> pats;
  for (const auto& f : chain) pats.push_back(f.p);
  check_chain(pats);
  std::vector<Scalar> cur, next;
  const Scalar* in = X;  // the first factor applied reads X itself: no copy
  for (std::size_t i = chain.size(); i-- > 0;) {
    poll_interrupt();                                 // per factor: a large factor's apply is the unit of work
    next.resize(std::size_t(chain[i].p.rows() * k));  // fully overwritten by the factor
    ks_apply_factor(chain[i], in, next.data(), k);
    cur.swap(next);
    in = cur.data();
  }
  return cur;
}

// Values of Fᵀ: pattern (a, c, b, d), Vᵀ[i_a, i_c, i_b, i_d] = V[i_a, i_b, i_c, i_d].
template <class Scalar>
std::vector<Scalar> ks_transpose_values(const Pattern& p, const Scalar* v) {
  std::vector<Scalar> t(std::size_t(p.nnz()));
  for (std::int64_t ia = 0; ia < p.a; ++ia)
    for (std::int64_t ib = 0; ib < p.b; ++ib)
      for (std::int64_t ic = 0; ic < p.c; ++ic)
        for (std::int64_t id = 0; id < p.d; ++id)
          t[std::size_t(((ia * p.c + ic) * p.b + ib) * p.d + id)] = v[((ia * p.b + ib) * p.c + ic) * p.d + id];
  return t;
}

}  // namespace scaleq
