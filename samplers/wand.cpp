// WanD and the WanD-AdamW hybrid.
#include "samplers/wand.h"

#include <cmath>

#include "engine/error.h"

namespace glassy {

HybridAlpha parse_hybrid_alpha(const std::string& name) {
  if (name == "square") return HybridAlpha::square;
  if (name == "parabola") return HybridAlpha::parabola;
  throw UsageError(fmt::format("--alpha must be square ((2A - 1)^2) or parabola (4A(1 - A)), "
                               "got '{}'", name));
}

std::string to_string(HybridAlpha alpha) {
  switch (alpha) {
    case HybridAlpha::square: return "square";
    case HybridAlpha::parabola: return "parabola";
    default: return "none";
  }
}

double hybrid_alpha(HybridAlpha kind, double a) {
  switch (kind) {
    case HybridAlpha::square: return (2.0 * a - 1.0) * (2.0 * a - 1.0);
    case HybridAlpha::parabola: return 4.0 * a * (1.0 - a);
    default: return 1.0;
  }
}

// Tuned on the demo task (x+y, p 31, d_model 64). The grokking paper's dt 3e-3 heated the
// replicas to 8-10 kT at beta 1000 and to 2-7 kT at beta 300 once ln L fell fast, and they
// lost the test accuracy they had reached. At dt 1.5e-3 the bias force at the start,
// 2 beta (1.2 - L0) = 18,400, brings them past 99% training accuracy in about 2,450 steps.
// About half that force left them near ln L 1.2 after 1,500 steps.
WandConfig wand_defaults() {
  WandConfig c;
  c.langevin.dt = 1.5e-3;
  c.grid.dims = 1;
  c.grid.x = GridAxis{-20.0, 0.02, 1300};
  c.grid.sigma_bins = 3.0;
  c.grid.bias.beta = 1000.0;
  c.grid.bias.l0 = -8.0;
  c.grid.schedule = WlSchedule{1.0, 1000, 0};
  c.grid.sharing = GridSharing::average;
  return c;
}

void wand_validate(const WandConfig& c) {
  langevin_validate(c.langevin);
  wl_grid_validate(c.grid);
}

Wand::Wand(ObservableSystem& system, const WandConfig& config, std::vector<uint64_t> seeds,
           Optimizer* adamw)
    : system_(system),
      config_(config),
      params_(system.parameter_count()),
      dynamics_(system.backend(), config.langevin, system.parameter_count(), seeds),
      grid_(system.backend(),
            [&] {
              // One grid per replica, never averaged: every replica is its own training run.
              WlGridConfig grid = config.grid;
              grid.dims = 1;
              grid.sharing = GridSharing::average;
              return grid;
            }(),
            system.walkers()),
      adamw_(adamw) {
  wand_validate(config_);
  GLASSY_CHECK(config_.alpha == HybridAlpha::none || adamw_ != nullptr,
               "the hybrid needs an AdamW optimizer");
  Backend& backend = system.backend();
  const int64_t replicas = system.walkers();
  grad_x_ = Buffer<float>(backend, replicas * params_);
  force_ = Buffer<ForceCoefficients>(backend, replicas);
  factors_ = Buffer<double>(backend, replicas);
  if (config_.alpha != HybridAlpha::none) {
    adamw_weights_ = Buffer<float>(backend, replicas * params_);
    adamw_grads_ = Buffer<float>(backend, replicas * params_);
  }
}

void Wand::start() { dynamics_.initialize_velocities(); }

// Takes the AdamW step from the same weights, then sets
// weights <- alpha WanD + (1 - alpha) AdamW. adamw_weights_ contains the pre-step weights,
// copied before the WanD update.
void Wand::blend_with_adamw(Buffer<float>& weights) {
  Backend& backend = system_.backend();
  const int64_t replicas = system_.walkers();
  std::vector<double> loss(replicas);
  for (int64_t r = 0; r < replicas; ++r) loss[r] = std::exp(last_.observations[r].x);
  factors_.upload(loss);
  backend.copy(adamw_grads_.data(), grad_x_.data(), grad_x_.bytes());
  backend.replica_scale(replicas, params_, adamw_grads_.data(), params_, factors_.data());
  adamw_->step(adamw_weights_, adamw_grads_);

  factors_.upload(last_.alpha);
  backend.replica_blend(replicas, params_, weights.data(), adamw_weights_.data(),
                        weights.data(), params_, factors_.data());
}

const WandStep& Wand::observe(const Buffer<float>& weights) {
  const bool hybrid = config_.alpha != HybridAlpha::none;
  last_.t = steps_done() + 1;
  system_.observe(weights.data(), hybrid, grad_x_.data(), nullptr, last_.observations);
  last_.alpha.assign(system_.walkers(), 1.0);
  if (hybrid) {
    for (std::size_t r = 0; r < last_.alpha.size(); ++r) {
      last_.alpha[r] = hybrid_alpha(config_.alpha, last_.observations[r].y);
    }
  }
  observed_ = true;
  return last_;
}

void Wand::update(Buffer<float>& weights) {
  GLASSY_CHECK(observed_, "Wand::update without observe()");
  observed_ = false;
  const bool hybrid = config_.alpha != HybridAlpha::none;
  std::vector<double> xs(last_.observations.size());
  for (std::size_t r = 0; r < xs.size(); ++r) xs[r] = last_.observations[r].x;
  // A NaN x is counted in range_counts(); its replica's gradient is NaN too, so the force
  // taken from the clamped bin cannot bring it back.
  grid_.lookup(xs, {}, force_.data());

  if (hybrid) system_.backend().copy(adamw_weights_.data(), weights.data(), weights.bytes());
  dynamics_.step(weights.data(), grad_x_.data(), nullptr, force_.data(), nullptr);
  if (hybrid) blend_with_adamw(weights);
  grid_.deposit(last_.t);
}

const WandStep& Wand::step(Buffer<float>& weights) {
  observe(weights);
  update(weights);
  return last_;
}

WandState Wand::save_state() const {
  WandState state;
  state.steps_done = steps_done();
  state.velocity = dynamics_.velocity().download();
  state.grids = grid_.all_grids();
  state.histogram = grid_.histogram();
  state.range_counts = grid_.range_counts();
  return state;
}

void Wand::load_state(const WandState& state) {
  // Every size is checked before anything is replaced, so a rejected state changes nothing.
  GLASSY_REQUIRE(state.steps_done >= 0, "the saved WanD state has steps_done {}; it must be "
                 "at least 0", state.steps_done);
  const std::size_t cells = std::size_t(grid_.cells());
  GLASSY_REQUIRE(state.velocity.size() == dynamics_.velocity().size() &&
                     state.grids.size() == std::size_t(grid_.grid_count()) * cells &&
                     state.histogram.size() == cells,
                 "the saved WanD state has {} velocities, {} grid values and {} histogram "
                 "cells; this run needs {}, {} and {}", state.velocity.size(),
                 state.grids.size(), state.histogram.size(), dynamics_.velocity().size(),
                 std::size_t(grid_.grid_count()) * cells, cells);
  dynamics_.restore(state.velocity, state.steps_done);
  grid_.restore(state.grids, state.histogram, state.range_counts);
  observed_ = false;
}

}  // namespace glassy
