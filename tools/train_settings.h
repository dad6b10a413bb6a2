// The settings of `glassy train`: every flag, the presets, config files, and their resolution
// into one validated run description. Precedence, lowest first: built-in defaults, the
// preset, the config file, the command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine/data.h"
#include "models/transformer.h"
#include "samplers/optimizer.h"
#include "samplers/wand.h"

namespace glassy {

// The settings of --optimizer wand and hybrid; the defaults come from wand_defaults().
struct WandSettings {
  std::string integrator;
  double dt = 0.0, kt = 0.0, friction = 0.0;
  double beta = 0.0, l0 = 0.0;
  double f_wl = 0.0;
  int64_t t_wl = 0;
  double sigma = 0.0;       // deposit width in bins
  std::string x_range;      // "lo,hi" of the grid on ln L_train
  double x_width = 0.0;
  std::string alpha;        // the hybrid's square or parabola; empty otherwise
};

// Returns the settings that wand_defaults() describes, with no --alpha.
WandSettings wand_settings_defaults();

struct TrainSettings {
  std::string preset;
  std::string config_file;

  // Task and data.
  std::string task = "x+y";
  int64_t p = 67;
  double train_frac = 0.5;
  std::string split_seed;  // empty: drawn at random and recorded

  // Model.
  int d_model = 128;
  int heads = 4;
  int d_mlp = 0;  // 0: 4 * d_model
  int layers = 1;
  std::string outputs = "p+1";
  bool trim_last_layer = true;
  double slope = 7.0;

  // Optimizer; lists make a grid of replicas (lr x wd x seeds).
  std::string optimizer = "adamw";
  std::string lr = "3e-3";
  std::string wd = "1";
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-8, momentum = 0.9;
  int64_t warmup_steps = 10;
  double warmup_start = 0.0;
  double fixed_norm = 0.0;
  WandSettings wand = wand_settings_defaults();

  // Replicas and run.
  std::string seeds;  // comma-separated; empty: --replicas seeds from --seed
  int64_t replicas = 1;
  std::string seed;   // first seed when --seeds is empty; empty: drawn at random
  int64_t steps = 10000;
  int64_t eval_every = 10;
  int64_t log_every = 100;
  int threads = 0;  // 0: every core
  std::string backend = "cpu";
  std::string out;
  int64_t checkpoint_every = 500;  // 0: only at the last step
  std::string resume;              // run directory to continue, never recorded in config.json
};

struct ReplicaSpec {
  uint64_t seed = 0;
  ReplicaHyper hyper;
};

// A validated run: the settings with every default filled in and the replica grid expanded.
struct TrainPlan {
  TrainSettings settings;
  Operation operation = Operation::add;
  uint64_t split_seed = 0;
  TransformerConfig model;
  OptimizerConfig optimizer;  // for wand unused; for hybrid the AdamW branch
  bool uses_wand = false;     // --optimizer wand or hybrid
  WandConfig wand;            // when uses_wand
  std::vector<ReplicaSpec> replicas;
};

// Registers every flag of `glassy train` on app, bound to settings.
void add_train_options(CLI::App& app, TrainSettings& settings);

// Parses argv (without the program and subcommand names) into settings, applying the preset
// and config file first. Throws UsageError (and lets CLI::CallForHelp through).
TrainSettings parse_train_settings(const std::vector<std::string>& args);

// Fills defaults, expands the grid and validates everything except the output directory.
// Throws UsageError naming the first bad value.
TrainPlan resolve_train_plan(const TrainSettings& settings);

// The resolved configuration as written to config.json.
nlohmann::json train_plan_json(const TrainPlan& plan);

}  // namespace glassy
