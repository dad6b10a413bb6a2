// Checkpoint directories: staging, the swap, and the checks on reading. The directories
// involved, for a checkpoint at PATH:
//   PATH            the last complete checkpoint
//   PATH.staging    the checkpoint being written; never read, removed before each write
//   PATH.previous   the old checkpoint during a swap by two renames (see swap_in)
#include "engine/checkpoint.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/run_dir.h"

namespace glassy {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "glassy checkpoint";
constexpr int kVersion = 1;
constexpr const char* kMetadataFile = "checkpoint.json";
constexpr const char* kDamagedHint =
    "the checkpoint is damaged; restore the run directory from a copy or start a new run";

// FNV-1a with 64 bits. It detects truncated and corrupted files, not deliberate changes.
std::string fnv1a64_hex(const std::string& bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char byte : bytes) {
    hash ^= uint64_t(static_cast<unsigned char>(byte));
    hash *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", hash);
}

// Returns the bytes of the file at path. Throws UsageError when it cannot be read.
std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  GLASSY_REQUIRE(file.good(), "checkpoint file '{}' cannot be read ({}); {}", path,
                 std::strerror(errno), kDamagedHint);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void sync_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  GLASSY_CHECK(fd >= 0, "cannot open the directory '{}': {}", path, std::strerror(errno));
  const int status = ::fsync(fd);
  const int sync_error = errno;
  ::close(fd);
  GLASSY_CHECK(status == 0, "cannot sync the directory '{}': {}", path,
               std::strerror(sync_error));
}

void rename_path(const std::string& from, const std::string& to) {
  GLASSY_CHECK(std::rename(from.c_str(), to.c_str()) == 0, "cannot rename '{}' to '{}': {}",
               from, to, std::strerror(errno));
}

std::string parent_directory(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Puts the directory `staged` in the place of `path`.
void swap_in(const std::string& staged, const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    rename_path(staged, path);
    sync_directory(parent_directory(path));
    return;
  }
  // RENAME_EXCHANGE swaps the two names in one step, so `path` names a complete checkpoint at
  // every moment. The old checkpoint ends up under the staging name and is removed.
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
    sync_directory(parent_directory(path));
    fs::remove_all(staged, error);
    return;
  }
  GLASSY_CHECK(errno == EINVAL || errno == ENOSYS || errno == ENOTSUP,
               "cannot exchange '{}' and '{}': {}", staged, path, std::strerror(errno));
  // Filesystems that do not support the exchange fail it with EINVAL, so they take two
  // renames. Between the two only PATH.previous contains a checkpoint, and checkpoint_find
  // returns it.
  // NOTE: the test suite runs where RENAME_EXCHANGE works and so does not reach these lines.
  // They were run by hand under strace -e inject=renameat2:error=EINVAL.
  const std::string previous = path + ".previous";
  rename_path(path, previous);
  rename_path(staged, path);
  sync_directory(parent_directory(path));
  fs::remove_all(previous, error);
}

// Finishes a swap by two renames that a crash interrupted, so that `path` is the checkpoint.
void recover_interrupted_swap(const std::string& path) {
  const std::string previous = path + ".previous";
  std::error_code error;
  if (!fs::exists(previous, error)) return;
  if (fs::exists(path, error)) {
    fs::remove_all(previous, error);
  } else {
    rename_path(previous, path);
  }
}

// Writes one array into `directory` and returns its entry for checkpoint.json.
nlohmann::json write_array(const std::string& directory, const CheckpointArray& array) {
  GLASSY_CHECK(!array.name.empty() && array.name.find('/') == std::string::npos &&
                   array.name.ends_with(".npy") && array.name != kMetadataFile,
               "checkpoint array name '{}' must be a plain file name ending in .npy",
               array.name);
  const std::string file = directory + "/" + array.name;
  std::visit([&](auto data) { npy_write(file, data, array.shape); }, array.data);
  const std::string bytes = read_bytes(file);
  return {{"name", array.name}, {"bytes", bytes.size()}, {"fnv1a64", fnv1a64_hex(bytes)}};
}

