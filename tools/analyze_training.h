// Steps to generalize of `glassy train` parts, for `glassy analyze`. Per seed: the first steps
// at 99% train and 95% test accuracy, the delay between them, the final accuracies and the
// weight norms. Per part: their means with standard errors, and the comparison with the part
// that the plan names in `compare`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/analyze_statistics.h"

namespace glassy {

// The targets, on the hard (not smoothed) accuracies that metrics.csv records.
constexpr double kTrainTargetAccuracy = 0.99;
constexpr double kTestTargetAccuracy = 0.95;

// The columns of metrics.csv that the analysis reads.
struct MetricsRow {
  int64_t step = 0;
  int64_t replica = 0;
  double log_train_loss = NAN;
  double train_acc = NAN;
  double test_acc = NAN;
  double smooth_test_acc = NAN;
  double weight_norm = NAN;
};

// Reads the metrics.csv of a `glassy train` run. A last line without its newline, which a
// killed run may leave, is dropped. Throws UsageError naming the path when the file is missing,
// its header is not the one `glassy train` writes, or a row is malformed.
std::vector<MetricsRow> read_metrics_csv(const std::string& path);

struct SeedOutcome {
  int64_t replica = 0;
  uint64_t seed = 0;
  std::optional<int64_t> step_train_99, step_test_95;
  std::optional<int64_t> delay;  // step_test_95 - step_train_99 when both exist
  double final_train_acc = NAN, final_test_acc = NAN;
  double final_norm = NAN;
  double max_norm = NAN;  // over the finite weight norms of every evaluation
};

// One outcome per replica that has rows, in order of replica; seeds[r] is replica r's seed.
// Throws UsageError when a row names a replica without a seed.
std::vector<SeedOutcome> steps_to_generalize(const std::vector<MetricsRow>& rows,
                                             const std::vector<uint64_t>& seeds);

struct TrainingSummary {
  int64_t seeds = 0;
  int64_t reached_test_95 = 0;
  MeanSe step_test_95;   // over the seeds that reached 95% test accuracy
  MeanSe step_train_99;  // over the seeds that reached 99% train accuracy
  MeanSe final_norm;     // over the seeds with a finite final norm
  double final_test_acc_mean = NAN;
};

TrainingSummary summarize_training(const std::vector<SeedOutcome>& outcomes);

nlohmann::json seed_outcome_json(const SeedOutcome& outcome);
nlohmann::json training_summary_json(const TrainingSummary& summary);

// A comparison of part with compare: both summaries side by side, and the speedup, the
// compare part's mean steps to 95% test accuracy over this part's, when both parts have one.
nlohmann::json comparison_json(const nlohmann::json& part_plan, const TrainingSummary& part,
                               const TrainingSummary& compare);

}  // namespace glassy
