// Stop requests from signals.
#include "tools/signals.h"

#include <csignal>

namespace glassy {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> received_signal{0};

extern "C" void handle_stop_signal(int signal) {
  if (stop_requested.load()) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  received_signal.store(signal);
  stop_requested.store(true);
}

}  // namespace

const std::atomic<bool>& install_stop_handlers() {
  std::signal(SIGINT, handle_stop_signal);
  std::signal(SIGTERM, handle_stop_signal);
  return stop_requested;
}

int stop_signal() { return received_signal.load(); }

}  // namespace glassy
