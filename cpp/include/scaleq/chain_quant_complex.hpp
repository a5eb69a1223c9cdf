// Quantization of complex chains of Kronecker-sparse factors (the FFT's butterflies): the
// methods of chain_quant.hpp with complex rank-one steps (rank_one/complex_cells.hpp).
//
// The pair B_k, B_(k+1) splits into the blocks col_j(B_k)·row_j(B_(k+1)); with x = col_j and
// y = conj(row_j) a block is xyᴴ, the complex rank-one problem. ŷ free: x̂ = round(λx) and
// row_j becomes α·row_j, α = x̂ᴴx/‖x̂‖² (x ≈ αx̂); ŷ quantized: row_j becomes conj(ŷ).
// Bounded formats: each factor has a power-of-two scale s_k (its codes s_k·B̂_k lie in the
// format). The phase steps search |λ| in [1, 2) at the scale that puts the factor's largest
// part in the format's top binade (λx may saturate: the real sweeps round it exactly); the
// cells search Re λ + Im λ in [1, 2] two binades lower, so that |Re|, |Im| of λx (below 2√2
// times the largest part) never saturate.
// Each step is solved by the phase search of complex_phases.hpp (exact real sweeps over the
// whole format; |λ| in [1, 2) for bounded formats). With max_vertices > 0 a step whose
// arrangement has at most that many vertices is solved by the cells instead (exact on the
// grid G of complex_cells.hpp, `floor_binades` binades deep — a coarser family than the
// phases' on butterflies, measured in bench/RESULTS.md).
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scaleq/chain_quant.hpp"
#include "scaleq/chain_step.hpp"
#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/rank_one/complex_cells.hpp"
#include "scaleq/rank_one/complex_phases.hpp"

