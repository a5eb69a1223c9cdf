// Butterfly factorization of complex matrices (its own unit: see factorize_binding.hpp).
#include "factorize_binding.hpp"

void register_factorize_complex(py::module_& m) {
  m.def("butterfly_factorize_complex", &factorize_binding::factorize<std::complex<double>>, py::arg("M"),
        py::arg("patterns"), py::arg("order"), py::arg("perm") = std::vector<std::int64_t>{},
        "Hierarchical factorization of a complex matrix into Kronecker-sparse factors.");
}
