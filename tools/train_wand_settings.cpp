// WanD settings of `glassy train`.
#include "tools/train_wand_settings.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/error.h"

namespace glassy {
namespace {

bool uses_wand(const std::string& optimizer) {
  return optimizer == "wand" || optimizer == "hybrid";
}

// Parses "lo,hi" of --x-range.
std::pair<double, double> parse_range(const std::string& text) {
  const std::size_t comma = text.find(',');
  const std::string lo = text.substr(0, comma);
  const std::string hi = comma == std::string::npos ? "" : text.substr(comma + 1);
  char* lo_end = nullptr;
  char* hi_end = nullptr;
  const double lo_value = std::strtod(lo.c_str(), &lo_end);
  const double hi_value = std::strtod(hi.c_str(), &hi_end);
  const bool valid = !lo.empty() && !hi.empty() && *lo_end == '\0' && *hi_end == '\0';
  GLASSY_REQUIRE(valid, "--x-range must be two numbers lo,hi of ln L_train, e.g. -20,6, got "
                 "'{}'", text);
  return {lo_value, hi_value};
}

// Returns the first WanD flag whose value differs from its default, or "".
std::string first_changed_flag(const WandSettings& s) {
  const WandSettings d = wand_settings_defaults();
  const std::vector<std::pair<const char*, bool>> flags = {
      {"--integrator", s.integrator != d.integrator}, {"--dt", s.dt != d.dt},
      {"--kt", s.kt != d.kt},                         {"--friction", s.friction != d.friction},
      {"--beta", s.beta != d.beta},                   {"--l0", s.l0 != d.l0},
      {"--f-wl", s.f_wl != d.f_wl},                   {"--t-wl", s.t_wl != d.t_wl},
      {"--sigma", s.sigma != d.sigma},                {"--x-range", s.x_range != d.x_range},
      {"--x-width", s.x_width != d.x_width},
  };
  for (const auto& [flag, changed] : flags) {
    if (changed) return flag;
  }
  return "";
}

// Rejects WanD settings that the chosen optimizer would ignore.
void check_flags_match_optimizer(const TrainSettings& s) {
  const bool hybrid = s.optimizer == "hybrid";
  GLASSY_REQUIRE(s.wand.alpha.empty() || hybrid, "--alpha {} applies to --optimizer hybrid "
                 "only, got --optimizer {}; drop --alpha or use --optimizer hybrid",
                 s.wand.alpha, s.optimizer);
  GLASSY_REQUIRE(!hybrid || !s.wand.alpha.empty(), "--optimizer hybrid needs --alpha square "
                 "((2A - 1)^2) or parabola (4A(1 - A)) to blend WanD with AdamW");
  if (uses_wand(s.optimizer)) {
    GLASSY_REQUIRE(s.fixed_norm == 0.0, "--fixed-norm {} applies to adamw and sgd only; WanD "
                   "runs without a norm constraint, so drop --fixed-norm", s.fixed_norm);
    return;
  }
  const std::string changed = first_changed_flag(s.wand);
  GLASSY_REQUIRE(changed.empty(), "{} is a WanD setting, but --optimizer is {}; drop {} or "
                 "use --optimizer wand or hybrid", changed, s.optimizer, changed);
}

// The upper end of an axis, rounded to 10 digits so that -20 + 0.02 x 1300 prints as 6.
double axis_end(const GridAxis& axis) {
  return std::stod(fmt::format("{:.10g}", axis.lo + axis.width * double(axis.bins)));
}

}  // namespace

WandSettings wand_settings_defaults() {
  const WandConfig c = wand_defaults();
  WandSettings s;
  s.integrator = to_string(c.langevin.integrator);
  s.dt = c.langevin.dt;
  s.kt = c.langevin.kt;
  s.friction = c.langevin.friction;
  s.beta = c.grid.bias.beta;
  s.l0 = c.grid.bias.l0;
  s.f_wl = c.grid.schedule.amplitude;
  s.t_wl = c.grid.schedule.ramp_steps;
  s.sigma = c.grid.sigma_bins;
  s.x_range = fmt::format("{},{}", c.grid.x.lo, axis_end(c.grid.x));
  s.x_width = c.grid.x.width;
  return s;
}

void add_wand_options(CLI::App& app, WandSettings& s) {
  const std::string wand = "--optimizer wand and hybrid: ";
  app.add_option("--integrator", s.integrator, wand + "paper (the published Langevin rule; "
                 "positions sample kT (1 - c_f / 2)) or baoab (samples kT)")
      ->capture_default_str();
  app.add_option("--dt", s.dt, wand + "time step, WanD's learning rate")->capture_default_str();
  app.add_option("--kt", s.kt, wand + "temperature kT")->capture_default_str();
  app.add_option("--friction", s.friction, wand + "c_f in (0, 1], the fraction of velocity "
                 "lost per step")->capture_default_str();
  app.add_option("--beta", s.beta, wand + "the grid starts as beta (x - L0)^2 above L0, "
                 "x = ln L_train")->capture_default_str();
  app.add_option("--l0", s.l0, wand + "L0 of the bias, in ln L_train")->capture_default_str();
  app.add_option("--f-wl", s.f_wl, wand + "F_WL, the largest Wang-Landau deposit")
      ->capture_default_str();
  app.add_option("--t-wl", s.t_wl, wand + "t_WL in steps: deposits ramp up linearly to F_WL "
                 "until t_WL, then decay as F_WL t_WL / t")->capture_default_str();
  app.add_option("--sigma", s.sigma, wand + "deposit width in bins (cut at 4 sigma)")
      ->capture_default_str();
  app.add_option("--x-range", s.x_range, wand + "grid range lo,hi of ln L_train; values "
                 "outside are clamped to the edge bins")->capture_default_str();
  app.add_option("--x-width", s.x_width, wand + "grid bin width in ln L_train")
      ->capture_default_str();
  app.add_option("--alpha", s.alpha, "--optimizer hybrid: the WanD share of each update, "
                 "square ((2A - 1)^2) or parabola (4A(1 - A)) of the smoothed test accuracy A");
}

void resolve_wand(const TrainSettings& s, TrainPlan& plan) {
  check_flags_match_optimizer(s);
  plan.uses_wand = uses_wand(s.optimizer);
  if (!plan.uses_wand) return;

  const WandSettings& w = s.wand;
  WandConfig c = wand_defaults();
  c.langevin.integrator = parse_integrator(w.integrator);
  c.langevin.dt = w.dt;
  c.langevin.kt = w.kt;
  c.langevin.friction = w.friction;
  c.grid.bias.beta = w.beta;
  c.grid.bias.l0 = w.l0;
  c.grid.schedule.amplitude = w.f_wl;
  c.grid.schedule.ramp_steps = w.t_wl;
  c.grid.sigma_bins = w.sigma;
  const auto [lo, hi] = parse_range(w.x_range);
  c.grid.x = grid_axis(lo, hi, w.x_width, "--x-range");
  if (s.optimizer == "hybrid") c.alpha = parse_hybrid_alpha(w.alpha);
  wand_validate(c);
  plan.wand = c;
}

void add_wand_json(const TrainPlan& plan, nlohmann::json& config) {
  if (!plan.uses_wand) return;
  const WandSettings& w = plan.settings.wand;
  config["integrator"] = w.integrator;
  config["dt"] = w.dt;
  config["kt"] = w.kt;
  config["friction"] = w.friction;
  config["beta"] = w.beta;
  config["l0"] = w.l0;
  config["f-wl"] = w.f_wl;
  config["t-wl"] = w.t_wl;
  config["sigma"] = w.sigma;
  config["x-range"] = w.x_range;
  config["x-width"] = w.x_width;
  if (plan.wand.alpha != HybridAlpha::none) config["alpha"] = w.alpha;
}

std::vector<std::pair<std::string, std::string>> wand_config_rows(const TrainPlan& plan) {
  const WandConfig& c = plan.wand;
  const GridAxis& x = c.grid.x;
  std::string dynamics = fmt::format("{} integrator, dt {}, kT {}, c_f {}, no weight decay",
                                     to_string(c.langevin.integrator), c.langevin.dt,
                                     c.langevin.kt, c.langevin.friction);
  if (c.alpha == HybridAlpha::square) dynamics += "; hybrid alpha square: (2A - 1)^2";
  if (c.alpha == HybridAlpha::parabola) dynamics += "; hybrid alpha parabola: 4A(1 - A)";
  return {
      {"wand", dynamics},
      {"wand grid", fmt::format("ln L_train in [{}, {}) at width {} ({} bins), bias beta "
                                "(x - L0)^2 above L0 with beta {} and L0 {}, F_WL {}, t_WL {}, "
                                "sigma {} bins", x.lo, axis_end(x), x.width, x.bins,
                                c.grid.bias.beta, c.grid.bias.l0, c.grid.schedule.amplitude,
                                c.grid.schedule.ramp_steps, c.grid.sigma_bins)},
  };
}

}  // namespace glassy
