// Walker starting states and bounds for `glassy sample`.
#include "tools/sample_starts.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <numeric>

#include "engine/error.h"
#include "engine/npy.h"
#include "samplers/trainer.h"
#include "tools/signals.h"

namespace glassy {
namespace {

constexpr double kBoundMargin = 1.05;

// Trains one AdamW replica to the largest requested step and returns the weights after each
// requested step.
std::map<int64_t, std::vector<float>> adamw_states(const SamplePlan& plan, const Split& split,
                                                   Backend& backend,
                                                   std::vector<StartRecord>& records) {
  std::vector<int64_t> steps;
  for (const WalkerGroup& g : plan.groups) {
    if (g.kind == "adamw") steps.push_back(g.adamw_step);
  }
  std::map<int64_t, std::vector<float>> states;
  if (steps.empty()) return states;
  const SampleSettings& s = plan.settings;
  TaskSystem system(backend, plan.model, split, 1, s.slope);
  Buffer<float> weights(backend, system.parameter_count());
  system.initialize(weights, {plan.adamw_seed});
  Optimizer optimizer(backend, plan.adamw, {ReplicaHyper{s.adamw_lr, s.adamw_wd}},
                      system.parameter_count());
  for (int64_t step : steps) {
    if (step == 0) states[0] = weights.download();
  }
  int64_t every = 0;
  for (int64_t step : steps) every = std::gcd(every, step);
  const int64_t last = *std::max_element(steps.begin(), steps.end());
  std::cerr << fmt::format("training the AdamW start states: {} steps, lr {}, wd {}\n", last,
                           s.adamw_lr, s.adamw_wd);
  auto on_record = [&](const TrainRecord& record) {
    if (std::find(steps.begin(), steps.end(), record.step) == steps.end()) return;
    states[record.step] = weights.download();
    records.push_back({fmt::format("adamw@{}", record.step), record.train[0].log_loss,
                       record.train[0].accuracy, record.test[0].accuracy,
                       record.weight_norm[0]});
    std::cerr << fmt::format("  adamw@{}: ln L_train {:.3f}, train acc {:.3f}, test acc "
                             "{:.3f}, norm {:.2f}\n", record.step, record.train[0].log_loss,
                             record.train[0].accuracy, record.test[0].accuracy,
                             record.weight_norm[0]);
  };
  if (last > 0) {
    train_replicas(system, optimizer, weights, TrainerOptions{last, std::max<int64_t>(every, 1)},
                   on_record, &install_stop_handlers());
  }
  return states;
}

std::vector<float> npy_row(const WalkerGroup& group, int64_t params) {
  NpyArray array;
  try {
    array = npy_read(group.path);
  } catch (const std::exception& error) {
    throw UsageError(fmt::format("--start {}: cannot read the file: {}", group.label(),
                                 error.what()));
  }
  GLASSY_REQUIRE(array.shape.size() == 2 && array.shape[1] == params,
                 "--start {}: the file must hold rows of {} parameters, shape (R, {}), as a "
                 "glassy weights.npy does", group.label(), params, params);
  GLASSY_REQUIRE(array.dtype == npy_dtype<float>(), "--start {}: the file holds {}, not float32",
                 group.label(), array.dtype);
  const std::vector<float> values = array.values<float>();
  const int64_t rows = params > 0 ? int64_t(values.size()) / params : 0;
  GLASSY_REQUIRE(int64_t(values.size()) == rows * params && group.row < rows,
                 "--start {}: the file holds {} values, not rows of {} parameters with a row {}",
                 group.label(), values.size(), params, group.row);
  return std::vector<float>(values.begin() + group.row * params,
                            values.begin() + (group.row + 1) * params);
}

}  // namespace

std::vector<float> sample_start_weights(const SamplePlan& plan, const Split& split,
                                        TaskSystem& system, const std::string& directory,
                                        std::vector<StartRecord>& records) {
  const int64_t params = system.parameter_count();
  std::vector<uint64_t> seeds(plan.walkers);
  for (int64_t r = 0; r < plan.walkers; ++r) seeds[r] = plan.first_seed + uint64_t(r);
  Buffer<float> fresh(system.backend(), plan.walkers * params);
  system.initialize(fresh, seeds);
  std::vector<float> weights = fresh.download();

  const auto states = adamw_states(plan, split, system.backend(), records);
  if (stop_requested()) return {};
  for (const auto& [step, state] : states) {
    const std::vector<int64_t> shape{params};
    npy_write(fmt::format("{}/starts/adamw_{}.npy", directory, step), state.data(), shape);
  }
  int64_t walker = 0;
  for (const WalkerGroup& group : plan.groups) {
    std::vector<float> state;
    if (group.kind == "adamw") state = states.at(group.adamw_step);
    if (group.kind == "npy") state = npy_row(group, params);
    for (int64_t i = 0; i < group.count; ++i, ++walker) {
      if (!state.empty()) std::copy(state.begin(), state.end(), weights.begin() + walker * params);
    }
  }
  return weights;
}

std::vector<float> sample_bounds(const SamplePlan& plan, const ParameterLayout& layout,
                                 const std::vector<float>& weights, nlohmann::json& report) {
  const int64_t params = layout.size();
  const int64_t walkers = int64_t(weights.size()) / params;
  std::map<std::string, double> overrides(plan.bound_overrides.begin(),
                                          plan.bound_overrides.end());
  for (const auto& [name, value] : overrides) {
    std::string names;
    bool known = false;
    for (const TensorInfo& t : layout.tensors()) {
      known = known || t.name == name;
      names += (names.empty() ? "" : ", ") + t.name;
    }
    GLASSY_REQUIRE(known, "--bound names tensor '{}', which this model lacks; its tensors are {}",
                   name, names);
  }

  std::vector<float> bounds(params);
  report = nlohmann::json::array();
  for (const TensorInfo& t : layout.tensors()) {
    double largest = 0.0;
    for (int64_t r = 0; r < walkers; ++r) {
      for (int64_t i = 0; i < t.size; ++i) {
        largest = std::max(largest, double(std::fabs(weights[r * params + t.offset + i])));
      }
    }
    const double std_dev = t.init_std > 0.0 ? t.init_std : 1.0 / std::sqrt(plan.model.d_model);
    double bound = std::max(plan.settings.bound_scale * std_dev, kBoundMargin * largest);
    const bool overridden = overrides.count(t.name) > 0;
    if (overridden) bound = overrides.at(t.name);
    std::fill(bounds.begin() + t.offset, bounds.begin() + t.offset + t.size, float(bound));
    report.push_back({{"tensor", t.name}, {"bound", bound}, {"given", overridden},
                      {"largest_start_weight", largest}});
  }
  return bounds;
}

}  // namespace glassy
