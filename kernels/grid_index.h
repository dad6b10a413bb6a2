// The one rule that maps an observable to a Wang-Landau bin, shared by the CPU and CUDA
// kernels and the host code, so a value on a bin edge lands in the same bin everywhere.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/params.h"

namespace glassy {

// Returns floor((v - lo) / width) clamped to [0, bins - 1], and sets low_flag or high_flag in
// flags when v lies outside the axis, or kGridNotANumber (and returns 0) when v is NaN. The
// comparison runs in double before any conversion, so infinities never reach an integer cast.
GLASSY_HOST_DEVICE inline int64_t grid_bin(const GridAxis& axis, double v, int32_t low_flag,
                                           int32_t high_flag, int32_t& flags) {
  if (v != v) {
    flags |= kGridNotANumber;
    return 0;
  }
  const double position = std::floor((v - axis.lo) / axis.width);
  if (position < 0.0) {
    flags |= low_flag;
    return 0;
  }
  if (position >= double(axis.bins)) {
    flags |= high_flag;
    return axis.bins - 1;
  }
  return int64_t(position);
}

}  // namespace glassy
