// A System's observables for the samplers: x = ln L_train and y = the smoothed test accuracy
// A_test, each with its gradient, and the hard accuracies and L_train as diagnostics.
#pragma once

#include "engine/observables.h"
#include "engine/system.h"

namespace glassy {

class TaskObservables final : public ObservableSystem {
public:
  explicit TaskObservables(System& system) : system_(system) {}

  Backend& backend() override { return system_.backend(); }
  int64_t walkers() const override { return system_.replicas(); }
  const ParameterLayout& layout() const override { return system_.layout(); }
  void initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) override {
    system_.initialize(weights, seeds);
  }
  std::string x_name() const override { return "ln_loss_train"; }
  std::string y_name() const override { return "smooth_acc_test"; }
  std::vector<std::string> diagnostic_names() const override {
    return {"loss_train", "acc_train", "acc_test"};
  }
  void observe(const float* weights, bool with_y, float* grad_x, float* grad_y,
               std::vector<Observation>& out) override;
  // The training statistics (R) of the last observe().
  const std::vector<LossStats>& train_stats() const { return train_; }

private:
  System& system_;
  std::vector<LossStats> train_, test_;
};

}  // namespace glassy
