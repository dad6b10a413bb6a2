// Run directories and crash-safe file writes.
#include "engine/run_dir.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"

namespace glassy {
namespace fs = std::filesystem;

namespace {

// Returns the nearest existing ancestor of path (path itself when it exists).
fs::path existing_ancestor(fs::path path) {
  std::error_code error;
  path = fs::absolute(path, error);
  while (!path.empty() && !fs::exists(path, error)) {
    if (path == path.parent_path()) break;
    path = path.parent_path();
  }
  return path;
}

// Returns the process id recorded in a lock file, or "unknown".
std::string lock_owner(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof(text) - 1, 0);
  std::string owner = n > 0 ? std::string(text, std::size_t(n)) : "";
  while (!owner.empty() && owner.back() == '\n') owner.pop_back();
  return owner.empty() ? "unknown" : owner;
}

// Returns whether fd is still the file at path. A run that releases its claim unlinks the
// lock file, and a flock on an unlinked file protects nothing.
bool is_same_file(int fd, const std::string& path) {
  struct stat open_file = {}, named_file = {};
  return ::fstat(fd, &open_file) == 0 && ::stat(path.c_str(), &named_file) == 0 &&
         open_file.st_dev == named_file.st_dev && open_file.st_ino == named_file.st_ino;
}

// Opens path/run.lock (it must be new when `must_create`), takes an exclusive flock on it and
// writes this process's id into it. Returns the open descriptor, which holds the flock.
int lock_run_directory(const std::string& path, const std::string& flag, bool must_create) {
  const std::string lock = path + "/" + RunDirectory::kLockFile;
  const int create_flags = O_CREAT | (must_create ? O_EXCL : 0);
  for (;;) {
    const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC | create_flags, 0644);
    GLASSY_REQUIRE(fd >= 0, "{} '{}' is in use by another run ({}: {}); choose another "
                   "directory", flag, path, RunDirectory::kLockFile, std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const std::string owner = lock_owner(fd);
      ::close(fd);
      throw UsageError(fmt::format("{} '{}' is in use by a running process ({}); wait for it "
                                   "to end or stop it", flag, path, owner));
    }
    if (is_same_file(fd, lock)) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      const bool written = ::ftruncate(fd, 0) == 0 &&
                           ::pwrite(fd, pid.data(), pid.size(), 0) == ssize_t(pid.size());
      GLASSY_CHECK(written, "cannot write '{}': {}", lock, std::strerror(errno));
      return fd;
    }
    ::close(fd);
  }
}

std::string join_csv_row(const std::vector<std::string>& values) {
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line += ',';
    line += values[i];
  }
  return line;
}

// Returns the step in the first column of a CSV row, or -1 when it is not an integer.
int64_t row_step(const std::string& row) {
  const std::string field = row.substr(0, row.find(','));
  const bool integer = !field.empty() && field.size() <= 18 &&
                       field.find_first_not_of("0123456789") == std::string::npos;
  if (!integer) return -1;
  return std::stoll(field);
}

}  // namespace

void RunDirectory::check_creatable(const std::string& path, const std::string& flag) {
  GLASSY_REQUIRE(!path.empty(), "{} must name a directory, got an empty string", flag);
  std::error_code error;
  if (fs::exists(path, error)) {
    GLASSY_REQUIRE(fs::is_directory(path, error),
                   "{} '{}' exists and is not a directory; choose another path", flag, path);
    GLASSY_REQUIRE(fs::is_empty(path, error),
                   "{} '{}' already contains files; choose a new directory or remove it", flag,
                   path);
  }
  const fs::path ancestor = existing_ancestor(path);
  GLASSY_REQUIRE(fs::is_directory(ancestor, error),
                 "{} '{}' cannot be created: '{}' is not a directory", flag, path,
                 ancestor.string());
  GLASSY_REQUIRE(::access(ancestor.c_str(), W_OK | X_OK) == 0,
                 "{} '{}' cannot be created: '{}' is not writable ({}); choose a writable "
                 "location",
                 flag, path, ancestor.string(), std::strerror(errno));
}

