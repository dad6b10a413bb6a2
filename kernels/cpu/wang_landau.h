// The Wang-Landau grid kernels on the CPU: bin lookup with force coefficients, the Gaussian
// deposit and the averaging of walker grids (kernels/params.h describes the arguments).
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace glassy::cpu {

void wl_lookup(const WangLandauParams& params);
void wl_deposit(const WangLandauParams& params);
void wl_average(int64_t grids, int64_t cells, double* values);

}  // namespace glassy::cpu
