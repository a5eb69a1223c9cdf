// The exact relative error ‖A − B‖_F / ‖A‖_F of two square-dyadic butterfly chains (n = 2^J,
// factor l of pattern (2^l, 2, 2, n/2^(l+1)), l = 0..J−1) in O(n·(s + m)) time and
// O(s + m) memory per thread, s = 2^(J/2), m = n/s — instead of the O(n·nnz) of applying
// both chains to the identity.
//
// Split at k = J/2. The left half F_0⋯F_(k−1) only mixes indices with the same residue r
// mod m and the right half F_k⋯F_(J−1) only within a block q·m..q·m+m−1, so
//   A[u·m + r, q·m + v] = L_r[u, q]·R_q[r, v]:
// every entry of the product is ONE product of a left and a right half-chain entry, and
// ‖A − B‖² = Σ_(r,q) ‖x yᵀ − x̂ ŷᵀ‖² with x = L_r[:, q], y = R_q[r, :] (hats: chain B).
// Column q of L_r is the left half applied to the unit vector e_q: after the factors
// k−1, …, l its support is the aligned block of 2^(k−l) indices holding q, so it costs
// 2 + 4 + … + s. Row r of R_q likewise (e_r through the transposed factors k, …, J−1: the
// support is the indices ≡ r modulo n/2^(l+1)) costs 2 + 4 + … + m.
//
// Each block error is evaluated without cancellation: with c = ‖x̂‖²/(x̂ᴴx), u = x̂/c is
// the projection of x on x̂, x̂ŷᵀ = u·(cŷ)ᵀ, dx = u − x and dy = cŷ − y are small, and
//   ‖x yᵀ − x̂ŷᵀ‖² = ‖u‖²‖dy‖² + ‖dx‖²‖y‖² + 2·Re(conj(uᴴdx)·yᴴdy)   (uᴴdx ≈ 0).
// The caller divides factors by powers of two first so that the half products stay in range
// (Python: `relative_error`). Sums run per r and are combined in r order: the result does not
// depend on the number of threads.
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
// x = F_0|_r ⋯ F_(k−1)|_r e_q (length s), F_l|_r the factor restricted to residue r mod m.
template <class Scalar>
void left_column(const std::vector<const Scalar*>& V, std::int64_t n, std::int64_t k, std::int64_t m, std::int64_t r,
                 std::int64_t q, Scalar* x) {
  const std::int64_t s = n / m;
  std::fill(x, x + s, Scalar(0));
  x[q] = Scalar(1);
  for (std::int64_t l = k - 1; l >= 0; --l) {
    const std::int64_t d = n >> (l + 1), dp = d / m;                         // the factor's d and its stride in L_r
    const std::int64_t i = q / (2 * dp), b0 = i * 2 * dp, h = (q / dp) & 1;  // q's half
    const Scalar* v = V[std::size_t(l)] + i * 4 * d;                         // V[i, β, γ, j] = v[(2β + γ)·d + j]
    for (std::int64_t jp = 0; jp < dp; ++jp) {
      const std::int64_t j = jp * m + r;
      const Scalar xin = x[b0 + h * dp + jp];
      x[b0 + jp] = v[h * d + j] * xin;
      x[b0 + dp + jp] = v[(2 + h) * d + j] * xin;
    }
  }
}

// y = row r of F_k|_q ⋯ F_(J−1)|_q (length m), F_l|_q the factor restricted to block q.
template <class Scalar>
void right_row(const std::vector<const Scalar*>& V, std::int64_t n, std::int64_t k, std::int64_t m, std::int64_t r,
               std::int64_t q, Scalar* y) {
  const std::int64_t s = n / m, J = std::int64_t(V.size());
  std::fill(y, y + m, Scalar(0));
  y[r] = Scalar(1);
  for (std::int64_t l = k; l < J; ++l) {
    const std::int64_t d = n >> (l + 1), as = (std::int64_t(1) << l) / s;
    const std::int64_t j = r % d, b = (r % (2 * d)) / d;  // the one nonzero row of each 2×2
    const Scalar* v = V[std::size_t(l)] + q * as * 4 * d;
    for (std::int64_t ip = 0; ip < as; ++ip) {
      const Scalar* w = v + ip * 4 * d;
      const Scalar yin = y[(2 * ip + b) * d + j];
      y[2 * ip * d + j] = w[2 * b * d + j] * yin;
      y[(2 * ip + 1) * d + j] = w[(2 * b + 1) * d + j] * yin;
    }
  }
}
}  // namespace detail

