// Flags, presets and config files of `glassy train`.
#include "tools/train_settings.h"

#include "tools/train_flags.h"
#include "tools/train_wand_settings.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "engine/error.h"

namespace glassy {
namespace {

struct Preset {
  std::string name;
  std::string description;
  std::function<void(TrainSettings&)> apply;
};

// The grokking study's AdamW baselines (Zhang et al. 2025): full batch, p = 67, train
// fraction 0.5, d_model 128, weight decay 1 and 10,000 steps. Only the learning rate depends
// on the task.
void apply_paper(TrainSettings& s, const std::string& task, const std::string& lr) {
  s.task = task;
  s.p = 67;
  s.train_frac = 0.5;
  s.d_model = 128;
  s.heads = 4;
  s.d_mlp = 512;
  s.lr = lr;
  s.wd = "1";
  s.steps = 10000;
  s.seeds = "0";
  s.seed = "0";
  s.split_seed = "0";
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"demo", "x+y at p = 31, train fraction 0.6, d_model 64, 4 seeds, 3,000 steps: groks in "
       "about 2 minutes on 2 CPU cores",
       [](TrainSettings& s) {
         s.task = "x+y";
         s.p = 31;
         s.train_frac = 0.6;
         s.d_model = 64;
         s.heads = 4;
         s.d_mlp = 256;
         s.lr = "3e-3";
         s.wd = "1";
         s.steps = 3000;
         s.seeds = "0,1,2,3";
         s.seed = "0";
         s.split_seed = "0";
         s.log_every = 250;
       }},
      {"paper-add", "x+y, p = 67, d_model 128, AdamW lr 3e-3, wd 1, 10,000 steps",
       [](TrainSettings& s) { apply_paper(s, "x+y", "3e-3"); }},
      {"paper-x2y", "x^2+y, p = 67, d_model 128, AdamW lr 5e-3, wd 1, 10,000 steps",
       [](TrainSettings& s) { apply_paper(s, "x^2+y", "5e-3"); }},
      {"paper-x3", "x^3+xy^2+y, p = 67, d_model 128, AdamW lr 1e-2, wd 1, 10,000 steps",
       [](TrainSettings& s) { apply_paper(s, "x^3+xy^2+y", "1e-2"); }},
      {"paper-add-fixed-norm",
       "x+y as paper-add, but lr 1e-3, no weight decay, global norm fixed at 30",
       [](TrainSettings& s) {
         apply_paper(s, "x+y", "1e-3");
         s.wd = "0";
         s.fixed_norm = 30.0;
       }},
  };
  return all;
}

std::string preset_names() {
  std::string names;
  for (const Preset& preset : presets()) names += (names.empty() ? "" : ", ") + preset.name;
  return names;
}

void apply_preset(const std::string& name, TrainSettings& settings) {
  for (const Preset& preset : presets()) {
    if (preset.name == name) {
      preset.apply(settings);
      settings.preset = name;
      return;
    }
  }
  throw UsageError(fmt::format("--preset must be one of {}, got '{}'", preset_names(), name));
}

// Seeds stay below 2^53 so that JSON readers that hold numbers as doubles keep them exact.
constexpr uint64_t kMaxSeed = (uint64_t(1) << 53) - 1;

// Rejects an empty list item, such as the one after a trailing comma.
void check_list_items(const std::string& text, const std::string& flag) {
  const bool empty_item = text.empty() || text.front() == ',' || text.back() == ',' ||
                          text.find(",,") != std::string::npos;
  GLASSY_REQUIRE(!empty_item, "{} has an empty item in '{}'; write values separated by single "
                 "commas, e.g. 1e-3,3e-3", flag, text);
}

std::vector<double> parse_number_list(const std::string& text, const std::string& flag) {
  check_list_items(text, flag);
  std::vector<double> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GLASSY_REQUIRE(used > 0 && used == item.size() && item.find_first_of("xX") == item.npos,
                   "{} must be a decimal number or a comma-separated list of them, got '{}'",
                   flag, text);
    values.push_back(value);
  }
  GLASSY_REQUIRE(!values.empty(), "{} must list at least one number, got '{}'", flag, text);
  return values;
}

