// Tests of the Wang-Landau grid's walker ledger: each walker's own deposits and visits, kept
// beside the shared or averaged grid for uncertainties across walkers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "models/quadratic_well.h"
#include "samplers/langevin.h"
#include "samplers/wl_grid.h"

namespace glassy {
namespace {

// Runs 200 steps of `walkers` walkers on the two-block well and returns the grid's state with the
// walker ledger on.
struct LedgerRun {
  std::vector<double> grid;       // the walkers' common estimate (NX, NY)
  std::vector<double> bias;       // (NX, NY)
  std::vector<int64_t> histogram; // (NX, NY)
  std::vector<double> deposits;   // (R, NX, NY)
  std::vector<int64_t> visits;    // (R, NX, NY)
};

LedgerRun run_ledger(GridSharing sharing, int64_t walkers) {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  QuadraticWellConfig well_config;
  well_config.blocks = {6, 6};
  well_config.observable = WellObservable::log_energy;
  QuadraticWell well(*backend, well_config, walkers);
  std::vector<uint64_t> seeds;
  for (int64_t r = 0; r < walkers; ++r) seeds.push_back(100 + uint64_t(r));
  LangevinConfig langevin;
  langevin.dt = 0.01;
  LangevinDynamics dynamics(*backend, langevin, well.parameter_count(), seeds);
  dynamics.initialize_velocities();

  WlGridConfig config;
  config.x = grid_axis(-2.0, 4.0, 0.1, "--x-range");
  config.y = grid_axis(-2.0, 4.0, 0.1, "--y-range");
  config.schedule = WlSchedule{1.0, 50, 0};
  config.bias = WlBias{2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  config.sharing = sharing;
  config.walker_ledger = true;
  WlGrid grid(*backend, config, walkers);

  const int64_t p = well.parameter_count();
  Buffer<float> weights(*backend, walkers * p), grad_x(*backend, walkers * p),
      grad_y(*backend, walkers * p);
  Buffer<ForceCoefficients> force(*backend, walkers);
  well.initialize(weights, seeds);
  std::vector<Observation> observed;
  for (int64_t t = 1; t <= 200; ++t) {
    well.observe(weights.data(), true, grad_x.data(), grad_y.data(), observed);
    std::vector<double> xs, ys;
    for (const Observation& o : observed) {
      xs.push_back(o.x);
      ys.push_back(o.y);
    }
    grid.lookup(xs, ys, force.data());
    dynamics.step(weights.data(), grad_x.data(), grad_y.data(), force.data(), nullptr);
    grid.deposit(t);
    if (t % 50 == 0) grid.average();
  }
  return {grid.mean_grid(), grid.bias_values(), grid.histogram(), grid.walker_deposits(),
          grid.walker_visits()};
}

// The ledger splits the grid by walker: a shared grid is the bias plus the sum of the walkers'
// deposits, an averaged grid the bias plus their mean, and the visits add up to the histogram.
TEST_CASE("walker ledger adds up to the grid and the histogram", "[samplers]") {
  constexpr int64_t kWalkers = 3;
  for (const GridSharing sharing : {GridSharing::continuous, GridSharing::average}) {
    INFO("sharing " << to_string(sharing));
    const LedgerRun run = run_ledger(sharing, kWalkers);
    const int64_t cells = int64_t(run.grid.size());
    REQUIRE(int64_t(run.deposits.size()) == kWalkers * cells);
    const double weight = sharing == GridSharing::continuous ? 1.0 : 1.0 / kWalkers;
    double worst = 0.0, deposited = 0.0;
    int64_t visit_mismatches = 0, walkers_with_visits = 0;
    for (int64_t c = 0; c < cells; ++c) {
      double sum = 0.0;
      int64_t visits = 0;
      for (int64_t r = 0; r < kWalkers; ++r) {
        sum += run.deposits[r * cells + c];
        visits += run.visits[r * cells + c];
      }
      worst = std::max(worst, std::fabs(run.bias[c] + weight * sum - run.grid[c]));
      deposited += sum;
      visit_mismatches += visits != run.histogram[c];
    }
    for (int64_t r = 0; r < kWalkers; ++r) {
      int64_t own = 0;
      for (int64_t c = 0; c < cells; ++c) own += run.visits[r * cells + c];
      walkers_with_visits += own == 200;
    }
    CHECK(deposited > 10.0);
    CHECK(worst < 1e-9);
    CHECK(visit_mismatches == 0);
    CHECK(walkers_with_visits == kWalkers);
  }
}

}  // namespace
}  // namespace glassy
