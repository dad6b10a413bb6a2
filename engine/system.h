// The system interface: what a sampler or optimizer needs from the thing it moves. A system
// owns R replicas' worth of scratch, maps a (R, P) parameter buffer to per-replica observables
// on its data splits, and returns the gradient of any linear combination of them. The
// transformer on a task implements it in models/; samplers use only this interface, so they
// run unchanged on analytic test systems.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/parameters.h"
#include "kernels/params.h"

namespace glassy {

enum class DataSplit { train, test };

class System {
public:
  virtual ~System() = default;

  virtual Backend& backend() = 0;
  virtual int64_t replicas() const = 0;
  virtual const ParameterLayout& layout() const = 0;
  int64_t parameter_count() const { return layout().size(); }

  // Writes every replica's initial parameters (R, P), replica r drawn from seeds[r].
  virtual void initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) = 0;

  // Fills stats (R) for the replicas' weights (R, P) on one split. When objectives (R, host
  // memory) is given, also overwrites gradient (R, P) with d objective / d weights.
  virtual void evaluate(DataSplit split, const float* weights,
                        const std::vector<LossObjective>* objectives, float* gradient,
                        std::vector<LossStats>& stats) = 0;

  // Floating-point operations of one evaluation with gradient on the split, for throughput.
  virtual double gradient_flops(DataSplit split) const = 0;
};

}  // namespace glassy
