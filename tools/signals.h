// SIGINT, SIGTERM and SIGHUP as a stop request. The first signal sets a flag that long loops
// poll, so they finish the current step and write their results. A second signal of the same
// kind ends the process at once with the default action.
#pragma once

#include <atomic>

namespace glassy {

// Installs the handlers and returns the flag they set.
const std::atomic<bool>& install_stop_handlers();

// The signal that requested the stop, or 0.
int stop_signal();

// Whether a stop was requested.
bool stop_requested();

}  // namespace glassy
