// Reproducibility of `glassy train`, run through the real binary. The same settings give
// byte-identical metrics.csv and weights.npy whatever the thread count, and a replica trained
// next to others in one process matches the same configuration trained alone.
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
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
using test::append_word;
using test::concat;
using test::glassy_command;
using test::read_existing_file;
using test::read_json;
using test::shell_quote;
using test::TemporaryDirectory;

// Runs `glassy train args --out out`, with standard output and error written to out + ".log",
// and requires that it succeeds.
void train(const std::vector<std::string>& args, const fs::path& out) {
  const fs::path log = out.parent_path() / (out.filename().string() + ".log");
  std::string command = glassy_command(concat({"train"}, args));
  append_word(command, "--out");
  append_word(command, out.string());
  command += " >";
  command += shell_quote(log.string());
  command += " 2>&1";
  const int status = std::system(command.c_str());
  INFO("command: " << command);
  REQUIRE(status != -1);
  INFO("output: " << read_existing_file(log));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

// Returns "" when a and b are equal, else the first line where they differ, with both lines.
std::string first_line_difference(const std::string& a, const std::string& b) {
  const std::vector<std::string> lines_a = split_lines(a), lines_b = split_lines(b);
  for (std::size_t i = 0; i < std::max(lines_a.size(), lines_b.size()); ++i) {
    const std::string line_a = i < lines_a.size() ? lines_a[i] : "(end of file)";
    const std::string line_b = i < lines_b.size() ? lines_b[i] : "(end of file)";
    if (line_a != line_b) {
      return "line " + std::to_string(i + 1) + ": '" + line_a + "' vs '" + line_b + "'";
    }
  }
  return a == b ? "" : "the files differ outside their lines (trailing newline)";
}

// Returns the first offset where a and b differ, or -1 when they are equal.
int64_t first_byte_difference(const std::string& a, const std::string& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) return int64_t(i);
  }
  return a.size() == b.size() ? -1 : int64_t(std::min(a.size(), b.size()));
}

// Returns the rows of metrics.csv by replica index, each without its replica column, joined
// as lines.
std::map<int64_t, std::string> metrics_by_replica(const fs::path& path) {
  const std::vector<std::string> lines = split_lines(read_existing_file(path));
  REQUIRE(!lines.empty());
  REQUIRE(lines[0].starts_with("step,replica,"));
  std::map<int64_t, std::string> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t first = lines[i].find(',');
    const std::size_t second = lines[i].find(',', first + 1);
    REQUIRE(second != std::string::npos);
    const int64_t replica = std::stoll(lines[i].substr(first + 1, second - first - 1));
    rows[replica] += lines[i].substr(0, first) + lines[i].substr(second) + "\n";
  }
  return rows;
}

}  // namespace

TEST_CASE("same seed gives byte-identical metrics", "[determinism]") {
  TemporaryDirectory scratch;
  // d_model 48 gives the embedding backward two column chunks per replica, so with two threads
  // both take part in the sums over all examples of the "=" row and the last position.
  const std::vector<std::string> settings = {
      "--p",          "11", "--d-model", "48", "--heads",      "2", "--seeds", "1,2",
      "--split-seed", "3",  "--steps",   "60", "--eval-every", "10"};
  const fs::path first = scratch.path() / "two-threads-a";
  const fs::path second = scratch.path() / "two-threads-b";
  const fs::path one_thread = scratch.path() / "one-thread";
  train(concat(settings, {"--threads", "2"}), first);
  train(concat(settings, {"--threads", "2"}), second);
  train(concat(settings, {"--threads", "1"}), one_thread);

  const std::string metrics = read_existing_file(first / "metrics.csv");
  REQUIRE(split_lines(metrics).size() == 1 + 2 * 7);
  CHECK(first_line_difference(metrics, read_existing_file(second / "metrics.csv")) == "");
  CHECK(first_line_difference(metrics, read_existing_file(one_thread / "metrics.csv")) == "");

  const std::string weights = read_existing_file(first / "weights.npy");
  CHECK(first_byte_difference(weights, read_existing_file(second / "weights.npy")) == -1);
  CHECK(first_byte_difference(weights, read_existing_file(one_thread / "weights.npy")) == -1);
}

TEST_CASE("replicas trained together match separate runs", "[determinism]") {
  TemporaryDirectory scratch;
  // One thread: the thread count has its own test, and OpenMP barriers cost far more than
  // these kernels when other processes load the cores.
  const std::vector<std::string> settings = {
      "--p",          "11", "--d-model", "16",  "--heads",      "2",  "--wd",      "1",
      "--split-seed", "3",  "--steps",   "200", "--eval-every", "20", "--threads", "1"};
  const std::vector<std::string> seeds = {"1", "2"};
  const std::vector<std::string> lrs = {"1e-3", "3e-3"};
  const fs::path together = scratch.path() / "together";
  train(concat(settings, {"--seeds", "1,2", "--lr", "1e-3,3e-3"}), together);

  const nlohmann::json config = read_json(together / "config.json");
  const std::map<int64_t, std::string> rows = metrics_by_replica(together / "metrics.csv");
  const NpyArray weights = npy_read((together / "weights.npy").string());
  REQUIRE(config["replica_grid"].size() == 4);
  REQUIRE(rows.size() == 4);
  REQUIRE(weights.shape.size() == 2);
  REQUIRE(weights.shape[0] == 4);
  const int64_t params = weights.shape[1];
  const std::vector<float> all_weights = weights.values<float>();

  for (const std::string& lr : lrs) {
    for (const std::string& seed : seeds) {
      // The replica index of (lr, seed) in the joint run, from its config.json.
      int64_t replica = -1;
      for (const nlohmann::json& entry : config["replica_grid"]) {
        if (entry["lr"] == std::stod(lr) && entry["seed"] == std::stoull(seed)) {
          replica = entry["replica"].get<int64_t>();
        }
      }
      INFO("lr " << lr << ", seed " << seed << ", replica " << replica);
      REQUIRE(replica >= 0);

      const fs::path alone = scratch.path() / ("lr" + lr + "-seed" + seed);
      train(concat(settings, {"--seeds", seed, "--lr", lr}), alone);
      const std::map<int64_t, std::string> alone_rows = metrics_by_replica(alone / "metrics.csv");
      REQUIRE(alone_rows.size() == 1);
      CHECK(first_line_difference(rows.at(replica), alone_rows.at(0)) == "");

      const NpyArray alone_weights = npy_read((alone / "weights.npy").string());
      REQUIRE(alone_weights.shape == std::vector<int64_t>{1, params});
      const std::vector<float> values = alone_weights.values<float>();
      int64_t differing = 0;
      for (int64_t i = 0; i < params; ++i) {
        const float joint = all_weights[replica * params + i];
        differing += std::memcmp(&joint, &values[i], sizeof(float)) != 0;
      }
      CAPTURE(params);
      CHECK(differing == 0);
    }
  }
}

}  // namespace glassy
