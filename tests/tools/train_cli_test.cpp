// Tests of the `glassy train` command line, run through the real binary. Bad input ends with a
// one-line error and exit status 2 before any run directory exists. The config file overrides
// the preset and the command line overrides both. Seeds that were not given are drawn and
// recorded, and --help states the weight-decay convention.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/files.h"
#include "tests/support/glassy_process.h"
#include "tests/support/temporary_directory.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test::concat;
using test::CommandResult;
using test::read_file;
using test::run_glassy;
using test::read_json;
using test::TemporaryDirectory;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  REQUIRE(file.good());
}

std::string join_arguments(const std::vector<std::string>& args) {
  std::string joined;
  for (const std::string& arg : args) joined += (joined.empty() ? "" : " ") + arg;
  return joined;
}

// A model small enough that a run of a few steps takes milliseconds. One thread, because OpenMP
// barriers cost far more than these kernels when other processes load the cores.
const std::vector<std::string> kTinyModel = {"--d-model", "16", "--heads",   "2",
                                             "--steps",   "2",  "--threads", "1"};

// Checks the common contract of a rejected input: exit status 2, one line on standard error
// in glassy's error format, nothing on standard output, and no run directory.
void check_rejected(const CommandResult& result, const fs::path& out) {
  CHECK(result.exit_status == 2);
  CHECK(std::count(result.standard_error.begin(), result.standard_error.end(), '\n') == 1);
  CHECK_THAT(result.standard_error, StartsWith("glassy train: error: "));
  CHECK(result.standard_error.ends_with('\n'));
  CHECK(result.standard_output.empty());
  CHECK_FALSE(fs::exists(out));
}

}  // namespace

TEST_CASE("bad input rejected before run directory", "[cli]") {
  TemporaryDirectory scratch;

  const fs::path misspelt_config = scratch.path() / "misspelt.json";
  write_file(misspelt_config, "{\"lrr\": 0.01}\n");
  // Tests may run as root, and permission bits (a directory chmod 0500) do not stop root from
  // writing. No user can create a directory under a regular file, so that path is unwritable.
  const fs::path regular_file = scratch.path() / "file.txt";
  write_file(regular_file, "not a directory\n");
  const fs::path under_file = regular_file / "run";

  struct BadInput {
    std::string label;
    std::vector<std::string> args;
    std::string bad_value;  // how the message must quote the bad value
    std::string allowed;    // the part of the message that states the allowed values
    std::string out = "";   // --out; empty for a new directory in scratch
  };
  const std::vector<BadInput> cases = {
      {"modulus below 2", {"--p", "1"}, "got 1", "[2, 131072]"},
      {"composite modulus for x/y", {"--task", "x/y", "--p", "96"}, "96", "prime"},
      {"train fraction 0", {"--train-frac", "0"}, "got 0", "(0, 1)"},
      {"train fraction above 1", {"--train-frac", "1.2"}, "1.2", "(0, 1)"},
      {"negative learning rate", {"--lr", "-0.001"}, "-0.001", "positive"},
      {"unknown flag", {"--learning-rate", "1"}, "--learning-rate", "glassy train --help"},
      {"misspelt config key",
       {"--config", misspelt_config.string()},
       "'lrr'",
       "did you mean 'lr'?"},
      {"unknown preset", {"--preset", "nosuch"}, "'nosuch'", "demo, paper-add"},
      {"heads not dividing d_model", {"--heads", "3", "--d-model", "16"}, "got 3", "divide"},
      {"unknown output classes", {"--outputs", "5"}, "'5'", "p+1 or p"},
      {"decay factor not positive", {"--lr", "2", "--wd", "1"}, "--lr 2", "lr x wd < 1"},
      {"trailing comma in a grid", {"--lr", "1e-3,3e-3,"}, "'1e-3,3e-3,'", "single commas"},
      {"modulus past the limit", {"--p", "2147483647"}, "2147483647", "[2, 131072]"},
      {"integer out of range", {"--d-mlp", "99999999999"}, "99999999999", "integer in range"},
      {"seeds and replicas together", {"--seeds", "1,2", "--replicas", "3"}, "--replicas 3",
       "not both"},
      {"more memory than the machine", {"--p", "1024", "--replicas", "4096"}, "needs about",
       "reduce --replicas"},
      {"--out under a regular file", {}, under_file.string(), "is not a directory",
       under_file.string()},
      {"unknown optimizer", {"--optimizer", "lion"}, "'lion'", "adamw, sgd, wand or hybrid"},
      {"friction 0", {"--optimizer", "wand", "--friction", "0"}, "got 0", "(0, 1]"},
      {"friction above 1", {"--optimizer", "wand", "--friction", "1.5"}, "got 1.5", "(0, 1]"},
      {"dt 0", {"--optimizer", "wand", "--dt", "0"}, "--dt", "positive number, got 0"},
      {"sigma 0", {"--optimizer", "hybrid", "--alpha", "square", "--sigma", "0"}, "got 0",
       "--sigma must be in [0.1, 1000] bins"},
      {"negative deposit", {"--optimizer", "wand", "--f-wl", "-1"}, "got -1", "non-negative"},
      {"unknown integrator", {"--optimizer", "wand", "--integrator", "verlet"}, "'verlet'",
       "baoab or paper"},
      {"empty grid range", {"--optimizer", "wand", "--x-range", "6,-20"}, "[6, -20]",
       "lo < hi"},
      {"unknown alpha", {"--optimizer", "hybrid", "--alpha", "cube"}, "'cube'",
       "square ((2A - 1)^2) or parabola"},
      {"alpha without hybrid", {"--alpha", "square"}, "--optimizer adamw",
       "applies to --optimizer hybrid only"},
      {"alpha with wand", {"--optimizer", "wand", "--alpha", "parabola"}, "--optimizer wand",
       "applies to --optimizer hybrid only"},
      {"hybrid without alpha", {"--optimizer", "hybrid"}, "--optimizer hybrid",
       "needs --alpha square"},
      {"WanD setting under AdamW", {"--dt", "0.01"}, "--dt", "use --optimizer wand or hybrid"},
      {"learning-rate grid for wand", {"--optimizer", "wand", "--lr", "1e-3,3e-3"},
       "'1e-3,3e-3'", "has no learning rate"},
      {"fixed norm with wand", {"--optimizer", "wand", "--fixed-norm", "30"}, "--fixed-norm 30",
       "without a norm constraint"},
  };

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const BadInput& bad = cases[i];
    const fs::path out =
        bad.out.empty() ? scratch.path() / ("run" + std::to_string(i)) : fs::path(bad.out);
    const std::vector<std::string> args =
        concat(concat({"train"}, kTinyModel), concat(bad.args, {"--out", out.string()}));
    const CommandResult result = run_glassy(args, scratch.path());
    INFO(bad.label << ": glassy " << join_arguments(args));
    INFO("standard error: " << result.standard_error);
    check_rejected(result, out);
    CHECK_THAT(result.standard_error, Contains(bad.bad_value));
    CHECK_THAT(result.standard_error, Contains(bad.allowed));
  }
  CHECK(fs::is_regular_file(regular_file));
}

