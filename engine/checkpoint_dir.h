// Checkpoint directories that a crash cannot leave half-written. A checkpoint is written into
// PATH.tmp, which gets a marker file last; then the previous PATH moves to PATH.old, PATH.tmp
// becomes PATH and PATH.old is removed. Every moment has at least one complete checkpoint
// (PATH or PATH.old), and the reader takes the one whose marker exists.
#pragma once

#include <functional>
#include <string>

namespace glassy {

// The marker written last into every complete checkpoint directory.
constexpr const char* kCheckpointMarker = "complete";

// Replaces the checkpoint at path with the files that write(directory) creates in directory.
void checkpoint_write(const std::string& path,
                      const std::function<void(const std::string& directory)>& write);

// Returns the complete checkpoint directory for path (path itself or path.old), or an empty
// string when there is none.
std::string checkpoint_find(const std::string& path);

}  // namespace glassy
