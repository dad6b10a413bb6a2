// Flags, presets and config files of `glassy sample`.
#include "tools/sample_settings.h"

#include <cmath>
#include <functional>
#include <numeric>
#include <sstream>

#include <CLI/CLI.hpp>

#include "engine/error.h"
#include "tools/train_flags.h"

namespace glassy {
namespace {

struct Preset {
  std::string name;
  std::string description;
  std::function<void(SampleSettings&)> apply;
};

// The demo: x+y at p 31 with train fraction 0.5 and d_model 32 (14,592 parameters). Six
// walkers share one coarse grid. Two start from the initialization, two from a memorizing
// AdamW state (step 300: ln L_train -5.1, test accuracy 0.45) and two from a generalizing one
// (step 4,500: ln L_train -16.5, test accuracy 0.97). The bias beta (x + 8)^2 above
// ln L = -8 pushes walkers to low loss quickly, so the map records where they went rather
// than a converged S.
void apply_demo(SampleSettings& s) {
  s = SampleSettings{};
  s.train_frac = 0.5;
  s.d_model = 32;
  s.start = "init:2,adamw@300:2,adamw@4500:2";
  // dt 1e-3 heated a walker from the memorizing state to 5 kT within 1,250 steps; at 5e-4
  // no walker passed 1.02 kT in 4,000 steps.
  s.dt = 5e-4;
  s.steps = 10000;
}

// The maps of "Is Grokking a Computational Glass Relaxation?": p 67, d_model 128 and 8 walkers
// from the initialization. The grid is that of "High-entropy advantage in neural networks'
// generalizability": both axes [-20, 20] at 0.02, y = 10 A_test, sigma 15 bins. A wall
// 3000 (x - 1)^2 sits above ln L = 1, and the grids are averaged every 100,000 steps.
void apply_paper(SampleSettings& s, const std::string& task) {
  s = SampleSettings{};
  s.task = task;
  s.p = 67;
  s.train_frac = 0.5;
  s.d_model = 128;
  s.start = "init:8";
  s.steps = 1000000;
  s.dt = 1.5e-4;
  s.x_range = "-20,20";
  s.x_width = 0.02;
  s.y_range = "-2,2";
  s.y_width = 0.02;
  s.y_scale = 10.0;
  s.y_studied = "-2,2";
  s.sigma = 15.0;
  s.beta = 3000.0;
  s.l0 = 1.0;
  s.f_wl = 20.0;
  s.t_wl = 300000;
  s.plateau_end = 2000000;
  s.sharing = "average";
  s.average_every = 100000;
  s.trace_every = 1000;
  s.log_every = 10000;
  s.checkpoint_every = 100000;
}

// Norm-shell maps of the width study: x+y with the global weight norm held at 30.
void apply_shell(SampleSettings& s, int width) {
  apply_paper(s, "x+y");
  s.d_model = width;
  s.constraint = "shell";
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"demo", "x+y, p 31, d_model 32; 6 walkers (2 from the initialization, 2 from a "
       "memorizing and 2 from a generalizing AdamW state) share one grid; 10,000 steps, "
       "under 10 minutes on 2 CPU cores", apply_demo},
      {"paper-add", "x+y, p 67, d_model 128, 8 walkers, the paper's grid and averaging",
       [](SampleSettings& s) { apply_paper(s, "x+y"); }},
      {"paper-x2y", "x^2+y as paper-add", [](SampleSettings& s) { apply_paper(s, "x^2+y"); }},
      {"paper-x3", "x^3+xy^2+y as paper-add",
       [](SampleSettings& s) { apply_paper(s, "x^3+xy^2+y"); }},
      {"paper-shell-d32", "x+y on the norm shell |c| = 30, d_model 32",
       [](SampleSettings& s) { apply_shell(s, 32); }},
      {"paper-shell-d64", "x+y on the norm shell |c| = 30, d_model 64",
       [](SampleSettings& s) { apply_shell(s, 64); }},
      {"paper-shell-d128", "x+y on the norm shell |c| = 30, d_model 128",
       [](SampleSettings& s) { apply_shell(s, 128); }},
  };
  return all;
}

void apply_preset(const std::string& name, SampleSettings& settings) {
  std::string names;
  for (const Preset& preset : presets()) {
    if (preset.name == name) {
      preset.apply(settings);
      settings.preset = name;
      return;
    }
    names += (names.empty() ? "" : ", ") + preset.name;
  }
  throw UsageError(fmt::format("--preset must be one of {}, got '{}'", names, name));
}

