// Console output helpers for long runs: durations, an ETA estimator, aligned tables.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace glassy {

// Formats seconds as "45s", "12m03s" or "3h07m".
std::string format_duration(double seconds);

// Formats bytes as "512 B", "3.4 MiB", "1.2 GiB".
std::string format_bytes(double bytes);

// Measures the rate of progress since construction and estimates the time left.
class ProgressClock {
public:
  // earlier_seconds: time already spent on the run before start_step, by a run that this one
  // resumes. It counts in elapsed_seconds but not in the rate.
  explicit ProgressClock(int64_t start_step, double earlier_seconds = 0.0);
  // Seconds since construction plus earlier_seconds.
  double elapsed_seconds() const;
  // Milliseconds per step since the last call (or since construction).
  double lap_ms_per_step(int64_t step);
  // Seconds left to reach total at the average rate so far.
  double eta_seconds(int64_t step, int64_t total) const;

private:
  using Clock = std::chrono::steady_clock;
  double seconds_since_start() const;

  Clock::time_point start_, lap_;
  int64_t start_step_, lap_step_;
  double earlier_seconds_;
};

// Renders rows of (key, value) as an aligned two-column table, one row per line.
std::string format_table(const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace glassy
