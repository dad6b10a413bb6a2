// The interface the samplers move: R walkers' parameters (R, P) map to one or two observables
// x and y per walker and their gradients with respect to the parameters. The transformer on a
// task (x = ln L_train, y = smoothed test accuracy) and the analytic wells of the sampler
// tests implement it, so the samplers never know which system they drive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/parameters.h"

namespace glassy {

// One walker's observables and the diagnostics its system reports beside them (named by
// ObservableSystem::diagnostic_names, for logs and traces).
struct Observation {
  double x = 0.0;
  double y = 0.0;  // 0 when y was not requested
  std::vector<double> diagnostics;
};

class ObservableSystem {
public:
  virtual ~ObservableSystem() = default;

  virtual Backend& backend() = 0;
  virtual int64_t walkers() const = 0;
  virtual const ParameterLayout& layout() const = 0;
  int64_t parameter_count() const { return layout().size(); }

  // Writes every walker's initial parameters (R, P), walker r drawn from seeds[r].
  virtual void initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) = 0;

  // Short names of x and y for file headers, and of the diagnostics.
  virtual std::string x_name() const = 0;
  virtual std::string y_name() const = 0;
  virtual std::vector<std::string> diagnostic_names() const { return {}; }

  // Computes x (and y when with_y) of every walker for weights (R, P). grad_x and grad_y
  // (R, P, backend memory), when not null, are overwritten with dx/dc and dy/dc.
  virtual void observe(const float* weights, bool with_y, float* grad_x, float* grad_y,
                       std::vector<Observation>& out) = 0;
};

}  // namespace glassy
