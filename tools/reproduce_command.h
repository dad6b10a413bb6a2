// `glassy reproduce`: runs the experiment set of a preset (tools/reproduce_plan.h) part by
// part into one directory, then `glassy analyze` on it. Every part is an ordinary train or
// sample run directory under DIR/parts/, so an interrupted reproduction continues with
// --resume: finished parts are skipped and a part cut short resumes from its checkpoint.
#pragma once

#include <string>
#include <vector>

namespace glassy {

// The --help text.
std::string reproduce_help();

// Runs the command. Returns 0 when every part finished and the report was written, 1 when a
// part failed, and 128 + the signal number when a signal stopped it.
int run_reproduce_command(const std::vector<std::string>& args);

}  // namespace glassy
