// OpenMP shim, exception capture for parallel regions, and cooperative interruption.
//
// Three rules every parallel loop of scaleq follows:
//  1. No exception escapes an OpenMP region (that would call std::terminate): bodies run
//     through ErrorCapture::run, the first exception is kept and rethrown after the region.
//  2. Long loops call poll_interrupt() every few microseconds to milliseconds of work. It is a
//     relaxed atomic load on every thread; the thread that entered the library (the caller)
//     also asks the host (Python: PyErr_CheckSignals) at most every kPollInterval whether
//     the user asked to stop. A stop request makes every thread throw `interrupted`, which
//     ErrorCapture carries out of the region like any other error.
//  3. omp_* calls go through the functions below, so that a build without OpenMP compiles
//     and no global name of the user's is shadowed.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace scaleq {

// Thrown by poll_interrupt() when a stop was requested (Ctrl-C in Python, or
// request_interrupt() from C++). The Python binding turns it into KeyboardInterrupt.
struct interrupted : std::runtime_error {
  interrupted() : std::runtime_error("interrupted") {}
};

namespace detail {

inline int omp_thread_num() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline int omp_num_threads() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

inline int omp_max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline bool omp_in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// ---- interruption -----------------------------------------------------------------------

// Asks the host whether to stop; returns true to stop. Called only from the caller's thread.
using InterruptHook = bool (*)();

struct InterruptState {
  std::atomic<bool> requested{false};
  std::atomic<int> active{0};  // InterruptScopes alive (calls in flight, any thread)
  std::atomic<InterruptHook> hook{nullptr};
};

inline InterruptState& interrupt_state() {
  static InterruptState s;
  return s;
}

// True on the thread that opened the innermost InterruptScope (it may call the hook).
inline bool& is_caller_thread() {
  static thread_local bool caller = false;
  return caller;
}

inline std::chrono::steady_clock::time_point& last_poll() {
  static thread_local std::chrono::steady_clock::time_point t{};
  return t;
}

constexpr std::chrono::milliseconds kPollInterval{50};

}  // namespace detail

// Installs the function asked (from the caller's thread, at most every 50 ms) whether to stop.
inline void set_interrupt_hook(detail::InterruptHook hook) { detail::interrupt_state().hook.store(hook); }

// Makes every running scaleq call stop at its next poll (callable from any thread).
inline void request_interrupt() { detail::interrupt_state().requested.store(true, std::memory_order_relaxed); }

// One per call into the library from outside: marks the calling thread as the one that polls
// the host, and clears a stale stop request when no other call is in flight.
class InterruptScope {
 public:
  InterruptScope() : was_caller_(detail::is_caller_thread()) {
    auto& s = detail::interrupt_state();
    if (s.active.fetch_add(1) == 0) s.requested.store(false);
    detail::is_caller_thread() = true;
    detail::last_poll() = std::chrono::steady_clock::now();
  }
  ~InterruptScope() {
    detail::is_caller_thread() = was_caller_;
    detail::interrupt_state().active.fetch_sub(1);
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  bool was_caller_;
};

// Throws `interrupted` once a stop was requested. Cheap enough for every outer iteration.
inline void poll_interrupt() {
  auto& s = detail::interrupt_state();
  if (s.requested.load(std::memory_order_relaxed)) throw interrupted();
  if (!detail::is_caller_thread()) return;
  const detail::InterruptHook hook = s.hook.load(std::memory_order_relaxed);
  if (!hook) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - detail::last_poll() < detail::kPollInterval) return;
  detail::last_poll() = now;
  if (hook()) {
    s.requested.store(true, std::memory_order_relaxed);
    throw interrupted();
  }
}

namespace detail {

// ---- exceptions inside parallel regions -----------------------------------------------

// Runs loop bodies so that no exception leaves the region: the first one is kept (later
// bodies are skipped once one failed) and rethrow() raises it after the region.
class ErrorCapture {
 public:
  template <class F>
  void run(F&& body) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      body();
    } catch (...) {
      keep(std::current_exception());
    }
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr e) noexcept {
    bool expected = false;
    // Only the first failing thread writes error_; rethrow() reads it after the region's barrier.
    if (failed_.compare_exchange_strong(expected, true)) error_ = e;
  }
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

}  // namespace detail
}  // namespace scaleq
