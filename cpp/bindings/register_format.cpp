#include <pybind11/stl.h>

#include "common.hpp"
#include "scaleq/format.hpp"

using scaleq::Format;
using scaleq::Overflow;

void register_format(py::module_& m) {
  py::enum_<Overflow>(m, "Overflow").value("saturate", Overflow::saturate).value("inf", Overflow::inf);

  py::class_<Format>(m, "Format")
      .def_static("unbounded", &Format::unbounded, py::arg("t"))
      .def_static("bounded", &Format::make_bounded, py::arg("t"), py::arg("emin"), py::arg("emax"),
                  py::arg("subnormals"), py::arg("overflow"), py::arg("max_value") = 0.0)
      .def_readonly("t", &Format::t)
      .def_readonly("is_bounded", &Format::bounded)
      .def_readonly("emin", &Format::emin)
      .def_readonly("emax", &Format::emax)
      .def_readonly("subnormals", &Format::subnormals)
      .def_readonly("overflow", &Format::overflow)
      .def_readonly("max_value", &Format::max_value)
      .def("round_scalar", &Format::round, py::arg("x"))
      // Pickled as its defining fields; make_bounded re-checks them on the way back.
      .def(py::pickle(
          [](const Format& f) {
            return py::make_tuple(f.t, f.bounded, f.emin, f.emax, f.subnormals, f.overflow, f.max_value);
          },
          [](const py::tuple& s) {
            if (s.size() != 7) throw std::invalid_argument("Format: bad pickle state");
            const int t = s[0].cast<int>();
            if (!s[1].cast<bool>()) return Format::unbounded(t);
            return Format::make_bounded(t, s[2].cast<int>(), s[3].cast<int>(), s[4].cast<bool>(), s[5].cast<Overflow>(),
                                        s[6].cast<double>());
          }));

  m.def(
      "round_array",
      [](const DArray& x, const Format& f, bool check_finite) {
        DArray out(x.request().shape);
        const double* in = x.data();
        double* o = out.mutable_data();
        const py::ssize_t n = x.size();
        std::ptrdiff_t nonfinite = 0;
        {
          LongCall call;
          nonfinite = scaleq::round_array(in, o, n, f);
        }
        // checked in the same pass as the rounding: no separate isfinite sweep
        if (check_finite && nonfinite > 0) throw std::invalid_argument("x contains NaN or Inf");
        return out;
      },
      py::arg("x"), py::arg("fmt"), py::arg("check_finite") = true,
      "Round every entry to nearest (ties to even) in fmt; NaN/Inf raise unless check_finite=False.");

  m.def("unit_roundoff", &scaleq::unit_roundoff, py::arg("t"));
}
