// `glassy analyze DIR`: the numbers of a `glassy reproduce` directory. It reads only DIR
// (reproduce.json, status.json and the parts' run directories), writes DIR/analysis/ and then
// runs tools/plot_reproduction.py DIR for the figures and the report.
#pragma once

#include <string>
#include <vector>

namespace glassy {

// Runs `glassy analyze` with args (after the subcommand name) and returns the exit status: 0
// done, 2 invalid input, 128 + the signal when one stopped it. It claims DIR's run lock first,
// so a running reproduction or another analysis of DIR is rejected. A failure of the plot tool
// throws glassy::Error (exit status 1).
int run_analyze_command(const std::vector<std::string>& args);

// Analyzes directory, which the caller has claimed, and with figures runs the plot tool.
// Returns 0, or 128 + the signal when one stopped it.
int analyze_directory(const std::string& directory, bool figures);

std::string analyze_help();

}  // namespace glassy
