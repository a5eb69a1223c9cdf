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
        py::list out;
        for (const RankOneResult& r : rs) out.append(rank_one_dict(r));
        return out;
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
