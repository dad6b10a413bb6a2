// Causal softmax attention over a short context on the CPU, all replicas and heads at once.
#pragma once

#include "kernels/params.h"

namespace glassy::cpu {

// Writes probs and out from q, k, v (see AttentionParams).
template <typename T>
void attention_forward(const AttentionParams<T>& params);

// Writes d_q, d_k and d_v from d_out, probs, q, k and v. Keys and values that no query
// attends to get zero gradients.
template <typename T>
void attention_backward(const AttentionParams<T>& params);

}  // namespace glassy::cpu
