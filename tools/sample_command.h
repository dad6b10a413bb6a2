// `glassy sample`: Wang-Landau molecular dynamics of many walkers of the reference transformer
// on a modular-arithmetic task, mapping the entropy S(ln L_train, A_test).
#pragma once

#include <string>
#include <vector>

namespace glassy {

// Runs `glassy sample` with args (after the subcommand name) and returns the exit status:
// 0 finished, 1 stopped by the sampler (a walker left the grid under --out-of-range stop or
// diverged), 2 bad input, 128 + signal when stopped by a signal.
int run_sample_command(const std::vector<std::string>& args);

}  // namespace glassy
