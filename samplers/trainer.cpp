// The training loop. Step s's record describes the weights after s updates; the training
// statistics come from the same forward pass that produces the gradient of update s + 1, so
// an evaluation step costs one extra forward pass over the test set only.
#include "samplers/trainer.h"

#include "engine/norms.h"

namespace glassy {

TrainOutcome train_replicas(System& system, Optimizer& optimizer, Buffer<float>& weights,
                            const TrainerOptions& options,
                            const std::function<void(const TrainRecord&)>& on_record,
                            const std::atomic<bool>* stop,
                            const std::function<void(int64_t step)>& on_checkpoint) {
  const int64_t replicas = system.replicas();
  const int64_t params = system.parameter_count();
  Buffer<float> grads(system.backend(), replicas * params);
  LossObjective mean_loss;
  mean_loss.coef_loss = 1.0;
  const std::vector<LossObjective> objectives(replicas, mean_loss);

  TrainOutcome outcome;
  TrainRecord record;
  const int64_t first_step = optimizer.steps_done();
  for (int64_t step = first_step;; ++step) {
    const bool interrupted = stop && stop->load();
    const bool last = step >= options.steps || interrupted;
    const bool evaluate = last || step % options.eval_every == 0;

    if (!last) {
      system.evaluate(DataSplit::train, weights.data(), &objectives, grads.data(), record.train);
    } else {
      system.evaluate(DataSplit::train, weights.data(), nullptr, nullptr, record.train);
    }
    if (evaluate) {
      system.evaluate(DataSplit::test, weights.data(), nullptr, nullptr, record.test);
      record.step = step;
      record.weight_norm = replica_norms(system.backend(), weights.data(), replicas, params);
      record.lr.assign(replicas, 0.0);
      for (int64_t r = 0; r < replicas && step > 0; ++r) {
        record.lr[r] = optimizer.learning_rate(r, step);
      }
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
    optimizer.step(weights, grads);
  }
}

}  // namespace glassy
