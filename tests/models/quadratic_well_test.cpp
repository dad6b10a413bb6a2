// The quadratic well's observables and gradients against central differences. The weights are
// multiples of 1/64 and the step is 2^-12, so every perturbed weight is exact in float and every
// energy is exact in double: the differences carry only the O(h^2) error of ln U.
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "models/quadratic_well.h"

namespace glassy {
namespace {

constexpr double kStep = 1.0 / 4096.0;

// Weights (R, P) of small dyadic values, different for every walker and never 0.
std::vector<float> dyadic_weights(int64_t walkers, int64_t params) {
  std::vector<float> weights(walkers * params);
  for (int64_t i = 0; i < walkers * params; ++i) {
    const int64_t numerator = (i * 37 + 11) % 97 - 48;
    weights[i] = float(double(numerator == 0 ? 5 : numerator) / 64.0);
  }
  return weights;
}

struct ObservedValues {
  std::vector<double> x, y;
};

// Runs observe() on host weights (R, P); fills the gradients when the pointers are not null.
ObservedValues observe(QuadraticWell& well, Backend& backend, const std::vector<float>& host,
                       bool with_y, std::vector<float>* grad_x, std::vector<float>* grad_y) {
  Buffer<float> weights(backend, host.size()), gx(backend, host.size()), gy(backend, host.size());
  weights.upload(host);
  std::vector<Observation> out;
  well.observe(weights.data(), with_y, grad_x ? gx.data() : nullptr,
               grad_y ? gy.data() : nullptr, out);
  if (grad_x) *grad_x = gx.download();
  if (grad_y) *grad_y = gy.download();
  ObservedValues values;
  for (const Observation& o : out) {
    values.x.push_back(o.x);
    values.y.push_back(o.y);
  }
  return values;
}

// U_b = k / 2 sum of squares over block b of walker r, in double.
double block_energy(const std::vector<float>& w, int64_t r, int64_t params, int64_t begin,
                    int64_t size, double stiffness) {
  double sum = 0.0;
  for (int64_t i = begin; i < begin + size; ++i) {
    sum += double(w[r * params + i]) * double(w[r * params + i]);
  }
  return 0.5 * stiffness * sum;
}

struct WellCase {
  std::vector<int64_t> blocks;
  WellObservable observable;
};

TEST_CASE("quadratic well gradients match central differences", "[models][grad]") {
  const WellCase cases[] = {
      {{7}, WellObservable::energy},
      {{7}, WellObservable::log_energy},
      {{5, 3}, WellObservable::energy},
      {{5, 3}, WellObservable::log_energy},
  };
  constexpr int64_t kWalkers = 3;
  constexpr double kStiffness = 1.7;
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);

  for (const WellCase& c : cases) {
    const bool log = c.observable == WellObservable::log_energy;
    const bool with_y = c.blocks.size() == 2;
    INFO((log ? "ln U" : "U") << " over " << c.blocks.size() << " block(s)");
    QuadraticWellConfig config;
    config.blocks = c.blocks;
    config.stiffness = kStiffness;
    config.observable = c.observable;
    QuadraticWell well(*backend, config, kWalkers);
    const int64_t p = well.parameter_count();
    const std::vector<float> weights = dyadic_weights(kWalkers, p);

    std::vector<float> grad_x, grad_y;
    const ObservedValues base =
        observe(well, *backend, weights, with_y, &grad_x, with_y ? &grad_y : nullptr);

    // The observables themselves.
    for (int64_t r = 0; r < kWalkers; ++r) {
      const double u0 = block_energy(weights, r, p, 0, c.blocks[0], kStiffness);
      CHECK(base.x[r] == Approx(log ? std::log(u0) : u0).epsilon(1e-14));
      if (!with_y) continue;
      const double u1 = block_energy(weights, r, p, c.blocks[0], c.blocks[1], kStiffness);
      CHECK(base.y[r] == Approx(log ? std::log(u1) : u1).epsilon(1e-14));
    }

    // Every parameter of every walker, one at a time.
    for (int64_t r = 0; r < kWalkers; ++r) {
      for (int64_t i = 0; i < p; ++i) {
        INFO("walker " << r << ", parameter " << i);
        std::vector<float> plus = weights, minus = weights;
        plus[r * p + i] += float(kStep);
        minus[r * p + i] -= float(kStep);
        const ObservedValues up = observe(well, *backend, plus, with_y, nullptr, nullptr);
        const ObservedValues down = observe(well, *backend, minus, with_y, nullptr, nullptr);
        const double dx = (up.x[r] - down.x[r]) / (2.0 * kStep);
        CHECK(double(grad_x[r * p + i]) == Approx(dx).epsilon(1e-6).margin(1e-12));
        if (!with_y) continue;
        const double dy = (up.y[r] - down.y[r]) / (2.0 * kStep);
        CHECK(double(grad_y[r * p + i]) == Approx(dy).epsilon(1e-6).margin(1e-12));
      }
    }
  }
}

}  // namespace
}  // namespace glassy