// Checks the size and checksum of one file listed in checkpoint.json and reads its array.
NpyArray read_array(const std::string& directory, const nlohmann::json& entry) {
  const std::string name = entry.at("name").get<std::string>();
  GLASSY_REQUIRE(name.find('/') == std::string::npos && name.ends_with(".npy"),
                 "'{}/{}' lists the file '{}', which is not a plain .npy file name; {}",
                 directory, kMetadataFile, name, kDamagedHint);
  const std::string path = directory + "/" + name;
  const std::string bytes = read_bytes(path);
  const std::size_t recorded_bytes = entry.at("bytes").get<std::size_t>();
  GLASSY_REQUIRE(bytes.size() == recorded_bytes,
                 "checkpoint file '{}' has {} bytes, but {} records {}; {}", path, bytes.size(),
                 kMetadataFile, recorded_bytes, kDamagedHint);
  const std::string checksum = fnv1a64_hex(bytes);
  const std::string recorded_checksum = entry.at("fnv1a64").get<std::string>();
  GLASSY_REQUIRE(checksum == recorded_checksum,
                 "checkpoint file '{}' has FNV-1a checksum {}, but {} records {}; {}", path,
                 checksum, kMetadataFile, recorded_checksum, kDamagedHint);
  return npy_read(path);
}

}  // namespace

void checkpoint_write(const std::string& path, const std::vector<CheckpointArray>& arrays,
                      nlohmann::json metadata) {
  GLASSY_CHECK(metadata.is_object(), "checkpoint metadata must be a JSON object, got {}",
               metadata.dump());
  recover_interrupted_swap(path);
  const std::string staging = path + ".staging";
  std::error_code error;
  fs::remove_all(staging, error);
  GLASSY_CHECK(!error, "cannot remove the stale '{}': {}", staging, error.message());
  fs::create_directories(staging, error);
  GLASSY_CHECK(!error, "cannot create '{}': {}", staging, error.message());

  nlohmann::json files = nlohmann::json::array();
  for (const CheckpointArray& array : arrays) files.push_back(write_array(staging, array));
  metadata["format"] = kFormat;
  metadata["version"] = kVersion;
  metadata["files"] = files;
  write_file_atomic(staging + "/" + kMetadataFile, metadata.dump(2) + "\n");
  sync_directory(staging);
  swap_in(staging, path);
}

std::string checkpoint_find(const std::string& path) {
  std::error_code error;
  for (const std::string& directory : {path, path + ".previous"}) {
    if (fs::is_regular_file(directory + "/" + kMetadataFile, error)) return directory;
  }
  return "";
}

Checkpoint checkpoint_read(const std::string& directory) {
  Checkpoint checkpoint;
  checkpoint.directory = directory;
  const std::string metadata_path = directory + "/" + kMetadataFile;
  try {
    checkpoint.metadata = nlohmann::json::parse(read_bytes(metadata_path));
    const nlohmann::json& metadata = checkpoint.metadata;
    GLASSY_REQUIRE(metadata.is_object() && metadata.value("format", "") == kFormat,
                   "'{}' is not a glassy checkpoint: its format is not '{}'; {}",
                   metadata_path, kFormat, kDamagedHint);
    const int version = metadata.at("version").get<int>();
    GLASSY_REQUIRE(version == kVersion,
                   "'{}' is a checkpoint of version {}, but this glassy reads version {}; "
                   "resume it with the glassy version that wrote it",
                   metadata_path, version, kVersion);
    for (const nlohmann::json& entry : metadata.at("files")) {
      checkpoint.arrays[entry.at("name").get<std::string>()] = read_array(directory, entry);
    }
  } catch (const nlohmann::json::exception& problem) {
    throw UsageError(fmt::format("'{}' is not a valid checkpoint description ({}); {}",
                                 metadata_path, problem.what(), kDamagedHint));
  }
  return checkpoint;
}

}  // namespace glassy
