// `glassy sample` through the real binary. A run stopped by a signal and resumed from its last
// checkpoint ends with files byte-identical to an uninterrupted run's. Invalid sampler
// settings end with a one-line error and exit status 2, and leave no run directory. A run
// writes every documented file with the grid's shape.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/npy.h"
#include "tests/support/files.h"
#include "tests/support/glassy_process.h"
#include "tests/support/temporary_directory.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using test::concat;
using test::GlassyProcess;
using test::CommandResult;
using test::read_file;
using test::run_glassy;
using test::TemporaryDirectory;

// A small sampling run: x+y at p 7 with a width-8 model, two walkers from the initialization
// and one from an AdamW state, on a 2-D grid shared by averaging every 25 steps.
std::vector<std::string> small_run(const fs::path& out, int64_t steps) {
  return {"sample",        "--p",        "7",           "--d-model",     "8",
          "--heads",       "2",          "--start",     "init:2,adamw@30:1",
          "--steps",       std::to_string(steps),       "--sharing",     "average",
          "--average-every", "25",       "--checkpoint-every", "40", "--trace-every", "10",
          "--log-every",   "1000",       "--dt",        "1e-3",          "--threads", "1",
          "--out",         out.string()};
}

int64_t checkpoint_step(const fs::path& run) {
  std::ifstream file(run / "checkpoint" / "checkpoint.json");
  if (!file.good()) return -1;
  return nlohmann::json::parse(file).at("steps_done").get<int64_t>();
}

const std::vector<std::string> kResultFiles = {
    "map.npy",        "histogram.npy",   "studied.npy",     "map.csv",
    "equilibrium.csv", "traces.csv",     "convergence.csv", "checkpoint/weights.npy",
    "checkpoint/velocity.npy", "checkpoint/grids.npy", "bounds.npy",
    "walker_deposits.npy", "walker_visits.npy", "checkpoint/walker_deposits.npy"};