// CLI11 2.1.2's own conversion error, "Could not convert: --p = seven", does not say that --p
// takes an integer, so glassy rewords it.
TEST_CASE("non-numeric --p error names integer type", "[cli]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  const std::vector<std::string> args =
      concat(concat({"train"}, kTinyModel), {"--p", "seven", "--out", out.string()});
  const CommandResult result = run_glassy(args, scratch.path());
  INFO("standard error: " << result.standard_error);
  check_rejected(result, out);
  CHECK_THAT(result.standard_error, Contains("seven"));
  CHECK_THAT(result.standard_error, Contains("integer"));
}

// CLI11 2.1.2's ExtrasError joins the unexpected arguments in reverse order ("2 --foo 1
// --learning-rate"), so glassy checks the flags itself before CLI11 parses them.
TEST_CASE("unknown flags listed in given order", "[cli]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  const std::vector<std::string> args = concat(
      concat({"train"}, kTinyModel), {"--learning-rate", "1", "--foo", "2", "--out", out.string()});
  const CommandResult result = run_glassy(args, scratch.path());
  INFO("standard error: " << result.standard_error);
  check_rejected(result, out);
  CHECK_THAT(result.standard_error, Contains("--learning-rate 1 --foo 2"));
}

TEST_CASE("run directory claimed by another run", "[cli]") {
  // A run that finds another run's lock file in --out stops before writing anything.
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  fs::create_directories(out);
  std::ofstream(out / "run.lock") << "12345\n";
  const CommandResult result = run_glassy(
      concat(concat({"train"}, kTinyModel), {"--steps", "1", "--out", out.string()}),
      scratch.path());
  INFO("standard error: " << result.standard_error);
  CHECK(result.exit_status == 2);
  CHECK(fs::exists(out / "run.lock"));
  CHECK_FALSE(fs::exists(out / "config.json"));
}

