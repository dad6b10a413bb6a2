// Helpers for numeric checks, which compare vectors bit for bit and format numbers with a chosen
// precision for assertion messages.
#pragma once

#include <cstring>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

namespace glassy::test {

// Returns whether x and y have the same size and the same bytes, so -0 differs from 0 and a
// NaN equals a NaN with the same bits.
template <typename T>
bool bitwise_equal(const std::vector<T>& x, const std::vector<T>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
}

// Formats x with the given number of significant digits, for messages.
inline std::string digits(double x, int precision) {
  std::ostringstream stream;
  stream << std::setprecision(precision) << x;
  return stream.str();
}

}  // namespace glassy::test
