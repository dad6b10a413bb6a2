// Token and position embedding on the CPU, all replicas at once.
#pragma once

#include "kernels/params.h"

namespace glassy::cpu {

// x[r, n, t, :] = W_E[r, tokens[n, t], :] + W_pos[r, t, :].
template <typename T>
void embedding_forward(const EmbeddingParams<T>& params);

// Overwrites d_w_embed and d_w_pos with the sums of d_x over the rows that read them.
template <typename T>
void embedding_backward(const EmbeddingParams<T>& params);

}  // namespace glassy::cpu
