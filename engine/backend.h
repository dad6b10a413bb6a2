// The backend interface: memory and the replica-batched kernels. The CPU backend implements
// it with kernels/cpu; a CUDA backend implements the same calls with kernels/cuda. Models and
// samplers call only this interface, so they run unchanged on either. All pointers passed to
// kernels point into memory that the same backend allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/params.h"

namespace glassy {

enum class BackendKind { cpu, cuda };

class Backend {
public:
  virtual ~Backend() = default;

  virtual BackendKind kind() const = 0;
  // A one-line description of the device, for logs and run metadata.
  virtual std::string device_description() const = 0;
  // Worker threads on the CPU; ignored by device backends.
  virtual void set_threads(int threads) = 0;

  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* pointer) = 0;
  virtual void copy_from_host(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void fill_zero(void* dst, std::size_t bytes) = 0;
  // Waits for every queued kernel; a no-op on the CPU.
  virtual void synchronize() = 0;

  // The model kernels come in float (training, sampling) and double (gradient checks).
  virtual void gemm(const GemmParams<float>& params) = 0;
  virtual void gemm(const GemmParams<double>& params) = 0;
  virtual void column_sum(int64_t replicas, int64_t m, int64_t n, const float* x, int64_t ldx,
                          int64_t stride_x, float* out, int64_t stride_out, float beta) = 0;
  virtual void column_sum(int64_t replicas, int64_t m, int64_t n, const double* x,
                          int64_t ldx, int64_t stride_x, double* out, int64_t stride_out,
                          double beta) = 0;
  virtual void attention_forward(const AttentionParams<float>& params) = 0;
  virtual void attention_forward(const AttentionParams<double>& params) = 0;
  virtual void attention_backward(const AttentionParams<float>& params) = 0;
  virtual void attention_backward(const AttentionParams<double>& params) = 0;
  virtual void embedding_forward(const EmbeddingParams<float>& params) = 0;
  virtual void embedding_forward(const EmbeddingParams<double>& params) = 0;
  virtual void embedding_backward(const EmbeddingParams<float>& params) = 0;
  virtual void embedding_backward(const EmbeddingParams<double>& params) = 0;
  // LossParams.stats and the scratch arrays are backend memory like every other pointer.
  virtual void cross_entropy(const LossParams<float>& params) = 0;
  virtual void cross_entropy(const LossParams<double>& params) = 0;
  virtual void adamw_update(const OptimizerParams& params) = 0;
  virtual void sgd_update(const OptimizerParams& params) = 0;
  virtual void replica_sum_squares(int64_t replicas, int64_t count, const float* x,
                                   int64_t stride, double* out) = 0;
  virtual void replica_scale(int64_t replicas, int64_t count, float* x, int64_t stride,
                             const double* factors) = 0;
  // out[r, :] = alpha[r] a[r, :] + (1 - alpha[r]) b[r, :]; out may alias a or b.
  virtual void replica_blend(int64_t replicas, int64_t count, const float* a, const float* b,
                             float* out, int64_t stride, const double* alpha) = 0;

  // The sampler kernels (kernels/params.h explains each argument).
  virtual void langevin_step(const LangevinParams& params) = 0;
  // Finds every walker's bin, range flags and force coefficients; never reads out of bounds.
  virtual void wl_lookup(const WangLandauParams& params) = 0;
  // Adds amount times the stencil around every walker's bin (from wl_lookup) to its grid and 1
  // to the histogram, walker by walker in index order, so shared grids add up reproducibly.
  virtual void wl_deposit(const WangLandauParams& params) = 0;
  // Replaces each of the R grids (R, cells) by S_0 + (1/R) sum_r (S_r - S_0), summed in walker
  // order: deposits count 1/R, anything common to all grids (the bias) counts once, and
  // averaging identical grids leaves them bitwise unchanged.
  virtual void wl_average(int64_t grids, int64_t cells, double* values) = 0;
};

// Creates the backend of the given kind; throws UsageError when it is not available.
std::unique_ptr<Backend> make_backend(BackendKind kind);

// The host CPU's model name from /proc/cpuinfo, or "unknown CPU".
std::string cpu_model_name();
BackendKind parse_backend_kind(const std::string& name);

}  // namespace glassy
