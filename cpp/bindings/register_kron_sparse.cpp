#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <array>
#include <complex>

#include "common.hpp"
#include "scaleq/kron_sparse.hpp"

using scaleq::KSFactor;
using scaleq::Pattern;

namespace {

template <class Scalar>
using Arr = py::array_t<Scalar, py::array::c_style | py::array::forcecast>;

// Factors arrive as (a, b, c, d) arrays; the pattern is read off the shape.
template <class Scalar>
std::vector<KSFactor<Scalar>> to_chain(const std::vector<Arr<Scalar>>& factors) {
  std::vector<KSFactor<Scalar>> chain;
  for (std::size_t k = 0; k < factors.size(); ++k) {
    const auto& f = factors[k];
    if (f.ndim() != 4)
      throw std::invalid_argument("factor " + std::to_string(k) + " must have 4 dimensions (a, b, c, d)");
    chain.push_back({{f.shape(0), f.shape(1), f.shape(2), f.shape(3)}, f.data()});
  }
  std::vector<Pattern> pats;
  for (const auto& c : chain) pats.push_back(c.p);
  scaleq::check_chain(pats);
  return chain;
}

template <class Scalar>
Arr<Scalar> apply(const std::vector<Arr<Scalar>>& factors, const Arr<Scalar>& X) {
  const auto chain = to_chain(factors);
  const std::int64_t n = chain.back().p.cols();
  if (X.ndim() < 1 || X.ndim() > 2 || X.shape(0) != n)
    throw std::invalid_argument("X must have shape (" + std::to_string(n) + ",) or (" + std::to_string(n) + ", k)");
  const std::int64_t k = X.ndim() == 2 ? X.shape(1) : 1;
  std::vector<Scalar> y;
  {
    LongCall call;
    y = scaleq::ks_apply_chain(chain, X.data(), k);
  }
  const std::int64_t m = chain.front().p.rows();
  Arr<Scalar> out = X.ndim() == 2 ? Arr<Scalar>({m, k}) : Arr<Scalar>(m);
  std::copy(y.begin(), y.end(), out.mutable_data());
  return out;
}

}  // namespace

void register_kron_sparse(py::module_& m) {
  m.def("ks_apply_real", &apply<double>, py::arg("factors"), py::arg("X"), "B_1⋯B_J @ X for real factors.");
  m.def("ks_apply_complex", &apply<std::complex<double>>, py::arg("factors"), py::arg("X"),
        "B_1⋯B_J @ X for complex factors.");
}