uint64_t parse_seed(const std::string& text, const std::string& flag) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    GLASSY_REQUIRE(!text.empty() && text[0] != '-', "");
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  GLASSY_REQUIRE(used > 0 && used == text.size() && value <= kMaxSeed,
                 "{} takes integers in [0, 2^53), got '{}'", flag, text);
  return value;
}

std::vector<uint64_t> parse_seed_list(const std::string& text, const std::string& flag) {
  check_list_items(text, flag);
  std::vector<uint64_t> seeds;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) seeds.push_back(parse_seed(item, flag));
  GLASSY_REQUIRE(!seeds.empty(), "{} must list at least one seed, got '{}'", flag, text);
  return seeds;
}

uint64_t random_seed() {
  std::random_device device;
  return (uint64_t(device()) << 32 | device()) & ((uint64_t(1) << 53) - 1);
}


void add_source_options(CLI::App& app, TrainSettings& s) {
  std::string preset_help = "start from a preset (flags and --config override it):";
  for (const Preset& preset : presets()) {
    preset_help += "\n  " + preset.name + ": " + preset.description;
  }
  app.add_option("--preset", s.preset, preset_help);
  app.add_option("--config", s.config_file,
                 "JSON file of settings, keys are these flag names without dashes, e.g. "
                 "{\"lr\": [0.001, 0.003], \"p\": 67}");

}

void add_task_and_model_options(CLI::App& app, TrainSettings& s) {
  app.add_option("--task", s.task, "operation: x+y, x-y, x*y, x/y, x^2+y, x^3+xy^2+y (mod p)")
      ->capture_default_str();
  app.add_option("--p", s.p, "modulus; x/y needs a prime")->capture_default_str();
  app.add_option("--train-frac", s.train_frac, "fraction of all pairs used for training, in "
                 "(0, 1)")->capture_default_str();
  app.add_option("--split-seed", s.split_seed, "seed of the train/test shuffle (default: "
                 "random, recorded in config.json)");

  app.add_option("--d-model", s.d_model, "model width")->capture_default_str();
  app.add_option("--heads", s.heads, "attention heads; must divide --d-model")
      ->capture_default_str();
  app.add_option("--d-mlp", s.d_mlp, "MLP width (0: 4 x d-model)")->capture_default_str();
  app.add_option("--layers", s.layers, "transformer layers")->capture_default_str();
  app.add_option("--outputs", s.outputs, "output classes: p+1 (the '=' token is a class, as "
                 "in the reference code) or p")->capture_default_str();
  app.add_option("--trim-last-layer", s.trim_last_layer, "compute only what reaches the loss "
                 "in the last layer (exact; about 2x less work)")->capture_default_str();
  app.add_option("--slope", s.slope, "slope s of the smoothed accuracy sigmoid(s * margin)")
      ->capture_default_str();

}

void add_optimizer_options(CLI::App& app, TrainSettings& s) {
  app.add_option("--optimizer", s.optimizer, "adamw, sgd (momentum, coupled L2 decay), wand "
                 "(the Wang-Landau optimizer WanD: Langevin dynamics on ln L_train with a "
                 "Wang-Landau grid, no weight decay) or hybrid (per step alpha x the WanD "
                 "update + (1 - alpha) x the AdamW update, see --alpha)")
      ->capture_default_str();
  app.add_option("--lr", s.lr, "learning rate; a comma-separated list makes a grid. wand "
                 "ignores it (its step is --dt); hybrid uses it for the AdamW branch")
      ->capture_default_str();
  app.add_option("--wd", s.wd, "weight decay; a list makes a grid. AdamW decay is decoupled "
                 "(PyTorch's convention p <- p (1 - lr_t wd) before the Adam update)")
      ->capture_default_str();
  app.add_option("--beta1", s.beta1, "AdamW beta1")->capture_default_str();
  app.add_option("--beta2", s.beta2, "AdamW beta2")->capture_default_str();
  app.add_option("--eps", s.eps, "AdamW epsilon, added to sqrt(v_hat) after bias correction")
      ->capture_default_str();
  app.add_option("--momentum", s.momentum, "SGD momentum")->capture_default_str();
  app.add_option("--warmup-steps", s.warmup_steps, "linear learning-rate warm-up steps")
      ->capture_default_str();
  app.add_option("--warmup-start", s.warmup_start, "learning-rate factor f0 of the first "
                 "step: step k uses lr (f0 + (1 - f0) min((k-1)/W, 1)); 0 as in the grokking "
                 "reference code")->capture_default_str();
  app.add_option("--fixed-norm", s.fixed_norm, "after every step rescale each replica's "
                 "parameters to this global L2 norm (0: off)")->capture_default_str();
  add_wand_options(app, s.wand);

}

