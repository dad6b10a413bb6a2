// Sample statistics of `glassy analyze`: the mean with its standard error over seeds, and the
// jackknife standard error over leave-one-out estimates. A value that cannot be computed is
// NaN (a count or step that may be missing is a std::optional), which the JSON and CSV writers
// below print as null and as an empty field.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/csv_format.h"

namespace glassy {

struct MeanSe {
  double mean = NAN;  // NaN when there are no values
  double se = NAN;    // NaN when there are fewer than 2 values
};

// The mean of values and its standard error s / sqrt(n), s the sample standard deviation with
// n - 1 in the denominator.
inline MeanSe mean_and_se(const std::vector<double>& values) {
  MeanSe result;
  const double n = double(values.size());
  if (values.empty()) return result;
  double sum = 0.0;
  for (double v : values) sum += v;
  result.mean = sum / n;
  if (values.size() < 2) return result;
  double squares = 0.0;
  for (double v : values) squares += (v - result.mean) * (v - result.mean);
  result.se = std::sqrt(squares / (n - 1.0) / n);
  return result;
}

// The jackknife standard error sqrt((n - 1) / n sum_r (theta_r - mean)^2) of a statistic whose
// leave-one-out values theta_r are given, one per sample left out where the statistic is
// defined. NaN when n < 2.
inline double jackknife_se(const std::vector<double>& leave_one_out) {
  const double n = double(leave_one_out.size());
  if (leave_one_out.size() < 2) return NAN;
  double sum = 0.0;
  for (double v : leave_one_out) sum += v;
  const double mean = sum / n;
  double squares = 0.0;
  for (double v : leave_one_out) squares += (v - mean) * (v - mean);
  return std::sqrt((n - 1.0) / n * squares);
}

// A JSON number, or null when value is not finite.
inline nlohmann::json json_number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

inline nlohmann::json json_number(const std::optional<int64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// A CSV field: %.17g, or empty when value is not finite.
inline std::string csv_number(double value) {
  return std::isfinite(value) ? format_double(value) : std::string();
}

inline std::string csv_number(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

}  // namespace glassy
