#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <complex>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "scaleq/rank_one/complex_cells.hpp"
#include "scaleq/rank_one/complex_phases.hpp"

using scaleq::ComplexRankOneResult;
using scaleq::cplx;

void register_rank_one_complex(py::module_& m) {
  py::class_<ComplexRankOneResult>(m, "ComplexRankOneSolution",
                                   "The complex rank-one solver's result (C++ scaleq::ComplexRankOneResult).")
      .def_property_readonly(
          "x", [](const ComplexRankOneResult& r) { return from_complex_vector(r.x); },
          "x_hat, a nearest point of lam*x")
      .def_property_readonly(
          "y", [](const ComplexRankOneResult& r) { return from_complex_vector(r.y); }, "y_hat = round(mu*y), or mu*y")
      .def_readonly("lam", &ComplexRankOneResult::lam)
      .def_readonly("mu", &ComplexRankOneResult::mu)
      .def_readonly("error", &ComplexRankOneResult::error, "||xy^H - x_hat y_hat^H||_F / ||xy^H||_F")
      .def_readonly("rtn_error", &ComplexRankOneResult::rtn_error, "the same for round(x), round(y)")
      .def_readonly("gap", &ComplexRankOneResult::gap, "certified: the optimum's error is >= error - gap")
      .def_readonly("vertices", &ComplexRankOneResult::vertices, "vertices of the arrangement visited (0: phases)")
      .def_readonly("states", &ComplexRankOneResult::states, "candidate x_hat scored (phases: real problems solved)");
  m.def(
      "complex_rank_one",
      [](const Arr<cplx>& x, const Arr<cplx>& y, const scaleq::Format& fx, const scaleq::Format& fy, bool quantize_y,
         int floor_binades, double lam_lo, double lam_hi, double max_vertices, const std::string& method,
         std::size_t max_phases, double gap_target) {
        const std::vector<cplx> xv(x.data(), x.data() + x.size()), yv(y.data(), y.data() + y.size());
        scaleq::ComplexRankOneOptions opt;
        opt.quantize_y = quantize_y;
        opt.floor_binades = floor_binades;
        opt.lo = lam_lo;
        opt.hi = lam_hi;
        opt.max_vertices = max_vertices;
        scaleq::ComplexPhasesOptions popt;
        popt.quantize_y = quantize_y;
        popt.max_phases = max_phases;
        popt.gap_target = gap_target;
        if (method != "cells" && method != "phases" && method != "auto")
          throw std::invalid_argument("method must be 'cells', 'phases' or 'auto'");
        ComplexRankOneResult r;
        {
          LongCall call;
          r = method == "cells"    ? scaleq::complex_rank_one(xv, yv, fx, fy, opt)
              : method == "phases" ? scaleq::complex_rank_one_phases(xv, yv, fx, fy, popt)
                                   : scaleq::complex_rank_one_auto(xv, yv, fx, fy, opt, popt);
        }
        return r;
      },
      py::arg("x"), py::arg("y"), py::arg("fx"), py::arg("fy"), py::arg("quantize_y") = true,
      py::arg("floor_binades") = -1, py::arg("lam_lo") = 0.0, py::arg("lam_hi") = 0.0, py::arg("max_vertices") = 5.0e7,
      py::arg("method") = "cells", py::arg("max_phases") = 0, py::arg("gap_target") = 0.01,
      "Complex rank-one quantization: 'cells' enumerates the lambda-plane arrangement (exact or floored, "
      "certified), 'phases' searches the phase of lambda best-first over exact real problems (certified gap), "
      "'auto' takes cells when its arrangement has at most max_vertices vertices, else phases.");
}
