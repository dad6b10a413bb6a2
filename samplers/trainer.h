// Full-batch gradient training of R replicas on any System: each step evaluates the training
// set with the gradient of the mean loss L and applies the optimizer. At every evaluation
// step the training and test statistics and the weight norms go to a callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/system.h"
#include "samplers/optimizer.h"

namespace glassy {

// Statistics of every replica after `step` optimizer updates.
struct TrainRecord {
  int64_t step = 0;
  std::vector<LossStats> train, test;  // (R)
  std::vector<double> weight_norm;     // (R)
  std::vector<double> lr;              // (R): lr of the update that led here, 0 at step 0
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

// Runs the loop from the optimizer's steps_done to options.steps. on_record receives every
// evaluation. on_checkpoint(step), when given, runs after the record of `step` and before the
// next update, so weights and optimizer contain the state after `step` updates. It is not
// called at the starting step, because the caller already has that state. When *stop becomes
// true the loop ends after the current update with one last evaluation, so the records stay
// complete.
TrainOutcome train_replicas(System& system, Optimizer& optimizer, Buffer<float>& weights,
                            const TrainerOptions& options,
                            const std::function<void(const TrainRecord&)>& on_record,
                            const std::atomic<bool>* stop,
                            const std::function<void(int64_t step)>& on_checkpoint = {});

}  // namespace glassy
