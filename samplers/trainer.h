// Full-batch training of R replicas on any System: each step evaluates the training set and
// applies one update, either a gradient optimizer's step on the mean loss L or a WanD step.
// At every evaluation step the training and test statistics and the weight norms go to a
// callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/system.h"
#include "engine/task_observables.h"
#include "samplers/optimizer.h"
#include "samplers/wand.h"

namespace glassy {

// Statistics of every replica after `step` updates.
struct TrainRecord {
  int64_t step = 0;
  std::vector<LossStats> train, test;  // (R)
  std::vector<double> weight_norm;     // (R)
  std::vector<double> lr;              // (R): step size of the update that led here (the
                                       // learning rate, or dt for WanD), 0 at step 0
  std::vector<double> temperature;  // (R): WanD's <v^2> / kT; empty for other dynamics
};

// One kind of update of the training loop.
class TrainDynamics {
public:
  virtual ~TrainDynamics() = default;

  // Updates applied so far; the loop starts at this step.
  virtual int64_t steps_done() const = 0;
  // Evaluates the training split at weights (R, P) into train (R). With prepare_update it also
  // computes what the next update() needs, such as the gradient.
  virtual void evaluate_train(const Buffer<float>& weights, bool prepare_update,
                              std::vector<LossStats>& train) = 0;
  // Applies update steps_done() + 1 to weights, from the last evaluate_train that prepared it.
  virtual void update(Buffer<float>& weights) = 0;
  // Step size of update k (k = 1 is the first) of replica r: the learning rate, or dt.
  virtual double step_size(int64_t replica, int64_t k) const = 0;
  // Adds diagnostics of the dynamics to the record of the current step.
  virtual void add_diagnostics(TrainRecord& record) { (void)record; }
};

// A gradient optimizer (AdamW or SGD) on the mean training loss L.
class GradientDynamics final : public TrainDynamics {
public:
  GradientDynamics(System& system, Optimizer& optimizer);

  int64_t steps_done() const override { return optimizer_.steps_done(); }
  void evaluate_train(const Buffer<float>& weights, bool prepare_update,
                      std::vector<LossStats>& train) override;
  void update(Buffer<float>& weights) override { optimizer_.step(weights, grads_); }
  double step_size(int64_t replica, int64_t k) const override {
    return optimizer_.learning_rate(replica, k);
  }

private:
  System& system_;
  Optimizer& optimizer_;
  Buffer<float> grads_;  // (R, P)
  std::vector<LossObjective> objectives_;  // (R): a = 1
};

// WanD or the WanD-AdamW hybrid. wand must drive `observables`, and observables `system`.
// The training statistics come from the pass that computes grad ln L_train for the update.
class WandDynamics final : public TrainDynamics {
public:
  WandDynamics(System& system, TaskObservables& observables, Wand& wand,
               const Optimizer* adamw);

  int64_t steps_done() const override { return wand_.steps_done(); }
  void evaluate_train(const Buffer<float>& weights, bool prepare_update,
                      std::vector<LossStats>& train) override;
  void update(Buffer<float>& weights) override;
  // dt for WanD; the AdamW learning rate for the hybrid.
  double step_size(int64_t replica, int64_t k) const override;
  void add_diagnostics(TrainRecord& record) override;

private:
  System& system_;
  TaskObservables& observables_;
  Wand& wand_;
  const Optimizer* adamw_;  // the hybrid's AdamW branch, else null
};

struct TrainerOptions {
  int64_t steps = 1000;
  int64_t eval_every = 10;  // also evaluates at step 0 and at the last step
  // Steps between calls of on_checkpoint, which also runs at the last step. 0: only there.
  int64_t checkpoint_every = 0;
};

struct TrainOutcome {
  int64_t steps_done = 0;
  bool interrupted = false;
};

// Runs the loop from dynamics.steps_done() to options.steps. on_record receives every
// evaluation. on_checkpoint(step), when given, runs after the record of `step` and before the
// next update, so weights and dynamics contain the state after `step` updates. It is not
// called at the starting step, because the caller already has that state. When *stop becomes
// true the loop ends after the current update with one last evaluation, so the records stay
// complete.
TrainOutcome train_replicas(System& system, TrainDynamics& dynamics, Buffer<float>& weights,
                            const TrainerOptions& options,
                            const std::function<void(const TrainRecord&)>& on_record,
                            const std::atomic<bool>* stop,
                            const std::function<void(int64_t step)>& on_checkpoint = {});

// The loop with GradientDynamics(system, optimizer).
TrainOutcome train_replicas(System& system, Optimizer& optimizer, Buffer<float>& weights,
                            const TrainerOptions& options,
                            const std::function<void(const TrainRecord&)>& on_record,
                            const std::atomic<bool>* stop,
                            const std::function<void(int64_t step)>& on_checkpoint = {});

}  // namespace glassy
