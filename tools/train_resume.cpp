// The plan of a resumed run. It comes from config.json through the same path as
// `glassy train --config DIR/config.json`, so the flags on the command line resolve exactly as
// they would for a new run. The resolved settings are then compared with the recorded ones.
#include "tools/train_resume.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/error.h"
#include "engine/version.h"
#include "tools/train_checkpoint.h"
#include "tools/train_flags.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;

// Keys of config.json that a resumed run may change. The thread count does not change the
// results (every kernel gives the same bits on any number of threads), and neither do the
// checkpoint interval and the path by which the directory is named.
const std::vector<std::string> kChangeableKeys = {"threads", "checkpoint-every", "out"};

std::vector<std::string> without_resume_flag(const std::vector<std::string>& args) {
  std::vector<std::string> other_args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--resume") {
      ++i;
    } else if (!args[i].starts_with("--resume=")) {
      other_args.push_back(args[i]);
    }
  }
  return other_args;
}

nlohmann::json read_config(const std::string& path) {
  std::ifstream file(path);
  try {
    return nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& error) {
    throw UsageError(fmt::format("'{}' is not valid JSON ({}); the run directory is damaged",
                                 path, error.what()));
  }
}

// Rejects a resolved setting that differs from the recorded one, naming the first.
void check_unchanged(const nlohmann::json& recorded, const nlohmann::json& resolved,
                     const std::string& config_path) {
  for (const auto& [key, value] : resolved.items()) {
    if (std::find(kChangeableKeys.begin(), kChangeableKeys.end(), key) !=
        kChangeableKeys.end()) {
      continue;
    }
    const nlohmann::json old_value = recorded.contains(key) ? recorded.at(key) : nullptr;
    GLASSY_REQUIRE(old_value == value,
                   "--resume: the flags set {} to {}, but '{}' records {}; a resumed run keeps "
                   "its settings (only --threads and --checkpoint-every may change), so drop "
                   "the flag or start a new run with --out",
                   key, value.dump(), config_path, old_value.dump());
  }
}

// Warns when another glassy build wrote the run, because its kernels may round differently.
void warn_on_other_version(const nlohmann::json& recorded, const std::string& directory) {
  const std::string version = recorded.value("glassy_version", "unknown");
  if (version == glassy_version()) return;
  std::cerr << fmt::format("warning: glassy {} wrote '{}', and glassy {} resumes it; the results "
                           "can differ from an uninterrupted run in the last bits\n",
                           version, directory, glassy_version());
}

}  // namespace

bool has_resume_flag(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& arg) {
    return arg == "--resume" || arg.starts_with("--resume=");
  });
}

TrainPlan resume_train_plan(const std::vector<std::string>& args, const std::string& directory) {
  GLASSY_REQUIRE(!directory.empty(), "--resume must name a run directory, e.g. --resume "
                 "runs/demo");
  std::error_code error;
  GLASSY_REQUIRE(fs::is_directory(directory, error),
                 "--resume '{}' is not a directory; name the run directory to continue",
                 directory);
  const std::string config_path = directory + "/config.json";
  GLASSY_REQUIRE(fs::is_regular_file(config_path, error), "--resume '{}' has no config.json, "
                 "so it is not a run directory of glassy train", directory);
  train_checkpoint_require(directory);

  const std::vector<std::string> flags = without_resume_flag(args);
  GLASSY_REQUIRE(find_flag(flags, "--config").empty(),
                 "--resume reads the settings from '{}'; drop --config", config_path);
  const std::string out = find_flag(flags, "--out");
  GLASSY_REQUIRE(out.empty() || fs::equivalent(out, directory, error),
                 "--out '{}' and --resume '{}' name different directories; a resumed run "
                 "writes into its own directory, so drop --out", out, directory);

  std::vector<std::string> merged = {"--config", config_path};
  merged.insert(merged.end(), flags.begin(), flags.end());
  TrainSettings settings = parse_train_settings(merged);
  settings.out = directory;
  settings.resume = directory;
  const TrainPlan plan = resolve_train_plan(settings);
  const nlohmann::json recorded = read_config(config_path);
  check_unchanged(recorded, train_plan_json(plan), config_path);
  warn_on_other_version(recorded, directory);
  return plan;
}

}  // namespace glassy
