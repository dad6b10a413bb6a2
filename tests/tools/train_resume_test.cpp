// Checkpoints and `glassy train --resume`, run through the real binary. A run killed with
// SIGKILL, resumed, stopped with SIGTERM and resumed again ends with metrics.csv, weights.npy
// and summary.json byte-identical to an uninterrupted run. A resume that cannot continue
// exactly (no checkpoint, changed settings, a damaged checkpoint, a directory in use) ends
// with a one-line error and exit status 2, and leaves the run's files as they were.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
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
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test::concat;
using test::glassy_command;
using test::GlassyProcess;
using test::CommandResult;
using test::read_file;
using test::run_glassy;
using test::shell_quote;
using test::TemporaryDirectory;

// Returns the step of the run's checkpoint, or -1 while it has none.
int64_t checkpoint_step(const fs::path& run) {
  std::ifstream file(run / "checkpoint" / "checkpoint.json");
  if (!file.good()) return -1;
  return nlohmann::json::parse(file).at("step").get<int64_t>();
}

// Waits until the run's checkpoint reaches at least `step` or the process ends, polling every
// 5 ms (a demo step takes about 12 ms on 2 idle cores), and returns the checkpoint's step.
int64_t wait_for_checkpoint(GlassyProcess& process, const fs::path& run, int64_t step) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (checkpoint_step(run) < step && !process.finished() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return checkpoint_step(run);
}

// Returns the steps in the first column of a CSV file, without its header.
std::vector<int64_t> csv_steps(const fs::path& path) {
  std::istringstream lines(read_file(path));
  std::string line;
  std::getline(lines, line);
  std::vector<int64_t> steps;
  while (std::getline(lines, line)) steps.push_back(std::stoll(line.substr(0, line.find(','))));
  return steps;
}

// Checks the contract of a rejected resume: exit status 2 and one line on standard error.
void check_rejected(const CommandResult& result) {
  INFO("standard error: " << result.standard_error);
  CHECK(result.exit_status == 2);
  CHECK(std::count(result.standard_error.begin(), result.standard_error.end(), '\n') == 1);
  CHECK_THAT(result.standard_error, StartsWith("glassy train: error: "));
}

// A model small enough that a run of a few steps takes milliseconds, on one thread because
// OpenMP barriers cost far more than these kernels when other processes load the cores.
const std::vector<std::string> kTinyRun = {"--d-model", "16", "--heads", "2",  "--p", "7",
                                           "--seeds",   "1",  "--split-seed", "2", "--threads",
                                           "1"};

}  // namespace

TEST_CASE("interrupted demo run resumes bitwise", "[resume]") {
  // The demo preset for 300 steps with a checkpoint every 100. One run goes straight through.
  // The other is killed with SIGKILL after its checkpoint at step 100, resumed, stopped with
  // SIGTERM a few steps after its checkpoint at step 200 (so mostly off the evaluation grid
  // of every 10 steps), and resumed again.
  TemporaryDirectory scratch;
  const std::vector<std::string> settings = {"train", "--preset", "demo", "--steps", "300",
                                             "--checkpoint-every", "100"};
  const fs::path straight = scratch.path() / "straight";
  const fs::path run = scratch.path() / "interrupted";
  const CommandResult straight_result =
      run_glassy(concat(settings, {"--out", straight.string()}), scratch.path());
  INFO("straight run: " << straight_result.standard_error);
  REQUIRE(straight_result.exit_status == 0);

  {
    GlassyProcess first(concat(settings, {"--out", run.string()}),
                        (scratch.path() / "1.log").string());
    REQUIRE(wait_for_checkpoint(first, run, 100) == 100);
    first.send_signal(SIGKILL);
    const int status = first.wait();
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }
  REQUIRE_FALSE(fs::exists(run / "summary.json"));
  CHECK(fs::exists(run / "run.lock"));

  int64_t stop_step = 0;
  {
    GlassyProcess second({"train", "--resume", run.string()}, (scratch.path() / "2.log").string());
    REQUIRE(wait_for_checkpoint(second, run, 200) == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(35));
    second.send_signal(SIGTERM);
    const int status = second.wait();
    INFO("second run: " << read_file(scratch.path() / "2.log"));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 128 + SIGTERM);
    stop_step = checkpoint_step(run);
  }
  INFO("stopped at step " << stop_step);
  REQUIRE(stop_step >= 200);
  REQUIRE(stop_step < 300);
  CHECK(test::read_json(run / "summary.json")["interrupted"] == true);

  const CommandResult third = run_glassy({"train", "--resume", run.string()}, scratch.path());
  INFO("third run: " << third.standard_error);
  REQUIRE(third.exit_status == 0);
  CHECK_THAT(third.standard_error, Contains("from the checkpoint at step"));
  for (const char* name : {"metrics.csv", "weights.npy", "summary.json"}) {
    INFO(name);
    CHECK(read_file(run / name) == read_file(straight / name));
  }
  CHECK(checkpoint_step(run) == 300);
  CHECK_FALSE(fs::exists(run / "run.lock"));
  CHECK_FALSE(fs::exists(run / "checkpoint.staging"));
  // progress.csv keeps one row per progress line, each step once and in order.
  const std::vector<int64_t> progress_steps = csv_steps(run / "progress.csv");
  CHECK(std::is_sorted(progress_steps.begin(), progress_steps.end()));
  CHECK(std::adjacent_find(progress_steps.begin(), progress_steps.end()) ==
        progress_steps.end());
  CHECK(progress_steps.back() == 300);
}

