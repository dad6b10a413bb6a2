// The starting states of `glassy sample`'s walkers and the reflective bounds that contain
// them. A walker starts from a fresh initialization, from a state of an AdamW run that the
// command trains first, or from a row of a weights.npy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data.h"
#include "engine/parameters.h"
#include "models/task_system.h"
#include "tools/sample_settings.h"

namespace glassy {

// The AdamW start states' statistics, for the log and summary.json.
struct StartRecord {
  std::string label;
  double log_train_loss = 0.0, train_acc = 0.0, test_acc = 0.0, weight_norm = 0.0;
};

// Returns every walker's starting weights (R, P), walker r initialized from seed + r. For the
// groups that start from AdamW states it trains one AdamW run first and saves each state as
// directory/starts/adamw_STEP.npy. Returns an empty vector when a signal stopped that run.
std::vector<float> sample_start_weights(const SamplePlan& plan, const Split& split,
                                        TaskSystem& system, const std::string& directory,
                                        std::vector<StartRecord>& records);

// Bound of every parameter (P): for each tensor, --bound's value when given, else
// max(bound_scale x init std (1/sqrt(d_model) for zero-initialized tensors),
// 1.05 x the largest |weight| of the tensor over all starting walkers).
std::vector<float> sample_bounds(const SamplePlan& plan, const ParameterLayout& layout,
                                 const std::vector<float>& weights, nlohmann::json& report);

}  // namespace glassy
