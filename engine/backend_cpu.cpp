// The CPU backend: host memory and the OpenMP kernels of kernels/cpu. It is the reference
// implementation that device backends are tested against.
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <omp.h>

#include "engine/backend.h"
#include "engine/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/langevin.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/wang_landau.h"

namespace glassy {
namespace {

constexpr std::size_t kAlignment = 64;
constexpr int kMaxContext = 64;  // the attention kernel keeps one score row on the stack

class CpuBackend final : public Backend {
public:
  BackendKind kind() const override { return BackendKind::cpu; }
  std::string device_description() const override {
    return fmt::format("CPU: {}, OpenMP threads: {}", cpu_model_name(), omp_get_max_threads());
  }
  void set_threads(int threads) override {
    if (threads > 0) omp_set_num_threads(threads);
  }

  void* allocate(std::size_t bytes) override {
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* pointer = std::aligned_alloc(kAlignment, rounded);
    GLASSY_CHECK(pointer != nullptr, "out of host memory allocating {} bytes", bytes);
    return pointer;
  }
  void release(void* pointer) override { std::free(pointer); }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    std::memmove(dst, src, bytes);
  }
  void fill_zero(void* dst, std::size_t bytes) override { std::memset(dst, 0, bytes); }
  void synchronize() override {}

  void gemm(const GemmParams<float>& params) override { cpu::gemm(params); }
  void gemm(const GemmParams<double>& params) override { cpu::gemm(params); }
  void column_sum(int64_t replicas, int64_t m, int64_t n, const float* x, int64_t ldx,
                  int64_t stride_x, float* out, int64_t stride_out, float beta) override {
    cpu::column_sum(replicas, m, n, x, ldx, stride_x, out, stride_out, beta);
  }
  void column_sum(int64_t replicas, int64_t m, int64_t n, const double* x, int64_t ldx,
                  int64_t stride_x, double* out, int64_t stride_out, double beta) override {
    cpu::column_sum(replicas, m, n, x, ldx, stride_x, out, stride_out, beta);
  }
  void attention_forward(const AttentionParams<float>& params) override {
    check_context(params.t, params.tq);
    cpu::attention_forward(params);
  }
  void attention_forward(const AttentionParams<double>& params) override {
    check_context(params.t, params.tq);
    cpu::attention_forward(params);
  }
  void attention_backward(const AttentionParams<float>& params) override {
    check_context(params.t, params.tq);
    cpu::attention_backward(params);
  }
  void attention_backward(const AttentionParams<double>& params) override {
    check_context(params.t, params.tq);
    cpu::attention_backward(params);
  }
  void embedding_forward(const EmbeddingParams<float>& params) override {
    cpu::embedding_forward(params);
  }
  void embedding_forward(const EmbeddingParams<double>& params) override {
    cpu::embedding_forward(params);
  }
  void embedding_backward(const EmbeddingParams<float>& params) override {
    cpu::embedding_backward(params);
  }
  void embedding_backward(const EmbeddingParams<double>& params) override {
    cpu::embedding_backward(params);
  }
  void cross_entropy(const LossParams<float>& params) override { cpu::cross_entropy(params); }
  void cross_entropy(const LossParams<double>& params) override { cpu::cross_entropy(params); }
  void adamw_update(const OptimizerParams& params) override { cpu::adamw_update(params); }
  void sgd_update(const OptimizerParams& params) override { cpu::sgd_update(params); }
  void replica_sum_squares(int64_t replicas, int64_t count, const float* x, int64_t stride,
                           double* out) override {
    cpu::replica_sum_squares(replicas, count, x, stride, out);
  }
  void replica_scale(int64_t replicas, int64_t count, float* x, int64_t stride,
                     const double* factors) override {
    cpu::replica_scale(replicas, count, x, stride, factors);
  }
  void replica_blend(int64_t replicas, int64_t count, const float* a, const float* b,
                     float* out, int64_t stride, const double* alpha) override {
    cpu::replica_blend(replicas, count, a, b, out, stride, alpha);
  }
  void langevin_step(const LangevinParams& params) override { cpu::langevin_step(params); }
  void wl_lookup(const WangLandauParams& params) override { cpu::wl_lookup(params); }
  void wl_deposit(const WangLandauParams& params) override { cpu::wl_deposit(params); }
  void wl_average(int64_t grids, int64_t cells, double* values) override {
    cpu::wl_average(grids, cells, values);
  }

private:
  static void check_context(int t, int tq) {
    GLASSY_CHECK(t >= 1 && t <= kMaxContext, "attention context must be in [1, {}], got {}",
                 kMaxContext, t);
    GLASSY_CHECK(tq >= 1 && tq <= t, "attention queries must be in [1, t = {}], got {}", t, tq);
  }
};

}  // namespace

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

std::unique_ptr<Backend> make_backend(BackendKind kind) {
  if (kind == BackendKind::cpu) {
    return std::make_unique<CpuBackend>();
  }
  throw UsageError(
      "--backend cuda is not available in this build: the CUDA backend is not implemented "
      "yet; use --backend cpu");
}

BackendKind parse_backend_kind(const std::string& name) {
  if (name == "cpu") return BackendKind::cpu;
  if (name == "cuda") return BackendKind::cuda;
  throw UsageError(fmt::format("--backend must be cpu or cuda, got '{}'", name));
}

}  // namespace glassy
