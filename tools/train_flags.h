// Config files and flag checks of `glassy train`.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace glassy {

// Returns the value of --name in args ("--name value" or "--name=value"), or "".
std::string find_flag(const std::vector<std::string>& args, const std::string& name);

// Reads a JSON config file into "--key value" arguments for the flags of app. Keys that a
// run's config.json records besides the flags are skipped; unknown keys throw UsageError,
// which names the subcommand `command` ("train", "sample") whose flags are meant.
std::vector<std::string> config_file_args(const std::string& path, CLI::App& app,
                                          const std::string& command = "train");

// Throws UsageError naming, in the order given, every argument that is not a known flag of
// app with its value.
void check_known_flags(const std::vector<std::string>& args, CLI::App& app,
                       const std::string& command = "train");

// Parses merged arguments ("--flag value" pairs, later ones winning) into app's bound
// settings. Unknown flags and CLI11's errors become UsageError naming `glassy command`;
// CLI::CallForHelp passes through.
void parse_known_flags(const std::vector<std::string>& merged, CLI::App& app,
                       const std::string& command);

// Returns CLI11's "Could not convert: --p = seven" reworded as what the flag expects.
std::string conversion_message(const CLI::ConversionError& error, CLI::App& app);

}  // namespace glassy
