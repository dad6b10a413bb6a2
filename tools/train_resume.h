// `glassy train --resume DIR`: the settings of the run to continue, read from DIR/config.json,
// and the checks that the command line changes none that would alter its results.
#pragma once

#include <string>
#include <vector>

#include "tools/train_settings.h"

namespace glassy {

// Returns whether args contain --resume, with or without a value.
bool has_resume_flag(const std::vector<std::string>& args);

// Returns the plan of the run in `directory`: its config.json with args (the command line of
// `glassy train`, which may repeat --resume) applied on top, and out set to directory. Throws
// UsageError when directory is not a run directory or has no checkpoint, or when args contain
// --config, name another --out, or change a recorded setting other than --threads and
// --checkpoint-every.
TrainPlan resume_train_plan(const std::vector<std::string>& args, const std::string& directory);

}  // namespace glassy
