// Gradient-based optimizers over R replicas with per-replica learning rate and weight decay:
// AdamW (decoupled weight decay, PyTorch's convention p <- p (1 - lr_t wd)) and SGD with
// momentum (coupled L2 decay, PyTorch's convention), a linear learning-rate warm-up, and an
// optional projection onto a fixed global norm after every step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"

namespace glassy {

enum class OptimizerKind { adamw, sgd };

OptimizerKind parse_optimizer_kind(const std::string& name);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::adamw;
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-8;  // AdamW
  double momentum = 0.9;                          // SGD
  // Linear warm-up over W = warmup_steps steps from the factor f0 = warmup_start; the k-th
  // step (k = 1, 2, ...) uses lr_k = lr (f0 + (1 - f0) min((k - 1) / W, 1)). With f0 = 0 the
  // first step has lr 0, as in the grokking reference code's LambdaLR(min(step / W, 1)).
  // With f0 = 0.1 it is PyTorch's LinearLR(start_factor=0.1, total_iters=W).
  int64_t warmup_steps = 10;
  double warmup_start = 0.0;
  double fixed_norm = 0.0;  // > 0: rescale every replica to this global norm after each step
};

// The complete state of an Optimizer. A new Optimizer with the same config, hyperparameters
// and size that loads it continues exactly as the one that saved it, because step k + 1
// takes its warm-up factor and its bias corrections 1 - beta^(k + 1) from steps_done = k.
struct OptimizerState {
  int64_t steps_done = 0;
  std::vector<float> state1;  // (R, P): AdamW's first moment m, or the SGD momentum buffer
  std::vector<float> state2;  // (R, P): AdamW's second moment v; empty for SGD
};

struct ReplicaHyper {
  double lr = 1e-3;
  double weight_decay = 0.0;
};

// Throws UsageError for a setting outside its allowed range.
void optimizer_validate(const OptimizerConfig& config, const std::vector<ReplicaHyper>& hyper);

class Optimizer {
public:
  Optimizer(Backend& backend, const OptimizerConfig& config, std::vector<ReplicaHyper> hyper,
            int64_t params);

  // Applies one step to weights (R, P) given grads (R, P).
  void step(Buffer<float>& weights, const Buffer<float>& grads);

  // Returns the learning rate replica r uses at step k (k = 1 is the first step).
  double learning_rate(int64_t replica, int64_t k) const;
  int64_t steps_done() const { return steps_done_; }

  // Copies the state out of backend memory.
  OptimizerState save_state() const;
  // Replaces the state with a saved one. Throws glassy::Error when its buffer sizes do not
  // match this optimizer's kind, replicas and parameters, or steps_done is negative.
  void load_state(const OptimizerState& state);

private:
  Backend& backend_;
  OptimizerConfig config_;
  std::vector<ReplicaHyper> hyper_;
  int64_t params_;
  int64_t steps_done_ = 0;
  Buffer<float> state1_, state2_;  // (R, P): AdamW m and v, or the SGD momentum buffer
};

}  // namespace glassy