void add_run_options(CLI::App& app, TrainSettings& s) {
  app.add_option("--seeds", s.seeds, "initialization seeds, comma-separated; one replica per "
                 "seed and grid point");
  app.add_option("--replicas", s.replicas, "number of seeds when --seeds is not given")
      ->capture_default_str();
  app.add_option("--seed", s.seed, "first seed when --seeds is not given (default: random, "
                 "recorded in config.json)");
  app.add_option("--steps", s.steps, "optimizer steps")->capture_default_str();
  app.add_option("--eval-every", s.eval_every, "steps between rows of metrics.csv")
      ->capture_default_str();
  app.add_option("--log-every", s.log_every, "steps between progress lines")
      ->capture_default_str();
  app.add_option("--threads", s.threads, "CPU threads (0: all cores)")->capture_default_str();
  app.add_option("--backend", s.backend, "cpu or cuda")->capture_default_str();
  app.add_option("--out", s.out, "run directory to create (must not exist or be empty)");
  app.add_option("--checkpoint-every", s.checkpoint_every, "steps between checkpoints in "
                 "OUT/checkpoint/, from which --resume continues. A checkpoint is also written "
                 "at the last step, including a stop by a signal (0: only there)")
      ->capture_default_str();
  app.add_option("--resume", s.resume, "continue the run in this directory from its "
                 "checkpoint, with the settings in its config.json; only --threads and "
                 "--checkpoint-every may change");
}

}  // namespace

void add_train_options(CLI::App& app, TrainSettings& s) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_source_options(app, s);
  add_task_and_model_options(app, s);
  add_optimizer_options(app, s);
  add_run_options(app, s);
}

TrainSettings parse_train_settings(const std::vector<std::string>& args) {
  TrainSettings settings;
  CLI::App probe;
  add_train_options(probe, settings);

  std::vector<std::string> merged;
  const std::string config_path = find_flag(args, "--config");
  if (!config_path.empty()) merged = config_file_args(config_path, probe);
  std::string preset = find_flag(args, "--preset");
  if (preset.empty()) preset = find_flag(merged, "--preset");
  if (!preset.empty()) apply_preset(preset, settings);
  merged.insert(merged.end(), args.begin(), args.end());

  CLI::App app("glassy train");
  add_train_options(app, settings);
  const bool preset_seeds = !settings.seeds.empty();
  parse_known_flags(merged, app, "train");

  // --replicas picks consecutive seeds from --seed; it replaces a preset's seed list, but
  // contradicts a --seeds list given alongside it.
  const bool seeds_given = app.count("--seeds") > 0;
  const bool replicas_given = app.count("--replicas") > 0;
  GLASSY_REQUIRE(!(seeds_given && replicas_given),
                 "--seeds {} and --replicas {} contradict each other; give the list of seeds or "
                 "their number, not both", settings.seeds, settings.replicas);
  if (replicas_given && preset_seeds) settings.seeds.clear();
  return settings;
}

