// `glassy analyze` through the real binary on a small reproduce directory that the test writes
// itself: two train parts, one map with three walkers, and two parts that never ran. The
// output is byte-identical for a copy of the directory elsewhere, parts without files are
// skipped, and invalid directories end with exit status 2 and a message that states what to do.
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
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
using Catch::Matchers::Contains;
using test::CommandResult;
using test::read_existing_file;
using test::read_json;
using test::run_glassy;
using test::TemporaryDirectory;

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary);
  file << text;
  REQUIRE(file.good());
}

nlohmann::json plan_part(const std::string& name, const std::string& kind,
                         const std::string& role, const nlohmann::json& compare) {
  return {{"name", name},         {"kind", kind},        {"role", role},
          {"task", "x+y"},        {"train_frac", 0.5},   {"d_model", 32},
          {"compare", compare},   {"title", role + " on x+y"}, {"args", nlohmann::json::array()}};
}

void write_plan(const fs::path& dir) {
  const nlohmann::json plan = {
      {"format", 1},
      {"preset", "demo"},
      {"only", nlohmann::json::array()},
      {"glassy_version", "test"},
      {"command", "glassy reproduce --preset demo --out runs/repro"},
      {"machine", {{"cpu", "test"}, {"cores", 2}}},
      {"parts",
       {plan_part("adamw-add", "train", "adamw", nullptr),
        plan_part("map-add", "sample", "map", "adamw-add"),
        plan_part("fixed-norm-add", "train", "fixed-norm", "adamw-add"),
        plan_part("adamw-x2y", "train", "adamw", nullptr),
        plan_part("map-x2y", "sample", "map", "adamw-x2y")}}};
  write_text(dir / "reproduce.json", plan.dump(2));
  nlohmann::json status = {{"parts", nlohmann::json::object()}};
  for (const char* name : {"adamw-add", "map-add", "fixed-norm-add"}) {
    status["parts"][name] = {{"state", "done"}, {"wall_seconds", 10.5}, {"attempts", 1}};
  }
  status["parts"]["adamw-x2y"] = {{"state", "interrupted"}, {"wall_seconds", 2}, {"attempts", 1}};
  status["parts"]["map-x2y"] = {{"state", "pending"}, {"wall_seconds", 0}, {"attempts", 0}};
  write_text(dir / "status.json", status.dump(2));
}

// A train part of two replicas whose ln L_train falls from 1 by 0.5 per evaluation, and whose
// test accuracy passes 95% at step 10 * generalize_at (replica 0) or never (replica 1).
void write_train_part(const fs::path& part, const std::string& optimizer, int generalize_at) {
  write_text(part / "config.json",
             nlohmann::json({{"optimizer", optimizer}, {"steps", 200}}).dump(2));
  write_text(part / "summary.json",
             nlohmann::json({{"replicas", {{{"replica", 0}, {"seed", 11}},
                                           {{"replica", 1}, {"seed", 12}}}}})
                 .dump(2));
  std::string csv = "step,replica,train_loss,log_train_loss,train_acc,test_loss,test_acc,"
                    "smooth_test_acc,weight_norm,lr\n";
  for (int k = 0; k <= 22; ++k) {
    for (int replica = 0; replica < 2; ++replica) {
      const double x = 1.0 - 0.5 * k - 0.1 * replica;
      const double train_acc = k >= 3 ? 1.0 : 0.3 * k;
      const double test_acc = replica == 0 && k >= generalize_at ? 0.97 : 0.02 * k;
      csv += fmt::format("{},{},{},{},{},1,{},{},{},0.001\n", 10 * k, replica, std::exp(x), x,
                         train_acc, test_acc, 0.9 * test_acc + 0.01, 30.0 + k - replica);
    }
  }
  write_text(part / "metrics.csv", csv);
}