TEST_CASE("interrupted wand and hybrid runs resume bitwise", "[resume][wand]") {
  // For each optimizer: a straight run, and a run killed with SIGKILL after its checkpoint at
  // step 50, resumed, stopped with SIGTERM shortly after its checkpoint at step 100 and resumed
  // again. The checkpoint must carry WanD's velocities, grids, histogram and step count, and
  // for the hybrid the AdamW moments, or the noise and forces of the resumed steps differ.
  TemporaryDirectory scratch;
  const std::vector<std::vector<std::string>> optimizers = {
      {"--optimizer", "wand"}, {"--optimizer", "hybrid", "--alpha", "square"}};
  for (std::size_t i = 0; i < optimizers.size(); ++i) {
    INFO(optimizers[i][1]);
    const std::vector<std::string> settings = concat(
        {"train", "--preset", "demo", "--d-model", "32", "--seeds", "0,1", "--steps", "200",
         "--checkpoint-every", "50", "--beta", "300", "--threads", "1"},
        optimizers[i]);
    const fs::path straight = scratch.path() / ("straight" + std::to_string(i));
    const fs::path run = scratch.path() / ("interrupted" + std::to_string(i));
    const CommandResult straight_result =
        run_glassy(concat(settings, {"--out", straight.string()}), scratch.path());
    INFO("straight run: " << straight_result.standard_error);
    REQUIRE(straight_result.exit_status == 0);

    {
      GlassyProcess first(concat(settings, {"--out", run.string()}),
                          (scratch.path() / "1.log").string());
      REQUIRE(wait_for_checkpoint(first, run, 50) >= 50);
      first.send_signal(SIGKILL);
      REQUIRE(WIFSIGNALED(first.wait()));
    }
    {
      GlassyProcess second({"train", "--resume", run.string()},
                           (scratch.path() / "2.log").string());
      REQUIRE(wait_for_checkpoint(second, run, 100) >= 100);
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
      second.send_signal(SIGTERM);
      const int status = second.wait();
      INFO("second run: " << read_file(scratch.path() / "2.log"));
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
    }
    const int64_t stop_step = checkpoint_step(run);
    INFO("stopped at step " << stop_step);
    CHECK(stop_step >= 100);
    CHECK(stop_step < 200);

    const CommandResult third = run_glassy({"train", "--resume", run.string()}, scratch.path());
    INFO("third run: " << third.standard_error);
    REQUIRE(third.exit_status == 0);
    for (const char* name : {"metrics.csv", "wand.csv", "weights.npy", "summary.json"}) {
      INFO(name);
      CHECK(read_file(run / name) == read_file(straight / name));
    }

    // A finished WanD run still rejects a changed WanD setting by name.
    const CommandResult changed =
        run_glassy({"train", "--resume", run.string(), "--dt", "0.002"}, scratch.path());
    check_rejected(changed);
    CHECK_THAT(changed.standard_error, Contains("the flags set dt to 0.002"));
  }
}

TEST_CASE("kill during checkpoint writes resumes", "[resume]") {
  // With a checkpoint after every step, writing checkpoints (measured at about 20 ms each on
  // a 2-core VM, most of it fsync) takes most of the run's time, so a SIGKILL likely lands
  // inside a write. Two kills at different moments, then a resume to the end: the files must
  // match a straight run.
  TemporaryDirectory scratch;
  const std::vector<std::string> settings =
      concat(concat({"train"}, kTinyRun), {"--steps", "120", "--checkpoint-every", "1"});
  const fs::path straight = scratch.path() / "straight";
  const fs::path run = scratch.path() / "killed";
  REQUIRE(run_glassy(concat(settings, {"--out", straight.string()}), scratch.path())
              .exit_status == 0);

  const std::vector<std::string> first_args = concat(settings, {"--out", run.string()});
  const std::vector<std::string> resume_args = {"train", "--resume", run.string()};
  const int64_t kill_after[] = {30, 70};
  for (int i = 0; i < 2; ++i) {
    GlassyProcess process(i == 0 ? first_args : resume_args,
                          (scratch.path() / ("kill" + std::to_string(i) + ".log")).string());
    REQUIRE(wait_for_checkpoint(process, run, kill_after[i]) >= kill_after[i]);
    std::this_thread::sleep_for(std::chrono::milliseconds(7 + 5 * i));
    process.send_signal(SIGKILL);
    const int status = process.wait();
    INFO("kill " << i << " at checkpoint step " << checkpoint_step(run));
    REQUIRE(WIFSIGNALED(status));
  }
  REQUIRE_FALSE(fs::exists(run / "summary.json"));

  const CommandResult last = run_glassy(resume_args, scratch.path());
  INFO("last resume: " << last.standard_error);
  REQUIRE(last.exit_status == 0);
  for (const char* name : {"metrics.csv", "weights.npy", "summary.json"}) {
    INFO(name);
    CHECK(read_file(run / name) == read_file(straight / name));
  }
}

