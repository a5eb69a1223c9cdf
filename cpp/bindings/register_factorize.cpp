#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <array>
#include <complex>

#include "common.hpp"
#include "scaleq/factorize.hpp"

using scaleq::FactorOrder;
using scaleq::Pattern;

namespace {

std::vector<Pattern> to_patterns(const std::vector<std::array<std::int64_t, 4>>& ps) {
  std::vector<Pattern> out;
  for (const auto& p : ps) out.push_back({p[0], p[1], p[2], p[3]});
  return out;
}

FactorOrder to_order(const std::string& s) {
  if (s == "l2r") return FactorOrder::left_to_right;
  if (s == "r2l") return FactorOrder::right_to_left;
  if (s == "balanced") return FactorOrder::balanced;
  throw std::invalid_argument("order must be 'balanced', 'l2r' or 'r2l', got '" + s + "'");
}

template <class Scalar>
py::list factorize(const py::array_t<Scalar, py::array::c_style | py::array::forcecast>& M,
                   const std::vector<std::array<std::int64_t, 4>>& patterns, const std::string& order,
                   const std::vector<std::int64_t>& perm) {
  if (M.ndim() != 2) throw std::invalid_argument("M must be 2-D");
  const std::vector<Pattern> pats = to_patterns(patterns);
  const FactorOrder ord = to_order(order);
  std::vector<std::vector<Scalar>> vals;
  {
    LongCall call;
    vals = scaleq::butterfly_factorize<Scalar>(M.data(), M.shape(0), M.shape(1), pats, ord, perm);
  }
  py::list out;
  for (std::size_t k = 0; k < pats.size(); ++k) {
    const Pattern& p = pats[k];
    py::array_t<Scalar> a({p.a, p.b, p.c, p.d});
    std::copy(vals[k].begin(), vals[k].end(), a.mutable_data());
    out.append(a);
  }
  return out;
}

}  // namespace

void register_factorize(py::module_& m) {
  m.def("butterfly_factorize_real", &factorize<double>, py::arg("M"), py::arg("patterns"), py::arg("order"),
        py::arg("perm") = std::vector<std::int64_t>{}, "Hierarchical factorization of a real matrix into Kronecker-sparse factors.");
  m.def("butterfly_factorize_complex", &factorize<std::complex<double>>, py::arg("M"), py::arg("patterns"),
        py::arg("order"), py::arg("perm") = std::vector<std::int64_t>{}, "Hierarchical factorization of a complex matrix into Kronecker-sparse factors.");
  m.def(
      "pattern_product",
      [](const std::array<std::int64_t, 4>& p, const std::array<std::int64_t, 4>& q) {
        const Pattern r = scaleq::pattern_product({p[0], p[1], p[2], p[3]}, {q[0], q[1], q[2], q[3]});
        return std::array<std::int64_t, 4>{r.a, r.b, r.c, r.d};
      },
      py::arg("p"), py::arg("q"));
}
