// Optimizer updates, one pass over every replica's parameters. The arithmetic is float32 in
// the order PyTorch 2 uses, except that the decoupled weight decay multiplies in double, so
// p (1 - lr wd)^1000 is accurate to 1e-6 instead of 1.3e-5. There is no flush-to-zero, so
// gradients near 1e-20 and eps near 1e-25 still give a normal step.
#include "kernels/cpu/optimizer.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace glassy::cpu {
namespace {

constexpr int64_t kNormChunk = 4096;

}  // namespace

void adamw_update(const OptimizerParams& p) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.replicas; ++r) {
    const AdamWScalars s = p.adamw[r];
    float* w = p.weights + r * p.params;
    const float* g = p.grads + r * p.params;
    float* m = p.state1 + r * p.params;
    float* v = p.state2 + r * p.params;
#pragma omp simd
    for (int64_t i = 0; i < p.params; ++i) {
      m[i] += s.one_minus_beta1 * (g[i] - m[i]);
      v[i] = v[i] * s.beta2 + s.one_minus_beta2 * g[i] * g[i];
      const float denom = std::sqrt(v[i]) / s.bias_correction2_sqrt + s.eps;
      w[i] = float(double(w[i]) * s.decay) - s.step_size * (m[i] / denom);
    }
  }
}

void sgd_update(const OptimizerParams& p) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.replicas; ++r) {
    const SgdScalars s = p.sgd[r];
    float* w = p.weights + r * p.params;
    const float* g = p.grads + r * p.params;
    float* buffer = p.state1 + r * p.params;
#pragma omp simd
    for (int64_t i = 0; i < p.params; ++i) {
      const float grad = g[i] + s.weight_decay * w[i];
      buffer[i] = s.momentum * buffer[i] + grad;
      w[i] -= s.lr * buffer[i];
    }
  }
}

void replica_sum_squares(int64_t replicas, int64_t count, const float* x, int64_t stride,
                         double* out) {
  const int64_t chunks = std::max<int64_t>(1, (count + kNormChunk - 1) / kNormChunk);
  std::vector<double> partial(replicas * chunks);

#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < replicas * chunks; ++task) {
    const int64_t r = task / chunks;
    const int64_t begin = (task % chunks) * kNormChunk;
    const int64_t end = std::min(count, begin + kNormChunk);
    const float* row = x + r * stride;
    double sum = 0.0;
    for (int64_t i = begin; i < end; ++i) sum += double(row[i]) * double(row[i]);
    partial[task] = sum;
  }
  for (int64_t r = 0; r < replicas; ++r) {
    double sum = 0.0;
    for (int64_t c = 0; c < chunks; ++c) sum += partial[r * chunks + c];
    out[r] = sum;
  }
}

void replica_scale(int64_t replicas, int64_t count, float* x, int64_t stride,
                   const double* factors) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < replicas; ++r) {
    const float factor = float(factors[r]);
    float* row = x + r * stride;
    for (int64_t i = 0; i < count; ++i) row[i] *= factor;
  }
}

void replica_blend(int64_t replicas, int64_t count, const float* a, const float* b, float* out,
                   int64_t stride, const double* alpha) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < replicas; ++r) {
    const double share = alpha[r];
    const int64_t offset = r * stride;
    for (int64_t i = 0; i < count; ++i) {
      const double mixed = share * double(a[offset + i]) + (1.0 - share) * double(b[offset + i]);
      out[offset + i] = float(mixed);
    }
  }
}

}  // namespace glassy::cpu
