// Hierarchical factorization of a dense matrix into a chain of Kronecker-sparse factors
// (Le, Zheng, Riccietti, Gribonval: "Fast learning of fast transforms, with guarantees",
// 2022; "Butterfly factorization with error guarantees", 2025).
//
// Splitting T ≈ L·R with L on P and R on Q: every middle index q reaches the rows
// (i_a, ·, i_d) of L and the columns (j_a, ·, j_d) of R, so q belongs to the class
// (i_a, i_d, j_a, j_d). Different classes touch disjoint entries of L·R, hence the
// best (L, R) is given class by class by a truncated SVD (Eckart–Young) of the block
// of T on the class's rows × columns, with rank = the class size (1 for butterflies).
// The hierarchy splits the chain recursively (left-to-right, right-to-left or balanced).
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "scaleq/kron_sparse.hpp"

namespace scaleq {

// The factorization's dense block algebra: the thin SVD (BlockSVD) and, for rank-one blocks
// whose spectral gap defeats the power iteration, gram_top_singular_pair below. They are most
// of what compiling the factorization costs, so a program may instantiate them once in a
// translation unit of their own (`extern template` elsewhere), as the Python module does.
template <class Scalar>
using BlockMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar>
using BlockVector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <class Scalar>
using BlockSVD = Eigen::JacobiSVD<BlockMatrix<Scalar>>;

// A matrix stored on its Kronecker-sparse support. A dense m×n matrix is pattern (1,m,n,1).
template <class Scalar>
struct KSMatrix {
  Pattern p;
  std::vector<Scalar> v;  // C order (a, b, c, d)

