// Checkpoints of `glassy train`, in RUN/checkpoint/: weights.npy (R, P), the optimizer's state
// (adamw_m.npy and adamw_v.npy, or sgd_momentum.npy, each (R, P)), and checkpoint.json with the
// step, the training time so far and each replica's progress towards the accuracy targets.
// WanD adds wand_velocity.npy (R, P), wand_grids.npy (R, NX) and wand_histogram.npy (NX), and
// its step count and out-of-range counts in checkpoint.json; the hybrid saves both states.
// Together with config.json they let `glassy train --resume` continue bit for bit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "samplers/optimizer.h"
#include "samplers/wand.h"
#include "tools/train_settings.h"

namespace glassy {

// The first evaluated steps at which a replica reached the accuracy targets, and the first at
// which its loss or weights stopped being finite.
struct ReplicaProgress {
  std::optional<int64_t> train_target_step, test_target_step, diverged_step;
};

// The state of a training run after `step` updates.
struct TrainCheckpoint {
  int64_t step = 0;
  double elapsed_seconds = 0.0;  // training time up to this step, summed over resumed runs
  std::vector<float> weights;    // (R, P)
  OptimizerState optimizer;      // empty for --optimizer wand
  WandState wand;                // empty unless the plan uses WanD
  std::vector<ReplicaProgress> progress;  // (R)
};

// Returns the checkpoint directory of the run directory run_path.
std::string train_checkpoint_path(const std::string& run_path);

// Throws UsageError unless the run directory run_path has a checkpoint.
void train_checkpoint_require(const std::string& run_path);

// Writes the checkpoint of the run in run_path, replacing the previous one atomically.
void train_checkpoint_write(const std::string& run_path, const TrainPlan& plan,
                            const TrainCheckpoint& checkpoint);

// Reads the checkpoint of the run in run_path and checks it against the run's plan and its
// number of parameters. Throws UsageError when there is none, or when it is damaged or does
// not match.
TrainCheckpoint train_checkpoint_read(const std::string& run_path, const TrainPlan& plan,
                                      int64_t params);

}  // namespace glassy
