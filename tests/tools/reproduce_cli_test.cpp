// Tests of `glassy reproduce`: its checks on the command line, --dry-run, and an interrupted
// reproduction that --resume finishes with the same results as an uninterrupted one. The runs
// use the smoke preset, every part of the experiment set at a few hundred steps.
#include <chrono>
#include <csignal>
#include <sys/wait.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/files.h"
#include "tests/support/glassy_process.h"
#include "tests/support/temporary_directory.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::concat;
using test::GlassyProcess;
using test::read_file;
using test::read_json;
using test::run_glassy;
using test::TemporaryDirectory;

// The number of parts that status.json lists as done, or 0 before it exists.
int parts_done(const fs::path& dir) {
  if (!fs::is_regular_file(dir / "status.json")) return 0;
  const nlohmann::json status = read_json(dir / "status.json");
  int done = 0;
  for (const auto& [name, part] : status.at("parts").items()) done += part.at("state") == "done";
  return done;
}

// The result files of every part: train metrics and summaries, sample maps and traces.
std::vector<std::string> part_results(const fs::path& dir) {
  const nlohmann::json plan = read_json(dir / "reproduce.json");
  std::vector<std::string> files;
  for (const auto& part : plan.at("parts")) {
    const std::string base = "parts/" + part.at("name").get<std::string>() + "/";
    if (part.at("kind") == "train") {
      files.push_back(base + "metrics.csv");
      files.push_back(base + "weights.npy");
    } else {
      for (const char* name : {"map.npy", "histogram.npy", "walker_deposits.npy", "traces.csv"}) {
        files.push_back(base + name);
      }
    }
  }
  return files;
}

TEST_CASE("reproduce rejects bad input with exit status 2", "[tools][reproduce]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "repro";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--preset", "huge", "--out", out.string()}, "--preset must be one of demo, paper, smoke"},
      {{"--out", out.string()}, "--preset is required"},
      {{"--preset", "smoke"}, "--out is required"},
      {{"--preset", "smoke", "--only", "map-add,maps", "--out", out.string()},
       "--only names no part of this preset: 'maps'"},
      {{"--preset", "smoke", "--threads", "-1", "--out", out.string()}, "--threads must be"},
      {{"--preset", "smoke", "--steps", "5", "--out", out.string()}, "--steps"},
  };
  for (const Case& c : cases) {
    const CommandResult result = run_glassy(concat({"reproduce"}, c.args), scratch.path());
    INFO("stderr: " << result.standard_error);
    CHECK(result.exit_status == 2);
    CHECK_THAT(result.standard_error, Catch::Matchers::Contains(c.message));
    CHECK_FALSE(fs::exists(out));
  }

  // An existing reproduction is continued only with --resume, and only with its own preset.
  const std::vector<std::string> first = {"reproduce", "--preset", "smoke", "--only",
                                          "adamw-add", "--no-figures", "--out", out.string()};
  REQUIRE(run_glassy(first, scratch.path()).exit_status == 0);
  const CommandResult again = run_glassy(first, scratch.path());
  CHECK(again.exit_status == 2);
  CHECK_THAT(again.standard_error, Catch::Matchers::Contains("continue it with --resume"));
  const CommandResult other = run_glassy(
      {"reproduce", "--preset", "demo", "--resume", "--out", out.string()}, scratch.path());
  CHECK(other.exit_status == 2);
  CHECK_THAT(other.standard_error,
             Catch::Matchers::Contains("made with --preset smoke; resume it with --preset smoke"));
}

TEST_CASE("reproduce --dry-run prints every part's command and creates nothing",
          "[tools][reproduce]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "repro";
  const CommandResult result = run_glassy(
      {"reproduce", "--preset", "demo", "--dry-run", "--out", out.string()}, scratch.path());
  REQUIRE(result.exit_status == 0);
  for (const char* name : {"adamw-add", "adamw-x2y", "adamw-x3", "map-add", "map-x2y", "map-x3",
                           "shell-d16", "shell-d32", "shell-d48", "fixed-norm-add", "wand-add",
                           "hybrid-f50", "adamw-f60", "hybrid-f60", "adamw-f70", "hybrid-f70",
                           "adamw-f80", "hybrid-f80"}) {
    CHECK_THAT(result.standard_output,
               Catch::Matchers::Contains(std::string("--out ") + out.string() + "/parts/" + name));
  }
  CHECK_THAT(result.standard_output,
             Catch::Matchers::Contains("glassy train --p 31 --train-frac 0.8"));
  CHECK_FALSE(fs::exists(out));
}

