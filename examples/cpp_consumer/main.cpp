// Rounds a vector to fp8 e4m3 and solves one optimal rank-one problem with scaleq's headers.
#include <cmath>
#include <cstdio>
#include <scaleq/scaleq.hpp>
#include <vector>

int main() {
  const scaleq::Format fp8 = scaleq::Format::make_bounded(4, -6, 8, true, scaleq::Overflow::saturate, 448.0);
  std::vector<double> v = {0.1, 1.0625, 300.0, 500.0, -3e-3};
  std::vector<double> r(v.size());
  scaleq::round_array(v.data(), r.data(), static_cast<std::ptrdiff_t>(v.size()), fp8);
  std::printf("fp8_e4m3:");
  for (double a : r) std::printf(" %g", a);
  std::printf("\n");
  if (r[1] != 1.0 || r[3] != 448.0) return 1;  // tie to even; saturation

  std::vector<double> x(64), y(48);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(1.0 + 0.37 * double(i)) * std::exp(0.05 * double(i));
  for (std::size_t j = 0; j < y.size(); ++j) y[j] = std::cos(0.5 + 0.91 * double(j));
  const scaleq::Format f4 = scaleq::Format::unbounded(4);
  const scaleq::RankOneResult opt = scaleq::rank_one_sweep(x, y, f4, f4);
  const scaleq::RankOneResult ref = scaleq::rank_one_reference(x, y, f4, f4);
  std::printf("rank-one t=4: optimal %.6e (reference %.6e), RTN %.6e, lambda %.6f\n", opt.error, ref.error,
              opt.rtn_error, opt.lam);
  const bool ok = opt.error <= opt.rtn_error && std::fabs(opt.error - ref.error) <= 1e-9 * ref.error;
  std::printf("%s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
