// The update rule of a `glassy train` run, built from its plan: AdamW or SGD, WanD, or the
// WanD-AdamW hybrid. It owns the optimizer and sampler objects and moves their state in and
// out of checkpoints.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "engine/task_observables.h"
#include "samplers/optimizer.h"
#include "samplers/trainer.h"
#include "samplers/wand.h"
#include "tools/train_checkpoint.h"
#include "tools/train_settings.h"

namespace glassy {

class RunDynamics {
public:
  // Replica r of a WanD run draws its velocities and noise from the seed of plan.replicas[r].
  RunDynamics(const TrainPlan& plan, Backend& backend, System& system);

  TrainDynamics& dynamics() { return *dynamics_; }
  // Prepares a new run from step 0: WanD draws its Maxwell-Boltzmann velocities.
  void start();
  // Copies the optimizer and WanD state into checkpoint (the fields this run uses).
  void save(TrainCheckpoint& checkpoint) const;
  // Loads the state read from a checkpoint, then drops those arrays from it.
  void load(TrainCheckpoint& checkpoint);
  // Bytes of optimizer and sampler state and scratch, beside the weights.
  std::size_t state_bytes() const;

  // The bytes state_bytes() will take for a plan, before anything is allocated.
  static double planned_state_bytes(const TrainPlan& plan, int64_t params);

private:
  std::unique_ptr<Optimizer> optimizer_;  // AdamW or SGD, or the hybrid's AdamW branch
  std::unique_ptr<TaskObservables> observables_;
  std::unique_ptr<Wand> wand_;
  std::unique_ptr<TrainDynamics> dynamics_;
  std::size_t state_bytes_ = 0;
};

}  // namespace glassy
