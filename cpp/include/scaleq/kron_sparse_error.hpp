// The relative error between two Kronecker-sparse chain products, ‖A − B‖_F / ‖A‖_F, computed
// without forming either product and without over/underflow.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/kron_sparse.hpp"

namespace scaleq {

namespace detail {
// v·2^e for |e| up to ~2000 in two exact steps (2^e alone may not be a double)
template <class Scalar>
Scalar scale_pow2(Scalar v, int e) {
  return v * std::ldexp(1.0, e / 2) * std::ldexp(1.0, e - e / 2);
}

// A chain with every factor divided by the power of two 2^e_k of its largest |entry| (exact):
// the product is the original one times 2^−Σe_k, returned in `shift`, and its entries stay
// far from over/underflow however large or small the factors are.
template <class Scalar>
std::vector<KSFactor<Scalar>> normalized_chain(const std::vector<KSFactor<Scalar>>& A,
                                               std::vector<std::vector<Scalar>>& store, long& shift) {
  std::vector<KSFactor<Scalar>> out = A;
  store.resize(A.size());
  shift = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const std::size_t nnz = std::size_t(A[k].p.nnz());
    double amax = 0.0;
    for (std::size_t i = 0; i < nnz; ++i) amax = std::max(amax, double(std::abs(A[k].v[i])));
    if (amax == 0.0 || !std::isfinite(amax)) continue;
    int e;
    std::frexp(amax, &e);
    store[k].assign(A[k].v, A[k].v + nnz);
    for (Scalar& v : store[k]) v = scale_pow2(v, -e);
    out[k].v = store[k].data();
    shift += e;
  }
  return out;
}

// Σ|v_i|² as s·4^e without over/underflow: v is divided by the power of two of max|v_i|.
struct ScaledSumSq {
  double s = 0.0;
  int e = 0;
  template <class Scalar>
  static ScaledSumSq of(const Scalar* v, std::size_t n, double factor = 1.0) {
    double amax = 0.0;
    for (std::size_t i = 0; i < n; ++i) amax = std::max(amax, double(std::abs(v[i] * factor)));
    ScaledSumSq r;
    if (amax == 0.0) return r;
    std::frexp(amax, &r.e);
    for (std::size_t i = 0; i < n; ++i) r.s += std::norm(scale_pow2(v[i] * factor, -r.e));
    return r;
  }
  // sum of the parts in their order (deterministic), as s·4^e
  static ScaledSumSq total(const std::vector<ScaledSumSq>& parts) {
    ScaledSumSq r;
    bool any = false;
    for (const ScaledSumSq& p : parts)
      if (p.s > 0.0) r.e = any ? std::max(r.e, p.e) : p.e, any = true;
    for (const ScaledSumSq& p : parts)
      if (p.s > 0.0) r.s += std::ldexp(p.s, 2 * (p.e - r.e));
    return r;
  }
};
}  // namespace detail

// ‖A − B‖_F / ‖A‖_F for two chains of the same shape, exactly: both are applied to
// blocks of `block` columns of the identity and the differences accumulated, so no
// n×n matrix is ever held and no cancellation between ‖A‖² and ‖B‖² occurs. Each chain's
// factors are first divided by powers of two (the ratio is invariant) and the sums of squares
// are scaled, so products of factors beyond 1e±154 (or the double range) do not overflow;
// the blocks' sums are combined in block order, so the result does not depend on the threads.
template <class Scalar>
double chain_relative_error(const std::vector<KSFactor<Scalar>>& A0, const std::vector<KSFactor<Scalar>>& B0,
                            std::int64_t block = 32) {
  const std::int64_t m = A0.front().p.rows(), n = A0.back().p.cols();
  if (B0.front().p.rows() != m || B0.back().p.cols() != n)
    throw std::invalid_argument("chains must have the same shape");
  std::vector<std::vector<Scalar>> store_a, store_b;
  long ea = 0, eb = 0;
  const std::vector<KSFactor<Scalar>> A = detail::normalized_chain(A0, store_a, ea);
  const std::vector<KSFactor<Scalar>> B = detail::normalized_chain(B0, store_b, eb);
  // A = 2^ea·A', B = 2^eb·B': ‖A − B‖/‖A‖ = ‖A' − 2^(eb−ea)·B'‖/‖A'‖
  const long rel = eb - ea;
  const bool far = rel > 900 || rel < -900;  // then one of A', 2^rel·B' is negligible
  const double bfac = far ? 1.0 : std::ldexp(1.0, int(rel));
  const std::int64_t nblocks = (n + block - 1) / block;
  const std::size_t nbl = static_cast<std::size_t>(nblocks);
  std::vector<detail::ScaledSumSq> num(nbl), den(nbl), nb(nbl);
  // One parallel region over column blocks (the applies inside run serially): thousands of
  // small regions per call cost more than the work when another library's threads spin.
  detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) if (nblocks > 1) num_threads(detail::team_size())
  for (std::int64_t bi = 0; bi < nblocks; ++bi)
    capture.run(bi, [&] {
      poll_interrupt();
      const std::int64_t c0 = bi * block;
      const std::int64_t w = std::min(block, n - c0);
      std::vector<Scalar> E(std::size_t(n * w), Scalar(0));
      for (std::int64_t j = 0; j < w; ++j) E[std::size_t((c0 + j) * w + j)] = Scalar(1);
      const std::vector<Scalar> ya = ks_apply_chain(A, E.data(), w);
      std::vector<Scalar> yb = ks_apply_chain(B, E.data(), w);
      den[std::size_t(bi)] = detail::ScaledSumSq::of(ya.data(), ya.size());
      nb[std::size_t(bi)] = detail::ScaledSumSq::of(yb.data(), yb.size());
      for (std::size_t i = 0; i < ya.size(); ++i) yb[i] = ya[i] - yb[i] * bfac;
      num[std::size_t(bi)] = detail::ScaledSumSq::of(yb.data(), yb.size());
    });
  capture.rethrow();
  const detail::ScaledSumSq N = detail::ScaledSumSq::total(num), D = detail::ScaledSumSq::total(den),
                            NB = detail::ScaledSumSq::total(nb);
  if (D.s == 0.0) return NB.s > 0.0 ? INFINITY : 0.0;
  if (far && rel < 0) return 1.0;  // B = 2^rel·B' with rel < −900: error 1 − O(2^−890)
  if (far) {                       // B dominates: ‖A − B‖/‖A‖ = 2^rel·‖B'‖/‖A'‖·(1 + O(2^−890))
    if (NB.s == 0.0) return 1.0;
    return std::ldexp(std::sqrt(NB.s / D.s), int(std::min(rel + NB.e - D.e, 4000L)));
  }
  return std::ldexp(std::sqrt(N.s / D.s), N.e - D.e);
}

}  // namespace scaleq
