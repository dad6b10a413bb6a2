// Analytic systems for validating the samplers: walkers in a quadratic well
// U_b = k |c_b|^2 / 2 over one or two blocks b of coordinates. x is U_0 or ln U_0, y is U_1 or
// ln U_1 of the second block. With x = ln U over d coordinates the entropy is exactly
// S(x) = (d / 2) x + const, which is what a correct Wang-Landau run must recover.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/buffer.h"
#include "engine/observables.h"

namespace glassy {

enum class WellObservable { energy, log_energy };

struct QuadraticWellConfig {
  std::vector<int64_t> blocks{10};  // coordinates per block: one block, or two for x and y
  double stiffness = 1.0;           // k
  WellObservable observable = WellObservable::log_energy;
  double init_std = 1.0;            // initial coordinates ~ N(0, init_std^2)
};

class QuadraticWell final : public ObservableSystem {
public:
  QuadraticWell(Backend& backend, const QuadraticWellConfig& config, int64_t walkers);

  Backend& backend() override { return backend_; }
  int64_t walkers() const override { return walkers_; }
  const ParameterLayout& layout() const override { return layout_; }
  void initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) override;
  std::string x_name() const override;
  std::string y_name() const override;
  void observe(const float* weights, bool with_y, float* grad_x, float* grad_y,
               std::vector<Observation>& out) override;

private:
  // Energies U_b (R) of one block, and its gradient into grad (R, P) when not null.
  std::vector<double> block_energy(const float* weights, int block, float* grad);

  Backend& backend_;
  QuadraticWellConfig config_;
  int64_t walkers_;
  ParameterLayout layout_;
  Buffer<double> sums_;     // (R)
  Buffer<double> factors_;  // (R)
};

}  // namespace glassy