RunDirectory RunDirectory::create(const std::string& path, const std::string& flag) {
  check_creatable(path, flag);
  std::error_code error;
  fs::create_directories(path, error);
  GLASSY_REQUIRE(!error, "{} '{}' cannot be created: {}", flag, path, error.message());

  // Two runs started with the same path both pass the checks above, so the run that creates
  // the lock file first owns the directory and the other one stops here.
  return RunDirectory(path, lock_run_directory(path, flag, true));
}

RunDirectory RunDirectory::claim(const std::string& path, const std::string& flag) {
  std::error_code error;
  GLASSY_REQUIRE(fs::is_directory(path, error), "{} '{}' is not a directory; name the run "
                 "directory to continue", flag, path);
  GLASSY_REQUIRE(::access(path.c_str(), W_OK | X_OK) == 0,
                 "{} '{}' is not writable ({}); check its permissions", flag, path,
                 std::strerror(errno));
  return RunDirectory(path, lock_run_directory(path, flag, false));
}

RunDirectory::RunDirectory(RunDirectory&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

RunDirectory::~RunDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void RunDirectory::release() {
  if (lock_fd_ < 0) return;
  // Unlinked while the flock is still held, so no other process can claim the file that is
  // being removed. lock_run_directory checks for that race from the other side.
  std::remove(file(kLockFile).c_str());
  ::close(lock_fd_);
  lock_fd_ = -1;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    throw Error(fmt::format("cannot write '{}': {}", temporary, std::strerror(errno)));
  }
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      throw Error(fmt::format("cannot write '{}': {}", temporary, std::strerror(saved)));
    }
    written += std::size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw Error(fmt::format("cannot flush '{}': {}", temporary, std::strerror(errno)));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw Error(fmt::format("cannot rename '{}' to '{}': {}", temporary, path,
                            std::strerror(errno)));
  }
}

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& header)
    : path_(path), columns_(header.size()) {
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) {
    throw Error(fmt::format("cannot open '{}' for writing: {}", path, std::strerror(errno)));
  }
  write_row(header);
}

CsvWriter CsvWriter::append(const std::string& path, const std::vector<std::string>& header) {
  csv_keep_rows_before_step(path, header, INT64_MAX);
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (!file) {
    throw Error(fmt::format("cannot open '{}' for appending: {}", path, std::strerror(errno)));
  }
  return CsvWriter(path, file, header.size());
}

CsvWriter::~CsvWriter() {
  if (file_) std::fclose(file_);
}

void CsvWriter::write_row(const std::vector<std::string>& values) {
  GLASSY_CHECK(values.size() == columns_, "CSV row of {} values for {} columns in '{}'",
               values.size(), columns_, path_);
  const std::string line = join_csv_row(values) + '\n';
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    throw Error(fmt::format("cannot write to '{}': {}", path_, std::strerror(errno)));
  }
}


void CsvWriter::sync() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    throw Error(fmt::format("cannot sync '{}': {}", path_, std::strerror(errno)));
  }
}

int64_t csv_keep_rows_before_step(const std::string& path, const std::vector<std::string>& header,
                                  int64_t step) {
  std::ifstream file(path, std::ios::binary);
  GLASSY_REQUIRE(file.good(), "'{}' is missing or unreadable ({}); the run directory is "
                 "incomplete", path, std::strerror(errno));
  const std::string expected_header = join_csv_row(header);
  std::string line;
  GLASSY_REQUIRE(std::getline(file, line) && line == expected_header && !file.eof(),
                 "'{}' does not start with the header '{}'; the file was changed or written by "
                 "another glassy version", path, expected_header);
  std::string kept_text = expected_header + "\n";
  int64_t rows = 0;
  // getline reports eof for a last line without its newline, which a crash may have cut.
  while (std::getline(file, line) && !file.eof()) {
    const int64_t row = row_step(line);
    GLASSY_REQUIRE(row >= 0, "'{}' has a row that does not start with a step: '{}'", path,
                   line);
    if (row >= step) break;
    kept_text += line + "\n";
    ++rows;
  }
  write_file_atomic(path, kept_text);
  return rows;
}

}  // namespace glassy
