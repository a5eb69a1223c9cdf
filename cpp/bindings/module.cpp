// scaleq._core: one submodule per concept, each filled by its register_<concept>() (the
// layout of boost-histogram's src/module.cpp):
//   _core.format       Format, Overflow, round_array, unit_roundoff
//   _core.rank_one     rank_one_sweep, rank_one_reference, rank_one_small, rank_one_batch,
//                      rank_one_relative_error, complex_rank_one
//   _core.kron_sparse  ks_apply_real/complex, chain_relative_error[_dyadic]_real/complex
//   _core.chain_quant  quantize_chain, quantize_chain_complex
//   _core.factorize    butterfly_factorize_real/complex, pattern_product
//   _core.frames       harmonic_frame, frame_variation, frame_analysis, frame_synthesis
//   _core.sigma_delta  sigma_delta, frame_sigma_delta, smallest_stable_step
//   _core.block_scale  quantize_blocks
//   _core.runtime      team_size, max_threads, openmp
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

// m.<name>, also entered in sys.modules under its dotted name ("scaleq._core.format"), which
// is its classes' __module__: pickle imports that name to find Format and Overflow again, and
// `import scaleq._core.format` works.
py::module_ submodule(py::module_& m, const char* name, const char* doc) {
  py::module_ sub = m.def_submodule(name, doc);
  py::module_::import("sys").attr("modules")[sub.attr("__name__")] = sub;
  return sub;
}

void register_runtime(py::module_& m) {
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

}  // namespace

void register_format(py::module_& m);
void register_rank_one(py::module_& m);
void register_rank_one_small(py::module_& m);
void register_rank_one_complex(py::module_& m);
void register_factorize(py::module_& m);
void register_factorize_complex(py::module_& m);
void register_kron_sparse(py::module_& m);
void register_chain_quant(py::module_& m);
void register_chain_quant_complex(py::module_& m);
void register_frames(py::module_& m);
void register_sigma_delta(py::module_& m);
void register_block_scale(py::module_& m);

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
  py::module_ format = submodule(m, "format", "Floating-point formats and round to nearest.");
  register_format(format);
  py::module_ rank_one = submodule(m, "rank_one", "Optimal rank-one quantization.");
  register_rank_one(rank_one);
  register_rank_one_small(rank_one);
  register_rank_one_complex(rank_one);
  py::module_ kron_sparse = submodule(m, "kron_sparse", "Chains of Kronecker-sparse factors: products and errors.");
  register_kron_sparse(kron_sparse);
  py::module_ chain_quant = submodule(m, "chain_quant", "Quantization of Kronecker-sparse chains.");
  register_chain_quant(chain_quant);
  register_chain_quant_complex(chain_quant);
  py::module_ factorize = submodule(m, "factorize", "Butterfly factorization and the pattern algebra it needs.");
  register_factorize(factorize);
  register_factorize_complex(factorize);
  py::module_ frames = submodule(m, "frames", "Harmonic frames: the frame, its variation, analysis and synthesis.");
  register_frames(frames);
  py::module_ sigma_delta = submodule(m, "sigma_delta", "Sigma-Delta quantization of frame coefficients.");
  register_sigma_delta(sigma_delta);
  py::module_ block_scale = submodule(m, "block_scale", "Block-scaled formats: optimal scales per block.");
  register_block_scale(block_scale);
  py::module_ runtime = submodule(m, "runtime", "Threads and OpenMP: what the build and the machine give.");
  register_runtime(runtime);
}