// A map of 16 x 12 bins (x from -10 by 0.5, accuracy from -0.1 by 0.1) from three walkers on a
// shared grid. Each walker deposits a varied amount on the columns below ln L_train = -3,
// less at accuracy 0.55, so the band between the ends has a dip.
void write_map_part(const fs::path& part) {
  const int64_t nx = 16, ny = 12, walkers = 3;
  const nlohmann::json axes = {
      {"dims", 2},
      {"x", {{"lo", -10.0}, {"width", 0.5}, {"bins", nx}, {"hi", -2.0}}},
      {"y", {{"lo", -0.1}, {"width", 0.1}, {"bins", ny}, {"hi", 1.1}}},
      {"y_scale", 1.0},
      {"sigma_bins", 2.0},
      {"bias", {{"beta", 0.0}, {"l0", -8.0}, {"low_beta", 0.0}, {"low_x", -20.0},
                {"y_beta", 0.0}, {"y_lo", 0.0}, {"y_hi", 1.0}}}};
  write_text(part / "axes.json", axes.dump(2));
  write_text(part / "config.json",
             nlohmann::json({{"sharing", "continuous"}, {"steps", 100}}).dump(2));
  std::vector<double> deposits(walkers * nx * ny, 0.0), map(nx * ny, 0.0);
  std::vector<int64_t> visits(walkers * nx * ny, 0), histogram(nx * ny, 0);
  for (int64_t r = 0; r < walkers; ++r) {
    for (int64_t ix = 0; ix < 14; ++ix) {
      for (int64_t iy = 1; iy < 11; ++iy) {
        const int64_t cell = ix * ny + iy;
        const double amount = iy == 7 ? 0.2 : 1.0 + 0.1 * double((ix * 7 + iy * 3 + r * 5) % 11);
        deposits[r * nx * ny + cell] = amount;
        visits[r * nx * ny + cell] = 1 + (ix + r) % 3;
        map[cell] += amount;
        histogram[cell] += visits[r * nx * ny + cell];
      }
    }
  }
  npy_write((part / "map.npy").string(), map.data(), std::vector<int64_t>{nx, ny});
  npy_write((part / "histogram.npy").string(), histogram.data(), std::vector<int64_t>{nx, ny});
  npy_write((part / "walker_deposits.npy").string(), deposits.data(),
            std::vector<int64_t>{walkers, nx, ny});
  npy_write((part / "walker_visits.npy").string(), visits.data(),
            std::vector<int64_t>{walkers, nx, ny});
}

void write_reproduce_directory(const fs::path& dir) {
  write_plan(dir);
  write_train_part(dir / "parts" / "adamw-add", "adamw", 15);
  write_train_part(dir / "parts" / "fixed-norm-add", "adamw", 5);
  write_map_part(dir / "parts" / "map-add");
  // adamw-x2y was interrupted before its first metrics row; map-x2y never started.
  write_text(dir / "parts" / "adamw-x2y" / "config.json", "{}");
}

