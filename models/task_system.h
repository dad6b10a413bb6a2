// The transformer on a modular-arithmetic task, as a System: the training and test sets live
// in backend memory, and evaluate() runs forward, the loss kernel and, when asked, backward.
#pragma once

#include <memory>

#include "engine/data.h"
#include "engine/system.h"
#include "models/transformer.h"

namespace glassy {

class TaskSystem final : public System {
public:
  // slope: the s of the smoothed accuracy mean sigmoid(s * margin).
  TaskSystem(Backend& backend, const TransformerConfig& config, const Split& split,
             int64_t replicas, double slope);

  Backend& backend() override { return backend_; }
  int64_t replicas() const override { return replicas_; }
  const ParameterLayout& layout() const override { return model_.layout(); }
  void initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) override;
  void evaluate(DataSplit split, const float* weights,
                const std::vector<LossObjective>* objectives, float* gradient,
                std::vector<LossStats>& stats) override;
  double gradient_flops(DataSplit split) const override;

  Transformer<float>& model() { return model_; }
  // Bytes of backend memory a TaskSystem for this configuration holds, model included.
  static std::size_t memory_bytes(const TransformerConfig& config, const Split& split,
                                  int64_t replicas);
  // Returns the logits (R, N, C) of the last evaluation, in backend memory.
  const float* logits() const { return logits_; }

private:
  struct DeviceSet {
    int64_t size = 0;
    Buffer<int32_t> tokens;   // (N, T)
    Buffer<int32_t> answers;  // (N)
  };

  Backend& backend_;
  int64_t replicas_;
  double slope_;
  DeviceSet train_, test_;
  Transformer<float> model_;
  const float* logits_ = nullptr;
  Buffer<float> d_logits_;          // (R, N, C)
  Buffer<double> example_loss_;     // (R, N)
  Buffer<double> example_margin_;   // (R, N)
  Buffer<LossObjective> objectives_;  // (R)
  Buffer<LossStats> stats_;         // (R)
};

}  // namespace glassy
