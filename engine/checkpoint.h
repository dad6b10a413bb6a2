// Checkpoint directories. A checkpoint is a directory of .npy arrays and checkpoint.json, which
// records the format name, its version, the size and FNV-1a 64-bit checksum of every array file,
// and the caller's metadata. checkpoint_write builds the new checkpoint in a staging directory
// next to the old one, syncs every file and the directory, and swaps it in with one rename, so
// a crash at any moment leaves the previous checkpoint complete.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/npy.h"

namespace glassy {

// One array to store: its file name in the checkpoint, its elements in C order and its shape.
struct CheckpointArray {
  std::string name;  // a plain file name ending in .npy, e.g. "weights.npy"
  std::variant<const float*, const double*, const int64_t*, const uint64_t*> data;
  std::vector<int64_t> shape;
};

// A checkpoint read back from disk.
struct Checkpoint {
  std::string directory;                   // the directory it was read from
  nlohmann::json metadata;                 // checkpoint.json as written
  std::map<std::string, NpyArray> arrays;  // by file name
};

// Writes the arrays and checkpoint.json into the directory `path`, replacing the checkpoint
// there only once the new one is complete on disk. metadata must be a JSON object, and this
// function sets its keys "format", "version" and "files". Throws glassy::Error on I/O failure.
void checkpoint_write(const std::string& path, const std::vector<CheckpointArray>& arrays,
                      nlohmann::json metadata);

// Returns the directory that contains the last complete checkpoint written to `path`: `path`
// itself, or `path` + ".previous" when a crash interrupted the swap on a filesystem without
// atomic directory exchange. Returns "" when neither contains a checkpoint.json. The staging
// directory is never returned, because it may be incomplete.
std::string checkpoint_find(const std::string& path);

// Reads the checkpoint in `directory` (a path from checkpoint_find) and checks its format name,
// version, and every file's size and checksum. Throws UsageError naming the file and the
// mismatch, because a damaged checkpoint is a problem of the input, not of glassy.
Checkpoint checkpoint_read(const std::string& directory);

}  // namespace glassy
