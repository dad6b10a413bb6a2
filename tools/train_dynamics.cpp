// The update rule of a `glassy train` run.
#include "tools/train_dynamics.h"

namespace glassy {
namespace {

bool is_hybrid(const TrainPlan& plan) {
  return plan.uses_wand && plan.wand.alpha != HybridAlpha::none;
}

// Returns the number of (R, P) float buffers beside the weights. AdamW and SGD keep the
// gradient and their moments. WanD keeps grad ln L and the velocities, and the hybrid adds the
// AdamW branch's weights, gradient and two moments.
int64_t planned_replica_buffers(const TrainPlan& plan) {
  if (is_hybrid(plan)) return 6;
  if (plan.uses_wand) return 2;
  return plan.optimizer.kind == OptimizerKind::adamw ? 3 : 2;
}

}  // namespace

double RunDynamics::planned_state_bytes(const TrainPlan& plan, int64_t params) {
  const double replicas = double(plan.replicas.size());
  double bytes = double(planned_replica_buffers(plan)) * sizeof(float) * double(params) *
                 replicas;
  if (plan.uses_wand) {
    bytes += sizeof(double) * double(plan.wand.grid.x.bins) * (replicas + 1.0);
  }
  return bytes;
}

RunDynamics::RunDynamics(const TrainPlan& plan, Backend& backend, System& system) {
  std::vector<uint64_t> seeds;
  std::vector<ReplicaHyper> hyper;
  for (const ReplicaSpec& replica : plan.replicas) {
    seeds.push_back(replica.seed);
    hyper.push_back(replica.hyper);
  }
  const int64_t params = system.parameter_count();
  state_bytes_ = std::size_t(planned_state_bytes(plan, params));
  if (!plan.uses_wand || is_hybrid(plan)) {
    optimizer_ = std::make_unique<Optimizer>(backend, plan.optimizer, hyper, params);
  }
  if (!plan.uses_wand) {
    dynamics_ = std::make_unique<GradientDynamics>(system, *optimizer_);
    return;
  }
  observables_ = std::make_unique<TaskObservables>(system);
  wand_ = std::make_unique<Wand>(*observables_, plan.wand, seeds, optimizer_.get());
  dynamics_ = std::make_unique<WandDynamics>(system, *observables_, *wand_, optimizer_.get());
}

void RunDynamics::start() {
  if (wand_) wand_->start();
}

void RunDynamics::save(TrainCheckpoint& checkpoint) const {
  if (optimizer_) checkpoint.optimizer = optimizer_->save_state();
  if (wand_) checkpoint.wand = wand_->save_state();
}

void RunDynamics::load(TrainCheckpoint& checkpoint) {
  if (optimizer_) optimizer_->load_state(checkpoint.optimizer);
  if (wand_) wand_->load_state(checkpoint.wand);
  checkpoint.optimizer = {};
  checkpoint.wand = {};
}

std::size_t RunDynamics::state_bytes() const { return state_bytes_; }

}  // namespace glassy
