// The settings of `glassy sample`: every flag, the presets, config files, and their resolution
// into one validated run description. Precedence, lowest first: built-in defaults, the preset,
// the config file, the command line. A run's config.json is itself a config file, which is how
// --resume recovers the settings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data.h"
#include "models/transformer.h"
#include "samplers/optimizer.h"
#include "samplers/wlmd.h"

namespace glassy {

struct SampleSettings {
  std::string preset;
  std::string config_file;

  // Task and model.
  std::string task = "x+y";
  int64_t p = 31;
  double train_frac = 0.6;
  std::string split_seed = "0";
  int d_model = 64;
  int heads = 4;
  int d_mlp = 0;  // 0: 4 * d_model
  int layers = 1;
  double slope = 7.0;

  // Walkers: groups "init:N", "adamw@STEP:N" or "npy=PATH#ROW:N", comma-separated.
  std::string start = "init:4";
  std::string seed = "0";        // walker r uses seed + r
  double adamw_lr = 3e-3, adamw_wd = 1.0;
  std::string adamw_seed = "0";  // initialization of the AdamW run that makes the start states

  // Dynamics.
  int dims = 2;
  int64_t steps = 20000;
  std::string integrator = "baoab";
  double dt = 5e-4, friction = 0.1, kt = 1.0;
  std::string constraint = "bounds";
  double bound_scale = 5.0;
  std::string bound;  // per-tensor overrides "NAME=VALUE,..."
  double shell_norm = 30.0;

  // Grid, bias and schedule. y values are in observable units (test accuracy).
  std::string x_range = "-20,6";
  double x_width = 0.1;
  std::string y_range = "-0.1,1.1";
  double y_width = 0.02;
  double y_scale = 1.0;
  double sigma = 2.0;
  double beta = 300.0, l0 = -8.0;
  double low_beta = 0.0, low_x = -20.0;
  double y_beta = 0.0;
  std::string y_studied = "0,1";
  double f_wl = 20.0;
  int64_t t_wl = 2000;
  int64_t plateau_end = 0;
  std::string out_of_range = "clamp";
  std::string sharing = "continuous";
  int64_t average_every = 1000;
  bool walker_maps = true;

  // Run.
  int64_t trace_every = 100;
  int64_t log_every = 500;
  int64_t checkpoint_every = 2000;
  int threads = 0;
  std::string backend = "cpu";
  std::string out;
  std::string resume;
};

// One group of walkers that start from the same state.
struct WalkerGroup {
  std::string kind;      // "init", "adamw" or "npy"
  int64_t adamw_step = 0;
  std::string path;      // npy
  int64_t row = 0;       // npy
  int64_t count = 1;
  std::string label() const;
};

struct SamplePlan {
  SampleSettings settings;
  Operation operation = Operation::add;
  uint64_t split_seed = 0;
  uint64_t first_seed = 0;
  uint64_t adamw_seed = 0;
  TransformerConfig model;
  OptimizerConfig adamw;
  std::vector<WalkerGroup> groups;
  int64_t walkers = 0;
  WlmdConfig wlmd;
  std::vector<std::pair<std::string, double>> bound_overrides;
};

// Parses argv (after the subcommand name) into settings, applying the preset and config file
// first. Throws UsageError (and lets CLI::CallForHelp through).
SampleSettings parse_sample_settings(const std::vector<std::string>& args);

// Fills defaults and validates everything except the output directory.
SamplePlan resolve_sample_plan(const SampleSettings& settings);

// The settings as config.json records them; parse_sample_settings reads them back.
nlohmann::json sample_settings_json(const SampleSettings& settings);

// The help text of `glassy sample`.
std::string sample_help();

}  // namespace glassy
