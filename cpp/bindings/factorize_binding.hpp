// The butterfly-factorization binding, instantiated once per scalar type in its own
// translation unit (register_factorize.cpp, register_factorize_complex.cpp), with Eigen's SVD
// in units of its own (block_decompositions.hpp): together they were most of the build's time and memory.
#pragma once

#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <array>
#include <complex>
#include <string>
#include <vector>

#include "block_decompositions.hpp"
#include "common.hpp"
#include "scaleq/factorize.hpp"

namespace factorize_binding {

inline std::vector<scaleq::Pattern> to_patterns(const std::vector<std::array<std::int64_t, 4>>& ps) {
  std::vector<scaleq::Pattern> out;
  for (const auto& p : ps) out.push_back({p[0], p[1], p[2], p[3]});
  return out;
}

inline scaleq::FactorOrder to_order(const std::string& s) {
  static constexpr Choice<scaleq::FactorOrder> orders[] = {{"balanced", scaleq::FactorOrder::balanced},
                                                           {"l2r", scaleq::FactorOrder::left_to_right},
                                                           {"r2l", scaleq::FactorOrder::right_to_left},
                                                           {"bbtree", scaleq::FactorOrder::bbtree}};
  return parse_choice(s, "order", orders);
}

template <class Scalar>
py::list factorize(const py::array_t<Scalar, py::array::c_style | py::array::forcecast>& M,
                   const std::vector<std::array<std::int64_t, 4>>& patterns, const std::string& order,
                   const std::vector<std::int64_t>& perm) {
  if (M.ndim() != 2) throw std::invalid_argument("M must be 2-D");
  const std::vector<scaleq::Pattern> pats = to_patterns(patterns);
  const scaleq::FactorOrder ord = to_order(order);
  std::vector<std::vector<Scalar>> vals;
  {
    LongCall call;
    vals = scaleq::butterfly_factorize<Scalar>(M.data(), M.shape(0), M.shape(1), pats, ord, perm);
  }
  py::list out;
  for (std::size_t k = 0; k < pats.size(); ++k) {
    const scaleq::Pattern& p = pats[k];
    py::array_t<Scalar> a({p.a, p.b, p.c, p.d});
    std::copy(vals[k].begin(), vals[k].end(), a.mutable_data());
    out.append(a);
  }
  return out;
}

}  // namespace factorize_binding
