// The training loop and its two dynamics. Step s's record describes the weights after s
// updates; the training statistics come from the same forward pass that produces the gradient
// of update s + 1, so an evaluation step costs one extra forward pass over the test set only.
#include "samplers/trainer.h"

#include "engine/error.h"
#include "engine/norms.h"

namespace glassy {

GradientDynamics::GradientDynamics(System& system, Optimizer& optimizer)
    : system_(system),
      optimizer_(optimizer),
      grads_(system.backend(), system.replicas() * system.parameter_count()) {
  LossObjective mean_loss;
  mean_loss.coef_loss = 1.0;
  objectives_.assign(system.replicas(), mean_loss);
}

void GradientDynamics::evaluate_train(const Buffer<float>& weights, bool prepare_update,
                                      std::vector<LossStats>& train) {
  if (prepare_update) {
    system_.evaluate(DataSplit::train, weights.data(), &objectives_, grads_.data(), train);
  } else {
    system_.evaluate(DataSplit::train, weights.data(), nullptr, nullptr, train);
  }
}

WandDynamics::WandDynamics(System& system, TaskObservables& observables, Wand& wand,
                           const Optimizer* adamw)
    : system_(system), observables_(observables), wand_(wand), adamw_(adamw) {
  GLASSY_CHECK((wand.config().alpha != HybridAlpha::none) == (adamw != nullptr),
               "WandDynamics needs the AdamW optimizer exactly for the hybrid");
}

void WandDynamics::evaluate_train(const Buffer<float>& weights, bool prepare_update,
                                  std::vector<LossStats>& train) {
  if (prepare_update) {
    wand_.observe(weights);
    train = observables_.train_stats();
  } else {
    system_.evaluate(DataSplit::train, weights.data(), nullptr, nullptr, train);
  }
}

void WandDynamics::update(Buffer<float>& weights) { wand_.update(weights); }

double WandDynamics::step_size(int64_t replica, int64_t k) const {
  return adamw_ ? adamw_->learning_rate(replica, k) : wand_.config().langevin.dt;
}

void WandDynamics::add_diagnostics(TrainRecord& record) {
  record.temperature = wand_.temperature();
}

TrainOutcome train_replicas(System& system, TrainDynamics& dynamics, Buffer<float>& weights,
                            const TrainerOptions& options,
                            const std::function<void(const TrainRecord&)>& on_record,
                            const std::atomic<bool>* stop,
                            const std::function<void(int64_t step)>& on_checkpoint) {
  const int64_t replicas = system.replicas();
  const int64_t params = system.parameter_count();
  TrainOutcome outcome;
  TrainRecord record;
  const int64_t first_step = dynamics.steps_done();
  for (int64_t step = first_step;; ++step) {
    const bool interrupted = stop && stop->load();
    const bool last = step >= options.steps || interrupted;
    const bool evaluate = last || step % options.eval_every == 0;

    dynamics.evaluate_train(weights, !last, record.train);
    if (evaluate) {
      system.evaluate(DataSplit::test, weights.data(), nullptr, nullptr, record.test);
      record.step = step;
      record.weight_norm = replica_norms(system.backend(), weights.data(), replicas, params);
      record.lr.assign(replicas, 0.0);
      for (int64_t r = 0; r < replicas && step > 0; ++r) {
        record.lr[r] = dynamics.step_size(r, step);
      }
      dynamics.add_diagnostics(record);
      on_record(record);
    }
    const bool checkpoint_due = options.checkpoint_every > 0 &&
                                step % options.checkpoint_every == 0;
    if (on_checkpoint && step > first_step && (last || checkpoint_due)) on_checkpoint(step);
    if (last) {
      outcome.steps_done = step;
      outcome.interrupted = interrupted && step < options.steps;
      return outcome;
    }
    dynamics.update(weights);
  }
}

TrainOutcome train_replicas(System& system, Optimizer& optimizer, Buffer<float>& weights,
                            const TrainerOptions& options,
                            const std::function<void(const TrainRecord&)>& on_record,
                            const std::atomic<bool>* stop,
                            const std::function<void(int64_t step)>& on_checkpoint) {
  GradientDynamics dynamics(system, optimizer);
  return train_replicas(system, dynamics, weights, options, on_record, stop, on_checkpoint);
}

}  // namespace glassy
