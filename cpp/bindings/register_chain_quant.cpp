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

}  // namespace

void register_chain_quant(py::module_& m) {
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
        py::list values, lam, mu;
        for (std::size_t k = 0; k < pats.size(); ++k) {
          py::array_t<double> v({pats[k].a, pats[k].b, pats[k].c, pats[k].d});
          std::copy(r.values[k].begin(), r.values[k].end(), v.mutable_data());
          values.append(v);
          lam.append(from_vector(r.lam[k]));
          mu.append(from_vector(r.mu[k]));
        }
        py::dict d;
        d["values"] = values;
        d["scales"] = r.scales;
        d["lam"] = lam;
        d["mu"] = mu;
        return d;
      },
      py::arg("factors"), py::arg("fmt"), py::arg("method"), "Quantize a chain of Kronecker-sparse factors.");
}
