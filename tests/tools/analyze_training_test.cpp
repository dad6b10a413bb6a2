// Steps to generalize of `glassy analyze` on hand-made metrics: first steps at the accuracy
// targets, seeds that never reach them, the per-part summary, the comparison's speedup, and
// reading metrics.csv.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/error.h"
#include "tests/support/temporary_directory.h"
#include "tools/analyze_training.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;

MetricsRow row(int64_t step, int64_t replica, double train_acc, double test_acc, double norm) {
  MetricsRow r;
  r.step = step;
  r.replica = replica;
  r.train_acc = train_acc;
  r.test_acc = test_acc;
  r.weight_norm = norm;
  return r;
}

// Replica 0 reaches 99% train accuracy at step 20 and 95% test accuracy at step 50. Replica 1
// memorizes at step 10 and never generalizes. Rows are out of step order on purpose.
std::vector<MetricsRow> two_replicas() {
  return {row(0, 0, 0.1, 0.1, 40.0),  row(0, 1, 0.1, 0.1, 41.0),  row(10, 0, 0.5, 0.2, 45.0),
          row(10, 1, 0.99, 0.3, 44.0), row(30, 0, 1.0, 0.9, 30.0), row(30, 1, 1.0, 0.5, 43.0),
          row(20, 0, 0.995, 0.4, 50.0), row(20, 1, 1.0, 0.4, 42.0), row(50, 0, 1.0, 0.96, 25.0),
          row(50, 1, 1.0, 0.94, NAN)};
}

TEST_CASE("steps to generalize per seed", "[analyze]") {
  const std::vector<SeedOutcome> outcomes = steps_to_generalize(two_replicas(), {7, 9});
  REQUIRE(outcomes.size() == 2);
  const SeedOutcome& first = outcomes[0];
  CHECK(first.seed == 7);
  CHECK(first.step_train_99 == 20);
  CHECK(first.step_test_95 == 50);
  CHECK(first.delay == 30);
  CHECK(first.final_train_acc == 1.0);
  CHECK(first.final_test_acc == 0.96);
  CHECK(first.final_norm == 25.0);
  CHECK(first.max_norm == 50.0);

  const SeedOutcome& second = outcomes[1];
  CHECK(second.seed == 9);
  CHECK(second.step_train_99 == 10);
  CHECK_FALSE(second.step_test_95.has_value());
  CHECK_FALSE(second.delay.has_value());
  CHECK(std::isnan(second.final_norm));
  CHECK(second.max_norm == 44.0);
}

TEST_CASE("steps to generalize need a seed per replica", "[analyze]") {
  CHECK_THROWS_AS(steps_to_generalize(two_replicas(), {7}), UsageError);
}

TEST_CASE("training summary over seeds", "[analyze]") {
  const TrainingSummary summary =
      summarize_training(steps_to_generalize(two_replicas(), {7, 9}));
  CHECK(summary.seeds == 2);
  CHECK(summary.reached_test_95 == 1);
  CHECK(summary.step_test_95.mean == 50.0);
  CHECK(std::isnan(summary.step_test_95.se));
  // Steps to 99% train: 20 and 10 -> mean 15, se = std(20, 10) / sqrt(2) = 5.
  CHECK(summary.step_train_99.mean == 15.0);
  CHECK(summary.step_train_99.se == Approx(5.0));
  // Only replica 0 has a finite final norm.
  CHECK(summary.final_norm.mean == 25.0);
  CHECK(summary.final_test_acc_mean == Approx(0.95));

  const nlohmann::json json = training_summary_json(summary);
  CHECK(json.at("step_test_95_se").is_null());
  CHECK(json.at("step_test_95_mean") == 50.0);
  CHECK(json.at("reached_test_95") == 1);
}

TEST_CASE("seed outcome JSON writes null steps", "[analyze]") {
  const std::vector<SeedOutcome> outcomes = steps_to_generalize(two_replicas(), {7, 9});
  const nlohmann::json json = seed_outcome_json(outcomes[1]);
  CHECK(json.at("step_test_95").is_null());
  CHECK(json.at("delay").is_null());
  CHECK(json.at("final_norm").is_null());
  CHECK(json.at("step_train_99") == 10);
}

TEST_CASE("comparison speedup of two parts", "[analyze]") {
  TrainingSummary part, compare;
  part.step_test_95 = {500.0, 50.0};
  compare.step_test_95 = {1500.0, 100.0};
  const nlohmann::json plan = {{"name", "hybrid-x2y"}, {"compare", "adamw-x2y"},
                               {"role", "hybrid"}, {"train_frac", 0.5}};
  const nlohmann::json json = comparison_json(plan, part, compare);
  CHECK(json.at("speedup") == 3.0);
  CHECK(json.at("part") == "hybrid-x2y");
  CHECK(json.at("compare") == "adamw-x2y");
  CHECK(json.at("compare_step_test_95_se") == 100.0);

  part.step_test_95 = {};
  CHECK(comparison_json(plan, part, compare).at("speedup").is_null());
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  REQUIRE(file.good());
}

const char* const kHeader = "step,replica,train_loss,log_train_loss,train_acc,test_loss,test_acc,"
                            "smooth_test_acc,weight_norm,lr\n";

TEST_CASE("metrics.csv rows read back", "[analyze]") {
  test::TemporaryDirectory scratch;
  const fs::path path = scratch.path() / "metrics.csv";
  // The last row has no newline, as a killed run may leave it, so it is dropped.
  write_text(path, std::string(kHeader) + "0,0,4,1.5,0.1,4.1,0.2,0.25,40,0\n"
                                          "10,1,3,1.1,0.5,nan,0.3,0.35,inf,0.001\n"
                                          "20,1,2,0.7,0.6,2");
  const std::vector<MetricsRow> rows = read_metrics_csv(path.string());
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].log_train_loss == 1.5);
  CHECK(rows[0].train_acc == 0.1);
  CHECK(rows[0].test_acc == 0.2);
  CHECK(rows[0].smooth_test_acc == 0.25);
  CHECK(rows[0].weight_norm == 40.0);
  CHECK(rows[1].step == 10);
  CHECK(rows[1].replica == 1);
  CHECK(std::isinf(rows[1].weight_norm));
}

TEST_CASE("metrics.csv with another header is rejected", "[analyze]") {
  test::TemporaryDirectory scratch;
  const fs::path path = scratch.path() / "metrics.csv";
  write_text(path, "step,loss\n0,1\n");
  CHECK_THROWS_AS(read_metrics_csv(path.string()), UsageError);
  write_text(path, std::string(kHeader) + "0,0,4,1.5\n");
  CHECK_THROWS_WITH(read_metrics_csv(path.string()),
                    Catch::Matchers::Contains("line 2 is not a metrics row of 10 numbers"));
}

}  // namespace
}  // namespace glassy