TEST_CASE("config.json reruns the same run", "[cli]") {
  TemporaryDirectory scratch;
  const fs::path first = scratch.path() / "first";
  const fs::path second = scratch.path() / "second";
  const CommandResult run = run_glassy(
      concat(concat({"train"}, kTinyModel), {"--steps", "20", "--out", first.string()}),
      scratch.path());
  REQUIRE(run.exit_status == 0);
  const CommandResult rerun = run_glassy(
      {"train", "--config", (first / "config.json").string(), "--out", second.string()},
      scratch.path());
  INFO("standard error: " << rerun.standard_error);
  REQUIRE(rerun.exit_status == 0);
  CHECK(read_file(first / "metrics.csv") == read_file(second / "metrics.csv"));
}

TEST_CASE("--replicas replaces a preset's seeds", "[cli]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  const CommandResult result = run_glassy(
      {"train", "--preset", "demo", "--replicas", "6", "--steps", "0", "--out", out.string()},
      scratch.path());
  REQUIRE(result.exit_status == 0);
  const nlohmann::json config = read_json(out / "config.json");
  CHECK(config["seeds"] == "0,1,2,3,4,5");
  CHECK(config["replica_grid"].size() == 6);
}

TEST_CASE("diverged replica is reported", "[cli]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  const CommandResult result = run_glassy(
      concat(concat({"train"}, kTinyModel),
             {"--steps", "30", "--lr", "1e-3,1e10", "--wd", "0", "--out", out.string()}),
      scratch.path());
  INFO("standard error: " << result.standard_error);
  REQUIRE(result.exit_status == 0);
  CHECK_THAT(result.standard_error, Contains("has diverged by step"));
  const nlohmann::json summary = read_json(out / "summary.json");
  CHECK(summary["replicas"][0]["diverged_at_step"].is_null());
  CHECK(summary["replicas"][1]["diverged_at_step"].is_number());
}

TEST_CASE("train precedence is preset, config, flags", "[cli]") {
  TemporaryDirectory scratch;

  SECTION("preset on the command line") {
    // The demo preset sets p 31, train fraction 0.6, d_model 64, d_mlp 256, lr 3e-3, seeds
    // 0..3, split seed 0, 3,000 steps and log every 250.
    const fs::path config = scratch.path() / "config.json";
    write_file(config, R"({"p": 7, "d-model": 16, "heads": 2, "d-mlp": 32, "lr": 0.01, )"
                       R"("steps": 3})");
    const fs::path out = scratch.path() / "run";
    // --steps comes before --config on the line, yet the command line still wins.
    const CommandResult result =
        run_glassy({"train", "--preset", "demo", "--steps", "2", "--config", config.string(),
                    "--seeds", "5", "--split-seed", "1", "--threads", "1", "--out",
                    out.string()},
                   scratch.path());
    INFO("standard error: " << result.standard_error);
    REQUIRE(result.exit_status == 0);

    const nlohmann::json resolved = read_json(out / "config.json");
    INFO("config.json: " << resolved.dump());
    CHECK(resolved["preset"] == "demo");
    // Set by the preset alone.
    CHECK(resolved["task"] == "x+y");
    CHECK(resolved["train-frac"] == 0.6);
    CHECK(resolved["log-every"] == 250);
    // Set by the preset and the config file: the config file wins.
    CHECK(resolved["p"] == 7);
    CHECK(resolved["d-model"] == 16);
    CHECK(resolved["heads"] == 2);
    CHECK(resolved["d-mlp"] == 32);
    REQUIRE(resolved["replica_grid"].size() == 1);
    CHECK(resolved["replica_grid"][0]["lr"] == 0.01);
    // Set by the preset and the command line: the command line wins.
    CHECK(resolved["split-seed"] == 1);
    CHECK(resolved["replica_grid"][0]["seed"] == 5);
    // Set by all three: the command line wins.
    CHECK(resolved["steps"] == 2);
  }

  SECTION("preset named in the config file") {
    const fs::path config = scratch.path() / "config.json";
    write_file(config, R"({"preset": "demo", "p": 7, "d-model": 16, "heads": 2, "d-mlp": 32, )"
                       R"("steps": 3})");
    const fs::path out = scratch.path() / "run";
    const CommandResult result = run_glassy(
        {"train", "--config", config.string(), "--steps", "1", "--threads", "1", "--out",
         out.string()},
        scratch.path());
    INFO("standard error: " << result.standard_error);
    REQUIRE(result.exit_status == 0);

    const nlohmann::json resolved = read_json(out / "config.json");
    INFO("config.json: " << resolved.dump());
    CHECK(resolved["preset"] == "demo");
    CHECK(resolved["train-frac"] == 0.6);
    CHECK(resolved["split-seed"] == 0);
    CHECK(resolved["replica_grid"].size() == 4);
    CHECK(resolved["p"] == 7);
    CHECK(resolved["steps"] == 1);
  }
}

