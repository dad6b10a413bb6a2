// Console output helpers.
#include "tools/progress.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace glassy {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "?";
  const int64_t s = int64_t(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string format_bytes(double bytes) {
  if (bytes < 1024.0) return fmt::format("{:.0f} B", bytes);
  if (bytes < 1024.0 * 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024.0 * 1024.0 * 1024.0) {
    return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
  }
  return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024.0 * 1024.0));
}

ProgressClock::ProgressClock(int64_t start_step, double earlier_seconds)
    : start_(Clock::now()),
      lap_(start_),
      start_step_(start_step),
      lap_step_(start_step),
      earlier_seconds_(earlier_seconds) {}

double ProgressClock::seconds_since_start() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

double ProgressClock::elapsed_seconds() const { return earlier_seconds_ + seconds_since_start(); }

double ProgressClock::lap_ms_per_step(int64_t step) {
  const Clock::time_point now = Clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - lap_).count();
  const int64_t steps = std::max<int64_t>(1, step - lap_step_);
  lap_ = now;
  lap_step_ = step;
  return ms / double(steps);
}

double ProgressClock::eta_seconds(int64_t step, int64_t total) const {
  const int64_t done = step - start_step_;
  if (done <= 0) return NAN;
  return seconds_since_start() / double(done) * double(total - step);
}

std::string format_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string text;
  for (const auto& [key, value] : rows) text += fmt::format("  {:<{}}  {}\n", key, width, value);
  return text;
}

}  // namespace glassy
