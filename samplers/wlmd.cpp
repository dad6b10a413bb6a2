// The WLMD step loop and its checkpoint files.
#include "samplers/wlmd.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"

namespace glassy {

Constraint parse_constraint(const std::string& name) {
  if (name == "bounds") return Constraint::bounds;
  if (name == "shell") return Constraint::shell;
  if (name == "none") return Constraint::none;
  throw UsageError(fmt::format("--constraint must be bounds, shell or none, got '{}'", name));
}

std::string to_string(Constraint constraint) {
  switch (constraint) {
    case Constraint::bounds: return "bounds";
    case Constraint::shell: return "shell";
    default: return "none";
  }
}

void wlmd_validate(const WlmdConfig& c) {
  langevin_validate(c.langevin);
  wl_grid_validate(c.grid);
  GLASSY_REQUIRE(c.average_every >= 1, "--average-every must be at least 1 step, got {}",
                 c.average_every);
  GLASSY_REQUIRE(std::isfinite(c.shell_norm) && c.shell_norm > 0.0,
                 "--shell-norm must be a positive number, got {}", c.shell_norm);
}

Wlmd::Wlmd(ObservableSystem& system, const WlmdConfig& config, std::vector<uint64_t> seeds)
    : system_(system),
      config_(config),
      params_(system.parameter_count()),
      dynamics_(system.backend(), config.langevin, system.parameter_count(), seeds),
      grid_(system.backend(), config.grid, system.walkers()) {
  wlmd_validate(config_);
  GLASSY_CHECK(int64_t(seeds.size()) == system.walkers(), "{} seeds for {} walkers",
               seeds.size(), system.walkers());
  Backend& backend = system.backend();
  const int64_t walkers = system.walkers();
  weights_ = Buffer<float>(backend, walkers * params_);
  grad_x_ = Buffer<float>(backend, walkers * params_);
  if (config_.grid.dims == 2) grad_y_ = Buffer<float>(backend, walkers * params_);
  force_ = Buffer<ForceCoefficients>(backend, walkers);
  norms_ = Buffer<double>(backend, walkers);
}

void Wlmd::set_bounds(const std::vector<float>& bounds) {
  GLASSY_CHECK(int64_t(bounds.size()) == params_, "{} bounds for {} parameters", bounds.size(),
               params_);
  for (const float b : bounds) {
    GLASSY_REQUIRE(std::isfinite(b) && b > 0.0f, "every bound must be positive, got {}", b);
  }
  bounds_ = Buffer<float>(system_.backend(), bounds.size());
  bounds_.upload(bounds);
}

void Wlmd::start(const std::vector<float>& weights) {
  if (config_.constraint == Constraint::bounds) {
    GLASSY_CHECK(bounds_.size() == std::size_t(params_), "Constraint::bounds without bounds");
    const std::vector<float> bounds = bounds_.download();
    for (std::size_t i = 0; i < weights.size(); ++i) {
      const int64_t p = int64_t(i) % params_;
      if (std::fabs(weights[i]) <= bounds[p]) continue;
      const TensorInfo* tensor = &system_.layout().tensors().front();
      for (const TensorInfo& t : system_.layout().tensors()) {
        if (p >= t.offset && p < t.offset + t.size) tensor = &t;
      }
      throw UsageError(fmt::format(
          "walker {} starts with {} = {} outside its bound {}; every starting weight must lie "
          "within +-bound: raise the bound of {} or start elsewhere",
          int64_t(i) / params_, tensor->name, weights[i], bounds[p], tensor->name));
    }
  }
  weights_.upload(weights);
  if (config_.constraint == Constraint::shell) apply_shell();
  dynamics_.initialize_velocities();
}

void Wlmd::apply_shell() {
  const int64_t walkers = system_.walkers();
  Backend& backend = system_.backend();
  backend.replica_sum_squares(walkers, params_, weights_.data(), params_, norms_.data());
  std::vector<double> factors = norms_.download();
  for (double& f : factors) f = f > 0.0 ? config_.shell_norm / std::sqrt(f) : 1.0;
  norms_.upload(factors);
  backend.replica_scale(walkers, params_, weights_.data(), params_, norms_.data());
}

void Wlmd::check_range(const WlmdStep& step) const {
  const bool stop_any = config_.grid.out_of_range == OutOfRangePolicy::stop;
  for (std::size_t r = 0; r < step.flags.size(); ++r) {
    const int32_t f = step.flags[r];
    if (f == 0 || (!stop_any && !(f & kGridNotANumber))) continue;
    const Observation& o = step.observations[r];
    throw SamplerStop(fmt::format(
        "step {}: walker {} has {} = {}, {} = {}, outside the grid x [{}, {}), y [{}, {}){}",
        step.t, r, system_.x_name(), o.x, system_.y_name(), o.y, config_.grid.x.lo,
        config_.grid.x.lo + config_.grid.x.width * config_.grid.x.bins,
        config_.grid.y.lo / config_.grid.y_scale,
        (config_.grid.y.lo + config_.grid.y.width * config_.grid.y.bins) / config_.grid.y_scale,
        (f & kGridNotANumber) ? "; the walker diverged: lower --dt"
                              : "; widen the range or use --out-of-range clamp"));
  }
}

const WlmdStep& Wlmd::step() {
  const bool two_d = config_.grid.dims == 2;
  float* grad_y = two_d ? grad_y_.data() : nullptr;
  last_.t = steps_done() + 1;
  system_.observe(weights_.data(), two_d, grad_x_.data(), grad_y, last_.observations);

  std::vector<double> xs(last_.observations.size()), ys(last_.observations.size());
  for (std::size_t r = 0; r < xs.size(); ++r) {
    xs[r] = last_.observations[r].x;
    ys[r] = last_.observations[r].y;
  }
  last_.flags = grid_.lookup(xs, ys, force_.data());
  check_range(last_);
  grid_.count_out_of_range(last_.flags);

  const float* bounds = config_.constraint == Constraint::bounds ? bounds_.data() : nullptr;
  dynamics_.step(weights_.data(), grad_x_.data(), grad_y, force_.data(), bounds);
  if (config_.constraint == Constraint::shell) apply_shell();

  // Deposit at the bin measured before the update, then share.
  grid_.deposit(last_.t);
  const bool averaging = config_.grid.sharing == GridSharing::average;
  if (averaging && last_.t % config_.average_every == 0) grid_.average();
  return last_;
}

std::vector<double> Wlmd::weight_norm() {
  const int64_t walkers = system_.walkers();
  system_.backend().replica_sum_squares(walkers, params_, weights_.data(), params_,
                                        norms_.data());
  std::vector<double> norms = norms_.download();
  for (double& n : norms) n = std::sqrt(n);
  return norms;
}

void Wlmd::save(const std::string& path, const std::vector<CheckpointArray>& extra) const {
  const int64_t walkers = system_.walkers();
  const std::vector<float> weights = weights_.download();
  const std::vector<float> velocity = dynamics_.velocity().download();
  const std::vector<double> grids = grid_.all_grids();
  const std::vector<int64_t> histogram = grid_.histogram();
  // The shapes come from the grid, because a 1-D grid stores one y bin whatever y axis the
  // configuration holds.
  const int64_t nx = grid_.config().x.bins, ny = grid_.config().y.bins;
  std::vector<CheckpointArray> arrays = {
      {"weights.npy", weights.data(), {walkers, params_}},
      {"velocity.npy", velocity.data(), {walkers, params_}},
      {"grids.npy", grids.data(), {grid_.grid_count(), nx, ny}},
      {"histogram.npy", histogram.data(), {nx, ny}},
  };
  if (grid_.config().walker_ledger) {
    arrays.push_back({"walker_deposits.npy", grid_.walker_deposits().data(), {walkers, nx, ny}});
    arrays.push_back({"walker_visits.npy", grid_.walker_visits().data(), {walkers, nx, ny}});
  }
  const RangeCounts& c = grid_.range_counts();
  nlohmann::json state;
  state["sampler"] = "wlmd";
  state["steps_done"] = steps_done();
  state["walkers"] = walkers;
  state["parameters"] = params_;
  state["out_of_range"] = {{"x_low", c.x_low},   {"x_high", c.x_high},
                           {"y_low", c.y_low},   {"y_high", c.y_high},
                           {"not_a_number", c.not_a_number}};
  arrays.insert(arrays.end(), extra.begin(), extra.end());
  checkpoint_write(path, arrays, state);
}

Checkpoint Wlmd::load(const std::string& path) {
  const std::string directory = checkpoint_find(path);
  GLASSY_REQUIRE(!directory.empty(), "'{}' holds no complete sampler checkpoint", path);
  const Checkpoint checkpoint = checkpoint_read(directory);
  const nlohmann::json& state = checkpoint.metadata;
  const int64_t walkers = state.at("walkers").get<int64_t>();
  const int64_t params = state.at("parameters").get<int64_t>();
  GLASSY_REQUIRE(walkers == system_.walkers() && params == params_,
                 "the checkpoint in '{}' holds {} walkers of {} parameters; this run has {} of "
                 "{}",
                 directory, walkers, params, system_.walkers(), params_);
  const nlohmann::json& counts = state.at("out_of_range");
  RangeCounts c;
  c.x_low = counts.at("x_low").get<int64_t>();
  c.x_high = counts.at("x_high").get<int64_t>();
  c.y_low = counts.at("y_low").get<int64_t>();
  c.y_high = counts.at("y_high").get<int64_t>();
  c.not_a_number = counts.at("not_a_number").get<int64_t>();

  const auto& arrays = checkpoint.arrays;
  weights_.upload(arrays.at("weights.npy").values<float>());
  dynamics_.restore(arrays.at("velocity.npy").values<float>(),
                    state.at("steps_done").get<int64_t>());
  grid_.restore(arrays.at("grids.npy").values<double>(),
                arrays.at("histogram.npy").values<int64_t>(), c);
  if (grid_.config().walker_ledger) {
    GLASSY_REQUIRE(arrays.count("walker_deposits.npy") && arrays.count("walker_visits.npy"),
                   "the checkpoint in '{}' has no per-walker deposits; it was written by an "
                   "older glassy or with the walker ledger off, so resume it with that setting",
                   directory);
    grid_.restore_ledger(arrays.at("walker_deposits.npy").values<double>(),
                         arrays.at("walker_visits.npy").values<int64_t>());
  }
  return checkpoint;
}

}  // namespace glassy
