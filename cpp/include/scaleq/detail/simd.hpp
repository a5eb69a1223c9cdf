// The one SIMD mechanism of scaleq: hot loops written once, in plain C++ or GCC/Clang vector
// extensions, and run through AVX2 and SSE4.2 copies of themselves picked at run time, so that
// a portable (plain x86-64, SSE2) wheel still uses the wider units where the CPU has them.
//
// The copies are compiled with __attribute__((target)) only: no "fma", so every copy performs
// the same IEEE operations in the same order and the results do not depend on the machine.
// Elsewhere (other architectures, other compilers, or SCALEQ_NO_DISPATCH defined) the body
// runs as is.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SCALEQ_NO_DISPATCH)
#define SCALEQ_SIMD_DISPATCH 1
#else
#define SCALEQ_SIMD_DISPATCH 0
#endif

// Forced inline, for the helpers of a dispatched body: otherwise GCC may keep them out of
// line, compiled for plain x86-64, and the AVX2 copy calls them.
#define SCALEQ_SIMD_INLINE inline __attribute__((always_inline))

// Around code that passes the 32-byte vectors below by value: GCC warns (-Wpsabi) that their
// ABI differs with and without AVX, which does not matter here, where such functions are
// always inlined and no vector crosses a call.
#if defined(__GNUC__) && !defined(__clang__)
#define SCALEQ_SIMD_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpsabi\"")
#define SCALEQ_SIMD_END _Pragma("GCC diagnostic pop")
#else
#define SCALEQ_SIMD_BEGIN
#define SCALEQ_SIMD_END
#endif

namespace scaleq {
namespace detail {

SCALEQ_SIMD_BEGIN
// 4 doubles: two SSE2 registers on plain x86-64, one AVX2 register in the AVX2 copies.
typedef double v4d __attribute__((vector_size(32)));
typedef double v4d_u __attribute__((vector_size(32), aligned(8), may_alias));  // unaligned access
typedef std::int32_t v4i __attribute__((vector_size(16)));
// 2 doubles: native on plain x86-64.
typedef double v2d __attribute__((vector_size(16)));
typedef double v2d_u __attribute__((vector_size(16), aligned(8), may_alias));
SCALEQ_SIMD_END

#if SCALEQ_SIMD_DISPATCH
template <class Body>
__attribute__((target("avx2"), flatten)) void run_avx2(Body& body) {
  body();
}
template <class Body>
__attribute__((target("sse4.2"), flatten)) void run_sse42(Body& body) {
  body();
}
// 2: AVX2, 1: SSE4.2, 0: neither (checked once per process).
inline int simd_level() {
  static const int level = __builtin_cpu_supports("avx2") ? 2 : __builtin_cpu_supports("sse4.2") ? 1 : 0;
  return level;
}
// Runs body() through the widest copy the CPU supports. The copies are flattened: the body
// (a lambda) and everything it calls are compiled into each, with its target; a call left
// out of line would run the plain x86-64 code.
template <class Body>
void simd_dispatch(Body&& body) {
  const int level = simd_level();
  if (level == 2)
    run_avx2(body);
  else if (level == 1)
    run_sse42(body);
  else
    body();
}
#else
template <class Body>
void simd_dispatch(Body&& body) {
  body();
}
#endif

}  // namespace detail
}  // namespace scaleq