void add_task_options(CLI::App& app, SampleSettings& s) {
  std::string preset_help = "start from a preset (flags and --config override it):";
  for (const Preset& preset : presets()) {
    preset_help += "\n  " + preset.name + ": " + preset.description;
  }
  app.add_option("--preset", s.preset, preset_help);
  app.add_option("--config", s.config_file, "JSON file of settings, keys are these flag "
                 "names without dashes; a run's config.json reruns it");
  app.add_option("--task", s.task, "operation: x+y, x-y, x*y, x/y, x^2+y, x^3+xy^2+y (mod p)")
      ->capture_default_str();
  app.add_option("--p", s.p, "modulus; x/y needs a prime")->capture_default_str();
  app.add_option("--train-frac", s.train_frac, "fraction of pairs used for training, in (0, 1)")
      ->capture_default_str();
  app.add_option("--split-seed", s.split_seed, "seed of the train/test shuffle")
      ->capture_default_str();
  app.add_option("--d-model", s.d_model, "model width")->capture_default_str();
  app.add_option("--heads", s.heads, "attention heads; must divide --d-model")
      ->capture_default_str();
  app.add_option("--d-mlp", s.d_mlp, "MLP width (0: 4 x d-model)")->capture_default_str();
  app.add_option("--layers", s.layers, "transformer layers")->capture_default_str();
  app.add_option("--slope", s.slope, "slope s of the smoothed accuracy sigmoid(s * margin)")
      ->capture_default_str();
}

void add_walker_options(CLI::App& app, SampleSettings& s) {
  app.add_option("--start", s.start, "walker groups, comma-separated: init:N (fresh "
                 "initializations), adamw@STEP:N (the state of an AdamW run after STEP steps, "
                 "trained first), npy=PATH#ROW:N (row ROW of a (R, P) weights.npy)")
      ->capture_default_str();
  app.add_option("--seed", s.seed, "walker r draws its initialization, velocities and noise "
                 "from seed + r")->capture_default_str();
  app.add_option("--adamw-lr", s.adamw_lr, "learning rate of the AdamW start run")
      ->capture_default_str();
  app.add_option("--adamw-wd", s.adamw_wd, "weight decay of the AdamW start run")
      ->capture_default_str();
  app.add_option("--adamw-seed", s.adamw_seed, "initialization seed of the AdamW start run")
      ->capture_default_str();
}

void add_dynamics_options(CLI::App& app, SampleSettings& s) {
  app.add_option("--dims", s.dims, "1: S(ln L_train); 2: S(ln L_train, A_test)")
      ->capture_default_str();
  app.add_option("--steps", s.steps, "steps per walker")->capture_default_str();
  app.add_option("--integrator", s.integrator, "baoab (samples kT) or paper (the published "
                 "rule; positions sample kT (1 - c_f / 2))")->capture_default_str();
  app.add_option("--dt", s.dt, "time step")->capture_default_str();
  app.add_option("--friction", s.friction, "c_f in (0, 1]: velocity fraction lost per step")
      ->capture_default_str();
  app.add_option("--kt", s.kt, "temperature kT")->capture_default_str();
  app.add_option("--constraint", s.constraint, "bounds (reflect at +-B per tensor), shell "
                 "(global norm fixed) or none")->capture_default_str();
  app.add_option("--bound-scale", s.bound_scale, "B of a tensor = this times its "
                 "initialization std (1/sqrt(d_model) for biases), widened to 1.05 x the "
                 "largest starting |weight|")->capture_default_str();
  app.add_option("--bound", s.bound, "per-tensor bounds NAME=VALUE,..., used as given (e.g. "
                 "embed.W_E=0.5)");
  app.add_option("--shell-norm", s.shell_norm, "global weight norm of --constraint shell")
      ->capture_default_str();
}

void add_grid_options(CLI::App& app, SampleSettings& s) {
  app.add_option("--x-range", s.x_range, "grid range of ln L_train: lo,hi")
      ->capture_default_str();
  app.add_option("--x-width", s.x_width, "bin width in ln L_train")->capture_default_str();
  app.add_option("--y-range", s.y_range, "grid range of the test accuracy: lo,hi")
      ->capture_default_str();
  app.add_option("--y-width", s.y_width, "bin width in y-scale x accuracy")
      ->capture_default_str();
  app.add_option("--y-scale", s.y_scale, "the grid stores y-scale x accuracy")
      ->capture_default_str();
  app.add_option("--sigma", s.sigma, "deposit width in bins (cut at 4 sigma)")
      ->capture_default_str();
  app.add_option("--beta", s.beta, "bias beta (x - L0)^2 above L0")->capture_default_str();
  app.add_option("--l0", s.l0, "L0 of the bias, in ln L_train")->capture_default_str();
  app.add_option("--low-beta", s.low_beta, "wall low-beta (low-x - x)^2 below low-x (0: off)")
      ->capture_default_str();
  app.add_option("--low-x", s.low_x, "lower end of the studied ln L_train")
      ->capture_default_str();
  app.add_option("--y-beta", s.y_beta, "bias outside --y-studied (0: off)")
      ->capture_default_str();
  app.add_option("--y-studied", s.y_studied, "accuracy range without y bias: lo,hi")
      ->capture_default_str();
  app.add_option("--f-wl", s.f_wl, "F_WL, the largest deposit")->capture_default_str();
  app.add_option("--t-wl", s.t_wl, "t_WL, length of the linear ramp")->capture_default_str();
  app.add_option("--plateau-end", s.plateau_end, "step where the 1/t decay starts (0: t_WL)")
      ->capture_default_str();
  app.add_option("--out-of-range", s.out_of_range, "clamp (count and go on at the edge bin) "
                 "or stop")->capture_default_str();
  app.add_option("--sharing", s.sharing, "continuous (one grid for all walkers) or average "
                 "(one grid per walker, averaged every --average-every steps)")
      ->capture_default_str();
  app.add_option("--average-every", s.average_every, "K of --sharing average")
      ->capture_default_str();
  app.add_option("--walker-maps", s.walker_maps, "also keep each walker's own deposits and "
                 "visits (walker_deposits.npy, walker_visits.npy), from which glassy analyze "
                 "takes uncertainties across walkers; 16 bytes per walker and bin")
      ->capture_default_str();
}

