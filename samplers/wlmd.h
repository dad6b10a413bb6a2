// Wang-Landau molecular dynamics of R walkers on any ObservableSystem (docs/method.md). Each
// step observes x (and y) and looks up the force -grad S on the walkers' grids. It then
// advances the Langevin dynamics, applies the bounds or the norm shell, and deposits f_WL(t)
// at the bin measured before the update. With GridSharing::average the walker grids are
// averaged every K steps. With GridSharing::continuous all walkers deposit into one grid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/checkpoint.h"
#include "engine/error.h"
#include "engine/observables.h"
#include "samplers/langevin.h"
#include "samplers/wl_grid.h"

namespace glassy {

enum class Constraint { none, bounds, shell };

Constraint parse_constraint(const std::string& name);
std::string to_string(Constraint constraint);

struct WlmdConfig {
  LangevinConfig langevin;
  WlGridConfig grid;
  int64_t average_every = 1000;  // K, for GridSharing::average
  Constraint constraint = Constraint::bounds;
  double shell_norm = 30.0;      // the global weight norm of Constraint::shell
};

// Throws UsageError for a setting outside its allowed range.
void wlmd_validate(const WlmdConfig& config);

// Thrown when a walker's observable leaves the grid under OutOfRangePolicy::stop, or is not a
// number under either policy. The sampler state is that of the start of the failed step.
class SamplerStop : public Error {
public:
  using Error::Error;
};

// The measurements of one step, taken before its update.
struct WlmdStep {
  int64_t t = 0;                          // the step's index, counting from 1
  std::vector<Observation> observations;  // (R)
  std::vector<int32_t> flags;             // (R) GridRangeFlag bits
};

class Wlmd {
public:
  // Walker r draws its noise and velocities from seeds[r].
  Wlmd(ObservableSystem& system, const WlmdConfig& config, std::vector<uint64_t> seeds);

  // Sets the reflective bound of every parameter (P) for Constraint::bounds.
  void set_bounds(const std::vector<float>& bounds);
  // Places the walkers at weights (R, P), draws Maxwell-Boltzmann velocities and sets t = 0.
  // Throws UsageError when a weight lies outside its bound.
  void start(const std::vector<float>& weights);

  const WlmdStep& step();

  int64_t steps_done() const { return dynamics_.steps_done(); }
  const WlmdStep& last_step() const { return last_; }
  std::vector<double> temperature() { return dynamics_.temperature(); }
  std::vector<double> weight_norm();
  WlGrid& grid() { return grid_; }
  const WlGrid& grid() const { return grid_; }
  Buffer<float>& weights() { return weights_; }
  const WlmdConfig& config() const { return config_; }

  // Writes and reads the whole state (weights, velocities, grids, histogram, counters) as a
  // checkpoint directory (engine/checkpoint.h); a loaded sampler continues bit for bit. The
  // caller may store its own arrays in the same checkpoint (extra), and load returns them.
  void save(const std::string& path, const std::vector<CheckpointArray>& extra = {}) const;
  Checkpoint load(const std::string& path);

private:
  void check_range(const WlmdStep& step) const;
  void apply_shell();

  ObservableSystem& system_;
  WlmdConfig config_;
  int64_t params_;
  LangevinDynamics dynamics_;
  WlGrid grid_;
  Buffer<float> weights_;           // (R, P)
  Buffer<float> grad_x_, grad_y_;   // (R, P)
  Buffer<ForceCoefficients> force_; // (R)
  Buffer<float> bounds_;            // (P), empty without Constraint::bounds
  Buffer<double> norms_;            // (R)
  WlmdStep last_;
};

}  // namespace glassy
