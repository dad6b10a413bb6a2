// The fused Langevin step of the samplers on the CPU: force, velocity and position update,
// noise and reflection in one pass over each walker's parameters.
#pragma once

#include "kernels/params.h"

namespace glassy::cpu {

// Advances every walker by one step of params.integrator (kernels/params.h).
void langevin_step(const LangevinParams& params);

}  // namespace glassy::cpu
