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
};

// Creates the backend of the given kind; throws UsageError when it is not available.
std::unique_ptr<Backend> make_backend(BackendKind kind);
BackendKind parse_backend_kind(const std::string& name);

}  // namespace glassy
