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
//  4. Hot regions start team_size() threads (num_threads clause): fewer when other processes
//     hold the cores, so that a busy machine costs at most a single thread's speed.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>
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

// ---- team size on a shared machine ------------------------------------------------------
//
// A parallel region ends at a barrier that waits for its slowest thread. When another process
// holds a core, the thread that needs it waits for a scheduler time slice (milliseconds), far
// longer than many of the regions themselves. team_size() therefore starts
// only as many threads as there are cores not held by other runnable tasks right now.
// No result of scaleq depends on the team size.

// Runnable tasks on the whole machine, the caller included: the kernel's instantaneous
// nr_running, field 4 ("running/total") of /proc/loadavg. -1 where unknown (not Linux).
inline int runnable_tasks() noexcept {
#if defined(__linux__)
  const int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  const ssize_t len = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (len <= 0) return -1;
  buf[len] = '\0';
  const char* s = buf;  // "0.78 1.39 0.85 3/345 6789": skip the three load averages
  for (int field = 0; field < 3; ++field) {
    while (*s && *s != ' ') ++s;
    while (*s == ' ') ++s;
  }
  int running = 0;
  const char* digits = s;
  while (*s >= '0' && *s <= '9' && running < (1 << 20)) running = 10 * running + (*s++ - '0');
  return s > digits && *s == '/' ? running : -1;
#else
  return -1;
#endif
}

inline int online_cores() noexcept {
#if defined(__linux__)
  static const int n = [] {
    const long c = ::sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? int(std::min<long>(c, 1 << 16)) : 1;
  }();
  return n;
#else
  return omp_max_threads();
#endif
}

// Off with SCALEQ_LOAD_AWARE=0 (always omp_max_threads()), and with OMP_WAIT_POLICY=active:
// idle threads that spin are themselves load, and whoever asks for them claims the cores.
inline bool load_aware() noexcept {
  static const bool on = [] {
    const char* v = std::getenv("SCALEQ_LOAD_AWARE");
    if (v && v[0] == '0' && v[1] == '\0') return false;
#if defined(__linux__)
    const char* w = std::getenv("OMP_WAIT_POLICY");
    if (w && ::strcasecmp(w, "active") == 0) return false;
#endif
    return true;
  }();
  return on;
}

// Cores not held by other runnable tasks, re-read at most every kLoadRefresh (a read costs a
// few microseconds; load changes on the scale of scheduler slices).
constexpr std::chrono::milliseconds kLoadRefresh{20};

inline int free_cores() noexcept {
  static std::atomic<long long> stamp{0};  // steady_clock ns of the last read; 0: never
  static std::atomic<int> cached{1};
  const long long now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const long long last = stamp.load(std::memory_order_relaxed);
  if (last != 0 && now - last < std::chrono::nanoseconds(kLoadRefresh).count())
    return cached.load(std::memory_order_relaxed);
  const int running = runnable_tasks();
  const int cores = online_cores();
  const int free = running < 0 ? cores : cores - std::max(0, running - 1);  // the caller runs: not load
  cached.store(free, std::memory_order_relaxed);
  stamp.store(now, std::memory_order_relaxed);
  return free;
}

// Threads for a parallel region: omp_max_threads() (OMP_NUM_THREADS), fewer when other
// processes hold cores, at least 1; 1 inside a parallel region (nested regions run serially).
inline int team_size() noexcept {
  const int max = omp_max_threads();
  if (max <= 1 || omp_in_parallel_region()) return 1;
  if (!load_aware()) return max;
  return std::max(1, std::min(max, free_cores()));
}

// The same, capped so that each thread gets at least `min_per_thread` of `items`.
inline int team_size(long long items, long long min_per_thread) noexcept {
  const long long cap = min_per_thread > 0 ? items / min_per_thread : items;
  return int(std::max(1LL, std::min<long long>(team_size(), cap)));
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
// run(i, body) for loops over i: the error of the smallest failing i is kept (bodies above a
// failed i are skipped, those below still run), so which error is raised does not depend on
// the thread count.
class ErrorCapture {
 public:
  template <class F>
  void run(F&& body) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      body();
    } catch (...) {
      keep(std::current_exception(), 0);
    }
  }
  template <class F>
  void run(long long index, F&& body) noexcept {
    if (failed_.load(std::memory_order_relaxed) && index > first_index_.load(std::memory_order_relaxed)) return;
    try {
      body();
    } catch (...) {
      keep(std::current_exception(), index);
    }
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr e, long long index) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    // rethrow() reads error_ after the region's closing barrier
    if (!error_ || index < first_index_.load(std::memory_order_relaxed)) {
      error_ = e;
      first_index_.store(index, std::memory_order_relaxed);
    }
    failed_.store(true, std::memory_order_relaxed);
  }
  std::atomic<bool> failed_{false};
  std::atomic<long long> first_index_{0};
  std::mutex mutex_;
  std::exception_ptr error_;
};

