// Fused optimizer updates and per-replica norms on the CPU.
#pragma once

#include "kernels/params.h"

namespace glassy::cpu {

// Applies one AdamW step (params.adamw) to every replica.
void adamw_update(const OptimizerParams& params);

// Applies one SGD-with-momentum step (params.sgd) to every replica.
void sgd_update(const OptimizerParams& params);

// out[r] = sum of x[r, i]^2 over i < count, in double, in a fixed order.
void replica_sum_squares(int64_t replicas, int64_t count, const float* x, int64_t stride,
                         double* out);

// x[r, :] *= factors[r].
void replica_scale(int64_t replicas, int64_t count, float* x, int64_t stride,
                   const double* factors);

// out[r, :] = alpha[r] a[r, :] + (1 - alpha[r]) b[r, :], in double, rounded once.
void replica_blend(int64_t replicas, int64_t count, const float* a, const float* b, float* out,
                   int64_t stride, const double* alpha);

}  // namespace glassy::cpu
