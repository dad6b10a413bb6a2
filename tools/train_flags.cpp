// Config files and flag checks of `glassy train`: reading a JSON file of flag values, naming
// unknown flags and keys with a suggestion, and rewording CLI11's conversion errors.
#include "tools/train_flags.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/error.h"

namespace glassy {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Returns the closest name in names, or "" when none is within a third of the name's length.
std::string closest_name(const std::string& name, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = name.size() / 3 + 1;
  for (const std::string& candidate : names) {
    const std::size_t distance = edit_distance(candidate, name);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

// Keys that config.json records besides the flags: derived values and the run's machine.
const std::vector<std::string> kRecordedKeys = {"classes",        "replica_grid",
                                                "parameters",     "train_examples",
                                                "test_examples",  "device",
                                                "glassy_version", "threads_used"};

// Returns the flag names (without dashes) a config file may use.
std::vector<std::string> config_keys(CLI::App& app) {
  std::vector<std::string> keys;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      // --resume names a run to continue, so it is no setting of the run itself.
      if (name != "help" && name != "config" && name != "resume") keys.push_back(name);
    }
  }
  return keys;
}

std::string json_to_flag_value(const nlohmann::json& value, const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return value.dump();
  if (value.is_array()) {
    std::string joined;
    for (const nlohmann::json& item : value) {
      joined += (joined.empty() ? "" : ",") + json_to_flag_value(item, key);
    }
    return joined;
  }
  throw UsageError(fmt::format("config key '{}' must be a string, number, boolean or list, "
                               "got {}", key, value.dump()));
}

}  // namespace

// Returns the value of --name in args ("--name value" or "--name=value"), or "".
std::string find_flag(const std::vector<std::string>& args, const std::string& name) {
  std::string value;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) value = args[i + 1];
    if (args[i].rfind(name + "=", 0) == 0) value = args[i].substr(name.size() + 1);
  }
  return value;
}

// Reads a JSON config file into "--key value" arguments, rejecting unknown keys.
std::vector<std::string> config_file_args(const std::string& path, CLI::App& app,
                                          const std::string& command) {
  std::error_code error_code;
  GLASSY_REQUIRE(std::filesystem::is_regular_file(path, error_code),
                 "--config '{}' is not a readable file; check the path", path);
  std::ifstream file(path);
  GLASSY_REQUIRE(file.good(), "--config '{}' cannot be read; check the path", path);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& error) {
    throw UsageError(fmt::format("--config '{}' is not valid JSON: {}", path, error.what()));
  }
  GLASSY_REQUIRE(config.is_object(), "--config '{}' must hold a JSON object of flag names "
                 "and values, e.g. {{\"lr\": 0.003}}", path);
  const std::vector<std::string> keys = config_keys(app);
  std::vector<std::string> args;
  for (const auto& [key, value] : config.items()) {
    // A run's config.json also records what the flags imply; reading it back reruns the run.
    if (std::find(kRecordedKeys.begin(), kRecordedKeys.end(), key) != kRecordedKeys.end()) {
      continue;
    }
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      const std::string closest = closest_name(key, keys);
      const std::string hint = closest.empty() ? "" : fmt::format("did you mean '{}'? ", closest);
      throw UsageError(fmt::format("--config '{}': unknown key '{}'; {}Keys are the flag names "
                                   "of 'glassy {} --help' without the dashes", path, key,
                                   hint, command));
    }
    args.push_back("--" + key);
    args.push_back(json_to_flag_value(value, key));
  }
  return args;
}

// Rejects arguments that are not "--flag value" or "--flag=value" pairs of known flags,
// naming all of them in the order given. Every flag of glassy train and sample takes a value.
void check_known_flags(const std::vector<std::string>& args, CLI::App& app,
                       const std::string& command) {
  const std::vector<std::string> keys = config_keys(app);
  std::vector<std::string> unexpected;
  std::string first_unknown;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const std::size_t equals = arg.find('=');
    const std::string name = arg.rfind("--", 0) == 0 ? arg.substr(2, equals - 2) : "";
    const bool known = name == "help" || name == "config" || name == "resume" ||
                       std::find(keys.begin(), keys.end(), name) != keys.end();
    if (known) {
      // A switch (CLI11's add_flag) takes no value, so the next argument is a flag of its own.
      const CLI::Option* option = app.get_option_no_throw("--" + name);
      const bool takes_value = option == nullptr || option->get_items_expected_max() != 0;
      if (equals == std::string::npos && takes_value) ++i;
      continue;
    }
    if (first_unknown.empty() && !name.empty()) first_unknown = name;
    unexpected.push_back(arg);
  }
  if (unexpected.empty()) return;
  std::string message = "unexpected arguments:";
  for (const std::string& arg : unexpected) message += " " + arg;
  if (!first_unknown.empty()) {
    message += fmt::format("; '--{}' is not a flag of glassy {}", first_unknown, command);
    const std::string suggestion = closest_name(first_unknown, keys);
    if (!suggestion.empty()) message += fmt::format(" (did you mean '--{}'?)", suggestion);
  }
  throw UsageError(message + fmt::format("; run 'glassy {} --help' for the flags", command));
}

void parse_known_flags(const std::vector<std::string>& merged, CLI::App& app,
                       const std::string& command) {
  check_known_flags(merged, app, command);
  // CLI11 takes its arguments in reverse order.
  std::vector<std::string> reversed(merged.rbegin(), merged.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    throw;
  } catch (const CLI::ConversionError& error) {
    throw UsageError(conversion_message(error, app) +
                     fmt::format("; run 'glassy {} --help'", command));
  } catch (const CLI::ParseError& error) {
    throw UsageError(
        fmt::format("{}; run 'glassy {} --help' for the flags", error.what(), command));
  }
}

// Rewords CLI11's "Could not convert: --p = seven" as what the flag expects.
std::string conversion_message(const CLI::ConversionError& error, CLI::App& app) {
  const std::string text = error.what();
  const std::size_t flag_start = text.find("--");
  const std::size_t equals = text.find(" = ");
  if (flag_start == std::string::npos || equals == std::string::npos) return text;
  const std::string flag = text.substr(flag_start, equals - flag_start);
  const std::string value = text.substr(equals + 3);
  const CLI::Option* option = app.get_option_no_throw(flag);
  const std::string type = option ? option->get_type_name() : "";
  std::string expected = "a valid value";
  char* end = nullptr;
  std::strtod(value.c_str(), &end);
  const bool numeric = !value.empty() && end == value.c_str() + value.size();
  if (type == "INT" || type == "UINT") expected = numeric ? "an integer in range" : "an integer";
  if (type == "FLOAT") expected = "a number";
  if (type == "BOOLEAN") expected = "true or false";
  return fmt::format("{} must be {}, got '{}'", flag, expected, value);
}

}  // namespace glassy
