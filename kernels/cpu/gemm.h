// Replica-batched single-precision GEMM on the CPU with bias, mask and ReLU epilogues.
#pragma once

#include "kernels/params.h"

namespace glassy::cpu {

// Computes C = beta * C + op(A) op(B) plus the epilogue of GemmParams for every replica.
// Cache-blocked with packed panels and an 8 x 32 (float) register tile; OpenMP threads split the
// (replica, row block, column block) tiles, never the sum over k.
template <typename T>
void gemm(const GemmParams<T>& params);

// out[r, j] = beta * out[r, j] + sum over i of x[r, i, j], summed in increasing i.
// x is (R, M, N) with row stride ldx and replica stride stride_x; out is (R, N).
template <typename T>
void column_sum(int64_t replicas, int64_t m, int64_t n, const T* x, int64_t ldx,
                int64_t stride_x, T* out, int64_t stride_out, T beta);

}  // namespace glassy::cpu