// SIGINT is what Ctrl-C sends: the running part saves a checkpoint and the reproduction stops
// with 128 + 2. The resumed one skips the parts that finished and continues the cut one.
TEST_CASE("a reproduction stopped by SIGINT and resumed matches the uninterrupted one",
          "[tools][reproduce][resume]") {
  TemporaryDirectory scratch;
  const fs::path straight = scratch.path() / "straight";
  const fs::path stopped = scratch.path() / "stopped";
  const auto args = [](const fs::path& out) {
    return std::vector<std::string>{"reproduce", "--preset", "smoke", "--no-figures",
                                    "--out", out.string()};
  };
  REQUIRE(run_glassy(args(straight), scratch.path()).exit_status == 0);

  {
    GlassyProcess process(args(stopped), (scratch.path() / "stopped.log").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (parts_done(stopped) < 4 && !process.finished() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const std::string log = read_file(scratch.path() / "stopped.log");
    INFO("end of the log: " << log.substr(log.size() > 1500 ? log.size() - 1500 : 0));
    REQUIRE_FALSE(process.finished());
    process.send_signal(SIGINT);
    const int status = process.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + SIGINT);
  }
  const int done_before = parts_done(stopped);
  INFO("parts done before the resume: " << done_before);
  REQUIRE(done_before >= 4);
  REQUIRE(done_before < 18);

  const CommandResult resumed = run_glassy(concat(args(stopped), {"--resume"}), scratch.path());
  INFO(resumed.standard_error);
  REQUIRE(resumed.exit_status == 0);
  CHECK_THAT(resumed.standard_error, Catch::Matchers::Contains("adamw-add: finished earlier"));
  CHECK(parts_done(stopped) == 18);
  for (const std::string& name : part_results(straight)) {
    INFO("file " << name);
    CHECK(read_file(stopped / name) == read_file(straight / name));
  }
}

// Replaces the state of one part in DIR/status.json.
void set_part_state(const fs::path& dir, const std::string& name, const std::string& state) {
  nlohmann::json status = read_json(dir / "status.json");
  status["parts"][name]["state"] = state;
  std::ofstream(dir / "status.json") << status.dump(2);
}

TEST_CASE("analyze leaves out unfinished parts and rejects cut metrics; resume redoes lost parts",
          "[tools][reproduce]") {
  TemporaryDirectory scratch;
  const fs::path dir = scratch.path() / "repro";
  const std::vector<std::string> args = {"reproduce", "--preset", "smoke", "--only",
                                         "adamw,map-add", "--no-figures", "--out", dir.string()};
  REQUIRE(run_glassy(args, scratch.path()).exit_status == 0);
  const auto analyzed_training = [&] {
    const nlohmann::json analysis = read_json(dir / "analysis" / "analysis.json");
    std::vector<std::string> names;
    for (const auto& part : analysis.at("training")) names.push_back(part.at("name"));
    return names;
  };
  REQUIRE(analyzed_training() == std::vector<std::string>{"adamw-add", "adamw-x2y", "adamw-x3"});

  // An interrupted part would show its first steps as its result.
  set_part_state(dir, "adamw-x2y", "interrupted");
  const CommandResult partial = run_glassy({"analyze", dir.string(), "--no-figures"},
                                           scratch.path());
  REQUIRE(partial.exit_status == 0);
  CHECK_THAT(partial.standard_error,
             Catch::Matchers::Contains("adamw-x2y: not analyzed, its state is interrupted"));
  CHECK(analyzed_training() == std::vector<std::string>{"adamw-add", "adamw-x3"});

  // --resume finishes the interrupted part from its checkpoint, and reruns a part whose
  // directory is gone although status.json records it as done.
  fs::remove_all(dir / "parts" / "adamw-x3");
  const CommandResult resumed = run_glassy(concat(args, {"--resume"}), scratch.path());
  INFO(resumed.standard_error);
  REQUIRE(resumed.exit_status == 0);
  CHECK_THAT(resumed.standard_error,
             Catch::Matchers::Contains("adamw-x3: marked done, but its results are missing"));
  CHECK(fs::is_regular_file(dir / "parts" / "adamw-x3" / "summary.json"));
  CHECK(analyzed_training() == std::vector<std::string>{"adamw-add", "adamw-x2y", "adamw-x3"});

  // A metrics file cut short is an error, not a result.
  const std::string metrics = read_file(dir / "parts" / "adamw-add" / "metrics.csv");
  std::ofstream(dir / "parts" / "adamw-add" / "metrics.csv") << metrics.substr(0, 2000);
  const CommandResult cut = run_glassy({"analyze", dir.string()}, scratch.path());
  CHECK(cut.exit_status == 2);
  CHECK_THAT(cut.standard_error, Catch::Matchers::Contains("the file was cut"));

  // So is a map cut short, with a message that names the file and the fix.
  std::ofstream(dir / "parts" / "adamw-add" / "metrics.csv") << metrics;
  const std::string map = read_file(dir / "parts" / "map-add" / "map.npy");
  std::ofstream(dir / "parts" / "map-add" / "map.npy") << map.substr(0, 200);
  const CommandResult cut_map = run_glassy({"analyze", dir.string()}, scratch.path());
  CHECK(cut_map.exit_status == 2);
  CHECK_THAT(cut_map.standard_error,
             Catch::Matchers::Contains("map.npy cannot be read") &&
                 Catch::Matchers::Contains("run glassy reproduce again with --resume"));
}

}  // namespace
}  // namespace glassy
