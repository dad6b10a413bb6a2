// `glassy sample`: Wang-Landau molecular dynamics of many walkers of the reference transformer
// on a modular-arithmetic task, mapping the entropy S(ln L_train, A_test).
#pragma once

#include <string>
#include <vector>

namespace glassy {

// Runs `glassy sample` with args (after the subcommand name) and returns the exit status.
// It is 0 when finished and 1 when the sampler stopped, because a walker left the grid under
// --out-of-range stop or diverged. It is 2 for invalid input and 128 + signal after a signal.
int run_sample_command(const std::vector<std::string>& args);

}  // namespace glassy
