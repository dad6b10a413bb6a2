// x = ln L_train and y = A_test of a System, one evaluation per split.
#include "engine/task_observables.h"

#include <limits>

namespace glassy {

void TaskObservables::observe(const float* weights, bool with_y, float* grad_x, float* grad_y,
                              std::vector<Observation>& out) {
  const int64_t walkers = system_.replicas();
  std::vector<LossObjective> log_loss(walkers), smooth_acc(walkers);
  for (int64_t r = 0; r < walkers; ++r) {
    log_loss[r].coef_log_loss = 1.0;
    smooth_acc[r].coef_smooth_acc = 1.0;
  }
  system_.evaluate(DataSplit::train, weights, grad_x ? &log_loss : nullptr, grad_x, train_);
  if (with_y) {
    system_.evaluate(DataSplit::test, weights, grad_y ? &smooth_acc : nullptr, grad_y, test_);
  }

  out.resize(walkers);
  const double missing = std::numeric_limits<double>::quiet_NaN();
  for (int64_t r = 0; r < walkers; ++r) {
    out[r].x = train_[r].log_loss;
    out[r].y = with_y ? test_[r].smooth_accuracy : 0.0;
    out[r].diagnostics = {train_[r].loss, train_[r].accuracy,
                          with_y ? test_[r].accuracy : missing};
  }
}

}  // namespace glassy
