// Resolution of `glassy sample` settings into a validated plan.
#include <cmath>
#include <sstream>

#include "engine/error.h"
#include "tools/sample_settings.h"

namespace glassy {
namespace {

// Seeds stay below 2^53 so that JSON readers that hold numbers as doubles keep them exact.
constexpr uint64_t kMaxSeed = (uint64_t(1) << 53) - 1;
constexpr int64_t kMaxWalkers = 100000;

uint64_t parse_seed(const std::string& text, const std::string& flag) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    if (!text.empty() && text[0] != '-') value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  GLASSY_REQUIRE(used > 0 && used == text.size() && value <= kMaxSeed,
                 "{} takes an integer in [0, 2^53), got '{}'", flag, text);
  return value;
}

double parse_number(const std::string& text, const std::string& flag, const std::string& whole) {
  std::size_t used = 0;
  double value = NAN;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  GLASSY_REQUIRE(used > 0 && used == text.size() && std::isfinite(value),
                 "{} must be two finite numbers lo,hi, got '{}'", flag, whole);
  return value;
}

std::pair<double, double> parse_range(const std::string& text, const std::string& flag) {
  const auto comma = text.find(',');
  GLASSY_REQUIRE(comma != std::string::npos, "{} must be two numbers lo,hi, got '{}'", flag,
                 text);
  const double lo = parse_number(text.substr(0, comma), flag, text);
  const double hi = parse_number(text.substr(comma + 1), flag, text);
  GLASSY_REQUIRE(lo < hi, "{} must have lo < hi, got '{}'; give a non-empty range", flag, text);
  return {lo, hi};
}

int64_t parse_count(const std::string& text, const std::string& item) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  GLASSY_REQUIRE(used > 0 && used == text.size() && value >= 1 && value <= kMaxWalkers,
                 "--start group '{}' needs a walker count in [1, {}] after ':'", item,
                 kMaxWalkers);
  return value;
}

WalkerGroup parse_group(const std::string& item) {
  WalkerGroup group;
  std::string head = item;
  const auto colon = item.rfind(':');
  if (colon != std::string::npos) {
    head = item.substr(0, colon);
    group.count = parse_count(item.substr(colon + 1), item);
  }
  if (head == "init") {
    group.kind = "init";
  } else if (head.rfind("adamw@", 0) == 0) {
    group.kind = "adamw";
    const std::string step = head.substr(6);
    GLASSY_REQUIRE(!step.empty() && step.find_first_not_of("0123456789") == step.npos &&
                       step.size() < 10,
                   "--start group '{}': adamw@STEP needs a step count, e.g. adamw@300", item);
    group.adamw_step = std::stoll(step);
  } else if (head.rfind("npy=", 0) == 0) {
    group.kind = "npy";
    group.path = head.substr(4);
    const auto hash = group.path.rfind('#');
    if (hash != std::string::npos) {
      const std::string row = group.path.substr(hash + 1);
      GLASSY_REQUIRE(!row.empty() && row.find_first_not_of("0123456789") == row.npos &&
                         row.size() < 10,
                     "--start group '{}': #ROW must be a row number", item);
      group.row = std::stoll(row);
      group.path = group.path.substr(0, hash);
    }
    GLASSY_REQUIRE(!group.path.empty(), "--start group '{}' names no file", item);
  } else {
    throw UsageError(fmt::format("--start group '{}' must be init:N, adamw@STEP:N or "
                                 "npy=PATH#ROW:N", item));
  }
  return group;
}

std::vector<WalkerGroup> parse_groups(const std::string& text) {
  std::vector<WalkerGroup> groups;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    GLASSY_REQUIRE(!item.empty(), "--start has an empty group in '{}'", text);
    groups.push_back(parse_group(item));
  }
  GLASSY_REQUIRE(!groups.empty(), "--start must name at least one walker group, e.g. init:4");
  return groups;
}

