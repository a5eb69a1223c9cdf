// Helpers shared by the register_*.cpp files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/kron_sparse.hpp"
#include "scaleq/rank_one.hpp"

namespace py = pybind11;

// Scope of a long C++ call: the GIL released, and Ctrl-C polled by the library's loops
// (scaleq::InterruptScope; module.cpp installs the hook that asks Python for signals).
class LongCall {
  py::gil_scoped_release release_;
  scaleq::InterruptScope scope_;
};

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
template <class Scalar>
using Arr = py::array_t<Scalar, py::array::c_style | py::array::forcecast>;

inline std::vector<double> to_vector(const DArray& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

inline DArray from_vector(const std::vector<double>& v) {
  DArray out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

inline py::array_t<std::complex<double>> from_complex_vector(const std::vector<std::complex<double>>& v) {
  py::array_t<std::complex<double>> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// The one string -> enum parser: `table` lists the accepted {name, value} pairs, in the order
// the error message names them ("<arg> must be 'a', 'b' or 'c', got 'x'": ValueError in Python).
template <class Enum>
using Choice = std::pair<const char*, Enum>;

template <class Enum, std::size_t N>
Enum parse_choice(const std::string& s, const char* arg, const Choice<Enum> (&table)[N]) {
  for (const auto& [name, value] : table)
    if (s == name) return value;
  std::string msg = std::string(arg) + " must be ";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) msg += i + 1 == N ? " or " : ", ";
    msg += "'" + std::string(table[i].first) + "'";
  }
  throw std::invalid_argument(msg + ", got '" + s + "'");
}

// A chain of Kronecker-sparse factors from the Python list of (a, b, c, d) arrays: the pattern
// is read off each shape, the values are viewed in place (the arrays must outlive the chain),
// and the chain is checked (entries >= 1, products within int64, inner dimensions agree).
template <class Scalar>
std::vector<scaleq::KSFactor<Scalar>> ks_chain(const std::vector<Arr<Scalar>>& factors) {
  std::vector<scaleq::KSFactor<Scalar>> chain;
  std::vector<scaleq::Pattern> pats;
  for (std::size_t k = 0; k < factors.size(); ++k) {
    const auto& f = factors[k];
    if (f.ndim() != 4) throw std::invalid_argument("factor " + std::to_string(k) + " must be 4-D (a, b, c, d)");
    chain.push_back({{f.shape(0), f.shape(1), f.shape(2), f.shape(3)}, f.data()});
    pats.push_back(chain.back().p);
  }
  scaleq::check_chain(pats);
  return chain;
}

// An optional 0-based permutation of length N as the pointer the library takes (nullptr = identity).
inline const std::int64_t* perm_ptr(const std::optional<IArray>& perm, std::int64_t N) {
  if (!perm) return nullptr;
  if (perm->ndim() != 1 || perm->shape(0) != N)
    throw std::invalid_argument("perm must have shape (N,) with N = " + std::to_string(N));
  return perm->data();
}

// Binds a solver taking (x, y, fx, fy, quantize_y, window): the GIL released while it runs.
template <scaleq::RankOneResult (*Solver)(const std::vector<double>&, const std::vector<double>&, const scaleq::Format&,
                                          const scaleq::Format&, bool, scaleq::LamWindow)>
scaleq::RankOneResult solve_rank_one(const DArray& x, const DArray& y, const scaleq::Format& fx,
                                     const scaleq::Format& fy, bool quantize_y, double lam_lo, double lam_hi) {
  const std::vector<double> xv = to_vector(x), yv = to_vector(y);
  scaleq::RankOneResult r;
  {
    LongCall call;
    r = Solver(xv, yv, fx, fy, quantize_y, scaleq::LamWindow{lam_lo, lam_hi});
  }
  return r;  // a _core.rank_one.RankOneSolution (register_rank_one)
}
