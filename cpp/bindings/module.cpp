// scaleq._core: one register_<header>() per header of cpp/include/scaleq/.
#include <pybind11/pybind11.h>

#include "scaleq/detail/parallel.hpp"

namespace py = pybind11;

namespace {

// Asked by the library's loops (from the calling thread, at most every 50 ms) whether to
// stop. A pending KeyboardInterrupt (or whatever a SIGINT handler raised) stays set on this
// thread and is what the translator below lets Python see.
bool python_signals_pending() {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

}  // namespace

void register_format(py::module_& m);
void register_rank_one(py::module_& m);
void register_rank_one_small(py::module_& m);
void register_factorize(py::module_& m);
void register_factorize_complex(py::module_& m);
void register_kron_sparse(py::module_& m);
void register_chain_quant(py::module_& m);
void register_frames(py::module_& m);
void register_sigma_delta(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "scaleq C++ core (header-only library bound with pybind11)";
  scaleq::set_interrupt_hook(&python_signals_pending);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const scaleq::interrupted&) {
      if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });
  register_format(m);
  register_rank_one(m);
  register_rank_one_small(m);
  register_factorize(m);
  register_factorize_complex(m);
  register_kron_sparse(m);
  register_chain_quant(m);
  register_frames(m);
  register_sigma_delta(m);
  // threads a parallel region of scaleq starts now (load-aware), and OpenMP's maximum
  m.def(
      "team_size", [] { return scaleq::detail::team_size(); },
      "Threads a parallel region starts now: OMP_NUM_THREADS, less cores held by other processes.");
  m.def("max_threads", [] { return scaleq::detail::omp_max_threads(); }, "omp_get_max_threads().");
#ifdef _OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
}
