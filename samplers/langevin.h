// Langevin dynamics of R walkers (docs/method.md, "Integrators"): the velocities, the step
// counter that keys the noise, Maxwell-Boltzmann initial velocities and the kinetic
// temperature. The force comes from the caller as coefficients times gradients, so the same
// dynamics serve WLMD, WanD and the thermostat tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "kernels/params.h"

namespace glassy {

struct LangevinConfig {
  Integrator integrator = Integrator::baoab;
  double dt = 1e-3;
  double friction = 0.1;  // c_f in (0, 1]: the fraction of velocity lost per step
  double kt = 1.0;
};

Integrator parse_integrator(const std::string& name);
std::string to_string(Integrator integrator);

// Throws UsageError for a setting outside its allowed range.
void langevin_validate(const LangevinConfig& config);

class LangevinDynamics {
public:
  // Walker r draws its noise and initial velocity from seeds[r].
  LangevinDynamics(Backend& backend, const LangevinConfig& config, int64_t params,
                   std::vector<uint64_t> seeds);

  const LangevinConfig& config() const { return config_; }
  int64_t walkers() const { return int64_t(seeds_.size()); }

  // Draws v ~ N(0, kT) per parameter from each walker's seed and resets the step counter.
  void initialize_velocities();

  // Advances every walker by one step under a = force.x grad_x + force.y grad_y.
  // weights, grad_x, grad_y: (R, P), grad_y may be null; force: (R) in backend memory;
  // bound: (P) reflective bounds in backend memory, or null for none.
  void step(float* weights, const float* grad_x, const float* grad_y,
            const ForceCoefficients* force, const float* bound);

  // <v^2> / kT of every walker, averaged over its parameters.
  std::vector<double> temperature();

  int64_t steps_done() const { return steps_done_; }
  Buffer<float>& velocity() { return velocity_; }
  const Buffer<float>& velocity() const { return velocity_; }
  // Restores velocities (R, P) and the step counter saved from velocity() and steps_done().
  void restore(const std::vector<float>& velocity, int64_t steps_done);

private:
  Backend& backend_;
  LangevinConfig config_;
  int64_t params_;
  std::vector<uint64_t> seeds_;
  Buffer<uint64_t> seeds_device_;  // (R)
  Buffer<float> velocity_;         // (R, P)
  Buffer<double> sums_;            // (R) scratch for the temperature
  int64_t steps_done_ = 0;
};

}  // namespace glassy