void add_run_options(CLI::App& app, SampleSettings& s) {
  app.add_option("--trace-every", s.trace_every, "steps between rows of traces.csv")
      ->capture_default_str();
  app.add_option("--log-every", s.log_every, "steps between progress lines")
      ->capture_default_str();
  app.add_option("--checkpoint-every", s.checkpoint_every, "steps between checkpoints")
      ->capture_default_str();
  app.add_option("--threads", s.threads, "CPU threads (0: all cores)")->capture_default_str();
  app.add_option("--backend", s.backend, "cpu or cuda")->capture_default_str();
  app.add_option("--out", s.out, "run directory to create (must not exist or be empty)");
  app.add_option("--resume", s.resume, "continue the run in this directory from its last "
                 "checkpoint; --steps may raise the total");
}

void add_sample_options(CLI::App& app, SampleSettings& s) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_task_options(app, s);
  add_walker_options(app, s);
  add_dynamics_options(app, s);
  add_grid_options(app, s);
  add_run_options(app, s);
}

}  // namespace

std::string sample_help() {
  SampleSettings settings;
  CLI::App app("Estimate the entropy landscape S(ln L_train, A_test) of the reference "
               "transformer with Wang-Landau molecular dynamics over many walkers.\n"
               "Example: glassy sample --preset demo --out runs/sample-demo",
               "glassy sample");
  add_sample_options(app, settings);
  return app.help();
}

SampleSettings parse_sample_settings(const std::vector<std::string>& args) {
  SampleSettings settings;
  CLI::App probe;
  add_sample_options(probe, settings);

  std::vector<std::string> merged;
  const std::string config_path = find_flag(args, "--config");
  if (!config_path.empty()) merged = config_file_args(config_path, probe, "sample");
  std::string preset = find_flag(args, "--preset");
  if (preset.empty()) preset = find_flag(merged, "--preset");
  if (!preset.empty()) apply_preset(preset, settings);
  merged.insert(merged.end(), args.begin(), args.end());

  CLI::App app("glassy sample");
  add_sample_options(app, settings);
  parse_known_flags(merged, app, "sample");
  return settings;
}

nlohmann::json sample_settings_json(const SampleSettings& s) {
  return {
      {"preset", s.preset},       {"task", s.task},
      {"p", s.p},                 {"train-frac", s.train_frac},
      {"split-seed", s.split_seed}, {"d-model", s.d_model},
      {"heads", s.heads},         {"d-mlp", s.d_mlp},
      {"layers", s.layers},       {"slope", s.slope},
      {"start", s.start},         {"seed", s.seed},
      {"adamw-lr", s.adamw_lr},   {"adamw-wd", s.adamw_wd},
      {"adamw-seed", s.adamw_seed}, {"dims", s.dims},
      {"steps", s.steps},         {"integrator", s.integrator},
      {"dt", s.dt},               {"friction", s.friction},
      {"kt", s.kt},               {"constraint", s.constraint},
      {"bound-scale", s.bound_scale}, {"bound", s.bound},
      {"shell-norm", s.shell_norm}, {"x-range", s.x_range},
      {"x-width", s.x_width},     {"y-range", s.y_range},
      {"y-width", s.y_width},     {"y-scale", s.y_scale},
      {"sigma", s.sigma},         {"beta", s.beta},
      {"l0", s.l0},               {"low-beta", s.low_beta},
      {"low-x", s.low_x},         {"y-beta", s.y_beta},
      {"y-studied", s.y_studied}, {"f-wl", s.f_wl},
      {"t-wl", s.t_wl},           {"plateau-end", s.plateau_end},
      {"out-of-range", s.out_of_range}, {"sharing", s.sharing},
      {"average-every", s.average_every}, {"walker-maps", s.walker_maps},
      {"trace-every", s.trace_every},
      {"log-every", s.log_every}, {"checkpoint-every", s.checkpoint_every},
      {"threads", s.threads},     {"backend", s.backend},
      {"out", s.out},
  };
}

}  // namespace glassy
