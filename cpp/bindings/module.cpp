// scaleq._core: one register_<header>() per header of cpp/include/scaleq/.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_format(py::module_& m);
void register_rank_one(py::module_& m);
void register_rank_one_small(py::module_& m);
void register_factorize(py::module_& m);
void register_kron_sparse(py::module_& m);
void register_chain_quant(py::module_& m);
void register_frames(py::module_& m);
void register_sigma_delta(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "scaleq C++ core (header-only library bound with pybind11)";
  register_format(m);
  register_rank_one(m);
  register_rank_one_small(m);
  register_factorize(m);
  register_kron_sparse(m);
  register_chain_quant(m);
  register_frames(m);
  register_sigma_delta(m);
#ifdef _OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
}
