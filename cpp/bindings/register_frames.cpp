#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "common.hpp"
#include "frame_method.hpp"
#include "scaleq/frames.hpp"

namespace {

// (rows,) or (rows, m) → m; anything else is an error naming the argument.
std::int64_t columns_of(const DArray& a, std::int64_t rows, const char* name, const char* rows_name) {
  if ((a.ndim() != 1 && a.ndim() != 2) || a.shape(0) != rows)
    throw std::invalid_argument(std::string(name) + " must have shape (" + rows_name + ",) or (" + rows_name +
                                ", k) with " + rows_name + " = " + std::to_string(rows));
  return a.ndim() == 2 ? a.shape(1) : 1;
}

DArray like(const DArray& a, std::int64_t rows, std::int64_t m) {
  return a.ndim() == 2 ? DArray({rows, m}) : DArray(rows);
}

DArray frame(std::int64_t d, std::int64_t N) {
  std::vector<double> e;
  {
    LongCall call;
    e = scaleq::harmonic_frame(d, N);
  }
  DArray out({d, N});
  std::copy(e.begin(), e.end(), out.mutable_data());
  return out;
}

double variation(std::int64_t d, std::int64_t N, std::optional<IArray> perm) {
  return scaleq::frame_variation(d, N, perm_ptr(perm, N));
}

DArray analysis(const DArray& W, std::int64_t N, const std::string& method) {
  if (W.ndim() < 1 || W.ndim() > 2 || W.shape(0) < 1)
    throw std::invalid_argument("W must be (d,) or (d, k) with d >= 1");
  const std::int64_t d = W.shape(0), m = columns_of(W, d, "W", "d");
  scaleq::HarmonicFrame F(d, N, parse_frame_method(method));
  DArray C = like(W, N, m);
  double* c = C.mutable_data();
  {
    LongCall call;
    scaleq::frame_analysis(F, W.data(), m, c);
  }
  return C;
}

DArray synthesis(const DArray& Q, std::int64_t d, const std::string& method) {
  if (Q.ndim() < 1 || Q.ndim() > 2) throw std::invalid_argument("Q must be (N,) or (N, k)");
  const std::int64_t N = Q.shape(0), m = columns_of(Q, N, "Q", "N");
  scaleq::HarmonicFrame F(d, N, parse_frame_method(method));
  DArray W = like(Q, d, m);
  double* w = W.mutable_data();
  {
    LongCall call;
    scaleq::frame_synthesis(F, Q.data(), m, w);
  }
  return W;
}

}  // namespace

void register_frames(py::module_& m) {
  m.def("harmonic_frame", &frame, py::arg("d"), py::arg("N"), "The d×N real harmonic frame E (columns e_1..e_N).");
  m.def("frame_variation", &variation, py::arg("d"), py::arg("N"), py::arg("perm") = py::none(),
        "σ(E, p) = Σ_k ‖e_p(k) − e_p(k+1)‖ for the harmonic frame (perm 0-based; None = identity).");
  m.def("frame_analysis", &analysis, py::arg("W"), py::arg("N"), py::arg("method") = "auto", "C = Eᵀ W.");
  m.def("frame_synthesis", &synthesis, py::arg("Q"), py::arg("d"), py::arg("method") = "auto", "W = (d/N) E Q.");
}