TEST_CASE("train records the seeds it draws", "[cli]") {
  TemporaryDirectory scratch;
  const std::vector<std::string> tiny = concat(kTinyModel, {"--p", "7"});
  const fs::path out_a = scratch.path() / "a";
  const fs::path out_b = scratch.path() / "b";
  const CommandResult run_a =
      run_glassy(concat(concat({"train"}, tiny), {"--out", out_a.string()}), scratch.path());
  INFO("standard error: " << run_a.standard_error);
  REQUIRE(run_a.exit_status == 0);
  const CommandResult run_b =
      run_glassy(concat(concat({"train"}, tiny), {"--out", out_b.string()}), scratch.path());
  INFO("standard error: " << run_b.standard_error);
  REQUIRE(run_b.exit_status == 0);

  const nlohmann::json config_a = read_json(out_a / "config.json");
  const nlohmann::json config_b = read_json(out_b / "config.json");
  INFO("first config.json: " << config_a.dump());
  INFO("second config.json: " << config_b.dump());
  REQUIRE(config_a["split-seed"].is_number_unsigned());
  REQUIRE(config_b["split-seed"].is_number_unsigned());
  REQUIRE(config_a["replica_grid"].size() == 1);
  REQUIRE(config_b["replica_grid"].size() == 1);
  REQUIRE(config_a["replica_grid"][0]["seed"].is_number_unsigned());
  const uint64_t split_seed_a = config_a["split-seed"];
  const uint64_t split_seed_b = config_b["split-seed"];
  const uint64_t seed_a = config_a["replica_grid"][0]["seed"];
  const uint64_t seed_b = config_b["replica_grid"][0]["seed"];
  CHECK(split_seed_a != split_seed_b);
  CHECK(seed_a != seed_b);

  // The recorded seeds reproduce the first run.
  const fs::path out_again = scratch.path() / "again";
  const CommandResult again = run_glassy(
      concat(concat({"train"}, tiny),
             {"--split-seed", std::to_string(split_seed_a), "--seeds", std::to_string(seed_a),
              "--out", out_again.string()}),
      scratch.path());
  INFO("standard error: " << again.standard_error);
  REQUIRE(again.exit_status == 0);
  CHECK(read_file(out_again / "split.csv") == read_file(out_a / "split.csv"));
  CHECK(read_file(out_again / "metrics.csv") == read_file(out_a / "metrics.csv"));
}

TEST_CASE("train help states the weight-decay convention", "[cli]") {
  TemporaryDirectory scratch;
  const CommandResult result = run_glassy({"train", "--help"}, scratch.path());
  CHECK(result.exit_status == 0);
  CHECK(result.standard_error.empty());
  CHECK_THAT(result.standard_output, Contains("--wd"));
  CHECK_THAT(result.standard_output, Contains("p <- p (1 - lr_t wd)"));
}

TEST_CASE("train help describes WanD flags", "[cli]") {
  TemporaryDirectory scratch;
  const CommandResult result = run_glassy({"train", "--help"}, scratch.path());
  CHECK(result.exit_status == 0);
  for (const char* flag : {"--dt", "--kt", "--friction", "--integrator", "--beta", "--l0",
                           "--f-wl", "--t-wl", "--sigma", "--x-range", "--x-width", "--alpha"}) {
    INFO(flag);
    CHECK_THAT(result.standard_output, Contains(flag));
  }
  CHECK_THAT(result.standard_output, Contains("wand"));
  CHECK_THAT(result.standard_output, Contains("(2A - 1)^2"));
}

namespace {

// Returns the rows of a CSV file without its header, each split at the commas.
std::vector<std::vector<std::string>> csv_rows(const fs::path& path) {
  std::istringstream lines(read_file(path));
  std::string line;
  std::getline(lines, line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) fields.push_back(cell);
    rows.push_back(fields);
  }
  return rows;
}

}  // namespace

