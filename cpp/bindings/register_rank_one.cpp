#include <pybind11/stl.h>

#include <limits>

#include "common.hpp"
#include "scaleq/rank_one.hpp"

using scaleq::Format;
using scaleq::RankOneResult;

namespace {

RankOneResult sweep(const std::vector<double>& x, const std::vector<double>& y, const Format& fx, const Format& fy,
                    bool quantize_y, scaleq::LamWindow window) {
  return scaleq::rank_one_sweep(x, y, fx, fy, quantize_y, nullptr, nullptr, window);
}

}  // namespace

void register_rank_one(py::module_& m) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  // The solvers' result, typed (scaleq.RankOneResult is built from it); registered before the
  // functions that return it, so that their signatures name it.
  py::class_<RankOneResult>(m, "RankOneSolution", "A rank-one solver's result (C++ scaleq::RankOneResult).")
      .def_property_readonly(
          "x", [](const RankOneResult& r) { return from_vector(r.x); }, "x_hat = round(lam*x)")
      .def_property_readonly(
          "y", [](const RankOneResult& r) { return from_vector(r.y); }, "y_hat = round(mu*y), or mu*y")
      .def_readonly("lam", &RankOneResult::lam)
      .def_readonly("mu", &RankOneResult::mu)
      .def_readonly("error", &RankOneResult::error, "||xy^T - x_hat y_hat^T||_F / ||xy^T||_F")
      .def_readonly("rtn_error", &RankOneResult::rtn_error, "the same for round(x), round(y)")
      .def_readonly("breakpoints", &RankOneResult::breakpoints, "distinct breakpoints visited")
      .def("__repr__", [](const RankOneResult& r) {
        return "RankOneSolution(x=" + py::repr(from_vector(r.x)).cast<std::string>() +
               ", y=" + py::repr(from_vector(r.y)).cast<std::string>() +
               ", lam=" + py::repr(py::float_(r.lam)).cast<std::string>() +
               ", mu=" + py::repr(py::float_(r.mu)).cast<std::string>() +
               ", error=" + py::repr(py::float_(r.error)).cast<std::string>() +
               ", rtn_error=" + py::repr(py::float_(r.rtn_error)).cast<std::string>() +
               ", breakpoints=" + std::to_string(r.breakpoints) + ")";
      });
  m.def("rank_one_sweep", &solve_rank_one<&sweep>, py::arg("x"), py::arg("y"), py::arg("fx"), py::arg("fy"),
        py::arg("quantize_y") = true, py::arg("lam_lo") = 0.0, py::arg("lam_hi") = inf,
        "Optimal rank-one quantization by the breakpoint sweep (bounded x: over lam in [lam_lo, lam_hi)).");
  m.def("rank_one_reference", &solve_rank_one<&scaleq::rank_one_reference>, py::arg("x"), py::arg("y"), py::arg("fx"),
        py::arg("fy"), py::arg("quantize_y") = true, py::arg("lam_lo") = 0.0, py::arg("lam_hi") = inf,
        "The paper's Algorithm 1, literally.");
  m.def(
      "rank_one_batch",
      [](const std::vector<DArray>& xs, const std::vector<DArray>& ys, const Format& fx, const Format& fy,
         bool quantize_y) {
        std::vector<std::vector<double>> xv, yv;
        for (const DArray& a : xs) xv.push_back(to_vector(a));
        for (const DArray& a : ys) yv.push_back(to_vector(a));
        std::vector<RankOneResult> rs;
        {
          LongCall call;
          rs = scaleq::rank_one_batch(xv, yv, fx, fy, quantize_y);
        }
        return rs;
      },
      py::arg("xs"), py::arg("ys"), py::arg("fx"), py::arg("fy"), py::arg("quantize_y") = true,
      "Independent rank-one problems solved in parallel (OpenMP).");
  m.def(
      "rank_one_relative_error",
      [](const DArray& x, const DArray& y, const DArray& xh, const DArray& yh) {
        return scaleq::detail::relative_error(to_vector(x), to_vector(y), to_vector(xh), to_vector(yh));
      },
      py::arg("x"), py::arg("y"), py::arg("xh"), py::arg("yh"));
}
