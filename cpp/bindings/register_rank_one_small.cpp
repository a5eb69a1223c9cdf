#include <pybind11/stl.h>

#include <limits>

#include "common.hpp"
#include "scaleq/rank_one.hpp"

namespace {

scaleq::RankOneResult small(const std::vector<double>& x, const std::vector<double>& y, const scaleq::Format& fx,
                            const scaleq::Format& fy, bool quantize_y, scaleq::LamWindow window) {
  return scaleq::rank_one_small(x, y, fx, fy, quantize_y, window);
}

}  // namespace

void register_rank_one_small(py::module_& m) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  m.def("rank_one_small", &solve_rank_one<&small>, py::arg("x"), py::arg("y"), py::arg("fx"), py::arg("fy"),
        py::arg("quantize_y") = true, py::arg("lam_lo") = 0.0, py::arg("lam_hi") = inf,
        "The allocation-free solver of short rank-one problems (at most 8 entries a side) that chain "
        "quantization uses; same result as rank_one_sweep.");
}
