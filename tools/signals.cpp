// Stop requests from signals.
#include "tools/signals.h"

#include <csignal>

namespace glassy {
namespace {

std::atomic<bool> stop_flag{false};
std::atomic<int> received_signal{0};

extern "C" void handle_stop_signal(int signal) {
  if (stop_flag.load()) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  received_signal.store(signal);
  stop_flag.store(true);
}

}  // namespace

const std::atomic<bool>& install_stop_handlers() {
  std::signal(SIGINT, handle_stop_signal);
  std::signal(SIGTERM, handle_stop_signal);
  std::signal(SIGHUP, handle_stop_signal);
  // A closed stdout (glassy train ... | head) must not end the run before it saves results.
  std::signal(SIGPIPE, SIG_IGN);
  return stop_flag;
}

int stop_signal() { return received_signal.load(); }

bool stop_requested() { return stop_flag.load(); }

}  // namespace glassy
