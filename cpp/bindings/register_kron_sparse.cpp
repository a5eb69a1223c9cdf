#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <complex>

#include "common.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/kron_sparse_error.hpp"
#include "scaleq/kron_sparse_error_dyadic.hpp"

namespace {

template <class Scalar>
Arr<Scalar> apply(const std::vector<Arr<Scalar>>& factors, const Arr<Scalar>& X) {
  const auto chain = ks_chain(factors);
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

template <class Scalar>
double rel_error(const std::vector<Arr<Scalar>>& A, const std::vector<Arr<Scalar>>& B, std::int64_t block) {
  const auto ca = ks_chain(A), cb = ks_chain(B);
  LongCall call;
  return scaleq::chain_relative_error(ca, cb, block);
}

template <class Scalar>
double rel_error_dyadic(const std::vector<Arr<Scalar>>& A, const std::vector<Arr<Scalar>>& B) {
  const std::size_t J = A.size();
  if (J < 2 || B.size() != J) throw std::invalid_argument("A and B must be chains of the same J >= 2 factors");
  const std::int64_t n = std::int64_t(1) << J;
  std::vector<const Scalar*> va, vb;
  for (std::size_t l = 0; l < J; ++l) {
    const std::vector<py::ssize_t> want{py::ssize_t(1) << l, 2, 2, py::ssize_t(n >> (l + 1))};
    for (const Arr<Scalar>* f : {&A[l], &B[l]})
      if (f->ndim() != 4 || std::vector<py::ssize_t>(f->shape(), f->shape() + 4) != want)
        throw std::invalid_argument("factor " + std::to_string(l) +
                                    " is not square-dyadic for n = " + std::to_string(n));
    va.push_back(A[l].data());
    vb.push_back(B[l].data());
  }
  LongCall call;
  return scaleq::chain_relative_error_dyadic(va, vb, n);
}

}  // namespace

void register_kron_sparse(py::module_& m) {
  m.def("ks_apply_real", &apply<double>, py::arg("factors"), py::arg("X"), "B_1⋯B_J @ X for real factors.");
  m.def("ks_apply_complex", &apply<std::complex<double>>, py::arg("factors"), py::arg("X"),
        "B_1⋯B_J @ X for complex factors.");
  m.def("chain_relative_error_real", &rel_error<double>, py::arg("A"), py::arg("B"), py::arg("block") = 32);
  m.def("chain_relative_error_complex", &rel_error<std::complex<double>>, py::arg("A"), py::arg("B"),
        py::arg("block") = 32);
  m.def("chain_relative_error_dyadic_real", &rel_error_dyadic<double>, py::arg("A"), py::arg("B"),
        "Exact ||A - B||_F / ||A||_F of two square-dyadic butterfly chains (values (2^l, 2, 2, n/2^(l+1))), "
        "O(n^1.5) by the middle split.");
  m.def("chain_relative_error_dyadic_complex", &rel_error_dyadic<std::complex<double>>, py::arg("A"), py::arg("B"),
        "Exact ||A - B||_F / ||A||_F of two complex square-dyadic butterfly chains, O(n^1.5).");
}
