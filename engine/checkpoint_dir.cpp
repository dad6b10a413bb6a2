// Checkpoint directories swapped in by rename, with a marker file written last.
#include "engine/checkpoint_dir.h"

#include <filesystem>
#include <system_error>

#include "engine/error.h"
#include "engine/run_dir.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;

bool is_complete(const std::string& directory) {
  std::error_code error;
  return fs::is_regular_file(fs::path(directory) / kCheckpointMarker, error);
}

void rename_or_throw(const std::string& from, const std::string& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (error) {
    throw Error(fmt::format("cannot rename '{}' to '{}': {}", from, to, error.message()));
  }
}

}  // namespace

void checkpoint_write(const std::string& path,
                      const std::function<void(const std::string& directory)>& write) {
  const std::string temporary = path + ".tmp";
  const std::string previous = path + ".old";
  std::error_code error;
  fs::remove_all(temporary, error);
  if (!fs::create_directories(temporary, error) || error) {
    throw Error(fmt::format("cannot create '{}': {}", temporary, error.message()));
  }
  write(temporary);
  write_file_atomic(temporary + "/" + kCheckpointMarker, "complete\n");

  // A complete PATH.old left by a crash is older than PATH when PATH is complete.
  if (is_complete(path)) {
    fs::remove_all(previous, error);
    rename_or_throw(path, previous);
  } else {
    fs::remove_all(path, error);
  }
  rename_or_throw(temporary, path);
  fs::remove_all(previous, error);
}

std::string checkpoint_find(const std::string& path) {
  if (is_complete(path)) return path;
  if (is_complete(path + ".old")) return path + ".old";
  return "";
}

}  // namespace glassy
