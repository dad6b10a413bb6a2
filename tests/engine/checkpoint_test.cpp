// Tests of checkpoint directories. Arrays and metadata round-trip, and a new checkpoint
// replaces the old one. A write cut off at any point leaves the previous checkpoint readable,
// and a stale staging directory is never read. Damaged files are rejected by size and checksum.
#include "engine/checkpoint.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/error.h"
#include "tests/support/files.h"
#include "tests/support/numbers.h"
#include "tests/support/temporary_directory.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using test::bitwise_equal;
using test::read_file;
using test::TemporaryDirectory;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
  REQUIRE(file.good());
}

// Writes a checkpoint at `path` with weights (2, 3) filled with `value`, counts (4) of int64,
// and metadata {"step": step}.
void write_example(const std::string& path, float value, int64_t step) {
  const std::vector<float> weights(6, value);
  const std::vector<int64_t> counts = {1, -2, 3, step};
  checkpoint_write(path,
                   {{"weights.npy", weights.data(), {2, 3}}, {"counts.npy", counts.data(), {4}}},
                   {{"step", step}});
}

// Returns the step recorded in the checkpoint that checkpoint_find gives for path.
int64_t found_step(const std::string& path) {
  const std::string directory = checkpoint_find(path);
  REQUIRE_FALSE(directory.empty());
  return checkpoint_read(directory).metadata.at("step").get<int64_t>();
}

// Returns the message of the UsageError that checkpoint_read(directory) throws, or "".
std::string read_error(const std::string& directory) {
  try {
    checkpoint_read(directory);
  } catch (const UsageError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint round-trips arrays and metadata", "[checkpoint]") {
  TemporaryDirectory scratch;
  const std::string path = (scratch.path() / "checkpoint").string();
  write_example(path, 0.25f, 7);

  REQUIRE(checkpoint_find(path) == path);
  const Checkpoint checkpoint = checkpoint_read(path);
  CHECK(checkpoint.metadata.at("step") == 7);
  CHECK(checkpoint.metadata.at("format") == "glassy checkpoint");
  CHECK(checkpoint.metadata.at("version") == 1);
  REQUIRE(checkpoint.arrays.size() == 2);
  const NpyArray& weights = checkpoint.arrays.at("weights.npy");
  CHECK(weights.shape == std::vector<int64_t>{2, 3});
  CHECK(bitwise_equal(weights.values<float>(), std::vector<float>(6, 0.25f)));
  CHECK(checkpoint.arrays.at("counts.npy").values<int64_t>() ==
        std::vector<int64_t>{1, -2, 3, 7});
}

TEST_CASE("checkpoint write replaces the previous one", "[checkpoint]") {
  TemporaryDirectory scratch;
  const std::string path = (scratch.path() / "checkpoint").string();
  write_example(path, 1.0f, 100);
  write_example(path, 2.0f, 200);
  CHECK(found_step(path) == 200);
  CHECK(checkpoint_read(path).arrays.at("weights.npy").values<float>()[0] == 2.0f);
  CHECK_FALSE(fs::exists(path + ".staging"));
  CHECK_FALSE(fs::exists(path + ".previous"));
}

TEST_CASE("cut-off checkpoint write keeps previous", "[checkpoint]") {
  // A crash during a write leaves a partial staging directory next to the complete
  // checkpoint. Each case is one point where the write can stop: a file of 0 bytes, of 10
  // bytes, the .npy header only, half the data, and all arrays written but no
  // checkpoint.json. The reader must take the old checkpoint, and the next write must
  // succeed.
  TemporaryDirectory scratch;
  const std::string path = (scratch.path() / "checkpoint").string();
  write_example(path, 1.0f, 100);
  const std::string complete = read_file(fs::path(path) / "weights.npy");
  const std::size_t header_size = complete.size() - 6 * sizeof(float);
  const std::vector<std::string> cuts = {"",
                                         complete.substr(0, 10),
                                         complete.substr(0, header_size),
                                         complete.substr(0, header_size + 3 * sizeof(float)),
                                         complete};
  for (const std::string& cut : cuts) {
    INFO("staged weights.npy of " << cut.size() << " bytes");
    const fs::path staging = path + ".staging";
    fs::create_directories(staging);
    write_bytes(staging / "weights.npy", cut);
    if (cut == complete) write_bytes(staging / "counts.npy", "");
    CHECK(checkpoint_find(path) == path);
    CHECK(found_step(path) == 100);
  }
  write_example(path, 2.0f, 200);
  CHECK(found_step(path) == 200);
  CHECK_FALSE(fs::exists(path + ".staging"));
}

TEST_CASE("staging directory is never a checkpoint", "[checkpoint]") {
  // A staging directory with a complete checkpoint.json, but no checkpoint in place: the
  // write may not have finished, so there is no checkpoint to read.
  TemporaryDirectory scratch;
  const std::string path = (scratch.path() / "checkpoint").string();
  write_example(path, 1.0f, 100);
  fs::rename(path, path + ".staging");
  CHECK(checkpoint_find(path).empty());
}

TEST_CASE("checkpoint swap cut between renames", "[checkpoint]") {
  // Where RENAME_EXCHANGE is not supported, the swap renames the old checkpoint to
  // PATH.previous and then the new one to PATH. Between the two only PATH.previous exists.
  TemporaryDirectory scratch;
  const std::string path = (scratch.path() / "checkpoint").string();
  write_example(path, 1.0f, 100);
  fs::rename(path, path + ".previous");
  CHECK(checkpoint_find(path) == path + ".previous");
  CHECK(found_step(path) == 100);

  write_example(path, 2.0f, 200);
  CHECK(found_step(path) == 200);
  CHECK_FALSE(fs::exists(path + ".previous"));
}

TEST_CASE("damaged checkpoint files are rejected", "[checkpoint]") {
  TemporaryDirectory scratch;
  const std::string path = (scratch.path() / "checkpoint").string();
  const fs::path weights = fs::path(path) / "weights.npy";
  const fs::path metadata = fs::path(path) / "checkpoint.json";

  SECTION("changed byte") {
    write_example(path, 1.0f, 100);
    std::string bytes = read_file(weights);
    bytes.back() ^= 0x40;
    write_bytes(weights, bytes);
    CHECK_THAT(read_error(path), Contains("checksum"));
  }
  SECTION("cut file") {
    write_example(path, 1.0f, 100);
    write_bytes(weights, read_file(weights).substr(0, 20));
    CHECK_THAT(read_error(path), Contains("has 20 bytes"));
  }
  SECTION("missing file") {
    write_example(path, 1.0f, 100);
    fs::remove(weights);
    CHECK_THAT(read_error(path), Contains("cannot be read"));
  }
  SECTION("unknown version") {
    write_example(path, 1.0f, 100);
    nlohmann::json description = test::read_json(metadata);
    description["version"] = 99;
    write_bytes(metadata, description.dump());
    CHECK_THAT(read_error(path), Contains("version 99"));
  }
  SECTION("not JSON") {
    write_example(path, 1.0f, 100);
    write_bytes(metadata, "{\"format\": ");
    CHECK_THAT(read_error(path), Contains("not a valid checkpoint description"));
  }
}

}  // namespace glassy