std::vector<std::pair<std::string, double>> parse_bounds(const std::string& text) {
  std::vector<std::pair<std::string, double>> bounds;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto equals = item.find('=');
    GLASSY_REQUIRE(equals != std::string::npos && equals > 0,
                   "--bound items must be NAME=VALUE, got '{}'", item);
    const std::string name = item.substr(0, equals);
    std::size_t used = 0;
    double value = NAN;
    try {
      value = std::stod(item.substr(equals + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GLASSY_REQUIRE(used > 0 && used == item.size() - equals - 1 && std::isfinite(value) &&
                       value > 0.0 && value < 1e30,
                   "--bound {} must be a positive number, got '{}'", name,
                   item.substr(equals + 1));
    for (const auto& [earlier, unused] : bounds) {
      GLASSY_REQUIRE(earlier != name, "--bound names {} twice; give each tensor once", name);
    }
    bounds.emplace_back(name, value);
  }
  return bounds;
}

void resolve_model(const SampleSettings& s, SamplePlan& plan) {
  plan.operation = parse_operation(s.task);
  GLASSY_REQUIRE(s.p >= 2 && s.p <= kMaxModulus, "--p must be in [2, {}], got {}", kMaxModulus,
                 s.p);
  GLASSY_REQUIRE(std::isfinite(s.train_frac) && s.train_frac > 0.0 && s.train_frac < 1.0,
                 "--train-frac must be in (0, 1), got {}", s.train_frac);
  GLASSY_REQUIRE(s.d_model >= 1 && s.d_model <= 65536, "--d-model must be in [1, 65536], got {}",
                 s.d_model);
  GLASSY_REQUIRE(s.d_mlp >= 0 && s.d_mlp <= 1 << 20,
                 "--d-mlp must be in [0, 2^20] (0: 4 x d-model), got {}", s.d_mlp);
  GLASSY_REQUIRE(std::isfinite(s.slope) && s.slope > 0.0, "--slope must be positive, got {}",
                 s.slope);
  plan.split_seed = parse_seed(s.split_seed, "--split-seed");
  plan.model.vocab = int(s.p + 1);
  plan.model.context = 3;
  plan.model.classes = int(s.p + 1);
  plan.model.d_model = s.d_model;
  plan.model.heads = s.heads;
  plan.model.d_mlp = s.d_mlp == 0 ? 4 * s.d_model : s.d_mlp;
  plan.model.layers = s.layers;
  plan.model.trim_last_layer = true;
  transformer_validate(plan.model);
}

void resolve_walkers(const SampleSettings& s, SamplePlan& plan) {
  plan.groups = parse_groups(s.start);
  plan.walkers = 0;
  for (const WalkerGroup& group : plan.groups) plan.walkers += group.count;
  GLASSY_REQUIRE(plan.walkers <= kMaxWalkers, "--start asks for {} walkers; at most {}",
                 plan.walkers, kMaxWalkers);
  plan.first_seed = parse_seed(s.seed, "--seed");
  GLASSY_REQUIRE(plan.first_seed + uint64_t(plan.walkers) - 1 <= kMaxSeed,
                 "--seed {} with {} walkers runs past the largest seed 2^53 - 1", s.seed,
                 plan.walkers);
  plan.adamw_seed = parse_seed(s.adamw_seed, "--adamw-seed");
  plan.adamw.kind = OptimizerKind::adamw;
  optimizer_validate(plan.adamw, {ReplicaHyper{s.adamw_lr, s.adamw_wd}});
  plan.bound_overrides = parse_bounds(s.bound);
}

void resolve_dynamics(const SampleSettings& s, SamplePlan& plan) {
  WlmdConfig& c = plan.wlmd;
  c.langevin.integrator = parse_integrator(s.integrator);
  c.langevin.dt = s.dt;
  c.langevin.friction = s.friction;
  c.langevin.kt = s.kt;
  c.constraint = parse_constraint(s.constraint);
  c.shell_norm = s.shell_norm;
  c.average_every = s.average_every;
  GLASSY_REQUIRE(std::isfinite(s.bound_scale) && s.bound_scale > 0.0 && s.bound_scale < 1e30,
                 "--bound-scale must be in (0, 1e30), got {}", s.bound_scale);
  // Larger values overflow the force or the noise in float before any physics happens.
  GLASSY_REQUIRE(s.kt <= 1e6, "--kt must be at most 1e6, got {}", s.kt);
  GLASSY_REQUIRE(s.f_wl <= 1e12, "--f-wl must be at most 1e12, got {}", s.f_wl);

  WlGridConfig& g = c.grid;
  g.dims = s.dims;
  GLASSY_REQUIRE(s.dims == 1 || s.dims == 2, "--dims must be 1 or 2, got {}", s.dims);
  GLASSY_REQUIRE(std::isfinite(s.y_scale) && s.y_scale > 0.0,
                 "--y-scale must be a positive number, got {}", s.y_scale);
  const auto [x_lo, x_hi] = parse_range(s.x_range, "--x-range");
  g.x = grid_axis(x_lo, x_hi, s.x_width, "--x-range");
  const auto [y_lo, y_hi] = parse_range(s.y_range, "--y-range");
  g.y = grid_axis(y_lo * s.y_scale, y_hi * s.y_scale, s.y_width, "--y-range");
  g.y_scale = s.y_scale;
  g.sigma_bins = s.sigma;
  g.bias = WlBias{s.beta, s.l0, s.low_beta, s.low_x, s.y_beta, 0.0, 0.0};
  const auto [studied_lo, studied_hi] = parse_range(s.y_studied, "--y-studied");
  g.bias.y_lo = studied_lo * s.y_scale;
  g.bias.y_hi = studied_hi * s.y_scale;
  g.schedule = WlSchedule{s.f_wl, s.t_wl, s.plateau_end};
  g.out_of_range = parse_out_of_range_policy(s.out_of_range);
  g.sharing = parse_grid_sharing(s.sharing);
  g.walker_ledger = s.walker_maps;
  wlmd_validate(c);
}

}  // namespace

std::string WalkerGroup::label() const {
  if (kind == "adamw") return fmt::format("adamw@{}", adamw_step);
  if (kind == "npy") return fmt::format("npy={}#{}", path, row);
  return kind;
}

SamplePlan resolve_sample_plan(const SampleSettings& s) {
  SamplePlan plan;
  plan.settings = s;
  resolve_model(s, plan);
  resolve_walkers(s, plan);
  resolve_dynamics(s, plan);
  GLASSY_REQUIRE(s.steps >= 1 && s.steps <= int64_t(1e12),
                 "--steps must be in [1, 10^12], got {}", s.steps);
  GLASSY_REQUIRE(s.trace_every >= 1, "--trace-every must be at least 1, got {}", s.trace_every);
  GLASSY_REQUIRE(s.log_every >= 1, "--log-every must be at least 1, got {}", s.log_every);
  GLASSY_REQUIRE(s.checkpoint_every >= 1, "--checkpoint-every must be at least 1, got {}",
                 s.checkpoint_every);
  GLASSY_REQUIRE(s.threads >= 0, "--threads must be at least 0 (0: all cores), got {}",
                 s.threads);
  parse_backend_kind(s.backend);
  GLASSY_REQUIRE(!s.out.empty(), "--out is required: name a new directory for the run, e.g. "
                 "--out runs/sample-demo");
  return plan;
}

}  // namespace glassy
