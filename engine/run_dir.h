// Run directories: where a run writes its config, metrics and results. Every file is written
// whole or not at all (a temporary file, fsync, then rename), except the append-only CSV
// streams, which are flushed after every row so a crash loses at most the row being written.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace glassy {

// A run directory claimed by this process. The claim is an exclusive flock on kLockFile, held
// until the object is destroyed. The kernel drops the flock when the process ends, even by
// SIGKILL, so a lock file that a killed run left behind does not block a later claim.
class RunDirectory {
public:
  // The file that marks a directory as claimed by one run. It contains that run's process id.
  static constexpr const char* kLockFile = "run.lock";

  // Creates path (and its parents) and claims it. Throws UsageError when path exists and is
  // not an empty directory, cannot be created, or another run claimed it.
  static RunDirectory create(const std::string& path, const std::string& flag = "--out");
  // Checks that create(path) would succeed, without creating anything.
  static void check_creatable(const std::string& path, const std::string& flag = "--out");
  // Claims the existing run directory path, to continue the run in it. Throws UsageError when
  // path is not a writable directory or a running process holds its claim.
  static RunDirectory claim(const std::string& path, const std::string& flag = "--resume");

  RunDirectory(RunDirectory&& other) noexcept;
  RunDirectory& operator=(RunDirectory&&) = delete;
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;
  ~RunDirectory();

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Removes kLockFile and gives up the claim, once the run has written its results.
  void release();

private:
  RunDirectory(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::string path_;
  int lock_fd_ = -1;  // open on kLockFile with the flock held; -1 after release
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

  // Opens an existing CSV file that starts with header to append rows. A last row without its
  // newline, cut by a crash, is dropped first. Throws UsageError when the file is missing or
  // has another header.
  static CsvWriter append(const std::string& path, const std::vector<std::string>& header);

  // Appends one row (values already formatted) and flushes it.
  void write_row(const std::vector<std::string>& values);
  // Syncs the rows written so far to the disk, so that they survive a crash of the machine.
  void sync();

private:
  CsvWriter(std::string path, std::FILE* file, std::size_t columns)
      : path_(std::move(path)), file_(file), columns_(columns) {}
  std::string path_;
  std::FILE* file_ = nullptr;
  std::size_t columns_;
};

// Rewrites the CSV file at path, which must start with header, keeping only the complete rows
// before the first row whose first column, an integer step, is at least `step`. A last line
// without its newline is dropped, because a crash can cut the row being written. Returns the
// number of rows kept. Throws UsageError when the file is missing or has another header.
int64_t csv_keep_rows_before_step(const std::string& path, const std::vector<std::string>& header,
                                  int64_t step);

}  // namespace glassy