// Returns the relative paths of the files below dir, sorted.
std::vector<std::string> files_below(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

CommandResult analyze(const fs::path& dir, const fs::path& scratch) {
  return run_glassy({"analyze", dir.string(), "--no-figures"}, scratch);
}

TEST_CASE("analyze output is identical for a copied directory", "[analyze][tools]") {
  TemporaryDirectory scratch;
  const fs::path first = scratch.path() / "repro";
  const fs::path second = scratch.path() / "elsewhere" / "deeper" / "copy";
  write_reproduce_directory(first);
  fs::create_directories(second);
  fs::copy(first, second, fs::copy_options::recursive);

  const CommandResult result = analyze(first, scratch.path());
  INFO(result.standard_error);
  REQUIRE(result.exit_status == 0);
  CHECK(result.standard_output == first.string() + "/analysis/analysis.json\n");
  // A file left from an earlier analysis disappears, because the directory is rewritten whole.
  write_text(second / "analysis" / "stale.csv", "old\n");
  REQUIRE(analyze(second, scratch.path()).exit_status == 0);

  const std::vector<std::string> files = files_below(first / "analysis");
  CHECK(files == files_below(second / "analysis"));
  CHECK(files.size() == 7);
  for (const std::string& file : files) {
    INFO("file " << file);
    CHECK(read_existing_file(first / "analysis" / file) ==
          read_existing_file(second / "analysis" / file));
  }
  CHECK_FALSE(fs::exists(second / "analysis.partial"));
}

TEST_CASE("analyze skips parts without files", "[analyze][tools]") {
  TemporaryDirectory scratch;
  const fs::path dir = scratch.path() / "repro";
  write_reproduce_directory(dir);
  const CommandResult result = analyze(dir, scratch.path());
  INFO(result.standard_error);
  REQUIRE(result.exit_status == 0);
  CHECK_THAT(result.standard_error, Contains("map-x2y: not analyzed, its state is "
                                             "pending"));

  const nlohmann::json analysis = read_json(dir / "analysis" / "analysis.json");
  REQUIRE(analysis.at("parts").size() == 5);
  CHECK(analysis["parts"][4]["name"] == "map-x2y");
  CHECK(analysis["parts"][4]["state"] == "pending");
  CHECK(analysis["parts"][4]["config"].is_null());
  CHECK(analysis["total_wall_seconds"] == 33.5);
  REQUIRE(analysis.at("maps").size() == 1);
  const nlohmann::json& map = analysis["maps"][0];
  CHECK(map["name"] == "map-add");
  CHECK(map["walkers"] == 3);
  CHECK(map["visited_bins"] == 140);
  CHECK(map["files"]["entropy"] == "analysis/map-add/entropy.npy");
  CHECK(map["barrier"]["jackknife_n"] == 3);
  CHECK(map["advantage"]["argmax"]["bins"] == 12);
  CHECK(map["advantage"]["argmax"]["x_hi"] == -4.0);

  REQUIRE(analysis.at("training").size() == 2);
  CHECK(analysis["training"][0]["summary"]["reached_test_95"] == 1);
  CHECK(analysis["training"][0]["seeds"][1]["step_test_95"].is_null());
  REQUIRE(analysis.at("comparisons").size() == 1);
  CHECK(analysis["comparisons"][0]["part"] == "fixed-norm-add");
  CHECK(analysis["comparisons"][0]["speedup"] == 3.0);

  const NpyArray entropy = npy_read((dir / "analysis" / "map-add" / "entropy.npy").string());
  CHECK(entropy.shape == std::vector<int64_t>{16, 12});
  const std::string steps = read_existing_file(dir / "analysis" / "steps_to_generalize.csv");
  CHECK_THAT(steps, Contains("\nadamw-add,adamw,x+y,0.5,adamw,12,30,,,1,"));
}

TEST_CASE("analyze rejects a directory that is not a reproduction", "[analyze][tools]") {
  TemporaryDirectory scratch;
  const fs::path missing = scratch.path() / "missing";
  const CommandResult no_directory = analyze(missing, scratch.path());
  CHECK(no_directory.exit_status == 2);
  CHECK_THAT(no_directory.standard_error, Contains(missing.string() + " is not a directory"));

  const CommandResult no_plan = analyze(scratch.path(), scratch.path());
  CHECK(no_plan.exit_status == 2);
  CHECK_THAT(no_plan.standard_error,
             Contains("is not a glassy reproduce directory: it has no reproduce.json; name "
                      "the --out directory of a glassy reproduce run"));

  const CommandResult no_argument = run_glassy({"analyze"}, scratch.path());
  CHECK(no_argument.exit_status == 2);
  CHECK_THAT(no_argument.standard_error, Contains("DIR is required"));
}

TEST_CASE("analyze names the fix when figures fail", "[analyze][tools]") {
  TemporaryDirectory scratch;
  const fs::path dir = scratch.path() / "repro";
  write_reproduce_directory(dir);
  ::setenv("GLASSY_PYTHON", "/nonexistent/python", 1);
  const CommandResult result = run_glassy({"analyze", dir.string()}, scratch.path());
  ::unsetenv("GLASSY_PYTHON");
  CHECK(result.exit_status == 1);
  CHECK_THAT(result.standard_error, Contains("/nonexistent/python, does not exist"));
  CHECK_THAT(result.standard_error, Contains("tools/install.sh"));
  CHECK(fs::exists(dir / "analysis" / "analysis.json"));
}

TEST_CASE("analyze help lists its flags", "[analyze][tools]") {
  TemporaryDirectory scratch;
  const CommandResult result = run_glassy({"analyze", "--help"}, scratch.path());
  CHECK(result.exit_status == 0);
  CHECK_THAT(result.standard_output, Contains("--no-figures"));
  CHECK_THAT(result.standard_output, Contains("DIR"));
}

}  // namespace
}  // namespace glassy