namespace scaleq {

struct ComplexChainResult {
  std::vector<std::vector<cplx>> values;  // quantized factors (the complex values they stand for)
  std::vector<double> scales;             // stored codes = values·scale, parts in the format
  std::vector<std::vector<cplx>> lam;     // per factor: λ of each column (empty when not used)
  std::vector<std::vector<cplx>> mu;      // per factor: the α pushed into each row of the next one
};

struct ComplexChainOptions {
  double max_vertices = 0.0;     // cells for steps with at most this many vertices (0: phases only)
  int floor_binades = 4;         // G's floor for the cells (complex_cells.hpp); −1: F_t t + 10, bounded: none
  std::size_t max_phases = 256;  // the phase search's budget (complex_phases.hpp)
};

namespace detail {

// pow2_scale over the parts: the largest |Re| or |Im| decides
inline double complex_pow2_scale(const std::vector<cplx>& v, const Format& f, int headroom) {
  std::vector<double> parts;
  parts.reserve(2 * v.size());
  for (const cplx& z : v) {
    parts.push_back(z.real());
    parts.push_back(z.imag());
  }
  return pow2_scale(parts, f, headroom);
}

inline std::vector<cplx> complex_rtn_values(const std::vector<cplx>& v, const Format& f, double& scale) {
  scale = complex_pow2_scale(v, f, 0);
  std::vector<cplx> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = round_complex(f, v[i] * scale) / scale;
  return out;
}

// The rank-one problems of one step (see solve_step): x_j = sx·(slice xof(j) of vx), y_j =
// conj(sy·(slice yof(j) of vy)); one OpenMP loop, results independent of the thread count.
template <class XOf, class YOf>
void complex_solve_step(std::vector<cplx>& vx, XOf xof, double sx, std::vector<cplx>& vy, YOf yof, double sy,
                        std::int64_t n, bool quantize_y, const Format& f, const ComplexChainOptions& o,
                        std::vector<cplx>& lam, std::vector<cplx>& mu) {
  lam.assign(std::size_t(n), cplx(1.0));
  mu.assign(std::size_t(n), cplx(1.0));
  ComplexRankOneOptions opt;
  opt.quantize_y = quantize_y;
  opt.max_vertices = o.max_vertices;
  opt.floor_binades = o.floor_binades;
  ComplexPhasesOptions popt;
  popt.quantize_y = quantize_y;
  popt.max_phases = o.max_phases;
  if (f.bounded) {
    opt.lo = 1.0;
    opt.hi = 2.0;
    popt.window = {1.0, 2.0};
  }
  ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 16) if (n > 16) num_threads(detail::team_size())
  for (std::int64_t j = 0; j < n; ++j) {
    capture.run(j, [&] {
      poll_interrupt();
      const Slice xs = xof(j), ys = yof(j);
      std::vector<cplx> x(xs.len), y(quantize_y ? ys.len : 1, cplx(1.0));
      for (std::size_t i = 0; i < xs.len; ++i) x[i] = vx[xs.off + i * xs.step] * sx;
      if (quantize_y)
        for (std::size_t i = 0; i < ys.len; ++i) y[i] = std::conj(vy[ys.off + i * ys.step] * sy);
      bool any = false;
      for (const cplx& z : x) any = any || z != 0.0;
      if (!any) {  // a zero column: its block is zero, nothing to push
        if (quantize_y)
          for (std::size_t i = 0; i < ys.len; ++i) vy[ys.off + i * ys.step] = round_complex(f, y[i]) / sy;
        return;
      }
      const ComplexRankOneResult r = o.max_vertices > 0.0 ? complex_rank_one_auto(x, y, f, f, opt, popt)
                                                          : complex_rank_one_phases(x, y, f, f, popt);
      lam[std::size_t(j)] = r.lam;
      for (std::size_t i = 0; i < xs.len; ++i) vx[xs.off + i * xs.step] = r.x[i] / sx;
      if (quantize_y) {
        mu[std::size_t(j)] = r.mu;
        for (std::size_t i = 0; i < ys.len; ++i) vy[ys.off + i * ys.step] = std::conj(r.y[i]) / sy;
      } else {
        const cplx alpha = std::conj(r.mu);
        mu[std::size_t(j)] = alpha;
        for (std::size_t i = 0; i < ys.len; ++i) vy[ys.off + i * ys.step] *= alpha;
      }
    });
  }
  capture.rethrow();
}

struct ComplexChain {
  const std::vector<Pattern>& pats;
  std::vector<std::vector<cplx>> vals;
  const Format& f;
  const ComplexChainOptions& o;
  ComplexChainResult r;

  ComplexChain(const std::vector<Pattern>& p, std::vector<std::vector<cplx>> v, const Format& fmt,
               const ComplexChainOptions& opt)
      : pats(p), vals(std::move(v)), f(fmt), o(opt) {
    r.scales.assign(pats.size(), 1.0);
    r.lam.assign(pats.size(), {});
    r.mu.assign(pats.size(), {});
  }
  // the phase steps round with saturation exactly, so the top binade is theirs (measured better
  // than headroom on fp4/fp8); the cells' band needs two binades below it
  double scale(std::size_t k) { return r.scales[k] = complex_pow2_scale(vals[k], f, o.max_vertices > 0.0 ? 2 : 0); }
  // ŷ free on the columns of factor k, α pushed into the rows of k+1 (Algorithm 2's step)
  void columns(std::size_t k) {
    const double s = scale(k);
    complex_solve_step(
        vals[k], [&](std::int64_t j) { return column_slice(pats[k], j); }, s, vals[k + 1],
        [&](std::int64_t j) { return row_slice(pats[k + 1], j); }, 1.0, pats[k].cols(), false, f, o, r.lam[k], r.mu[k]);
  }
  // its mirror: the rows of factor k, α pushed into the columns of k−1
  void rows(std::size_t k) {
    const double s = scale(k);
    complex_solve_step(
        vals[k], [&](std::int64_t i) { return row_slice(pats[k], i); }, s, vals[k - 1],
        [&](std::int64_t i) { return column_slice(pats[k - 1], i); }, 1.0, pats[k].rows(), false, f, o, r.lam[k],
        r.mu[k]);
  }
  // the pair (k, k+1) with both sides quantized
  void joint(std::size_t k) {
    const double sl = scale(k), sr = scale(k + 1);
    complex_solve_step(
        vals[k], [&](std::int64_t j) { return column_slice(pats[k], j); }, sl, vals[k + 1],
        [&](std::int64_t j) { return row_slice(pats[k + 1], j); }, sr, pats[k].cols(), true, f, o, r.lam[k], r.mu[k]);
  }
  void round_factor(std::size_t k) { vals[k] = complex_rtn_values(vals[k], f, r.scales[k]); }
  ComplexChainResult done() {
    r.values = std::move(vals);
    return std::move(r);
  }
};

inline ComplexChainResult complex_l2r(const std::vector<Pattern>& pats, std::vector<std::vector<cplx>> vals,
                                      const Format& f, const ComplexChainOptions& o) {
  ComplexChain c(pats, std::move(vals), f, o);
  const std::size_t J = pats.size();
  if (J == 1) {
    c.round_factor(0);
    return c.done();
  }
  for (std::size_t k = 0; k + 2 < J; ++k) c.columns(k);
  c.joint(J - 2);
  return c.done();
}

}  // namespace detail

