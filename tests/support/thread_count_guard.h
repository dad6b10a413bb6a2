// ThreadCountGuard, which restores the OpenMP thread count when a test scope ends, so later
// tests run as they would alone.
#pragma once

#include <omp.h>

namespace glassy::test {

// A scope guard that saves omp_get_max_threads() on construction and restores it with
// omp_set_num_threads on destruction.
class ThreadCountGuard {
public:
  // Leaves the thread count as it is, for tests that set it themselves.
  ThreadCountGuard() : saved_(omp_get_max_threads()) {}
  // Sets the thread count to threads until the guard is destroyed.
  explicit ThreadCountGuard(int threads) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~ThreadCountGuard() { omp_set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

private:
  int saved_;
};

}  // namespace glassy::test
