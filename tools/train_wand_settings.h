// The settings of `glassy train --optimizer wand` and `--optimizer hybrid`: their flags, their
// resolution into a WandConfig, the keys they add to config.json and their lines in the
// printed configuration.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tools/train_settings.h"

namespace glassy {

// Registers --integrator, --dt, --kt, --friction, --beta, --l0, --f-wl, --t-wl, --sigma,
// --x-range, --x-width and --alpha, bound to settings.
void add_wand_options(CLI::App& app, WandSettings& settings);

// Sets plan.uses_wand and plan.wand from s. Throws UsageError for a bad value, for --alpha
// without --optimizer hybrid, for hybrid without --alpha, and for a WanD setting changed from
// its default under another optimizer.
void resolve_wand(const TrainSettings& s, TrainPlan& plan);

// Adds the WanD settings to config (config.json) when the plan uses WanD.
void add_wand_json(const TrainPlan& plan, nlohmann::json& config);

// Returns the rows of the printed configuration that describe WanD and its grid.
std::vector<std::pair<std::string, std::string>> wand_config_rows(const TrainPlan& plan);

}  // namespace glassy