TEST_CASE("resume without checkpoint is rejected", "[resume]") {
  // --steps 0 ends at step 0, before any checkpoint.
  TemporaryDirectory scratch;
  const fs::path run = scratch.path() / "run";
  const std::vector<std::string> args =
      concat(concat({"train"}, kTinyRun), {"--steps", "0", "--out", run.string()});
  REQUIRE(run_glassy(args, scratch.path()).exit_status == 0);
  const std::string metrics = read_file(run / "metrics.csv");

  const CommandResult result = run_glassy({"train", "--resume", run.string()}, scratch.path());
  check_rejected(result);
  CHECK_THAT(result.standard_error, Contains("has no checkpoint"));
  CHECK_THAT(result.standard_error, Contains("--out"));
  CHECK(read_file(run / "metrics.csv") == metrics);

  const fs::path missing = scratch.path() / "missing";
  const CommandResult no_directory =
      run_glassy({"train", "--resume", missing.string()}, scratch.path());
  check_rejected(no_directory);
  CHECK_THAT(no_directory.standard_error, Contains("is not a directory"));
}

TEST_CASE("resume rejects changed settings", "[resume]") {
  TemporaryDirectory scratch;
  const fs::path run = scratch.path() / "run";
  REQUIRE(run_glassy(concat(concat({"train"}, kTinyRun), {"--steps", "20", "--out",
                                                           run.string()}),
                     scratch.path())
              .exit_status == 0);
  const std::string metrics = read_file(run / "metrics.csv");

  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const Case cases[] = {
      {{"--lr", "1e-3"}, "the flags set lr to \"1e-3\""},
      {{"--seeds", "1,2"}, "the flags set replica_grid"},
      {{"--config", (run / "config.json").string()}, "drop --config"},
      {{"--out", scratch.path().string()}, "name different directories"},
      // The settings match, so the check that comes next rejects the finished run.
      {{"--threads", "2", "--checkpoint-every", "5", "--out", run.string()}, "already finished"},
  };
  for (const Case& c : cases) {
    const CommandResult result =
        run_glassy(concat({"train", "--resume", run.string()}, c.flags), scratch.path());
    INFO("flags " << c.flags[0] << " " << c.flags[1]);
    check_rejected(result);
    CHECK_THAT(result.standard_error, Contains(c.message));
  }
  CHECK(read_file(run / "metrics.csv") == metrics);
}

TEST_CASE("resume rejects damaged checkpoint", "[resume]") {
  TemporaryDirectory scratch;
  const fs::path run = scratch.path() / "run";
  // The run finished, but resume checks the checkpoint's files before it looks at the step,
  // so the damage is what the error names.
  REQUIRE(run_glassy(concat(concat({"train"}, kTinyRun), {"--steps", "20", "--out",
                                                           run.string()}),
                     scratch.path())
              .exit_status == 0);
  const fs::path weights = run / "checkpoint" / "weights.npy";
  const std::string original = read_file(weights);

  SECTION("changed byte") {
    std::string changed = original;
    changed[changed.size() - 1] ^= 0x01;
    std::ofstream(weights, std::ios::binary) << changed;
    const CommandResult result = run_glassy({"train", "--resume", run.string()}, scratch.path());
    check_rejected(result);
    CHECK_THAT(result.standard_error, Contains("checksum"));
  }
  SECTION("cut file") {
    std::ofstream(weights, std::ios::binary) << original.substr(0, original.size() / 2);
    const CommandResult result = run_glassy({"train", "--resume", run.string()}, scratch.path());
    check_rejected(result);
    CHECK_THAT(result.standard_error, Contains("bytes"));
  }
}

TEST_CASE("resume rejects directory in use", "[resume]") {
  // The test takes the run's flock itself, as a running glassy would.
  TemporaryDirectory scratch;
  const fs::path run = scratch.path() / "run";
  REQUIRE(run_glassy(concat(concat({"train"}, kTinyRun), {"--steps", "20", "--out",
                                                           run.string()}),
                     scratch.path())
              .exit_status == 0);
  const int fd = ::open((run / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "4242\n", 5) == 5);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const CommandResult result = run_glassy({"train", "--resume", run.string()}, scratch.path());
  ::close(fd);
  check_rejected(result);
  CHECK_THAT(result.standard_error, Contains("in use by a running process (4242)"));
}

TEST_CASE("train help lists resume flags", "[resume][cli]") {
  TemporaryDirectory scratch;
  const fs::path output = scratch.path() / "help.txt";
  const std::string command = glassy_command({"train", "--help"}) + " >" +
                              shell_quote(output.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string help = read_file(output);
  CHECK_THAT(help, Contains("--resume"));
  CHECK_THAT(help, Contains("--checkpoint-every INT=500"));
}

}  // namespace glassy
