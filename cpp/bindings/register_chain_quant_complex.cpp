#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <complex>

#include "common.hpp"
#include "scaleq/chain_quant_complex.hpp"

using scaleq::ChainMethod;
using scaleq::cplx;
using scaleq::Pattern;

namespace {

constexpr Choice<ChainMethod> complex_chain_methods[] = {{"rtn", ChainMethod::rtn},
                                                         {"l2r", ChainMethod::l2r},
                                                         {"r2l", ChainMethod::r2l},
                                                         {"pairwise", ChainMethod::pairwise},
                                                         {"m2m", ChainMethod::m2m}};

struct ComplexChainSolution {
  py::list values, lam, mu;
  std::vector<double> scales;
};

}  // namespace

void register_chain_quant_complex(py::module_& m) {
  py::class_<ComplexChainSolution>(m, "ComplexChainSolution",
                                   "A quantized complex chain (C++ scaleq::ComplexChainResult).")
      .def_readonly("values", &ComplexChainSolution::values, "each factor's values, shape (a, b, c, d)")
      .def_readonly("scales", &ComplexChainSolution::scales, "each factor's power-of-two scale s_k")
      .def_readonly("lam", &ComplexChainSolution::lam, "each factor's column scalings lambda")
      .def_readonly("mu", &ComplexChainSolution::mu, "each factor's alpha pushed into the next factor");
  m.def(
      "quantize_chain_complex",
      [](const std::vector<Arr<cplx>>& factors, const scaleq::Format& f, const std::string& method, int floor_binades,
         double max_vertices, std::size_t max_phases) {
        std::vector<Pattern> pats;
        std::vector<std::vector<cplx>> vals;
        for (const auto& factor : ks_chain(factors)) {
          pats.push_back(factor.p);
          vals.emplace_back(factor.v, factor.v + factor.p.nnz());
        }
        const ChainMethod cm = parse_choice(method, "method", complex_chain_methods);
        scaleq::ComplexChainOptions o;
        o.floor_binades = floor_binades;
        o.max_vertices = max_vertices;
        o.max_phases = max_phases;
        scaleq::ComplexChainResult r;
        {
          LongCall call;
          r = scaleq::quantize_chain_complex(pats, vals, f, cm, o);
        }
        ComplexChainSolution out;
        for (std::size_t k = 0; k < pats.size(); ++k) {
          py::array_t<cplx> v({pats[k].a, pats[k].b, pats[k].c, pats[k].d});
          std::copy(r.values[k].begin(), r.values[k].end(), v.mutable_data());
          out.values.append(v);
          out.lam.append(from_complex_vector(r.lam[k]));
          out.mu.append(from_complex_vector(r.mu[k]));
        }
        out.scales = r.scales;
        return out;
      },
      py::arg("factors"), py::arg("fmt"), py::arg("method"), py::arg("floor_binades") = 4,
      py::arg("max_vertices") = scaleq::ComplexChainOptions{}.max_vertices,
      py::arg("max_phases") = scaleq::ComplexChainOptions{}.max_phases,
      "Quantize a complex chain of Kronecker-sparse factors: each step by the exact cells when "
      "their arrangement has at most max_vertices vertices, else by the phase search.");
}
