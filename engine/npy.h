// NumPy .npy files: a writer for float32, float64, int64 and uint64 arrays of any rank, and a
// reader for the same four dtypes. Files are format version 1.0, little endian, C order, the
// layout numpy.save writes and numpy.load reads (format described in numpy.lib.format).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/error.h"

namespace glassy {

// Returns the .npy dtype string of a supported element type, e.g. "<f4" for float.
template <typename T>
constexpr std::string_view npy_dtype() {
  if constexpr (std::is_same_v<T, float>) {
    return "<f4";
  } else if constexpr (std::is_same_v<T, double>) {
    return "<f8";
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return "<i8";
  } else {
    static_assert(std::is_same_v<T, uint64_t>, "npy supports float, double, int64 and uint64");
    return "<u8";
  }
}

// The contents of one .npy file.
struct NpyArray {
  std::string dtype;           // "<f4", "<f8", "<i8" or "<u8"
  std::vector<int64_t> shape;  // empty for a 0-d array, which has one element
  std::vector<char> bytes;     // the elements, little endian, C order

  // Returns the number of elements, the product of the shape.
  int64_t size() const;

  // Copies the elements out as T. Throws glassy::Error when T does not match the dtype.
  template <typename T>
  std::vector<T> values() const {
    GLASSY_CHECK(dtype == npy_dtype<T>(), "the array has dtype {}, not the requested {}", dtype,
                 npy_dtype<T>());
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
  }
};

// Writes `data`, an array of the given shape in C order, as a .npy file. The file is written to
// path + ".tmp", synced to disk and renamed over `path`, so readers never see a partial file.
// Throws glassy::Error naming the path when a dimension is negative or any I/O step fails.
void npy_write(const std::string& path, const float* data, std::span<const int64_t> shape);
void npy_write(const std::string& path, const double* data, std::span<const int64_t> shape);
void npy_write(const std::string& path, const int64_t* data, std::span<const int64_t> shape);
void npy_write(const std::string& path, const uint64_t* data, std::span<const int64_t> shape);

// Reads a .npy file of format version 1.0, 2.0 or 3.0 that contains a C-order, little-endian
// array of one of the four dtypes above. Throws glassy::Error naming the path and the problem
// when the file is missing, is not a .npy file, has a malformed header or an unsupported dtype
// or layout, or has fewer or more data bytes than its dtype and shape require.
NpyArray npy_read(const std::string& path);

}  // namespace glassy
