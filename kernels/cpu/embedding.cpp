// Embedding gather and its scatter-add backward. The backward never uses atomics: each
// thread owns a (replica, column chunk) and adds the rows of d_x in increasing (n, t), so the
// sums (thousands of rows land on the "=" token and on the last position) are reproducible
// bit for bit.
#include "kernels/cpu/embedding.h"

#include <algorithm>
#include <cstring>

namespace glassy::cpu {

template <typename T>
void embedding_forward(const EmbeddingParams<T>& p) {
  const int64_t rows = p.examples * p.t;

#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < p.replicas * rows; ++task) {
    const int64_t r = task / rows;
    const int64_t row = task % rows;
    const int t = int(row % p.t);
    const T* embed = p.w_embed + r * p.param_stride + int64_t(p.tokens[row]) * p.width;
    const T* pos = p.w_pos + r * p.param_stride + int64_t(t) * p.width;
    T* x = p.x + task * p.width;
    for (int d = 0; d < p.width; ++d) x[d] = embed[d] + pos[d];
  }
}

template <typename T>
void embedding_backward(const EmbeddingParams<T>& p) {
  constexpr int kChunk = 32;
  const int chunks = (p.width + kChunk - 1) / kChunk;
  const int64_t rows = p.examples * p.t;

#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < p.replicas * chunks; ++task) {
    const int64_t r = task / chunks;
    const int d0 = int(task % chunks) * kChunk;
    const int width = std::min(kChunk, p.width - d0);
    T* d_embed = p.d_w_embed + r * p.param_stride;
    T* d_pos = p.d_w_pos + r * p.param_stride;
    for (int v = 0; v < p.vocab; ++v) {
      std::memset(d_embed + int64_t(v) * p.width + d0, 0, sizeof(T) * width);
    }
    for (int t = 0; t < p.t; ++t) {
      std::memset(d_pos + int64_t(t) * p.width + d0, 0, sizeof(T) * width);
    }
    const T* d_x = p.d_x + r * rows * p.width + d0;
    for (int64_t row = 0; row < rows; ++row) {
      T* dst_embed = d_embed + int64_t(p.tokens[row]) * p.width + d0;
      T* dst_pos = d_pos + (row % p.t) * p.width + d0;
      const T* src = d_x + row * p.width;
      for (int d = 0; d < width; ++d) {
        dst_embed[d] += src[d];
        dst_pos[d] += src[d];
      }
    }
  }
}

template void embedding_forward(const EmbeddingParams<float>&);
template void embedding_forward(const EmbeddingParams<double>&);
template void embedding_backward(const EmbeddingParams<float>&);
template void embedding_backward(const EmbeddingParams<double>&);

}  // namespace glassy::cpu
