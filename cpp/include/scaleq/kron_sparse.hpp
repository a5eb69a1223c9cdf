// Kronecker-sparse factors and chains: apply without ever forming dense matrices.
//
// A factor with pattern (a,b,c,d) has support I_a ⊗ 1_{b×c} ⊗ I_d, shape (a·b·d)×(a·c·d),
// and stores V[a][b][c][d] (C order) with
//   entry(i_a·b·d + i_b·d + i_d, i_a·c·d + i_c·d + i_d) = V[i_a, i_b, i_c, i_d]
// — lazylinop's ks_values convention (DESIGN.md §4). Applying it to X (rows a·c·d, k
// columns, row-major) is, for each (i_a, i_b), Y[(i_a,i_b,·), :] = Σ_ic diag(V[i_a,i_b,i_c,·])
// X[(i_a,i_c,·), :]: contiguous in i_d and in the k columns, so it vectorizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "scaleq/detail/parallel.hpp"

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_in_parallel() { return 0; }
#endif

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

// Consecutive patterns P, Q multiply into (P.a, P.b·P.d/Q.d, Q.c·Q.a/P.a, Q.d) when chainable.
// Whether P·Q is again Kronecker-sparse with the pattern given by pattern_product.
inline bool chainable(const Pattern& p, const Pattern& q) {
  return p.cols() == q.rows() && q.a % p.a == 0 && p.d % q.d == 0;
}

inline Pattern pattern_product(const Pattern& p, const Pattern& q) {
  if (!chainable(p, q))
    throw std::invalid_argument("patterns " + p.str() + " and " + q.str() + " are not chainable");
  return {p.a, p.b * (p.d / q.d), q.c * (q.a / p.a), q.d};
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
  const bool par = p.nnz() * k > (1 << 15) && !omp_in_parallel();
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
    const Scalar* v = F.v + q * p.c * p.d + id;            // stride d over i_c
    const Scalar* x = X + (ia * p.c * p.d + id) * k;       // stride d·k over i_c
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
    if (p.a < 1 || p.b < 1 || p.c < 1 || p.d < 1)
      throw std::invalid_argument("factor " + std::to_string(i) + ": pattern entries must be >= 1");
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