  Scalar entry(std::int64_t row, std::int64_t col) const {
    const std::int64_t ia = row / (p.b * p.d), ib = (row / p.d) % p.b, id = row % p.d;
    const std::int64_t ja = col / (p.c * p.d), jc = (col / p.d) % p.c, jd = col % p.d;
    if (ia != ja || id != jd) return Scalar(0);
    return v[((ia * p.b + ib) * p.c + jc) * p.d + id];
  }
};

// balanced: an odd range's extra factor goes right; bbtree (pyfaust's tree): it goes left
enum class FactorOrder { left_to_right, right_to_left, balanced, bbtree };

namespace detail {

// Leading singular triple of a block by power iteration (u ← Bv, v ← Bᴴu), started from
// the largest column: an exact rank-one block (a butterfly) converges at once. Returns
// false when the spectral gap is too small to converge in a few steps (the caller then
// uses an eigensolver).
template <class Mat, class Vec>
bool top_singular_pair(const Mat& B, Vec& u, Vec& v, double& sigma) {
  Eigen::Index j;
  B.colwise().squaredNorm().maxCoeff(&j);
  v = Vec::Zero(B.cols());
  v(j) = 1.0;
  double prev = -1.0;
  for (int it = 0; it < 12; ++it) {  // exact rank one converges at once; else the caller's eigensolver
    u = B * v;
    const double nu = u.norm();
    if (nu == 0.0) {
      sigma = 0.0;
      u = Vec::Zero(B.rows());
      return true;
    }
    u /= nu;
    v = B.adjoint() * u;
    sigma = v.norm();
    v /= sigma;
    // ‖Bv − σu‖ ≤ 1e-8·σ puts σ² (the energy the block keeps) within ~1e-16 of the
    // optimum; an exact rank-one block reaches rounding level at the first step.
    if ((B * v - sigma * u).norm() <= 1e-8 * sigma || sigma == prev) return true;
    prev = sigma;
  }
  return false;
}

// The leading singular triple of B from the leading eigenvector of its smaller Gram matrix:
// for the one pair that is kept, far cheaper than a full SVD. Not inline: see BlockSVD.
template <class Scalar>
void gram_top_singular_pair(const BlockMatrix<Scalar>& B, BlockVector<Scalar>& u, BlockVector<Scalar>& v,
                            double& sigma) {
  using Mat = BlockMatrix<Scalar>;
  const bool tall = B.rows() >= B.cols();
  const Mat G = tall ? Mat(B.adjoint() * B) : Mat(B * B.adjoint());
  const Eigen::SelfAdjointEigenSolver<Mat> es(G);
  const BlockVector<Scalar> w = es.eigenvectors().col(G.rows() - 1);
  BlockVector<Scalar>& near = tall ? v : u;  // the eigenvector's side, and the side it maps to
  BlockVector<Scalar>& far = tall ? u : v;
  near = w;
  far = tall ? BlockVector<Scalar>(B * w) : BlockVector<Scalar>(B.adjoint() * w);
  sigma = far.norm();
  if (sigma > 0) far /= sigma;
}

// Best L on P, R on Q with L·R ≈ T (T's support must lie in the pattern P·Q).
template <class Scalar>
void split_two(const KSMatrix<Scalar>& T, const Pattern& P, const Pattern& Q, KSMatrix<Scalar>& L,
               KSMatrix<Scalar>& R) {
  using Mat = BlockMatrix<Scalar>;
  L.p = P;
  R.p = Q;
  L.v.assign(std::size_t(P.nnz()), Scalar(0));
  R.v.assign(std::size_t(Q.nnz()), Scalar(0));
  const std::int64_t N = P.cols();
  // group the middle indices by class (i_a, i_d, j_a, j_d)
  std::vector<std::pair<std::int64_t, std::int64_t>> keyed(std::size_t(N), {0, 0});
  for (std::int64_t q = 0; q < N; ++q) {
    const std::int64_t ia = q / (P.c * P.d), id = q % P.d;
    const std::int64_t ja = q / (Q.b * Q.d), jd = q % Q.d;
    keyed[std::size_t(q)] = {((ia * P.d + id) * Q.a + ja) * Q.d + jd, q};
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::int64_t> starts;
  for (std::int64_t i = 0; i < N; ++i)
    if (i == 0 || keyed[std::size_t(i)].first != keyed[std::size_t(i - 1)].first) starts.push_back(i);
  starts.push_back(N);
  const std::int64_t nclasses = std::int64_t(starts.size()) - 1;
  // T[row, col] is stored at ((ia·b + ib)·c + jc)·d + id when ia = ja and id = jd, and is 0
  // otherwise: precompute (key = a·d + d-index, offset) for every row and column once, so
  // gathering a block costs no divisions. entry = v[row offset + col offset].
  const Pattern& tp = T.p;
  std::vector<std::pair<std::int64_t, std::int64_t>> rdec(std::size_t(tp.rows())), cdec(std::size_t(tp.cols()));
  for (std::int64_t row = 0; row < tp.rows(); ++row) {
    const std::int64_t ia = row / (tp.b * tp.d), ib = (row / tp.d) % tp.b, id = row % tp.d;
    rdec[std::size_t(row)] = {ia * tp.d + id, (ia * tp.b + ib) * tp.c * tp.d + id};
  }
  for (std::int64_t col = 0; col < tp.cols(); ++col) {
    const std::int64_t ja = col / (tp.c * tp.d), jc = (col / tp.d) % tp.c, jd = col % tp.d;
    cdec[std::size_t(col)] = {ja * tp.d + jd, jc * tp.d};
  }
  ErrorCapture capture;

  // small splits stay serial: a parallel region can cost a scheduler time slice when another
  // process holds the second core, far more than a few thousand flops of SVD
  const double work = double(nclasses) * double(P.b) * double(Q.c) * double(std::min(P.b, Q.c));
#pragma omp parallel for schedule(dynamic, 16) if (nclasses > 1 && work > 2e5) num_threads(detail::team_size())
  for (std::int64_t g = 0; g < nclasses; ++g) {
    capture.run(g, [&] {
      poll_interrupt();
      const std::int64_t q0 = keyed[std::size_t(starts[std::size_t(g)])].second;
      const std::int64_t r = starts[std::size_t(g) + 1] - starts[std::size_t(g)];
      const std::int64_t ia = q0 / (P.c * P.d), id = q0 % P.d;
      const std::int64_t ja = q0 / (Q.b * Q.d), jd = q0 % Q.d;
      Mat blk(P.b, Q.c);
      for (std::int64_t ib = 0; ib < P.b; ++ib) {
        const std::size_t row = std::size_t(ia * P.b * P.d + ib * P.d + id);
        for (std::int64_t jc = 0; jc < Q.c; ++jc) {
          const std::size_t col = std::size_t(ja * Q.c * Q.d + jc * Q.d + jd);
          blk(ib, jc) =
              rdec[row].first == cdec[col].first ? T.v[std::size_t(rdec[row].second + cdec[col].second)] : Scalar(0);
        }
      }
      Mat U, V;
      Eigen::Matrix<double, Eigen::Dynamic, 1> S;
      BlockVector<Scalar> u1, v1;
      double s1 = 0.0;
      if (r == 1 && std::min(P.b, Q.c) > 4) {
        if (!top_singular_pair(blk, u1, v1, s1)) gram_top_singular_pair(blk, u1, v1, s1);
        U = u1;
        V = v1;
        S.resize(1);
        S(0) = s1;
      } else {
        // JacobiSVD: what BDCSVD itself runs below 16 columns (the usual block here), and
        // half the compile time and memory of instantiating BDCSVD for real and complex
        BlockSVD<Scalar> svd(blk, Eigen::ComputeThinU | Eigen::ComputeThinV);
        U = svd.matrixU();
        V = svd.matrixV();
        S = svd.singularValues();
      }
      for (std::int64_t k = 0; k < r; ++k) {
        const std::int64_t q = keyed[std::size_t(starts[std::size_t(g)] + k)].second;
        const std::int64_t ic = (q / P.d) % P.c, jb = (q / Q.d) % Q.b;
        if (k >= S.size()) continue;  // class larger than the block's rank: zero columns
        const double sq = std::sqrt(S(k));
        for (std::int64_t ib = 0; ib < P.b; ++ib)
          L.v[std::size_t(((ia * P.b + ib) * P.c + ic) * P.d + id)] = U(ib, k) * sq;
        for (std::int64_t jc = 0; jc < Q.c; ++jc)
          R.v[std::size_t(((ja * Q.b + jb) * Q.c + jc) * Q.d + jd)] = conj_if_complex<Scalar>(V(jc, k)) * sq;
      }
    });
  }
  capture.rethrow();
}

template <class Scalar>
void factor_range(const KSMatrix<Scalar>& T, const std::vector<Pattern>& pats, std::size_t lo, std::size_t hi,
                  FactorOrder order, std::vector<std::vector<Scalar>>& out) {
  if (hi - lo == 1) {
    // the product's pattern of a one-factor range is the factor's own, except for a
    // one-factor chain, where T is the dense M: its best approximation on the pattern is
    // its projection (M's entries on the support)
    if (T.p == pats[lo]) {
      out[lo] = T.v;
    } else {
      const Pattern& p = pats[lo];
      out[lo].resize(std::size_t(p.nnz()));
      for (std::int64_t ia = 0; ia < p.a; ++ia)
        for (std::int64_t ib = 0; ib < p.b; ++ib)
          for (std::int64_t ic = 0; ic < p.c; ++ic)
            for (std::int64_t id = 0; id < p.d; ++id)
              out[lo][std::size_t(((ia * p.b + ib) * p.c + ic) * p.d + id)] =
                  T.entry(ia * p.b * p.d + ib * p.d + id, ia * p.c * p.d + ic * p.d + id);
    }
    return;
  }
  poll_interrupt();
  std::size_t k;
  switch (order) {
    case FactorOrder::left_to_right:
      k = lo + 1;
      break;
    case FactorOrder::right_to_left:
      k = hi - 1;
      break;
    case FactorOrder::bbtree:
      k = (lo + hi + 1) / 2;
      break;
    default:
      k = (lo + hi) / 2;
  }
  KSMatrix<Scalar> L, R;
  split_two(T, chain_pattern(pats, lo, k), chain_pattern(pats, k, hi), L, R);
  factor_range(L, pats, lo, k, order, out);
  factor_range(R, pats, k, hi, order, out);
}

}  // namespace detail

// Factor the dense m×n matrix M (row-major) into factors with the given
// patterns; returns each factor's values in ks_values order. Entries of M outside the
// support of the chain's product cannot be matched and only add to the error.
// perm (optional, length n): factor M[:, perm] instead of M.
template <class Scalar>
std::vector<std::vector<Scalar>> butterfly_factorize(const Scalar* M, std::int64_t m, std::int64_t n,
                                                     const std::vector<Pattern>& pats, FactorOrder order,
                                                     const std::vector<std::int64_t>& perm = {}) {
  if (pats.empty()) throw std::invalid_argument("patterns must be non-empty");
  check_chain(pats);  // entries >= 1, products within int64, inner dimensions agree
  const Pattern total = chain_pattern(pats, 0, pats.size());
  if (total.rows() != m || total.cols() != n)
    throw std::invalid_argument("patterns give a " + std::to_string(total.rows()) + "x" + std::to_string(total.cols()) +
                                " product, but M is " + std::to_string(m) + "x" + std::to_string(n));
  KSMatrix<Scalar> T;
  T.p = {1, m, n, 1};
  if (perm.empty()) {
    T.v.assign(M, M + m * n);
  } else {
    if (std::int64_t(perm.size()) != n) throw std::invalid_argument("perm must have length n");
    std::vector<char> seen(std::size_t(n), 0);
    for (std::int64_t p : perm) {
      if (p < 0 || p >= n || seen[std::size_t(p)]) throw std::invalid_argument("perm must be a permutation of 0..n-1");
      seen[std::size_t(p)] = 1;
    }
    T.v.resize(std::size_t(m * n));
#pragma omp parallel for schedule(static) if (m * n > (1 << 16)) num_threads(detail::team_size())
    for (std::int64_t r = 0; r < m; ++r)
      for (std::int64_t c = 0; c < n; ++c) T.v[std::size_t(r * n + c)] = M[r * n + perm[std::size_t(c)]];
  }
  std::vector<std::vector<Scalar>> out(pats.size());
  detail::factor_range(T, pats, 0, pats.size(), order, out);
  return out;
}

}  // namespace scaleq
