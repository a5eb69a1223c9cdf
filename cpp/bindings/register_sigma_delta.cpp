#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "common.hpp"
#include "frame_method.hpp"
#include "scaleq/sigma_delta.hpp"

namespace {

using CodeArray = py::array_t<std::int8_t>;

// Codes (same shape as c) and max_k |u_k| per column.
py::tuple sigma_delta(const DArray& c, double step, int levels, int order, std::optional<IArray> perm) {
  if (c.ndim() < 1 || c.ndim() > 2 || c.shape(0) < 1)
    throw std::invalid_argument("c must be (N,) or (N, k) with N >= 1");
  const std::int64_t N = c.shape(0), m = c.ndim() == 2 ? c.shape(1) : 1;
  const std::int64_t* p = perm_ptr(perm, N);
  scaleq::check_finite(c.data(), N * m, "c");
  CodeArray codes = c.ndim() == 2 ? CodeArray({N, m}) : CodeArray(N);
  DArray umax(m);
  std::int8_t* q = codes.mutable_data();
  double* u = umax.mutable_data();
  {
    LongCall call;
    scaleq::sigma_delta(c.data(), N, m, p, {step, levels, order}, q, u);
  }
  return py::make_tuple(codes, umax);
}

// A frame quantization as scaleq.frames reads it.
struct FrameSolution {
  CodeArray codes;    // (N, k) int8 codes 2n+1
  DArray umax;        // max_k |u_k| per column
  double step, cmax;  // the step used (per-column steps: the largest), max|coefficient|
  py::object recon;   // (d, k) reconstruction, or None
  py::object steps;   // (k,) per-column steps, or None
};

FrameSolution frame_sigma_delta(const DArray& W, std::int64_t N, double step, int levels, int order,
                                std::optional<IArray> perm, bool reconstruct, const std::string& method,
                                std::optional<DArray> col_steps) {
  if (W.ndim() != 2 || W.shape(0) < 1) throw std::invalid_argument("W must be a 2-D (d, k) array with d >= 1");
  const std::int64_t d = W.shape(0), m = W.shape(1);
  const std::int64_t* p = perm_ptr(perm, N);
  // NaN/Inf in W: frame_sigma_delta checks each block as it gathers it (no extra pass over W)
  scaleq::HarmonicFrame F(d, N, parse_frame_method(method));
  CodeArray codes({N, m});
  DArray umax(m);
  py::object recon = py::none();
  double* rec = nullptr;
  if (reconstruct) {
    DArray r({d, m});
    rec = r.mutable_data();
    recon = r;
  }
  py::object steps = py::none();
  double* cs = nullptr;
  if (col_steps) {
    if (col_steps->ndim() != 1 || col_steps->shape(0) != m)
      throw std::invalid_argument("col_steps must have shape (" + std::to_string(m) + ",), one step per column");
    DArray s(m);
    std::copy(col_steps->data(), col_steps->data() + m, s.mutable_data());
    cs = s.mutable_data();
    steps = s;
  }
  std::int8_t* q = codes.mutable_data();
  double* u = umax.mutable_data();
  scaleq::FrameSigmaDelta r;
  {
    LongCall call;
    r = scaleq::frame_sigma_delta(F, W.data(), m, step, levels, order, p, q, u, rec, cs);
  }
  return FrameSolution{codes, umax, r.step, r.cmax, recon, steps};
}

}  // namespace

void register_sigma_delta(py::module_& m) {
  py::class_<FrameSolution>(m, "FrameSolution", "A harmonic-frame Sigma-Delta quantization of the columns of W.")
      .def_readonly("codes", &FrameSolution::codes, "(N, k) int8 codes 2n+1; value = code*step/2")
      .def_readonly("umax", &FrameSolution::umax, "max_k |u_k| per column")
      .def_readonly("step", &FrameSolution::step, "the step used")
      .def_readonly("cmax", &FrameSolution::cmax, "max |coefficient|")
      .def_readonly("recon", &FrameSolution::recon, "(d, k) reconstruction, or None")
      .def_readonly("steps", &FrameSolution::steps, "(k,) per-column steps, or None");
  m.def("sigma_delta", &sigma_delta, py::arg("c"), py::arg("step"), py::arg("levels") = 1, py::arg("order") = 1,
        py::arg("perm") = py::none(), "ΣΔ down axis 0 of c: (int8 codes 2n+1, q = code·step/2; max|u_k| per column).");
  m.def("frame_sigma_delta", &frame_sigma_delta, py::arg("W"), py::arg("N"), py::arg("step"), py::arg("levels") = 1,
        py::arg("order") = 1, py::arg("perm") = py::none(), py::arg("reconstruct") = true, py::arg("method") = "auto",
        py::arg("col_steps") = py::none(),
        "Harmonic-frame ΣΔ quantization of the columns of W (step <= 0: smallest stable step; col_steps: one "
        "step per column, entries <= 0 chosen per column).");
  m.def("smallest_stable_step", &scaleq::smallest_stable_step, py::arg("cmax"), py::arg("levels"), py::arg("order"),
        "Smallest step with cmax <= (levels - 1/2)·step (order 1) or (levels - 3/2)·step (order 2).");
  m.def("smallest_stable_levels", &scaleq::smallest_stable_levels, py::arg("cmax"), py::arg("step"), py::arg("order"),
        "Fewest levels with cmax <= (levels - 1/2)·step (order 1) or (levels - 3/2)·step (order 2); at most 64.");
}
