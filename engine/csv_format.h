// Number formatting for CSV files: the shortest printf precision that always round-trips, so a
// value parsed back with strtof or strtod has the same bits as the one written. NaN is written
// as "nan" and parses back as a NaN, but its sign and payload are not kept.
#pragma once

#include <cstdio>
#include <string>

namespace glassy {

// Formats a float with 9 significant digits (std::numeric_limits<float>::max_digits10).
inline std::string format_float(float value) {
  char buffer[32];
  const int length = std::snprintf(buffer, sizeof buffer, "%.9g", static_cast<double>(value));
  return std::string(buffer, static_cast<size_t>(length));
}

// Formats a double with 17 significant digits (std::numeric_limits<double>::max_digits10).
inline std::string format_double(double value) {
  char buffer[32];
  const int length = std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return std::string(buffer, static_cast<size_t>(length));
}

}  // namespace glassy
