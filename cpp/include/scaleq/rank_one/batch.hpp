// Many independent rank-one problems solved in parallel, sharing their grids.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaleq/detail/parallel.hpp"
#include "scaleq/format.hpp"
#include "scaleq/rank_one/breakpoints.hpp"
#include "scaleq/rank_one/memory.hpp"
#include "scaleq/rank_one/problem.hpp"
#include "scaleq/rank_one/sweep.hpp"

namespace scaleq {

// Many independent problems (x_k, y_k) — e.g. the columns of a butterfly factor or the
// neurons of a layer — solved in parallel (OpenMP, dynamic schedule: sizes differ).
// Results do not depend on the thread count. The first error raised is rethrown.
inline std::vector<RankOneResult> rank_one_batch(const std::vector<std::vector<double>>& xs,
                                                 const std::vector<std::vector<double>>& ys, const Format& fx,
                                                 const Format& fy, bool quantize_y = true, LamWindow window = {}) {
  if (xs.size() != ys.size()) throw std::invalid_argument("xs and ys must have the same number of problems");
  std::vector<RankOneResult> out(xs.size());
  if (xs.empty()) return out;
  // input errors first, serially: the one raised is that of the first bad problem
  detail::check_window(window);
  for (std::size_t k = 0; k < xs.size(); ++k) {
    detail::check_vector(xs[k], ("xs[" + std::to_string(k) + "]").c_str());
    detail::check_vector(ys[k], ("ys[" + std::to_string(k) + "]").c_str());
  }
  const auto gx = detail::make_grid(fx);
  const auto gy = quantize_y ? detail::make_grid(fy) : nullptr;
  // the shared grids count against the memory budget; each problem reserves its own buffers
  // (rank_one_sweep), so the problems running at once stay within the budget together
  const detail::MemoryPin pin(detail::grid_bytes(*gx) + (gy ? detail::grid_bytes(*gy) : 0));
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(xs.size());
  detail::ErrorCapture capture;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1) num_threads(detail::team_size())
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    capture.run(k, [&] {
      poll_interrupt();
      out[k] = rank_one_sweep(xs[k], ys[k], fx, fy, quantize_y, gx, gy, window);
    });
  }
  capture.rethrow();
  return out;
}

}  // namespace scaleq