// method: rtn, l2r, r2l, pairwise or m2m (as quantize_chain; lookahead is real-only).
inline ComplexChainResult quantize_chain_complex(const std::vector<Pattern>& pats,
                                                 const std::vector<std::vector<cplx>>& vals, const Format& f,
                                                 ChainMethod method, const ComplexChainOptions& o = {}) {
  check_chain(pats);
  if (vals.size() != pats.size()) throw std::invalid_argument("one value array per pattern is required");
  for (std::size_t k = 0; k < pats.size(); ++k) {
    if (std::int64_t(vals[k].size()) != pats[k].nnz())
      throw std::invalid_argument("factor " + std::to_string(k) + ": expected " + std::to_string(pats[k].nnz()) +
                                  " values for pattern " + pats[k].str());
    for (const cplx& a : vals[k])
      if (!std::isfinite(a.real()) || !std::isfinite(a.imag()))
        throw std::invalid_argument("factor " + std::to_string(k) + " contains NaN or Inf (real or imaginary part)");
  }
  const std::size_t J = pats.size();
  switch (method) {
    case ChainMethod::rtn: {
      detail::ComplexChain c(pats, vals, f, o);
      for (std::size_t k = 0; k < J; ++k) c.round_factor(k);
      return c.done();
    }
    case ChainMethod::l2r:
      return detail::complex_l2r(pats, vals, f, o);
    case ChainMethod::r2l: {  // the mirror of l2r: rows from the right, α pushed left
      detail::ComplexChain c(pats, vals, f, o);
      if (J == 1) {
        c.round_factor(0);
        return c.done();
      }
      for (std::size_t k = J - 1; k >= 2; --k) c.rows(k);
      c.joint(0);
      return c.done();
    }
    case ChainMethod::pairwise: {
      detail::ComplexChain c(pats, vals, f, o);
      for (std::size_t k = 0; k + 1 < J; k += 2) c.joint(k);
      if (J % 2 == 1) c.round_factor(J - 1);
      return c.done();
    }
    case ChainMethod::m2m: {
      if (J < 3) return detail::complex_l2r(pats, vals, f, o);
      detail::ComplexChain c(pats, vals, f, o);
      const std::size_t mid = J / 2;
      for (std::size_t k = 0; k + 1 < mid; ++k) c.columns(k);
      for (std::size_t k = J - 1; k > mid; --k) c.rows(k);
      c.joint(mid - 1);
      return c.done();
    }
    case ChainMethod::lookahead:
      break;
  }
  throw std::invalid_argument("method 'lookahead' is real-only; complex chains take rtn, l2r, r2l, pairwise or m2m");
}

}  // namespace scaleq