namespace {

void resolve_task_and_model(const TrainSettings& s, TrainPlan& plan) {
  plan.operation = parse_operation(s.task);
  GLASSY_REQUIRE(s.p >= 2 && s.p <= kMaxModulus, "--p must be in [2, {}], got {}", kMaxModulus,
                 s.p);
  GLASSY_REQUIRE(s.d_model >= 1 && s.d_model <= 65536, "--d-model must be in [1, 65536], got {}",
                 s.d_model);
  GLASSY_REQUIRE(s.d_mlp >= 0 && s.d_mlp <= 1 << 20,
                 "--d-mlp must be in [0, 2^20] (0: 4 x d-model), got {}", s.d_mlp);
  GLASSY_REQUIRE(s.steps <= int64_t(1e12), "--steps must be at most 10^12, got {}", s.steps);
  GLASSY_REQUIRE(std::isfinite(s.train_frac) && s.train_frac > 0.0 && s.train_frac < 1.0,
                 "--train-frac must be in (0, 1), got {}", s.train_frac);
  plan.split_seed = s.split_seed.empty() ? random_seed() : parse_seed(s.split_seed,
                                                                       "--split-seed");
  plan.settings.split_seed = std::to_string(plan.split_seed);

  GLASSY_REQUIRE(s.outputs == "p+1" || s.outputs == "p",
                 "--outputs must be p+1 or p, got '{}'", s.outputs);
  plan.model.vocab = int(s.p + 1);
  plan.model.context = 3;
  plan.model.classes = int(s.outputs == "p+1" ? s.p + 1 : s.p);
  plan.model.d_model = s.d_model;
  plan.model.heads = s.heads;
  plan.model.d_mlp = s.d_mlp == 0 ? 4 * s.d_model : s.d_mlp;
  plan.settings.d_mlp = plan.model.d_mlp;
  plan.model.layers = s.layers;
  plan.model.trim_last_layer = s.trim_last_layer;
  transformer_validate(plan.model);
  GLASSY_REQUIRE(std::isfinite(s.slope) && s.slope > 0.0, "--slope must be positive, got {}",
                 s.slope);
}

std::vector<uint64_t> resolve_seeds(const TrainSettings& s, TrainPlan& plan) {
  if (!s.seeds.empty()) return parse_seed_list(s.seeds, "--seeds");
  GLASSY_REQUIRE(s.replicas >= 1 && s.replicas <= 100000,
                 "--replicas must be in [1, 100000], got {}", s.replicas);
  const uint64_t first = s.seed.empty() ? random_seed() : parse_seed(s.seed, "--seed");
  GLASSY_REQUIRE(first + uint64_t(s.replicas) - 1 <= kMaxSeed,
                 "--seed {} with --replicas {} runs past the largest seed 2^53 - 1; choose a "
                 "smaller --seed", first, s.replicas);
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < s.replicas; ++i) seeds.push_back(first + uint64_t(i));
  plan.settings.seed = std::to_string(first);
  return seeds;
}

// Expands the grid of learning rates x weight decays x seeds, seeds varying fastest. WanD has
// neither, so its grid is the seeds alone, with lr = dt and wd = 0 in the replica records.
void resolve_optimizer_and_replicas(const TrainSettings& s, TrainPlan& plan) {
  const bool wand_only = s.optimizer == "wand";
  GLASSY_REQUIRE(s.optimizer == "adamw" || s.optimizer == "sgd" || plan.uses_wand,
                 "--optimizer must be adamw, sgd, wand or hybrid, got '{}'", s.optimizer);
  plan.optimizer.kind = plan.uses_wand ? OptimizerKind::adamw : parse_optimizer_kind(s.optimizer);
  plan.optimizer.beta1 = s.beta1;
  plan.optimizer.beta2 = s.beta2;
  plan.optimizer.eps = s.eps;
  plan.optimizer.momentum = s.momentum;
  plan.optimizer.warmup_steps = s.warmup_steps;
  plan.optimizer.warmup_start = s.warmup_start;
  plan.optimizer.fixed_norm = s.fixed_norm;

  std::vector<double> lrs = parse_number_list(s.lr, "--lr");
  std::vector<double> wds = parse_number_list(s.wd, "--wd");
  if (wand_only) {
    GLASSY_REQUIRE(lrs.size() == 1 && wds.size() == 1, "--optimizer wand has no learning rate "
                   "or weight decay to make a grid of, but --lr is '{}' and --wd is '{}'; give "
                   "one value each (wand ignores them) or use --optimizer hybrid", s.lr, s.wd);
    lrs = {plan.wand.langevin.dt};
    wds = {0.0};
  }
  const std::vector<uint64_t> seeds = resolve_seeds(s, plan);
  for (double lr : lrs) {
    for (double wd : wds) {
      for (uint64_t seed : seeds) plan.replicas.push_back({seed, {lr, wd}});
    }
  }
  std::string seed_list;
  for (uint64_t seed : seeds) seed_list += (seed_list.empty() ? "" : ",") + std::to_string(seed);
  plan.settings.seeds = seed_list;
  std::vector<ReplicaHyper> hyper;
  for (const ReplicaSpec& replica : plan.replicas) hyper.push_back(replica.hyper);
  if (!wand_only) optimizer_validate(plan.optimizer, hyper);
}

}  // namespace

