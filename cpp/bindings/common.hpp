// Helpers shared by the register_*.cpp files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/rank_one.hpp"

namespace py = pybind11;

// Scope of a long C++ call: the GIL released, and Ctrl-C polled by the library's loops
// (scaleq::InterruptScope; module.cpp installs the hook that asks Python for signals).
class LongCall {
  py::gil_scoped_release release_;
  scaleq::InterruptScope scope_;
};

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

inline std::vector<double> to_vector(const DArray& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

inline DArray from_vector(const std::vector<double>& v) {
  DArray out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// A rank-one solver's result as the dict scaleq.rank_one reads.
inline py::dict rank_one_dict(const scaleq::RankOneResult& r) {
  py::dict d;
  d["x"] = from_vector(r.x);
  d["y"] = from_vector(r.y);
  d["lam"] = r.lam;
  d["mu"] = r.mu;
  d["error"] = r.error;
  d["rtn_error"] = r.rtn_error;
  d["breakpoints"] = r.breakpoints;
  return d;
}

// Binds a solver taking (x, y, fx, fy, quantize_y, window): the GIL released while it runs.
template <scaleq::RankOneResult (*Solver)(const std::vector<double>&, const std::vector<double>&, const scaleq::Format&,
                                          const scaleq::Format&, bool, scaleq::LamWindow)>
py::dict solve_rank_one(const DArray& x, const DArray& y, const scaleq::Format& fx, const scaleq::Format& fy,
                        bool quantize_y, double lam_lo, double lam_hi) {
  const std::vector<double> xv = to_vector(x), yv = to_vector(y);
  scaleq::RankOneResult r;
  {
    LongCall call;
    r = Solver(xv, yv, fx, fy, quantize_y, scaleq::LamWindow{lam_lo, lam_hi});
  }
  return rank_one_dict(r);
}
