// `glassy train`: AdamW or SGD training of many replicas of the reference transformer on a
// modular-arithmetic task.
#pragma once

#include <string>
#include <vector>

namespace glassy {

// Runs `glassy train` with args (after the subcommand name) and returns the exit status:
// 0 finished, 2 bad input, 128 + signal when stopped by SIGINT or SIGTERM.
int run_train_command(const std::vector<std::string>& args);

}  // namespace glassy
