// Steps to generalize per seed and per part, from a `glassy train` run's metrics.csv.
#include "tools/analyze_training.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/error.h"

namespace glassy {
namespace {

const char* const kMetricsHeader =
    "step,replica,train_loss,log_train_loss,train_acc,test_loss,test_acc,smooth_test_acc,"
    "weight_norm,lr";
constexpr std::size_t kMetricsColumns = 10;

// Parses one metrics.csv row. Returns false unless it has ten numbers and integer step and
// replica fields.
bool parse_metrics_row(const std::string& line, MetricsRow& row) {
  std::vector<double> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) {
    char* end = nullptr;
    const double value = std::strtod(field.c_str(), &end);
    if (field.empty() || end != field.c_str() + field.size()) return false;
    fields.push_back(value);
  }
  if (fields.size() != kMetricsColumns) return false;
  row.step = int64_t(fields[0]);
  row.replica = int64_t(fields[1]);
  row.log_train_loss = fields[3];
  row.train_acc = fields[4];
  row.test_acc = fields[6];
  row.smooth_test_acc = fields[7];
  row.weight_norm = fields[8];
  return row.replica >= 0 && double(row.step) == fields[0] && double(row.replica) == fields[1];
}

std::vector<double> finite_values(const std::vector<double>& values) {
  std::vector<double> finite;
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  return finite;
}

SeedOutcome replica_outcome(const std::vector<MetricsRow>& rows, int64_t replica,
                            uint64_t seed) {
  SeedOutcome outcome;
  outcome.replica = replica;
  outcome.seed = seed;
  for (const MetricsRow& row : rows) {
    if (!outcome.step_train_99 && row.train_acc >= kTrainTargetAccuracy) {
      outcome.step_train_99 = row.step;
    }
    if (!outcome.step_test_95 && row.test_acc >= kTestTargetAccuracy) {
      outcome.step_test_95 = row.step;
    }
    if (std::isfinite(row.weight_norm)) {
      outcome.max_norm = std::isfinite(outcome.max_norm)
                             ? std::max(outcome.max_norm, row.weight_norm)
                             : row.weight_norm;
    }
  }
  if (outcome.step_train_99 && outcome.step_test_95) {
    outcome.delay = *outcome.step_test_95 - *outcome.step_train_99;
  }
  outcome.final_train_acc = rows.back().train_acc;
  outcome.final_test_acc = rows.back().test_acc;
  outcome.final_norm = rows.back().weight_norm;
  return outcome;
}

}  // namespace

std::vector<MetricsRow> read_metrics_csv(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  GLASSY_REQUIRE(file.good(), "cannot read {}: the file is missing or unreadable", path);
  std::string line;
  GLASSY_REQUIRE(std::getline(file, line) && line == kMetricsHeader,
                 "{} does not start with the header that glassy train writes ({})", path,
                 kMetricsHeader);
  std::vector<MetricsRow> rows;
  int64_t line_number = 1;
  // getline reports eof for a last line without its newline, which a killed run may have cut.
  while (std::getline(file, line) && !file.eof()) {
    ++line_number;
    MetricsRow row;
    GLASSY_REQUIRE(parse_metrics_row(line, row),
                   "{} line {} is not a metrics row of {} numbers: '{}'", path, line_number,
                   kMetricsColumns, line);
    rows.push_back(row);
  }
  return rows;
}

std::vector<SeedOutcome> steps_to_generalize(const std::vector<MetricsRow>& rows,
                                             const std::vector<uint64_t>& seeds) {
  std::vector<std::vector<MetricsRow>> by_replica(seeds.size());
  for (const MetricsRow& row : rows) {
    GLASSY_REQUIRE(row.replica < int64_t(seeds.size()),
                   "metrics.csv has rows of replica {}, but the run lists {} replicas", row.replica,
                   seeds.size());
    by_replica[row.replica].push_back(row);
  }
  std::vector<SeedOutcome> outcomes;
  for (std::size_t r = 0; r < by_replica.size(); ++r) {
    std::vector<MetricsRow>& replica_rows = by_replica[r];
    if (replica_rows.empty()) continue;
    std::stable_sort(replica_rows.begin(), replica_rows.end(),
                     [](const MetricsRow& a, const MetricsRow& b) { return a.step < b.step; });
    outcomes.push_back(replica_outcome(replica_rows, int64_t(r), seeds[r]));
  }
  return outcomes;
}

TrainingSummary summarize_training(const std::vector<SeedOutcome>& outcomes) {
  TrainingSummary summary;
  summary.seeds = int64_t(outcomes.size());
  std::vector<double> test_steps, train_steps, final_norms, final_test_accs;
  for (const SeedOutcome& outcome : outcomes) {
    if (outcome.step_test_95) test_steps.push_back(double(*outcome.step_test_95));
    if (outcome.step_train_99) train_steps.push_back(double(*outcome.step_train_99));
    final_norms.push_back(outcome.final_norm);
    final_test_accs.push_back(outcome.final_test_acc);
  }
  summary.reached_test_95 = int64_t(test_steps.size());
  summary.step_test_95 = mean_and_se(test_steps);
  summary.step_train_99 = mean_and_se(train_steps);
  summary.final_norm = mean_and_se(finite_values(final_norms));
  summary.final_test_acc_mean = mean_and_se(finite_values(final_test_accs)).mean;
  return summary;
}

nlohmann::json seed_outcome_json(const SeedOutcome& outcome) {
  return {{"seed", outcome.seed},
          {"step_train_99", json_number(outcome.step_train_99)},
          {"step_test_95", json_number(outcome.step_test_95)},
          {"delay", json_number(outcome.delay)},
          {"final_train_acc", json_number(outcome.final_train_acc)},
          {"final_test_acc", json_number(outcome.final_test_acc)},
          {"final_norm", json_number(outcome.final_norm)},
          {"max_norm", json_number(outcome.max_norm)}};
}

nlohmann::json training_summary_json(const TrainingSummary& summary) {
  return {{"seeds", summary.seeds},
          {"reached_test_95", summary.reached_test_95},
          {"step_test_95_mean", json_number(summary.step_test_95.mean)},
          {"step_test_95_se", json_number(summary.step_test_95.se)},
          {"step_train_99_mean", json_number(summary.step_train_99.mean)},
          {"step_train_99_se", json_number(summary.step_train_99.se)},
          {"final_norm_mean", json_number(summary.final_norm.mean)},
          {"final_norm_se", json_number(summary.final_norm.se)},
          {"final_test_acc_mean", json_number(summary.final_test_acc_mean)}};
}

nlohmann::json comparison_json(const nlohmann::json& part_plan, const TrainingSummary& part,
                               const TrainingSummary& compare) {
  const double speedup = part.step_test_95.mean > 0.0
                             ? compare.step_test_95.mean / part.step_test_95.mean
                             : NAN;
  return {{"part", part_plan.value("name", "")},
          {"compare", part_plan.value("compare", nlohmann::json(nullptr))},
          {"role", part_plan.value("role", nlohmann::json(nullptr))},
          {"train_frac", part_plan.value("train_frac", nlohmann::json(nullptr))},
          {"step_test_95_mean", json_number(part.step_test_95.mean)},
          {"step_test_95_se", json_number(part.step_test_95.se)},
          {"compare_step_test_95_mean", json_number(compare.step_test_95.mean)},
          {"compare_step_test_95_se", json_number(compare.step_test_95.se)},
          {"speedup", json_number(speedup)},
          {"final_norm_mean", json_number(part.final_norm.mean)},
          {"compare_final_norm_mean", json_number(compare.final_norm.mean)}};
}

}  // namespace glassy
