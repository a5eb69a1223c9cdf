#include <cstdint>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "scaleq/block_scale.hpp"
#include "scaleq/int_block_scale.hpp"
#include "scaleq/sigma_delta.hpp"

namespace {

scaleq::ScaleRecipe parse_recipe(const std::string& recipe) {
  if (recipe == "nearest") return scaleq::ScaleRecipe::nearest;
  if (recipe == "mx_floor") return scaleq::ScaleRecipe::mx_floor;
  throw std::invalid_argument("recipe must be 'nearest' or 'mx_floor', got '" + recipe + "'");
}

// (codes, scales, error2, recipe_error2, evaluated) for W of shape (rows, n).
py::tuple quantize_blocks(const DArray& W, int block, const scaleq::Format& element, const scaleq::Format& scale,
                          const std::string& recipe, double tensor_scale, bool optimal) {
  if (W.ndim() != 2) throw std::invalid_argument("W must be 2-D (rows, n)");
  const std::int64_t rows = W.shape(0), n = W.shape(1);
  if (block < 1 || n % block != 0)
    throw std::invalid_argument("block (" + std::to_string(block) + ") must divide the blocked axis' length (" +
                                std::to_string(n) + ")");
  const scaleq::BlockScaler scaler(element, scale, parse_recipe(recipe));
  DArray codes({rows, n}), scales({rows, n / block});
  scaleq::BlockScaleResult r;
  {
    LongCall call;
    scaleq::check_finite(W.data(), rows * n, "W");
    r = scaleq::quantize_blocks(W.data(), rows, n, block, scaler, tensor_scale, optimal, codes.mutable_data(),
                                scales.mutable_data());
  }
  return py::make_tuple(codes, scales, r.error2, r.recipe_error2, r.evaluated);
}

// (codes, signed scales, error2, recipe_error2, evaluated) for W of shape (rows, n), codes in
// [-qneg, qpos].
py::tuple quantize_int_blocks(const DArray& W, int block, int qneg, int qpos, bool signed_scale, bool recipe_to_qneg,
                              double divisor, const scaleq::Format& scale, bool optimal) {
  if (W.ndim() != 2) throw std::invalid_argument("W must be 2-D (rows, n)");
  const std::int64_t rows = W.shape(0), n = W.shape(1);
  if (block < 1 || n % block != 0)
    throw std::invalid_argument("block (" + std::to_string(block) + ") must divide the blocked axis' length (" +
                                std::to_string(n) + ")");
  scaleq::IntGrid grid;
  grid.qneg = qneg, grid.qpos = qpos, grid.signed_scale = signed_scale, grid.recipe_to_qneg = recipe_to_qneg;
  grid.divisor = divisor;
  const scaleq::IntBlockScaler scaler(grid, scale);
  DArray codes({rows, n}), scales({rows, n / block});
  scaleq::BlockScaleResult r;
  {
    LongCall call;
    scaleq::check_finite(W.data(), rows * n, "W");
    r = scaleq::quantize_int_blocks(W.data(), rows, n, block, scaler, optimal, codes.mutable_data(),
                                    scales.mutable_data());
  }
  return py::make_tuple(codes, scales, r.error2, r.recipe_error2, r.evaluated);
}

}  // namespace

void register_block_scale(py::module_& m) {
  m.def("quantize_int_blocks", &quantize_int_blocks, py::arg("W"), py::arg("block"), py::arg("qneg"), py::arg("qpos"),
        py::arg("signed_scale"), py::arg("recipe_to_qneg"), py::arg("divisor"), py::arg("scale"), py::arg("optimal"),
        "Integer codes in [-qneg, qpos] and one scale per block of `block` consecutive entries of a row of "
        "W (rows, n): the best scale of the scale format (optimal) or round(amax/divisor) (negative when "
        "recipe_to_qneg and the largest entry is positive, as GGUF's Q4_0). Returns (codes, scales, error2, "
        "recipe_error2, evaluated).");
  m.def("quantize_blocks", &quantize_blocks, py::arg("W"), py::arg("block"), py::arg("element"), py::arg("scale"),
        py::arg("recipe"), py::arg("tensor_scale"), py::arg("optimal"),
        "Block scales and codes of W (rows, n), blocks of `block` consecutive entries of a row: the best "
        "scale of the scale format per block (optimal) or the recipe's. Returns (codes, scales, error2, "
        "recipe_error2, evaluated).");
}
