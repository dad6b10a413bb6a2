// Per-replica global L2 norms of a (R, P) buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/backend.h"

namespace glassy {

// Returns sqrt(sum of squares) of each replica's P values, accumulated in double in a fixed
// order, so the norms do not depend on the thread count.
std::vector<double> replica_norms(Backend& backend, const float* x, int64_t replicas,
                                  int64_t count);

// Scales each replica r of x (R, P) so that its global norm becomes target; replicas whose
// norm is 0 are left unchanged.
void replica_rescale_to_norm(Backend& backend, float* x, int64_t replicas, int64_t count,
                             double target);

}  // namespace glassy
