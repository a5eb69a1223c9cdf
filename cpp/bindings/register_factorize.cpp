// Butterfly factorization of real matrices, and the pattern algebra it needs.
#include "factorize_binding.hpp"

void register_factorize(py::module_& m) {
  m.def("butterfly_factorize_real", &factorize_binding::factorize<double>, py::arg("M"), py::arg("patterns"),
        py::arg("order"), py::arg("perm") = std::vector<std::int64_t>{},
        "Hierarchical factorization of a real matrix into Kronecker-sparse factors.");
  m.def(
      "pattern_product",
      [](const std::array<std::int64_t, 4>& p, const std::array<std::int64_t, 4>& q) {
        const scaleq::Pattern r = scaleq::pattern_product({p[0], p[1], p[2], p[3]}, {q[0], q[1], q[2], q[3]});
        return std::array<std::int64_t, 4>{r.a, r.b, r.c, r.d};
      },
      py::arg("p"), py::arg("q"));
}
