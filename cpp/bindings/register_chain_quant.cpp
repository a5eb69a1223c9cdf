#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <complex>

#include "common.hpp"
#include "scaleq/chain_quant.hpp"
#include "scaleq/kron_sparse_error.hpp"

using scaleq::ChainMethod;
using scaleq::Format;
using scaleq::KSFactor;
using scaleq::Pattern;

namespace {

template <class Scalar>
using Arr = py::array_t<Scalar, py::array::c_style | py::array::forcecast>;

ChainMethod to_method(const std::string& s) {
  if (s == "rtn") return ChainMethod::rtn;
  if (s == "l2r") return ChainMethod::l2r;
  if (s == "r2l") return ChainMethod::r2l;
  if (s == "pairwise") return ChainMethod::pairwise;
  if (s == "m2m") return ChainMethod::m2m;
  if (s == "lookahead") return ChainMethod::lookahead;
  throw std::invalid_argument("method must be 'rtn', 'l2r', 'r2l', 'pairwise', 'm2m' or 'lookahead', got '" + s + "'");
}

template <class Scalar>
std::vector<KSFactor<Scalar>> chain_of(const std::vector<Arr<Scalar>>& fs) {
  std::vector<KSFactor<Scalar>> c;
  for (std::size_t k = 0; k < fs.size(); ++k) {
    if (fs[k].ndim() != 4) throw std::invalid_argument("factor " + std::to_string(k) + " must be 4-D (a, b, c, d)");
    c.push_back({{fs[k].shape(0), fs[k].shape(1), fs[k].shape(2), fs[k].shape(3)}, fs[k].data()});
  }
  std::vector<Pattern> pats;
  for (const auto& f : c) pats.push_back(f.p);
  scaleq::check_chain(pats);
  return c;
}

template <class Scalar>
double rel_error(const std::vector<Arr<Scalar>>& A, const std::vector<Arr<Scalar>>& B, std::int64_t block) {
  const auto ca = chain_of(A), cb = chain_of(B);
  LongCall call;
  return scaleq::chain_relative_error(ca, cb, block);
}

}  // namespace

void register_chain_quant(py::module_& m) {
  m.def(
      "quantize_chain",
      [](const std::vector<Arr<double>>& factors, const Format& f, const std::string& method) {
        std::vector<Pattern> pats;
        std::vector<std::vector<double>> vals;
        for (std::size_t k = 0; k < factors.size(); ++k) {
          const auto& a = factors[k];
          if (a.ndim() != 4) throw std::invalid_argument("factor " + std::to_string(k) + " must be 4-D (a, b, c, d)");
          pats.push_back({a.shape(0), a.shape(1), a.shape(2), a.shape(3)});
          vals.emplace_back(a.data(), a.data() + a.size());
        }
        const ChainMethod cm = to_method(method);
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
  m.def("chain_relative_error_real", &rel_error<double>, py::arg("A"), py::arg("B"), py::arg("block") = 32);
  m.def("chain_relative_error_complex", &rel_error<std::complex<double>>, py::arg("A"), py::arg("B"),
        py::arg("block") = 32);
}