TEST_CASE("wand run records its settings", "[cli][wand]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  const CommandResult result = run_glassy(
      concat(concat({"train"}, kTinyModel),
             {"--optimizer", "wand", "--seeds", "4,5", "--steps", "20", "--dt", "0.002",
              "--beta", "50", "--out", out.string()}),
      scratch.path());
  INFO("standard error: " << result.standard_error);
  REQUIRE(result.exit_status == 0);
  CHECK_THAT(result.standard_error, Contains("wand grid"));
  CHECK_THAT(result.standard_error, Contains("kT"));

  const nlohmann::json config = read_json(out / "config.json");
  INFO("config.json: " << config.dump());
  CHECK(config["optimizer"] == "wand");
  CHECK(config["dt"] == 0.002);
  CHECK(config["beta"] == 50.0);
  CHECK(config["integrator"] == "paper");
  for (const char* key : {"kt", "friction", "l0", "f-wl", "t-wl", "sigma", "x-range",
                          "x-width"}) {
    INFO(key);
    CHECK(config.contains(key));
  }
  CHECK_FALSE(config.contains("alpha"));
  REQUIRE(config["replica_grid"].size() == 2);
  CHECK(config["replica_grid"][1]["seed"] == 5);
  CHECK(config["replica_grid"][1]["lr"] == 0.002);
  CHECK(config["replica_grid"][1]["wd"] == 0.0);

  // metrics.csv: the lr column is dt after step 0. wand.csv: one row per replica and
  // evaluation, alpha 1.
  const auto metrics = csv_rows(out / "metrics.csv");
  REQUIRE(metrics.size() == 6);
  CHECK(metrics[0][9] == "0");
  CHECK(std::stod(metrics[5][9]) == 0.002);
  const auto wand = csv_rows(out / "wand.csv");
  REQUIRE(wand.size() == 6);
  CHECK(wand[5][0] == "20");
  CHECK(wand[5][1] == "1");
  CHECK(std::stod(wand[5][2]) > 0.0);
  CHECK(wand[5][3] == "1");

  // The recorded settings rerun the run.
  const fs::path again = scratch.path() / "again";
  const CommandResult rerun = run_glassy(
      {"train", "--config", (out / "config.json").string(), "--out", again.string()},
      scratch.path());
  INFO("rerun: " << rerun.standard_error);
  REQUIRE(rerun.exit_status == 0);
  CHECK(read_file(out / "metrics.csv") == read_file(again / "metrics.csv"));
  CHECK(read_file(out / "wand.csv") == read_file(again / "wand.csv"));
}

TEST_CASE("hybrid run records alpha per evaluation", "[cli][wand]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  const CommandResult result = run_glassy(
      concat(concat({"train"}, kTinyModel),
             {"--optimizer", "hybrid", "--alpha", "parabola", "--seeds", "4", "--steps", "20",
              "--lr", "1e-2", "--out", out.string()}),
      scratch.path());
  INFO("standard error: " << result.standard_error);
  REQUIRE(result.exit_status == 0);
  CHECK_THAT(result.standard_error, Contains("alpha parabola"));
  const nlohmann::json config = read_json(out / "config.json");
  CHECK(config["alpha"] == "parabola");
  CHECK(config["replica_grid"][0]["lr"] == 0.01);

  // alpha = 4 A (1 - A) of the smoothed test accuracy A in the same step's metrics row.
  const auto metrics = csv_rows(out / "metrics.csv");
  const auto wand = csv_rows(out / "wand.csv");
  REQUIRE(metrics.size() == 3);
  REQUIRE(wand.size() == 3);
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const double accuracy = std::stod(metrics[i][7]);
    INFO("row " << i << ": smoothed test accuracy " << accuracy);
    CHECK(wand[i][0] == metrics[i][0]);
    CHECK(std::stod(wand[i][3]) == Approx(4.0 * accuracy * (1.0 - accuracy)).epsilon(1e-12));
  }
}

TEST_CASE("adamw config.json has no WanD keys", "[cli][wand]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  REQUIRE(run_glassy(concat(concat({"train"}, kTinyModel), {"--out", out.string()}),
                     scratch.path())
              .exit_status == 0);
  const nlohmann::json config = read_json(out / "config.json");
  for (const char* key : {"dt", "kt", "integrator", "alpha", "x-range"}) {
    INFO(key);
    CHECK_FALSE(config.contains(key));
  }
  CHECK_FALSE(fs::exists(out / "wand.csv"));
}

}  // namespace glassy
