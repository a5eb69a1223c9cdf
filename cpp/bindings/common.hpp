// Helpers shared by the register_*.cpp files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

namespace py = pybind11;

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

inline std::vector<double> to_vector(const DArray& a) {
  return std::vector<double>(a.data(), a.data() + a.size());
}

inline DArray from_vector(const std::vector<double>& v) {
  DArray out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}