TrainPlan resolve_train_plan(const TrainSettings& s) {
  TrainPlan plan;
  plan.settings = s;
  resolve_task_and_model(s, plan);
  resolve_wand(s, plan);
  resolve_optimizer_and_replicas(s, plan);

  GLASSY_REQUIRE(s.steps >= 0, "--steps must be at least 0, got {}", s.steps);
  GLASSY_REQUIRE(s.eval_every >= 1, "--eval-every must be at least 1, got {}", s.eval_every);
  GLASSY_REQUIRE(s.log_every >= 1, "--log-every must be at least 1, got {}", s.log_every);
  GLASSY_REQUIRE(s.checkpoint_every >= 0, "--checkpoint-every must be at least 0 (0: only at "
                 "the last step), got {}", s.checkpoint_every);
  GLASSY_REQUIRE(s.threads >= 0, "--threads must be at least 0 (0: all cores), got {}",
                 s.threads);
  parse_backend_kind(s.backend);
  GLASSY_REQUIRE(!s.out.empty(), "--out is required: name a new directory for the run, e.g. "
                 "--out runs/demo");
  return plan;
}

nlohmann::json train_plan_json(const TrainPlan& plan) {
  const TrainSettings& s = plan.settings;
  nlohmann::json grid = nlohmann::json::array();
  for (std::size_t r = 0; r < plan.replicas.size(); ++r) {
    grid.push_back({{"replica", r},
                    {"seed", plan.replicas[r].seed},
                    {"lr", plan.replicas[r].hyper.lr},
                    {"wd", plan.replicas[r].hyper.weight_decay}});
  }
  nlohmann::json config = {
      {"preset", s.preset},
      {"task", s.task},
      {"p", s.p},
      {"train-frac", s.train_frac},
      {"split-seed", plan.split_seed},
      {"d-model", s.d_model},
      {"heads", s.heads},
      {"d-mlp", plan.model.d_mlp},
      {"layers", s.layers},
      {"outputs", s.outputs},
      {"classes", plan.model.classes},
      {"trim-last-layer", s.trim_last_layer},
      {"slope", s.slope},
      {"optimizer", s.optimizer},
      {"lr", s.lr},
      {"wd", s.wd},
      {"beta1", s.beta1},
      {"beta2", s.beta2},
      {"eps", s.eps},
      {"momentum", s.momentum},
      {"warmup-steps", s.warmup_steps},
      {"warmup-start", s.warmup_start},
      {"fixed-norm", s.fixed_norm},
      {"seeds", s.seeds},
      {"steps", s.steps},
      {"eval-every", s.eval_every},
      {"log-every", s.log_every},
      {"threads", s.threads},
      {"backend", s.backend},
      {"out", s.out},
      {"checkpoint-every", s.checkpoint_every},
      {"replica_grid", grid},
  };
  add_wand_json(plan, config);
  return config;
}

}  // namespace glassy
