#include <pybind11/stl.h>

#include "common.hpp"
#include "scaleq/chain_quant.hpp"

using scaleq::ChainMethod;
using scaleq::Format;
using scaleq::Pattern;

namespace {

constexpr Choice<ChainMethod> chain_methods[] = {{"rtn", ChainMethod::rtn}, {"l2r", ChainMethod::l2r},
                                                 {"r2l", ChainMethod::r2l}, {"pairwise", ChainMethod::pairwise},
                                                 {"m2m", ChainMethod::m2m}, {"lookahead", ChainMethod::lookahead}};

// The quantized chain as scaleq.butterfly reads it: each factor's values (shape (a, b, c, d)),
// its power-of-two scale, and the λ and μ of its columns.
struct ChainSolution {
  py::list values, lam, mu;
  std::vector<double> scales;
};

}  // namespace

void register_chain_quant(py::module_& m) {
  py::class_<ChainSolution>(m, "ChainSolution", "A quantized chain (C++ scaleq::ChainQuantResult).")
      .def_readonly("values", &ChainSolution::values, "each factor's values, shape (a, b, c, d)")
      .def_readonly("scales", &ChainSolution::scales, "each factor's power-of-two scale s_k")
      .def_readonly("lam", &ChainSolution::lam, "each factor's column scalings lambda")
      .def_readonly("mu", &ChainSolution::mu, "each factor's row scalings mu");
  m.def(
      "quantize_chain",
      [](const std::vector<Arr<double>>& factors, const Format& f, const std::string& method) {
        std::vector<Pattern> pats;
        std::vector<std::vector<double>> vals;
        for (const auto& factor : ks_chain(factors)) {
          pats.push_back(factor.p);
          vals.emplace_back(factor.v, factor.v + factor.p.nnz());
        }
        const ChainMethod cm = parse_choice(method, "method", chain_methods);
        scaleq::ChainQuantResult r;
        {
          LongCall call;
          r = scaleq::quantize_chain(pats, vals, f, cm);
        }
        ChainSolution out;
        for (std::size_t k = 0; k < pats.size(); ++k) {
          py::array_t<double> v({pats[k].a, pats[k].b, pats[k].c, pats[k].d});
          std::copy(r.values[k].begin(), r.values[k].end(), v.mutable_data());
          out.values.append(v);
          out.lam.append(from_vector(r.lam[k]));
          out.mu.append(from_vector(r.mu[k]));
        }
        out.scales = r.scales;
        return out;
      },
      py::arg("factors"), py::arg("fmt"), py::arg("method"), "Quantize a chain of Kronecker-sparse factors.");
}
