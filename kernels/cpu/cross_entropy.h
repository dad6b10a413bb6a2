// Cross-entropy loss, accuracies and the gradient of a loss objective on the CPU.
#pragma once

#include "kernels/params.h"

namespace glassy::cpu {

// Fills stats for every replica and, when params.objective is set, overwrites d_logits with
// the gradient of the objective with respect to the logits.
template <typename T>
void cross_entropy(const LossParams<T>& params);

}  // namespace glassy::cpu