// ---- memory budget ----------------------------------------------------------------------

// Bytes the large working sets of scaleq (rank-one breakpoint tables, look-ahead candidate
// lists) may hold at once, over all threads and concurrent calls: 1 GiB, or the value of the
// environment variable SCALEQ_MEMORY_BUDGET_MB (read once).
inline std::size_t memory_budget() {
  static const std::size_t budget = [] {
    const char* env = std::getenv("SCALEQ_MEMORY_BUDGET_MB");
    if (env && *env) {
      char* end = nullptr;
      const unsigned long long mb = std::strtoull(env, &end, 10);
      if (end && *end == '\0' && mb > 0) return std::size_t(mb) << 20;
    }
    return std::size_t(1) << 30;
  }();
  return budget;
}

// Bytes as a short human figure ("768 MiB", "4.0 GiB").
inline std::string format_bytes(double bytes) {
  char buf[64];
  if (bytes >= double(1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / double(1ull << 30));
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", std::max(1.0, bytes / double(1ull << 20)));
  return buf;
}

// Process-wide ledger of reserved working memory. A task reserves what it will hold before
// allocating it, waiting (and polling for interruption) while other tasks hold too much; a
// task never waits while holding a reservation, so waits cannot deadlock. Tables shared by
// the tasks of a call (grids) are pinned: counted, never waited for. Thus threads x problems
// of a batch stay within memory_budget() in total.
class MemoryLedger {
 public:
  static MemoryLedger& global() {
    static MemoryLedger l;
    return l;
  }
  // Blocks until `bytes` fit beside the other reservations; false (nothing reserved) when
  // they cannot fit even once the other reservations are gone.
  bool acquire(std::size_t bytes) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (used_ + pinned_ + bytes > memory_budget()) {
      if (used_ == 0) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(20));
      lock.unlock();
      poll_interrupt();
      lock.lock();
    }
    used_ += bytes;
    return true;
  }
  void release(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      used_ -= bytes;
    }
    cv_.notify_all();
  }
  void pin(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    pinned_ += bytes;
  }
  void unpin(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pinned_ -= bytes;
    }
    cv_.notify_all();
  }
  std::size_t pinned() {
    std::lock_guard<std::mutex> lock(mutex_);
    return pinned_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t used_ = 0, pinned_ = 0;
};

// RAII pin of a shared table's bytes in MemoryLedger::global().
class MemoryPin {
 public:
  explicit MemoryPin(std::size_t bytes) : bytes_(bytes) { MemoryLedger::global().pin(bytes_); }
  ~MemoryPin() { MemoryLedger::global().unpin(bytes_); }
  MemoryPin(const MemoryPin&) = delete;
  MemoryPin& operator=(const MemoryPin&) = delete;

 private:
  std::size_t bytes_;
};

// RAII reservation in MemoryLedger::global(); ok() is false when it could not fit.
class MemoryReservation {
 public:
  explicit MemoryReservation(std::size_t bytes) : bytes_(bytes) {
    if (bytes_ && !MemoryLedger::global().acquire(bytes_)) bytes_ = 0, ok_ = false;
  }
  ~MemoryReservation() {
    if (!bytes_) return;
    // The working set is freed by now. glibc keeps freed chunks below its mmap threshold in
    // the freeing thread's arena, where a task on another thread cannot reuse them: without
    // returning them first, two threads taking turns would hold twice the budget.
#if defined(__GLIBC__)
    if (bytes_ >= (std::size_t(16) << 20)) malloc_trim(0);
#endif
    MemoryLedger::global().release(bytes_);
  }
  bool ok() const { return ok_; }
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;

 private:
  std::size_t bytes_;
  bool ok_ = true;
};

}  // namespace detail
}  // namespace scaleq
