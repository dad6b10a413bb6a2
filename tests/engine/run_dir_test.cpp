// Tests of run directories: the flock claim of a run directory, and the CSV files that a
// resumed run cuts back to a step and appends to.
#include "engine/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/error.h"
#include "tests/support/files.h"
#include "tests/support/temporary_directory.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using test::read_file;
using test::TemporaryDirectory;

const std::vector<std::string> kHeader = {"step", "value"};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  REQUIRE(file.good());
}

// Returns the message of the UsageError that RunDirectory::claim(path) throws, or "".
std::string claim_error(const std::string& path) {
  try {
    RunDirectory::claim(path);
  } catch (const UsageError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("claim takes over a stale lock file", "[run_dir]") {
  // A run killed with SIGKILL leaves run.lock with its process id, but no flock.
  TemporaryDirectory scratch;
  const fs::path run = scratch.path() / "run";
  fs::create_directories(run);
  write_text(run / RunDirectory::kLockFile, "999999\n");
  {
    RunDirectory dir = RunDirectory::claim(run.string());
    CHECK(read_file(run / RunDirectory::kLockFile) == std::to_string(::getpid()) + "\n");
    dir.release();
  }
  CHECK_FALSE(fs::exists(run / RunDirectory::kLockFile));
}

TEST_CASE("claim fails while another holds it", "[run_dir]") {
  TemporaryDirectory scratch;
  const fs::path run = scratch.path() / "run";
  {
    const RunDirectory created = RunDirectory::create(run.string());
    // flock conflicts between two open file descriptions, even within one process.
    CHECK_THAT(claim_error(run.string()), Contains("in use by a running process"));
    CHECK_THAT(claim_error(run.string()), Contains(std::to_string(::getpid())));
  }
  // Destroying the RunDirectory closes the descriptor, which drops the flock.
  CHECK(claim_error(run.string()).empty());
  CHECK_THAT(claim_error((scratch.path() / "missing").string()), Contains("not a directory"));
}

TEST_CASE("csv rows cut back to a step", "[run_dir]") {
  TemporaryDirectory scratch;
  const fs::path path = scratch.path() / "metrics.csv";
  // The last row lacks its newline, as a crash during a write can leave it.
  write_text(path, "step,value\n0,a\n0,b\n10,c\n20,d\n20,e\n30,f");

  SECTION("before a step with rows") {
    CHECK(csv_keep_rows_before_step(path.string(), kHeader, 20) == 3);
    CHECK(read_file(path) == "step,value\n0,a\n0,b\n10,c\n");
  }
  SECTION("before a step without rows") {
    CHECK(csv_keep_rows_before_step(path.string(), kHeader, 15) == 3);
    CHECK(read_file(path) == "step,value\n0,a\n0,b\n10,c\n");
  }
  SECTION("cut row dropped on append") {
    {
      CsvWriter writer = CsvWriter::append(path.string(), kHeader);
      writer.write_row({"30", "g"});
    }
    CHECK(read_file(path) == "step,value\n0,a\n0,b\n10,c\n20,d\n20,e\n30,g\n");
  }
  SECTION("another header") {
    write_text(path, "step,other\n0,a\n");
    CHECK_THROWS_WITH(csv_keep_rows_before_step(path.string(), kHeader, 10),
                      Contains("does not start with the header 'step,value'"));
  }
  SECTION("missing file") {
    CHECK_THROWS_AS(CsvWriter::append((scratch.path() / "none.csv").string(), kHeader),
                    UsageError);
  }
}

}  // namespace glassy
