// AdamW and SGD steps: the host computes each replica's scalars for the step (warm-up, bias
// corrections) and one fused backend kernel updates every replica's parameters.
#include "samplers/optimizer.h"

#include <algorithm>
#include <cmath>

#include "engine/norms.h"

namespace glassy {

OptimizerKind parse_optimizer_kind(const std::string& name) {
  if (name == "adamw") return OptimizerKind::adamw;
  if (name == "sgd") return OptimizerKind::sgd;
  throw UsageError(fmt::format("--optimizer must be adamw or sgd, got '{}'", name));
}

void optimizer_validate(const OptimizerConfig& c, const std::vector<ReplicaHyper>& hyper) {
  for (const ReplicaHyper& h : hyper) {
    GLASSY_REQUIRE(std::isfinite(h.lr) && h.lr > 0.0,
                   "--lr must be a positive number, got {}", h.lr);
    GLASSY_REQUIRE(std::isfinite(h.weight_decay) && h.weight_decay >= 0.0,
                   "--wd must be a non-negative number, got {}", h.weight_decay);
    GLASSY_REQUIRE(c.kind != OptimizerKind::adamw || h.lr * h.weight_decay < 1.0,
                   "--lr {} and --wd {} give AdamW a decay factor 1 - lr wd = {} that is not "
                   "positive; choose lr x wd < 1", h.lr, h.weight_decay,
                   1.0 - h.lr * h.weight_decay);
  }
  GLASSY_REQUIRE(c.beta1 >= 0.0 && c.beta1 < 1.0, "--beta1 must be in [0, 1), got {}", c.beta1);
  GLASSY_REQUIRE(c.beta2 >= 0.0 && c.beta2 < 1.0, "--beta2 must be in [0, 1), got {}", c.beta2);
  GLASSY_REQUIRE(c.eps > 0.0 && std::isfinite(c.eps), "--eps must be positive, got {}", c.eps);
  GLASSY_REQUIRE(c.momentum >= 0.0 && c.momentum < 1.0, "--momentum must be in [0, 1), got {}",
                 c.momentum);
  GLASSY_REQUIRE(c.warmup_steps >= 0, "--warmup-steps must be at least 0, got {}",
                 c.warmup_steps);
  GLASSY_REQUIRE(c.warmup_start >= 0.0 && c.warmup_start <= 1.0,
                 "--warmup-start must be in [0, 1], got {}", c.warmup_start);
  GLASSY_REQUIRE(c.fixed_norm >= 0.0 && std::isfinite(c.fixed_norm),
                 "--fixed-norm must be 0 (off) or a positive norm, got {}", c.fixed_norm);
}

Optimizer::Optimizer(Backend& backend, const OptimizerConfig& config,
                     std::vector<ReplicaHyper> hyper, int64_t params)
    : backend_(backend), config_(config), hyper_(std::move(hyper)), params_(params) {
  optimizer_validate(config_, hyper_);
  const int64_t replicas = int64_t(hyper_.size());
  state1_ = Buffer<float>(backend_, replicas * params_);
  if (config_.kind == OptimizerKind::adamw) state2_ = Buffer<float>(backend_, replicas * params_);
}

double Optimizer::learning_rate(int64_t replica, int64_t k) const {
  const double lr = hyper_[replica].lr;
  if (config_.warmup_steps <= 0) return lr;
  const double progress = std::min(double(k - 1) / double(config_.warmup_steps), 1.0);
  return lr * (config_.warmup_start + (1.0 - config_.warmup_start) * progress);
}

OptimizerState Optimizer::save_state() const {
  OptimizerState state;
  state.steps_done = steps_done_;
  state.state1 = state1_.download();
  state.state2 = state2_.download();
  return state;
}

void Optimizer::load_state(const OptimizerState& state) {
  GLASSY_CHECK(state.steps_done >= 0, "optimizer state with steps_done {}", state.steps_done);
  GLASSY_CHECK(state.state1.size() == state1_.size() && state.state2.size() == state2_.size(),
               "optimizer state of sizes {} and {} for an optimizer of sizes {} and {}",
               state.state1.size(), state.state2.size(), state1_.size(), state2_.size());
  state1_.upload(state.state1);
  state2_.upload(state.state2);
  steps_done_ = state.steps_done;
}

void Optimizer::step(Buffer<float>& weights, const Buffer<float>& grads) {
  const int64_t replicas = int64_t(hyper_.size());
  const int64_t k = ++steps_done_;
  OptimizerParams params;
  params.replicas = replicas;
  params.params = params_;
  params.weights = weights.data();
  params.grads = grads.data();
  params.state1 = state1_.data();
  params.state2 = state2_.data();

  if (config_.kind == OptimizerKind::adamw) {
    // Bias corrections in double, as PyTorch computes them on the host.
    const double correction1 = 1.0 - std::pow(config_.beta1, double(k));
    const double correction2 = 1.0 - std::pow(config_.beta2, double(k));
    std::vector<AdamWScalars> scalars(replicas);
    for (int64_t r = 0; r < replicas; ++r) {
      const double lr = learning_rate(r, k);
      scalars[r] = {float(lr), 1.0 - lr * hyper_[r].weight_decay, float(config_.beta1),
                    float(1.0 - config_.beta1), float(config_.beta2),
                    float(1.0 - config_.beta2), float(config_.eps), float(lr / correction1),
                    float(std::sqrt(correction2))};
    }
    Buffer<AdamWScalars> device(backend_, replicas);
    device.upload(scalars);
    params.adamw = device.data();
    backend_.adamw_update(params);
  } else {
    std::vector<SgdScalars> scalars(replicas);
    for (int64_t r = 0; r < replicas; ++r) {
      scalars[r] = {float(learning_rate(r, k)), float(hyper_[r].weight_decay),
                    float(config_.momentum)};
    }
    Buffer<SgdScalars> device(backend_, replicas);
    device.upload(scalars);
    params.sgd = device.data();
    backend_.sgd_update(params);
  }

  if (config_.fixed_norm > 0.0) {
    replica_rescale_to_norm(backend_, weights.data(), replicas, params_, config_.fixed_norm);
  }
}

}  // namespace glassy
