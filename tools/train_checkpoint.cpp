// Checkpoints of `glassy train`: the mapping between a run's state and the files of an
// engine checkpoint directory.
#include "tools/train_checkpoint.h"

#include <fmt/ranges.h>

#include "engine/checkpoint.h"
#include "engine/error.h"

namespace glassy {
namespace {

constexpr const char* kKind = "glassy train";

nlohmann::json optional_step_json(const std::optional<int64_t>& step) {
  return step ? nlohmann::json(*step) : nlohmann::json(nullptr);
}

std::optional<int64_t> optional_step(const nlohmann::json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<int64_t>();
}

nlohmann::json progress_json(const std::vector<ReplicaProgress>& progress) {
  nlohmann::json replicas = nlohmann::json::array();
  for (const ReplicaProgress& p : progress) {
    replicas.push_back({{"first_step_train_acc_99", optional_step_json(p.train_target_step)},
                        {"first_step_test_acc_95", optional_step_json(p.test_target_step)},
                        {"diverged_at_step", optional_step_json(p.diverged_step)}});
  }
  return replicas;
}

std::vector<ReplicaProgress> progress_from_json(const nlohmann::json& replicas) {
  std::vector<ReplicaProgress> progress;
  for (const nlohmann::json& entry : replicas) {
    progress.push_back({optional_step(entry.at("first_step_train_acc_99")),
                        optional_step(entry.at("first_step_test_acc_95")),
                        optional_step(entry.at("diverged_at_step"))});
  }
  return progress;
}

// Returns the values of the array `name` in the checkpoint, which must have the element type T
// and the given shape.
template <typename T>
std::vector<T> checked_array(const Checkpoint& checkpoint, const std::string& name,
                             const std::vector<int64_t>& shape) {
  const auto found = checkpoint.arrays.find(name);
  GLASSY_REQUIRE(found != checkpoint.arrays.end(), "checkpoint '{}' has no {}; it does not "
                 "belong to this run's optimizer", checkpoint.directory, name);
  const NpyArray& array = found->second;
  GLASSY_REQUIRE(array.dtype == npy_dtype<T>() && array.shape == shape,
                 "checkpoint file '{}/{}' has dtype {} and shape ({}), but the run needs {} "
                 "({})", checkpoint.directory, name, array.dtype, fmt::join(array.shape, ", "),
                 npy_dtype<T>(), fmt::join(shape, ", "));
  return array.values<T>();
}

// Returns the values of the float32 array `name` of shape (R, P) in the checkpoint.
std::vector<float> replica_array(const Checkpoint& checkpoint, const std::string& name,
                                 int64_t replicas, int64_t params) {
  return checked_array<float>(checkpoint, name, {replicas, params});
}

nlohmann::json range_counts_json(const RangeCounts& c) {
  return {{"x_low", c.x_low}, {"x_high", c.x_high}, {"not_a_number", c.not_a_number}};
}

RangeCounts range_counts_from_json(const nlohmann::json& counts) {
  RangeCounts c;
  c.x_low = counts.at("x_low").get<int64_t>();
  c.x_high = counts.at("x_high").get<int64_t>();
  c.not_a_number = counts.at("not_a_number").get<int64_t>();
  return c;
}

// Reads WanD's arrays into wand. The step count and range counts come from the metadata.
void read_wand_arrays(const Checkpoint& checkpoint, const TrainPlan& plan, int64_t params,
                      WandState& wand) {
  const int64_t replicas = int64_t(plan.replicas.size());
  const int64_t bins = plan.wand.grid.x.bins;
  wand.velocity = replica_array(checkpoint, "wand_velocity.npy", replicas, params);
  wand.grids = checked_array<double>(checkpoint, "wand_grids.npy", {replicas, bins});
  wand.histogram = checked_array<int64_t>(checkpoint, "wand_histogram.npy", {bins});
}

// Checks that the recorded sizes and step fit the run described by config.json.
void check_metadata(const Checkpoint& checkpoint, const TrainPlan& plan, int64_t params) {
  const nlohmann::json& m = checkpoint.metadata;
  const int64_t replicas = int64_t(plan.replicas.size());
  GLASSY_REQUIRE(m.value("kind", "") == kKind, "'{}' is not a checkpoint of glassy train",
                 checkpoint.directory);
  const bool matches = m.at("optimizer").get<std::string>() == plan.settings.optimizer &&
                       m.at("replicas").get<int64_t>() == replicas &&
                       m.at("parameters").get<int64_t>() == params &&
                       m.at("replica_progress").size() == std::size_t(replicas);
  GLASSY_REQUIRE(matches, "checkpoint '{}' records optimizer {}, {} replicas and {} parameters, "
                 "but config.json gives {}, {} and {}; it belongs to another run",
                 checkpoint.directory, m.at("optimizer").dump(), m.at("replicas").dump(),
                 m.at("parameters").dump(), plan.settings.optimizer, replicas, params);
  const int64_t step = m.at("step").get<int64_t>();
  GLASSY_REQUIRE(step >= 0 && step <= plan.settings.steps, "checkpoint '{}' is at step {}, "
                 "outside the run's 0 to {} steps", checkpoint.directory, step,
                 plan.settings.steps);
}

}  // namespace

std::string train_checkpoint_path(const std::string& run_path) {
  return run_path + "/checkpoint";
}

void train_checkpoint_require(const std::string& run_path) {
  const std::string path = train_checkpoint_path(run_path);
  GLASSY_REQUIRE(!checkpoint_find(path).empty(), "--resume '{}' has no checkpoint "
                 "({}/checkpoint.json is missing); the run stopped before its first checkpoint, "
                 "so start it again with --out", run_path, path);
}

void train_checkpoint_write(const std::string& run_path, const TrainPlan& plan,
                            const TrainCheckpoint& checkpoint) {
  const bool gradient = !plan.uses_wand || plan.wand.alpha != HybridAlpha::none;
  GLASSY_CHECK(!gradient || checkpoint.step == checkpoint.optimizer.steps_done,
               "checkpoint at step {} of an optimizer after {} steps", checkpoint.step,
               checkpoint.optimizer.steps_done);
  GLASSY_CHECK(!plan.uses_wand || checkpoint.step == checkpoint.wand.steps_done,
               "checkpoint at step {} of WanD after {} steps", checkpoint.step,
               checkpoint.wand.steps_done);
  const int64_t replicas = int64_t(plan.replicas.size());
  const int64_t params = int64_t(checkpoint.weights.size()) / replicas;
  const std::vector<int64_t> shape = {replicas, params};
  std::vector<CheckpointArray> arrays = {{"weights.npy", checkpoint.weights.data(), shape}};
  if (gradient && plan.optimizer.kind == OptimizerKind::adamw) {
    arrays.push_back({"adamw_m.npy", checkpoint.optimizer.state1.data(), shape});
    arrays.push_back({"adamw_v.npy", checkpoint.optimizer.state2.data(), shape});
  } else if (gradient) {
    arrays.push_back({"sgd_momentum.npy", checkpoint.optimizer.state1.data(), shape});
  }
  nlohmann::json metadata = {
      {"kind", kKind},
      {"step", checkpoint.step},
      {"elapsed_seconds", checkpoint.elapsed_seconds},
      {"optimizer", plan.settings.optimizer},
      {"replicas", replicas},
      {"parameters", params},
      {"replica_progress", progress_json(checkpoint.progress)},
  };
  if (plan.uses_wand) {
    const WandState& wand = checkpoint.wand;
    const int64_t bins = plan.wand.grid.x.bins;
    arrays.push_back({"wand_velocity.npy", wand.velocity.data(), shape});
    arrays.push_back({"wand_grids.npy", wand.grids.data(), {replicas, bins}});
    arrays.push_back({"wand_histogram.npy", wand.histogram.data(), {bins}});
    metadata["wand"] = {{"steps_done", wand.steps_done},
                        {"out_of_range", range_counts_json(wand.range_counts)}};
  }
  checkpoint_write(train_checkpoint_path(run_path), arrays, metadata);
}

TrainCheckpoint train_checkpoint_read(const std::string& run_path, const TrainPlan& plan,
                                      int64_t params) {
  train_checkpoint_require(run_path);
  const std::string directory = checkpoint_find(train_checkpoint_path(run_path));
  const Checkpoint checkpoint = checkpoint_read(directory);
  const int64_t replicas = int64_t(plan.replicas.size());
  TrainCheckpoint state;
  try {
    check_metadata(checkpoint, plan, params);
    state.step = checkpoint.metadata.at("step").get<int64_t>();
    state.elapsed_seconds = checkpoint.metadata.at("elapsed_seconds").get<double>();
    state.progress = progress_from_json(checkpoint.metadata.at("replica_progress"));
    state.optimizer.steps_done = state.step;
    if (plan.uses_wand) {
      const nlohmann::json& wand = checkpoint.metadata.at("wand");
      state.wand.steps_done = wand.at("steps_done").get<int64_t>();
      state.wand.range_counts = range_counts_from_json(wand.at("out_of_range"));
    }
  } catch (const nlohmann::json::exception& problem) {
    throw UsageError(fmt::format("checkpoint '{}' lacks a field of glassy train or has one of "
                                 "the wrong type ({})", directory, problem.what()));
  }
  state.weights = replica_array(checkpoint, "weights.npy", replicas, params);
  if (plan.uses_wand) {
    GLASSY_REQUIRE(state.wand.steps_done == state.step, "checkpoint '{}' is at step {}, but "
                   "its WanD state is after {} steps; the checkpoint is damaged", directory,
                   state.step, state.wand.steps_done);
    read_wand_arrays(checkpoint, plan, params, state.wand);
    if (plan.wand.alpha == HybridAlpha::none) return state;
  }
  if (plan.optimizer.kind == OptimizerKind::adamw) {
    state.optimizer.state1 = replica_array(checkpoint, "adamw_m.npy", replicas, params);
    state.optimizer.state2 = replica_array(checkpoint, "adamw_v.npy", replicas, params);
  } else {
    state.optimizer.state1 = replica_array(checkpoint, "sgd_momentum.npy", replicas, params);
  }
  return state;
}

}  // namespace glassy
