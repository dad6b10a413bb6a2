// The glassy version recorded in run metadata: `git describe --always --dirty` at configure
// time, or "unknown" outside a git clone.
#pragma once

namespace glassy {

const char* glassy_version();

}  // namespace glassy