// A, B: the J factors' values, each 2^l·2·2·(n/2^(l+1)) entries in C order.
template <class Scalar>
double chain_relative_error_dyadic(const std::vector<const Scalar*>& A, const std::vector<const Scalar*>& B,
                                   std::int64_t n) {
  const std::int64_t J = std::int64_t(A.size());
  if (J < 2 || B.size() != A.size() || n != (std::int64_t(1) << J))
    throw std::invalid_argument("chain_relative_error_dyadic: two chains of J >= 2 square-dyadic factors, n = 2^J");
  const std::int64_t k = J / 2, s = std::int64_t(1) << k, m = n / s;
  std::vector<double> num(std::size_t(m), 0.0), den(std::size_t(m), 0.0);
  detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) num_threads(detail::team_size())
  for (std::int64_t r = 0; r < m; ++r)
    capture.run(r, [&] {
      poll_interrupt();
      // per r, inside the capture (an allocation failure must not escape the region)
      const std::size_t ss = static_cast<std::size_t>(s), ms = static_cast<std::size_t>(m);
      std::vector<Scalar> x(ss), xh(ss), y(ms), yh(ms);
      double nr = 0.0, dr = 0.0;
      for (std::int64_t q = 0; q < s; ++q) {
        detail::left_column(A, n, k, m, r, q, x.data());
        detail::left_column(B, n, k, m, r, q, xh.data());
        detail::right_row(A, n, k, m, r, q, y.data());
        detail::right_row(B, n, k, m, r, q, yh.data());
        double xx = 0.0, xhxh = 0.0, yy = 0.0;
        Scalar xhx(0);
        for (std::int64_t u = 0; u < s; ++u) {
          xx += std::norm(x[u]);
          xhxh += std::norm(xh[u]);
          xhx += detail::conj_if_complex<Scalar>(xh[u]) * x[u];
        }
        for (std::int64_t v = 0; v < m; ++v) yy += std::norm(y[v]);
        const bool ok = std::abs(xhx) > 0.0 && xhxh > 0.0;
        const Scalar c = ok ? Scalar(xhxh) / xhx : Scalar(1);
        double uu = 0.0, dxdx = 0.0, dydy = 0.0;
        Scalar udx(0), ydy(0);
        for (std::int64_t u = 0; u < s; ++u) {
          const Scalar uv = xh[u] / c, dx = uv - x[u];
          uu += std::norm(uv);
          dxdx += std::norm(dx);
          udx += detail::conj_if_complex<Scalar>(uv) * dx;
        }
        for (std::int64_t v = 0; v < m; ++v) {
          const Scalar dy = yh[v] * c - y[v];
          dydy += std::norm(dy);
          ydy += detail::conj_if_complex<Scalar>(y[v]) * dy;
        }
        nr += std::max(0.0, uu * dydy + dxdx * yy + 2.0 * std::real(detail::conj_if_complex<Scalar>(udx) * ydy));
        dr += xx * yy;
      }
      num[std::size_t(r)] = nr;
      den[std::size_t(r)] = dr;
    });
  capture.rethrow();
  double tot = 0.0, all = 0.0;
  for (std::int64_t r = 0; r < m; ++r) tot += num[std::size_t(r)], all += den[std::size_t(r)];
  if (all > 0.0) return std::sqrt(tot / all);
  return tot == 0.0 ? 0.0 : INFINITY;
}

}  // namespace scaleq
