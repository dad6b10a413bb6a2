// Langevin dynamics of R walkers: the host side of the fused langevin_step kernel.
#include "samplers/langevin.h"

#include <cmath>

#include "engine/error.h"
#include "kernels/philox.h"

namespace glassy {

Integrator parse_integrator(const std::string& name) {
  if (name == "baoab") return Integrator::baoab;
  if (name == "paper") return Integrator::paper;
  throw UsageError(fmt::format("--integrator must be baoab or paper, got '{}'", name));
}

std::string to_string(Integrator integrator) {
  return integrator == Integrator::baoab ? "baoab" : "paper";
}

void langevin_validate(const LangevinConfig& c) {
  GLASSY_REQUIRE(std::isfinite(c.dt) && c.dt > 0.0, "--dt must be a positive number, got {}",
                 c.dt);
  GLASSY_REQUIRE(std::isfinite(c.friction) && c.friction > 0.0 && c.friction <= 1.0,
                 "--friction (c_f) must be in (0, 1], got {}; 1 draws a fresh velocity every "
                 "step, small values keep momentum",
                 c.friction);
  GLASSY_REQUIRE(std::isfinite(c.kt) && c.kt > 0.0, "--kt must be a positive number, got {}",
                 c.kt);
}

LangevinDynamics::LangevinDynamics(Backend& backend, const LangevinConfig& config,
                                   int64_t params, std::vector<uint64_t> seeds)
    : backend_(backend), config_(config), params_(params), seeds_(std::move(seeds)) {
  langevin_validate(config_);
  const int64_t walkers = int64_t(seeds_.size());
  seeds_device_ = Buffer<uint64_t>(backend, walkers);
  seeds_device_.upload(seeds_);
  velocity_ = Buffer<float>(backend, walkers * params_);
  sums_ = Buffer<double>(backend, walkers);
}

void LangevinDynamics::initialize_velocities() {
  const double scale = std::sqrt(config_.kt);
  std::vector<float> host(walkers() * params_);
  for (int64_t r = 0; r < walkers(); ++r) {
    random_normal_fill(host.data() + r * params_, uint64_t(params_), seeds_[r], 0,
                       RandomPurpose::velocity, 0, scale);
  }
  velocity_.upload(host);
  steps_done_ = 0;
}

void LangevinDynamics::step(float* weights, const float* grad_x, const float* grad_y,
                            const ForceCoefficients* force, const float* bound) {
  LangevinParams p;
  p.replicas = walkers();
  p.params = params_;
  p.integrator = config_.integrator;
  p.weights = weights;
  p.velocity = velocity_.data();
  p.grad_x = grad_x;
  p.grad_y = grad_y;
  p.force = force;
  p.bound = bound;
  p.seeds = seeds_device_.data();
  p.dt = config_.dt;
  p.friction = config_.friction;
  p.kt = config_.kt;
  // The first BAOAB step has no closing half kick of a previous step to merge with.
  p.kick_scale = steps_done_ == 0 ? 0.5 : 1.0;
  p.step = uint64_t(steps_done_);
  backend_.langevin_step(p);
  ++steps_done_;
}

std::vector<double> LangevinDynamics::temperature() {
  backend_.replica_sum_squares(walkers(), params_, velocity_.data(), params_, sums_.data());
  std::vector<double> sums = sums_.download();
  for (double& s : sums) s /= double(params_) * config_.kt;
  return sums;
}

void LangevinDynamics::restore(const std::vector<float>& velocity, int64_t steps_done) {
  GLASSY_REQUIRE(int64_t(velocity.size()) == walkers() * params_,
                 "the saved velocities hold {} values; this run needs {} walkers x {} "
                 "parameters",
                 velocity.size(), walkers(), params_);
  velocity_.upload(velocity);
  steps_done_ = steps_done;
}

}  // namespace glassy
