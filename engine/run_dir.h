// Run directories: where a run writes its config, metrics and results. Every file is written
// whole or not at all (a temporary file, fsync, then rename), except the append-only CSV
// streams, which are flushed after every row so a crash loses at most the row being written.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace glassy {

class RunDirectory {
public:
  // The file that marks a directory as claimed by one run. It contains that run's process id.
  static constexpr const char* kLockFile = "run.lock";

  // Creates path (and its parents) and claims it with kLockFile. Throws UsageError when path
  // exists and is not an empty directory, cannot be created, or another run claimed it.
  static RunDirectory create(const std::string& path, const std::string& flag = "--out");
  // Checks that create(path) would succeed, without creating anything.
  static void check_creatable(const std::string& path, const std::string& flag = "--out");

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  explicit RunDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Writes text to path atomically: path + ".tmp", fsync, rename.
void write_file_atomic(const std::string& path, const std::string& text);

// An append-only CSV file with a header row.
class CsvWriter {
public:
  CsvWriter(const std::string& path, const std::vector<std::string>& header);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  // Appends one row (values already formatted) and flushes it.
  void write_row(const std::vector<std::string>& values);

private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::size_t columns_;
};

}  // namespace glassy
