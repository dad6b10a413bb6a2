// WanD, the Wang-Landau optimizer (docs/method.md, "WanD"): one-dimensional WLMD on
// x = ln L_train with its own grid per replica, no bounds, no weight decay and no norm
// constraint. The grid starts as the bias beta (x - L0)^2 above L0, so the force
// -dS/dx grad ln L pulls every replica toward low loss. Deposits then keep it moving, and the
// step dt plays the role of the learning rate.
//
// The hybrid applies alpha * (WanD update) + (1 - alpha) * (AdamW update) per replica and step,
// both computed from the same weights, with alpha = (2 A - 1)^2 (square) or 4 A (1 - A)
// (parabola) of the smoothed test accuracy A. The velocities follow the WanD rule unblended.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/observables.h"
#include "samplers/langevin.h"
#include "samplers/optimizer.h"
#include "samplers/wl_grid.h"

namespace glassy {

enum class HybridAlpha { none, square, parabola };

HybridAlpha parse_hybrid_alpha(const std::string& name);
std::string to_string(HybridAlpha alpha);
// alpha of the hybrid for smoothed test accuracy a.
double hybrid_alpha(HybridAlpha kind, double a);

struct WandConfig {
  // The paper integrator at kT 0.5 and c_f 0.5, the x+y settings of the grokking paper
  // (Zhang et al., NeurIPS 2025). wand_defaults() sets dt.
  LangevinConfig langevin{Integrator::paper, 3e-3, 0.5, 0.5};
  WlGridConfig grid;      // dims is forced to 1; sharing to one grid per replica
  HybridAlpha alpha = HybridAlpha::none;
};

// Returns the WanD defaults: the grokking paper's kT 0.5 and c_f 0.5 with dt 1.5e-3, and a 1-D
// grid on ln L_train in [-20, 6) at 0.02 with beta 1000, L0 -8, F_WL 1, t_WL 1000, sigma 3
// bins. On the demo task (x+y, p 31, d_model 64) these train to ln L = L0 with at most a brief
// rise to a few kT, but memorize: the test accuracy stays near 0.56 up to 6,000 steps.
WandConfig wand_defaults();

// Throws UsageError for a setting outside its allowed range.
void wand_validate(const WandConfig& config);

// The measurements of one step, taken before its update.
struct WandStep {
  int64_t t = 0;
  std::vector<Observation> observations;  // (R): x = ln L_train, y = A_test for the hybrid
  std::vector<double> alpha;              // (R): the hybrid's WanD share, 1 without AdamW
};

// The complete state of a Wand apart from the weights and the hybrid's AdamW optimizer. A Wand
// with the same config, seeds and system that loads it continues bit for bit.
struct WandState {
  int64_t steps_done = 0;
  std::vector<float> velocity;     // (R, P)
  std::vector<double> grids;       // (R, NX): one 1-D grid per replica
  std::vector<int64_t> histogram;  // (NX): visits of all replicas
  RangeCounts range_counts;
};

class Wand {
public:
  // adamw is used by the hybrid only (config.alpha != none) and must then be given.
  Wand(ObservableSystem& system, const WandConfig& config, std::vector<uint64_t> seeds,
       Optimizer* adamw);

  // Draws Maxwell-Boltzmann velocities; t = 0.
  void start();
  // One step of every replica on weights (R, P): observe(), then update(). A replica whose
  // ln L_train is not a number is not stopped: its weights turn NaN, as under AdamW, and the
  // other replicas go on. The caller detects it from the observations.
  const WandStep& step(Buffer<float>& weights);
  // The first half of a step: x = ln L_train with its gradient (and A_test for the hybrid)
  // at weights (R, P), and the hybrid's alpha. Changes no state that save_state() returns.
  const WandStep& observe(const Buffer<float>& weights);
  // The second half: the grid lookup at the observed x, the Langevin update of weights
  // (blended with AdamW for the hybrid) and the deposit. Needs observe() at the same weights.
  void update(Buffer<float>& weights);

  // Copies the state out of backend memory, and replaces it with a saved one. load_state
  // throws UsageError when the sizes do not match this Wand's replicas, parameters and grid.
  WandState save_state() const;
  void load_state(const WandState& state);

  int64_t steps_done() const { return dynamics_.steps_done(); }
  const WandConfig& config() const { return config_; }
  std::vector<double> temperature() { return dynamics_.temperature(); }
  WlGrid& grid() { return grid_; }
  LangevinDynamics& dynamics() { return dynamics_; }

private:
  void blend_with_adamw(Buffer<float>& weights);

  ObservableSystem& system_;
  WandConfig config_;
  int64_t params_;
  LangevinDynamics dynamics_;
  WlGrid grid_;
  Optimizer* adamw_;
  Buffer<float> grad_x_;             // (R, P)
  Buffer<float> adamw_weights_;      // (R, P): the AdamW branch of the hybrid
  Buffer<float> adamw_grads_;        // (R, P): grad L = L grad ln L
  Buffer<ForceCoefficients> force_;  // (R)
  Buffer<double> factors_;           // (R)
  WandStep last_;
  bool observed_ = false;  // observe() ran since the last update()
};

}  // namespace glassy
