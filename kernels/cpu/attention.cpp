// Attention for contexts of a few tokens: per (replica, example) the scores form a t x t
// triangle, so plain loops over heads and positions beat any tiling. Scores are scaled by
// 1 / sqrt(E) and the softmax subtracts the row maximum before exponentiating.
//
// Backward, for one head with p = softmax(s), s_ij = q_i . k_j / sqrt(E), o_i = sum_j p_ij v_j:
//   dv_j = sum_i p_ij do_i,   dp_ij = do_i . v_j,   ds_ij = p_ij (dp_ij - sum_l p_il dp_il),
//   dq_i = sum_j ds_ij k_j / sqrt(E),   dk_j = sum_i ds_ij q_i / sqrt(E).
#include "kernels/cpu/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace glassy::cpu {
namespace {

constexpr int kMaxContext = 64;

struct ExampleView {
  int64_t row_q;   // offset of this example's first query row, in floats
  int64_t row_kv;  // offset of this example's first key/value row
  int64_t probs;   // offset of this example's probabilities
};

template <typename T>
ExampleView example_view(const AttentionParams<T>& p, int64_t re) {
  const int64_t width = int64_t(p.heads) * p.head_dim;
  return {re * p.tq * width, re * p.t * width, re * p.heads * p.tq * p.t};
}

template <typename T>
T dot(const T* x, const T* y, int n) {
  T sum = 0;
  for (int i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace

template <typename T>
void attention_forward(const AttentionParams<T>& p) {
  const int64_t width = int64_t(p.heads) * p.head_dim;
  const T scale = T(1) / std::sqrt(T(p.head_dim));
  const int offset = p.t - p.tq;

#pragma omp parallel for schedule(static)
  for (int64_t re = 0; re < p.replicas * p.examples; ++re) {
    const ExampleView view = example_view(p, re);
    for (int h = 0; h < p.heads; ++h) {
      for (int i = 0; i < p.tq; ++i) {
        const T* q = p.q + view.row_q + i * width + h * p.head_dim;
        T* probs = p.probs + view.probs + (int64_t(h) * p.tq + i) * p.t;
        const int visible = offset + i + 1;

        // Scores and a max-shifted softmax over the visible keys.
        T max_score = -INFINITY;
        for (int j = 0; j < visible; ++j) {
          probs[j] = scale * dot(q, p.k + view.row_kv + j * width + h * p.head_dim, p.head_dim);
          max_score = std::fmax(max_score, probs[j]);
        }
        T total = T(0);
        for (int j = 0; j < visible; ++j) {
          probs[j] = std::exp(probs[j] - max_score);
          total += probs[j];
        }
        for (int j = 0; j < p.t; ++j) {
          probs[j] = j < visible ? probs[j] / total : T(0);
        }

        // Weighted sum of the values.
        T* out = p.out + view.row_q + i * width + h * p.head_dim;
        std::memset(out, 0, sizeof(T) * p.head_dim);
        for (int j = 0; j < visible; ++j) {
          const T* v = p.v + view.row_kv + j * width + h * p.head_dim;
          for (int e = 0; e < p.head_dim; ++e) out[e] += probs[j] * v[e];
        }
      }
    }
  }
}

template <typename T>
void attention_backward(const AttentionParams<T>& p) {
  const int64_t width = int64_t(p.heads) * p.head_dim;
  const T scale = T(1) / std::sqrt(T(p.head_dim));
  const int offset = p.t - p.tq;

#pragma omp parallel for schedule(static)
  for (int64_t re = 0; re < p.replicas * p.examples; ++re) {
    const ExampleView view = example_view(p, re);
    std::memset(p.d_k + view.row_kv, 0, sizeof(T) * p.t * width);
    std::memset(p.d_v + view.row_kv, 0, sizeof(T) * p.t * width);
    for (int h = 0; h < p.heads; ++h) {
      for (int i = 0; i < p.tq; ++i) {
        const int64_t q_row = view.row_q + i * width + h * p.head_dim;
        const T* probs = p.probs + view.probs + (int64_t(h) * p.tq + i) * p.t;
        const T* d_out = p.d_out + q_row;
        const int visible = offset + i + 1;

        // dp_ij = do_i . v_j, then the softmax backward.
        T d_score[kMaxContext];
        T weighted = T(0);
        for (int j = 0; j < visible; ++j) {
          d_score[j] = dot(d_out, p.v + view.row_kv + j * width + h * p.head_dim, p.head_dim);
          weighted += probs[j] * d_score[j];
        }
        for (int j = 0; j < visible; ++j) {
          d_score[j] = probs[j] * (d_score[j] - weighted) * scale;
        }

        // Accumulate into dq (this query only) and dk, dv (shared across queries).
        T* d_q = p.d_q + q_row;
        std::memset(d_q, 0, sizeof(T) * p.head_dim);
        const T* q = p.q + q_row;
        for (int j = 0; j < visible; ++j) {
          const int64_t kv_row = view.row_kv + j * width + h * p.head_dim;
          const T* k = p.k + kv_row;
          T* d_k = p.d_k + kv_row;
          T* d_v = p.d_v + kv_row;
          for (int e = 0; e < p.head_dim; ++e) {
            d_q[e] += d_score[j] * k[e];
            d_k[e] += d_score[j] * q[e];
            d_v[e] += probs[j] * d_out[e];
          }
        }
      }
    }
  }
}

template void attention_forward(const AttentionParams<float>&);
template void attention_forward(const AttentionParams<double>&);
template void attention_backward(const AttentionParams<float>&);
template void attention_backward(const AttentionParams<double>&);

}  // namespace glassy::cpu
