// Quantization of chains of Kronecker-sparse factors by chains of rank-one problems
// (Gribonval, Mary, Riccietti, Algorithm 2 and variants). Never forms a product of factors.
//
// For consecutive factors B_k, B_(k+1), column j of B_k and row j of B_(k+1) form the
// rank-one block x_j y_jᵀ of the pair's product; for butterflies the blocks of different j
// have disjoint supports, so the pair splits into independent rank-one problems.
//  * l2r (Algorithm 2): each column of the current factor is quantized with ŷ free
//    (x̂ = round(λx), only its direction matters), its μ is pushed into row j of the next
//    factor; the last pair is solved with both sides quantized.
//  * r2l: the same on the transposed chain. pairwise: (B_1,B_2), (B_3,B_4), ... jointly.
//  * rtn: every entry rounded.
//  * lookahead (scaleq's): l2r whose per-column choice of λ also weighs the next step — see
//    quantize_lookahead (chain_lookahead.hpp).
// Bounded formats: every factor k has a power-of-two scale s_k; its codes s_k·B̂_k lie in the
// format. rtn takes s_k = 2^e bringing max|B_k| into the top binade; the rank-one methods
// one binade lower (headroom for λ ∈ [1, 2)) and search λ ∈ [1, 2) only, as for F_t.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scaleq/chain_lookahead.hpp"
#include "scaleq/chain_step.hpp"
#include "scaleq/format.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/rank_one.hpp"

namespace scaleq {

enum class ChainMethod { rtn, l2r, r2l, pairwise, m2m, lookahead };

namespace detail {

inline Pattern transposed(const Pattern& p) { return {p.a, p.c, p.b, p.d}; }

inline ChainQuantResult quantize_r2l(const std::vector<Pattern>& pats, const std::vector<std::vector<double>>& vals,
                                     const Format& f) {
  // (B_1⋯B_J)ᵀ = B_Jᵀ⋯B_1ᵀ: run l2r on the transposed chain, transpose back.
  const std::size_t J = pats.size();
  std::vector<Pattern> tp(J);
  std::vector<std::vector<double>> tv(J);
  for (std::size_t k = 0; k < J; ++k) {
    tp[k] = transposed(pats[J - 1 - k]);
    tv[k] = ks_transpose_values(pats[J - 1 - k], vals[J - 1 - k].data());
  }
  ChainQuantResult t = quantize_l2r(tp, std::move(tv), f);
  ChainQuantResult r;
  r.values.resize(J);
  r.scales.resize(J);
  r.lam.resize(J);
  r.mu.resize(J);
  for (std::size_t k = 0; k < J; ++k) {
    r.values[J - 1 - k] = ks_transpose_values(tp[k], t.values[k].data());
    r.scales[J - 1 - k] = t.scales[k];
    r.lam[J - 1 - k] = std::move(t.lam[k]);  // here: per row of B_(J−k), scalings of Bᵀ's columns
    r.mu[J - 1 - k] = std::move(t.mu[k]);
  }
  return r;
}

// One ŷ-free step on the rows of factor k, pushing μ into the columns of factor k−1 (the
// mirror of an l2r step).
inline void free_rows_step(const std::vector<Pattern>& pats, std::vector<std::vector<double>>& vals, std::size_t k,
                           const Format& f, ChainQuantResult& r) {
  const Pattern &p = pats[k], &q = pats[k - 1];
  const double sk = r.scales[k] = working_scale(vals[k], f);
  solve_step(
      vals[k], [&](std::int64_t i) { return row_slice(p, i); }, sk, vals[k - 1],
      [&](std::int64_t i) { return column_slice(q, i); }, 1.0, p.rows(), false, f, r.lam[k], r.mu[k]);
}

// Meet in the middle: l2r steps on the left half, their mirror on the right half, and the
// joint step on the middle pair (scaleq's variant; same number of steps as Algorithm 2).
inline ChainQuantResult quantize_m2m(const std::vector<Pattern>& pats, std::vector<std::vector<double>> vals,
                                     const Format& f) {
  const std::size_t J = pats.size();
  if (J < 3) return quantize_l2r(pats, std::move(vals), f);
  ChainQuantResult r = empty_result(J);
  const std::size_t mid = J / 2;  // joint pair (mid−1, mid)
  for (std::size_t k = 0; k + 1 < mid; ++k) free_columns_step(pats, vals, k, f, r);
  for (std::size_t k = J - 1; k > mid; --k) free_rows_step(pats, vals, k, f, r);
  joint_pair(pats[mid - 1], vals[mid - 1], pats[mid], vals[mid], f, r.lam[mid - 1], r.mu[mid - 1], r.scales[mid - 1],
             r.scales[mid]);
  r.values = std::move(vals);
  return r;
}

inline ChainQuantResult quantize_pairwise(const std::vector<Pattern>& pats, std::vector<std::vector<double>> vals,
                                          const Format& f) {
  const std::size_t J = pats.size();
  ChainQuantResult r = empty_result(J);
  for (std::size_t k = 0; k + 1 < J; k += 2)
    joint_pair(pats[k], vals[k], pats[k + 1], vals[k + 1], f, r.lam[k], r.mu[k], r.scales[k], r.scales[k + 1]);
  if (J % 2 == 1) vals[J - 1] = rtn_values(vals[J - 1], f, r.scales[J - 1]);
  r.values = std::move(vals);
  return r;
}

}  // namespace detail

inline ChainQuantResult quantize_chain(const std::vector<Pattern>& pats, const std::vector<std::vector<double>>& vals,
                                       const Format& f, ChainMethod method) {
  check_chain(pats);
  if (vals.size() != pats.size()) throw std::invalid_argument("one value array per pattern is required");
  for (std::size_t k = 0; k < pats.size(); ++k) {
    if (std::int64_t(vals[k].size()) != pats[k].nnz())
      throw std::invalid_argument("factor " + std::to_string(k) + ": expected " + std::to_string(pats[k].nnz()) +
                                  " values for pattern " + pats[k].str());
    for (double a : vals[k])
      if (!std::isfinite(a)) throw std::invalid_argument("factor " + std::to_string(k) + " contains NaN or Inf");
  }
  switch (method) {
    case ChainMethod::l2r:
      return detail::quantize_l2r(pats, vals, f);
    case ChainMethod::r2l:
      return detail::quantize_r2l(pats, vals, f);
    case ChainMethod::pairwise:
      return detail::quantize_pairwise(pats, vals, f);
    case ChainMethod::m2m:
      return detail::quantize_m2m(pats, vals, f);
    case ChainMethod::lookahead:
      return detail::quantize_lookahead(pats, vals, f);
    case ChainMethod::rtn: {
      ChainQuantResult r = detail::empty_result(pats.size());
      for (std::size_t k = 0; k < pats.size(); ++k) r.values.push_back(detail::rtn_values(vals[k], f, r.scales[k]));
      return r;
    }
  }
  throw std::invalid_argument("unknown chain method");
}

}  // namespace scaleq
