// Run directories and crash-safe file writes.
#include "engine/run_dir.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
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
  const std::string lock = path + "/" + kLockFile;
  const int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  GLASSY_REQUIRE(fd >= 0, "{} '{}' is in use by another run ({}: {}); choose another directory",
                 flag, path, kLockFile, std::strerror(errno));
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool written = ::write(fd, pid.data(), pid.size()) == ssize_t(pid.size());
  ::close(fd);
  GLASSY_CHECK(written, "cannot write '{}'", lock);
  return RunDirectory(path);
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

CsvWriter::~CsvWriter() {
  if (file_) std::fclose(file_);
}

void CsvWriter::write_row(const std::vector<std::string>& values) {
  GLASSY_CHECK(values.size() == columns_, "CSV row of {} values for {} columns in '{}'",
               values.size(), columns_, path_);
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line += ',';
    line += values[i];
  }
  line += '\n';
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    throw Error(fmt::format("cannot write to '{}': {}", path_, std::strerror(errno)));
  }
}

}  // namespace glassy