TEST_CASE("a sample run stopped by a signal and resumed matches the uninterrupted run",
          "[tools][sample][resume]") {
  // SIGKILL loses the steps after the last checkpoint; SIGTERM saves a checkpoint at the step
  // it stops, which must add no convergence row that the uninterrupted run lacks.
  const int signal = GENERATE(SIGKILL, SIGTERM);
  INFO("signal " << signal);
  TemporaryDirectory scratch;
  const fs::path straight = scratch.path() / "straight";
  const fs::path killed = scratch.path() / "killed";
  const int64_t steps = 600;
  REQUIRE(run_glassy(small_run(straight, steps), scratch.path()).exit_status == 0);

  {
    GlassyProcess process(small_run(killed, steps), (scratch.path() / "killed.log").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (checkpoint_step(killed) < 200 && !process.finished() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE_FALSE(process.finished());
    process.send_signal(signal);
    process.wait();
  }
  const int64_t resumed_from = checkpoint_step(killed);
  INFO("killed after the checkpoint at step " << resumed_from);
  REQUIRE(resumed_from >= 200);
  // A killed run resumes from a periodic checkpoint (every 40 steps).
  if (signal == SIGKILL) CHECK(resumed_from % 40 == 0);
  REQUIRE(resumed_from < steps);

  const CommandResult resumed = run_glassy({"sample", "--resume", killed.string()},
                                           scratch.path());
  INFO(resumed.standard_error);
  REQUIRE(resumed.exit_status == 0);
  for (const std::string& name : kResultFiles) {
    INFO("file " << name);
    CHECK(read_file(killed / name) == read_file(straight / name));
  }
}

TEST_CASE("bad sampler settings are rejected with exit status 2 and no run directory",
          "[tools][sample]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--sigma", "0"}, "--sigma must be in [0.1, 1000] bins, got 0"},
      {{"--x-range", "1,1"}, "--x-range must have lo < hi, got '1,1'"},
      {{"--y-range", "0.5,0.2"}, "--y-range must have lo < hi, got '0.5,0.2'"},
      {{"--f-wl", "-1"}, "--f-wl must be a non-negative number, got -1"},
      {{"--friction", "0"}, "--friction (c_f) must be in (0, 1], got 0"},
      {{"--friction", "1.5"}, "--friction (c_f) must be in (0, 1], got 1.5"},
      {{"--dt", "0"}, "--dt must be a positive number, got 0"},
      {{"--bound", "embed.W_E=1e-4"}, "outside its bound 0.0001"},
      {{"--bound", "embed.W_X=1"}, "--bound names tensor 'embed.W_X'"},
      {{"--dims", "3"}, "--dims must be 1 or 2, got 3"},
      {{"--integrator", "verlet"}, "--integrator must be baoab or paper, got 'verlet'"},
      {{"--sharing", "sometimes"}, "--sharing must be average or continuous"},
      {{"--out-of-range", "ignore"}, "--out-of-range must be clamp or stop"},
      {{"--start", "adamw:2"}, "--start group 'adamw:2' must be init:N"},
      {{"--x-width", "0"}, "--x-range bin width must be a positive number, got 0"},
  };
  for (const Case& c : cases) {
    // Later flags win; init walkers only, so no case trains the AdamW start state.
    const std::vector<std::string> args =
        concat(concat(small_run(out, 20), {"--start", "init:2"}), c.flags);
    const CommandResult result = run_glassy(args, scratch.path());
    INFO("flags: " << c.flags[0] << " " << c.flags[1] << "\nstderr: " << result.standard_error);
    CHECK(result.exit_status == 2);
    CHECK_THAT(result.standard_error, Catch::Matchers::Contains(c.message));
    CHECK(std::count(result.standard_error.begin(), result.standard_error.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("a sample run writes the map files with the grid's shape", "[tools][sample]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  REQUIRE(run_glassy(small_run(out, 50), scratch.path()).exit_status == 0);

  const nlohmann::json axes = test::read_json(out / "axes.json");
  const int64_t nx = axes.at("x").at("bins").get<int64_t>();
  const int64_t ny = axes.at("y").at("bins").get<int64_t>();
  for (const char* name : {"map.npy", "histogram.npy", "studied.npy"}) {
    INFO(name);
    const NpyArray array = npy_read((out / name).string());
    CHECK(array.shape == std::vector<int64_t>{nx, ny});
  }
  int64_t visits = 0;
  for (int64_t v : npy_read((out / "histogram.npy").string()).values<int64_t>()) visits += v;
  CHECK(visits == 3 * 50);  // one visit per walker-step

  const nlohmann::json summary = test::read_json(out / "summary.json");
  CHECK(summary.at("status") == "finished");
  CHECK(summary.at("steps_done") == 50);
  CHECK(summary.at("groups").contains("init"));
  CHECK(summary.at("groups").contains("adamw@30"));
  CHECK_THAT(read_file(out / "equilibrium.csv"),
             Catch::Matchers::StartsWith("x,visits,y_argmax,y_mean,s_max\n"));
  CHECK(fs::exists(out / "starts" / "adamw_30.npy"));
  CHECK_FALSE(fs::exists(out / "run.lock"));
}

TEST_CASE("resuming a finished sample run rewrites its map files from the checkpoint",
          "[tools][sample][resume]") {
  // A kill between the last checkpoint and the map files leaves stale maps; a resume of the
  // finished run must repair them.
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  REQUIRE(run_glassy(small_run(out, 80), scratch.path()).exit_status == 0);
  const std::string map = read_file(out / "map.npy");
  const std::string convergence = read_file(out / "convergence.csv");
  fs::copy_file(out / "starts" / "adamw_30.npy", out / "map.npy",
                fs::copy_options::overwrite_existing);

  REQUIRE(run_glassy({"sample", "--resume", out.string()}, scratch.path()).exit_status == 0);
  CHECK(read_file(out / "map.npy") == map);
  CHECK(read_file(out / "convergence.csv") == convergence);
}

TEST_CASE("a resumed sample run records a raised --steps for the next resume",
          "[tools][sample][resume]") {
  TemporaryDirectory scratch;
  const fs::path out = scratch.path() / "run";
  REQUIRE(run_glassy(small_run(out, 40), scratch.path()).exit_status == 0);
  const CommandResult raised =
      run_glassy({"sample", "--resume", out.string(), "--steps", "60"}, scratch.path());
  INFO(raised.standard_error);
  REQUIRE(raised.exit_status == 0);
  CHECK(test::read_json(out / "config.json").at("steps") == 60);
  CHECK(test::read_json(out / "summary.json").at("steps_done") == 60);

  const CommandResult lowered =
      run_glassy({"sample", "--resume", out.string(), "--steps", "50"}, scratch.path());
  CHECK(lowered.exit_status == 2);
  CHECK_THAT(lowered.standard_error,
             Catch::Matchers::Contains("--steps 50 is below the 60 steps the run has done"));
  CHECK(test::read_json(out / "config.json").at("steps") == 60);
}

}  // namespace
}  // namespace glassy
