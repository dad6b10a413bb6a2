// Tests of the Wang-Landau grid. The lookup and deposit tests use the full-size grid: both axes
// on [-20, 20) at width 0.02, accuracy stored as 10 A, and a deposit sigma of 15 bins. Further
// tests cover the averaging of walker grids and the schedule f_WL(t).
// The kernel tests surround the grid with guard cells that expose reads and writes outside it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "kernels/grid_index.h"
#include "models/quadratic_well.h"
#include "samplers/langevin.h"
#include "samplers/wl_grid.h"
#include "tests/support/numbers.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::bitwise_equal;
using test::ThreadCountGuard;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The full-size axis: 2000 bins of width 0.02 from -20.
GridAxis wide_axis() { return grid_axis(-20.0, 20.0, 0.02, "--x-range"); }

// The share of a Gaussian stencil (sigma in bins, cut at 4 sigma, normalized over the full
// stencil) that stays inside the grid when it is centred on the first bin:
// (1 + H) / (1 + 2 H) with H = sum_{k=1}^{radius} exp(-k^2 / (2 sigma^2)). Summed in long
// double, independently of wl_stencil.
double edge_share(double sigma) {
  const int radius = int(std::floor(4.0 * sigma));
  long double tail = 0.0L;
  for (int k = 1; k <= radius; ++k) {
    tail += std::exp(-(long double)(k * k) / (2.0L * sigma * sigma));
  }
  return double((1.0L + tail) / (1.0L + 2.0L * tail));
}

// A grid (NX, NY) in backend memory with `guard` cells of a fixed value on each side. NaN
// guards expose reads, because any force computed from one is NaN. Zero guards expose writes,
// because a deposit leaves NaN unchanged but makes a zero cell positive.
struct GuardedGrid {
  int64_t cells;
  int64_t guard;
  double guard_value;
  Buffer<double> storage;

  GuardedGrid(Backend& backend, int64_t grid_cells, int64_t guard_cells,
              const std::vector<double>& values, double guard_fill)
      : cells(grid_cells), guard(guard_cells), guard_value(guard_fill),
        storage(backend, grid_cells + 2 * guard_cells) {
    std::vector<double> host(storage.size(), guard_value);
    std::copy(values.begin(), values.end(), host.begin() + guard);
    storage.upload(host);
  }
  double* grid() { return storage.data() + guard; }
  std::vector<double> values() const {
    const std::vector<double> host = storage.download();
    return {host.begin() + guard, host.begin() + guard + cells};
  }
  // Counts the guard cells whose bits differ from the guard value.
  int64_t touched_guards() const {
    const std::vector<double> host = storage.download();
    int64_t touched = 0;
    for (int64_t i = 0; i < int64_t(host.size()); ++i) {
      if (i >= guard && i < guard + cells) continue;
      touched += std::memcmp(&host[i], &guard_value, sizeof(double)) != 0;
    }
    return touched;
  }
};

// Per-walker buffers of the grid kernels, in backend memory.
struct WalkerBuffers {
  Buffer<double> x, y;
  Buffer<int64_t> bin;
  Buffer<int32_t> flags;
  Buffer<ForceCoefficients> force;

  WalkerBuffers(Backend& backend, const std::vector<double>& xs, const std::vector<double>& ys)
      : x(backend, xs.size()), y(backend, ys.size()), bin(backend, xs.size()),
        flags(backend, xs.size()), force(backend, xs.size()) {
    x.upload(xs);
    if (!ys.empty()) y.upload(ys);
  }
};

TEST_CASE("grid axis of 0.02 bins follows one floor rule", "[samplers]") {
  const GridAxis axis = wide_axis();
  CHECK(axis.lo == -20.0);
  CHECK(axis.width == 0.02);
  CHECK(axis.bins == 2000);

  // -19.98 is the edge between bins 0 and 1, but (-19.98 + 20) / 0.02 = 0.99999999999998 in
  // double, so the floor rule puts it in bin 0. Every part of glassy must agree.
  int32_t flags = 0;
  CHECK(grid_bin(axis, -19.98, kGridXLow, kGridXHigh, flags) == 0);
  CHECK(flags == 0);

  int64_t mismatches = 0;
  for (int64_t i = 0; i < axis.bins; ++i) {
    mismatches += grid_bin(axis, grid_bin_centre(axis, i), kGridXLow, kGridXHigh, flags) != i;
  }
  CHECK(mismatches == 0);
  CHECK(flags == 0);
}

// One walker of the lookup table: the observables and the expected bins and flags.
struct LookupCase {
  double x;
  double accuracy;  // stored on the y axis as 10 * accuracy
  int64_t ix, iy;
  int32_t flags;
};

const std::vector<LookupCase>& lookup_cases() {
  static const std::vector<LookupCase> cases = {
      {-25.0, 0.5, 0, 1250, kGridXLow},
      {-kInf, 1.0, 0, 1500, kGridXLow},
      {kNaN, 0.5, 0, 1250, kGridNotANumber},
      {20.05, 0.5, 1999, 1250, kGridXHigh},
      {20.0, 0.5, 1999, 1250, kGridXHigh},  // the range is [-20, 20)
      {kInf, -kInf, 1999, 0, kGridXHigh | kGridYLow},
      {-19.98, kNaN, 0, 0, kGridNotANumber},
      {0.0, 2.5, 1000, 1999, kGridYHigh},
      {19.99, 1.0, 1999, 1500, 0},
      {0.0, 1.0, 1000, 1500, 0},
  };
  return cases;
}

// dS/d(bin) of S(i) = a i^2 at bin i of an axis with n bins, by the rule of the lookup: one
// bin forward at 0, one bin back at n - 1, central elsewhere.
double quadratic_slope(double a, int64_t i, int64_t n) {
  if (i == 0) return a;
  if (i == n - 1) return a * double(2 * n - 3);
  return a * 2.0 * double(i);
}

TEST_CASE("grid lookup flags and clamps at edges", "[samplers]") {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  const GridAxis axis = wide_axis();
  const int64_t n = axis.bins;
  const double a_x = 1e-3, a_y = 2e-3;
  std::vector<double> values(n * n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) values[i * n + j] = a_x * i * i + a_y * j * j;
  }
  GuardedGrid grid(*backend, n * n, 2 * n, values, kNaN);

  std::vector<double> xs, ys;
  for (const LookupCase& c : lookup_cases()) {
    xs.push_back(c.x);
    ys.push_back(c.accuracy);
  }
  WalkerBuffers walkers(*backend, xs, ys);
  WangLandauParams p;
  p.walkers = int64_t(xs.size());
  p.x_axis = axis;
  p.y_axis = axis;
  p.grids = grid.grid();
  p.x = walkers.x.data();
  p.y = walkers.y.data();
  p.y_scale = 10.0;
  p.bin = walkers.bin.data();
  p.flags = walkers.flags.data();
  p.force = walkers.force.data();
  backend->wl_lookup(p);

  const std::vector<int64_t> bins = walkers.bin.download();
  const std::vector<int32_t> flags = walkers.flags.download();
  const std::vector<ForceCoefficients> force = walkers.force.download();
  for (std::size_t r = 0; r < xs.size(); ++r) {
    const LookupCase& c = lookup_cases()[r];
    INFO("x " << c.x << ", accuracy " << c.accuracy);
    CHECK(bins[r] / n == c.ix);
    CHECK(bins[r] % n == c.iy);
    CHECK(flags[r] == c.flags);
    CHECK(std::isfinite(force[r].x));
    CHECK(std::isfinite(force[r].y));
    // Cells hold up to 8000, so a difference carries an absolute rounding error near 1e-12,
    // or 1e-10 after the division by the width.
    const double slope_x = quadratic_slope(a_x, c.ix, n) / axis.width;
    CHECK(force[r].x == Approx(-slope_x).margin(1e-9));
    const double slope_y = quadratic_slope(a_y, c.iy, n) / axis.width;
    CHECK(force[r].y == Approx(-10.0 * slope_y).margin(1e-8));
  }
}

TEST_CASE("grid counts out-of-range lookups per side", "[samplers]") {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  WlGridConfig config;
  config.dims = 2;
  config.x = wide_axis();
  config.y = wide_axis();
  config.y_scale = 10.0;
  config.sigma_bins = 15.0;
  config.sharing = GridSharing::continuous;
  std::vector<double> xs, ys;
  for (const LookupCase& c : lookup_cases()) {
    xs.push_back(c.x);
    ys.push_back(c.accuracy);
  }
  WlGrid grid(*backend, config, int64_t(xs.size()));
  Buffer<ForceCoefficients> force(*backend, xs.size());

  for (int64_t pass = 1; pass <= 2; ++pass) {
    const std::vector<int32_t> flags = grid.lookup(xs, ys, force.data());
    CHECK(grid.range_counts().total() == 9 * (pass - 1));  // lookup alone counts nothing
    grid.count_out_of_range(flags);
    for (std::size_t r = 0; r < xs.size(); ++r) CHECK(flags[r] == lookup_cases()[r].flags);
    const RangeCounts& counts = grid.range_counts();
    INFO("after pass " << pass);
    CHECK(counts.x_low == 2 * pass);
    CHECK(counts.x_high == 3 * pass);
    CHECK(counts.y_low == 1 * pass);
    CHECK(counts.y_high == 1 * pass);
    CHECK(counts.not_a_number == 2 * pass);
    CHECK(counts.total() == 9 * pass);
  }
}

// Sums the cells of a grid.
double total(const std::vector<double>& values) {
  double sum = 0.0;
  for (const double v : values) sum += v;
  return sum;
}

TEST_CASE("deposit at a 1-D edge keeps its in-grid share", "[samplers]") {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  const GridAxis axis = wide_axis();
  const std::vector<double> stencil = wl_stencil(15.0);
  const int radius = int(stencil.size() / 2);
  REQUIRE(radius == 60);
  const double share = edge_share(15.0);
  std::printf("1-D edge share of a sigma-15 deposit: %.10f\n", share);
  CHECK(share == Approx(0.5133).margin(5e-5));

  // -19.98 falls in bin 0 and 25 is clamped to bin 1999: one walker at each edge.
  const double amount = 2.5;
  for (const double x : {-19.98, 25.0}) {
    INFO("x " << x);
    GuardedGrid grid(*backend, axis.bins, radius + 1, std::vector<double>(axis.bins), 0.0);
    Buffer<double> stencil_x(*backend, stencil.size());
    stencil_x.upload(stencil);
    Buffer<int64_t> histogram(*backend, axis.bins);
    WalkerBuffers walkers(*backend, {x}, {});
    WangLandauParams p;
    p.walkers = 1;
    p.x_axis = axis;
    p.y_axis = GridAxis{0.0, 1.0, 1};
    p.grids = grid.grid();
    p.histogram = histogram.data();
    p.x = walkers.x.data();
    p.bin = walkers.bin.data();
    p.flags = walkers.flags.data();
    p.force = walkers.force.data();
    p.stencil_x = stencil_x.data();
    p.radius_x = radius;
    p.amount = amount;
    backend->wl_lookup(p);
    backend->wl_deposit(p);

    const int64_t bin = walkers.bin.download()[0];
    CHECK(bin == (x < 0.0 ? 0 : axis.bins - 1));
    CHECK(total(grid.values()) == Approx(amount * share).epsilon(1e-12));
    CHECK(grid.touched_guards() == 0);
    CHECK(histogram.download()[bin] == 1);
  }
}

TEST_CASE("deposit at a 2-D corner keeps its in-grid share", "[samplers]") {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  const GridAxis axis = wide_axis();
  const int64_t n = axis.bins;
  const std::vector<double> stencil = wl_stencil(15.0);
  const int radius = int(stencil.size() / 2);
  const double share = edge_share(15.0) * edge_share(15.0);
  std::printf("2-D corner share of a sigma-15 deposit: %.10f\n", share);
  CHECK(share == Approx(0.2635).margin(5e-5));

  // Two walkers share one grid: one below both axes, one above both.
  GuardedGrid grid(*backend, n * n, (radius + 1) * (n + 1), std::vector<double>(n * n), 0.0);
  Buffer<double> stencil_buffer(*backend, stencil.size());
  stencil_buffer.upload(stencil);
  Buffer<int64_t> histogram(*backend, n * n);
  WalkerBuffers walkers(*backend, {-25.0, kInf}, {-kInf, 3.0});
  WangLandauParams p;
  p.walkers = 2;
  p.x_axis = axis;
  p.y_axis = axis;
  p.grids = grid.grid();
  p.grid_stride = 0;
  p.histogram = histogram.data();
  p.x = walkers.x.data();
  p.y = walkers.y.data();
  p.y_scale = 10.0;
  p.bin = walkers.bin.data();
  p.flags = walkers.flags.data();
  p.force = walkers.force.data();
  p.stencil_x = stencil_buffer.data();
  p.radius_x = radius;
  p.stencil_y = stencil_buffer.data();
  p.radius_y = radius;
  p.amount = 1.0;
  backend->wl_lookup(p);
  backend->wl_deposit(p);

  const std::vector<int64_t> bins = walkers.bin.download();
  CHECK(bins[0] == 0);
  CHECK(bins[1] == n * n - 1);
  const std::vector<double> values = grid.values();
  double low_corner = 0.0, high_corner = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) (i < n / 2 ? low_corner : high_corner) += values[i * n + j];
  }
  CHECK(low_corner == Approx(share).epsilon(1e-12));
  CHECK(high_corner == Approx(share).epsilon(1e-12));
  CHECK(grid.touched_guards() == 0);
  const std::vector<int64_t> visits = histogram.download();
  CHECK(visits[0] == 1);
  CHECK(visits[n * n - 1] == 1);
}

// The coarse grid of small runs: x on [-20, 6) at 0.1, y on [-0.2, 1.2) at 0.02, sigma 2 bins,
// with a bias above L0 = -8 and outside y in [0, 1], and f_WL(1) = 1.
WlGridConfig coarse_config(GridSharing sharing) {
  WlGridConfig config;
  config.dims = 2;
  config.x = grid_axis(-20.0, 6.0, 0.1, "--x-range");
  config.y = grid_axis(-0.2, 1.2, 0.02, "--y-range");
  config.sigma_bins = 2.0;
  config.bias.beta = 0.5;
  config.bias.l0 = -8.0;
  config.bias.y_beta = 3.0;
  config.bias.y_lo = 0.0;
  config.bias.y_hi = 1.0;
  config.schedule = WlSchedule{1.0, 1, 0};
  config.sharing = sharing;
  return config;
}

TEST_CASE("averaged walker grids count each deposit once", "[samplers]") {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  const WlGridConfig config = coarse_config(GridSharing::average);
  constexpr int kWalkers = 8;
  WlGrid grid(*backend, config, kWalkers);
  REQUIRE(grid.grid_count() == kWalkers);
  const int64_t ny = config.y.bins;
  const std::vector<double> bias = grid.bias_values();
  const std::vector<double> stencil = wl_stencil(config.sigma_bins);
  const int radius = int(stencil.size() / 2);

  // Walkers 0-6 sit at bin centres well inside the grid. Walker 7 lies below the x range and is
  // clamped to x bin 0, so only part of its stencil lands inside.
  std::vector<int64_t> ix(kWalkers), iy(kWalkers);
  std::vector<double> xs(kWalkers), ys(kWalkers);
  for (int r = 0; r < kWalkers; ++r) {
    ix[r] = r < kWalkers - 1 ? 50 + 20 * r : 0;
    iy[r] = 10 + 5 * r;
    xs[r] = r < kWalkers - 1 ? grid_bin_centre(config.x, ix[r]) : -25.0;
    ys[r] = grid_bin_centre(config.y, iy[r]);
  }
  Buffer<ForceCoefficients> force(*backend, kWalkers);
  grid.lookup(xs, ys, force.data());
  grid.deposit(1);

  // (1/R) sum_r of every walker's stencil, the added mass the average must hold.
  std::vector<double> expected(grid.cells(), 0.0);
  for (int r = 0; r < kWalkers; ++r) {
    for (int di = -radius; di <= radius; ++di) {
      for (int dj = -radius; dj <= radius; ++dj) {
        const int64_t i = ix[r] + di, j = iy[r] + dj;
        if (i < 0 || i >= config.x.bins || j < 0 || j >= ny) continue;
        expected[i * ny + j] += stencil[di + radius] * stencil[dj + radius] / kWalkers;
      }
    }
  }
  const double share = (kWalkers - 1 + edge_share(config.sigma_bins)) / kWalkers;

  // Before averaging, each walker's grid contains its own deposit only.
  for (int r = 0; r < kWalkers; ++r) {
    const std::vector<double> values = grid.grid(r);
    double added = 0.0;
    for (int64_t c = 0; c < grid.cells(); ++c) added += values[c] - bias[c];
    const double own = r < kWalkers - 1 ? 1.0 : edge_share(config.sigma_bins);
    CHECK(added == Approx(own).epsilon(1e-9));
  }

  grid.average();
  const std::vector<double> averaged = grid.all_grids();
  std::vector<double> first(averaged.begin(), averaged.begin() + grid.cells());
  double added = 0.0;
  double worst_cell = 0.0;
  int64_t bias_changed = 0;
  for (int64_t c = 0; c < grid.cells(); ++c) {
    added += first[c] - bias[c];
    worst_cell = std::max(worst_cell, std::fabs(first[c] - bias[c] - expected[c]));
    // Cells that no stencil reaches keep the bias itself, bit for bit.
    if (expected[c] == 0.0) bias_changed += first[c] != bias[c];
  }
  std::printf("added mass after averaging %d walkers: %.15f, expected %.15f\n", kWalkers, added,
              share);
  CHECK(added == Approx(share).epsilon(1e-9));
  CHECK(worst_cell < 1e-12);
  CHECK(bias_changed == 0);
  for (int g = 1; g < kWalkers; ++g) {
    INFO("walker grid " << g);
    CHECK(bitwise_equal(grid.grid(g), first));
  }

  // Averaging identical grids again changes no bit.
  grid.average();
  CHECK(bitwise_equal(grid.all_grids(), averaged));

  const std::vector<int64_t> visits = grid.histogram();
  int64_t visit_total = 0;
  for (const int64_t v : visits) visit_total += v;
  CHECK(visit_total == kWalkers);
}

// The state at the end of a Wang-Landau run: grids (G, NX, NY), histogram and weights (R, P).
struct WellRun {
  std::vector<double> grids;
  std::vector<int64_t> histogram;
  std::vector<float> weights;
};

// Runs 300 steps of a one-walker Wang-Landau loop on a two-block quadratic well, averaging the
// grids every 100 steps.
WellRun run_one_walker(GridSharing sharing) {
  const ThreadCountGuard one_thread(1);
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  QuadraticWellConfig well_config;
  well_config.blocks = {6, 6};
  well_config.observable = WellObservable::log_energy;
  QuadraticWell well(*backend, well_config, 1);
  const std::vector<uint64_t> seeds = {77};

  LangevinConfig langevin;
  langevin.dt = 0.01;
  langevin.friction = 0.1;
  LangevinDynamics dynamics(*backend, langevin, well.parameter_count(), seeds);
  dynamics.initialize_velocities();

  WlGridConfig config;
  config.dims = 2;
  config.x = grid_axis(-2.0, 4.0, 0.1, "--x-range");
  config.y = grid_axis(-2.0, 4.0, 0.1, "--y-range");
  config.sigma_bins = 2.0;
  config.schedule = WlSchedule{1.0, 50, 0};
  config.sharing = sharing;
  WlGrid grid(*backend, config, 1);

  const int64_t p = well.parameter_count();
  Buffer<float> weights(*backend, p), grad_x(*backend, p), grad_y(*backend, p);
  Buffer<ForceCoefficients> force(*backend, 1);
  well.initialize(weights, seeds);
  std::vector<Observation> observed;
  for (int64_t t = 1; t <= 300; ++t) {
    well.observe(weights.data(), true, grad_x.data(), grad_y.data(), observed);
    grid.lookup({observed[0].x}, {observed[0].y}, force.data());
    dynamics.step(weights.data(), grad_x.data(), grad_y.data(), force.data(), nullptr);
    grid.deposit(t);
    if (t % 100 == 0) grid.average();
  }
  return {grid.all_grids(), grid.histogram(), weights.download()};
}

TEST_CASE("one walker averaging equals continuous sharing", "[samplers]") {
  const WellRun averaged = run_one_walker(GridSharing::average);
  const WellRun shared = run_one_walker(GridSharing::continuous);
  CHECK(bitwise_equal(averaged.grids, shared.grids));
  CHECK(bitwise_equal(averaged.histogram, shared.histogram));
  CHECK(bitwise_equal(averaged.weights, shared.weights));

  // The run deposited on every step and the grid is no longer flat.
  int64_t visits = 0;
  for (const int64_t v : shared.histogram) visits += v;
  CHECK(visits == 300);
  CHECK(total(shared.grids) > 0.0);
}

// f_WL(t) at the points where a resumed run must pick the schedule up, against the values
// F t / t_WL and F t_P / t written out in long double.
TEST_CASE("schedule values mid-ramp and mid-decay", "[samplers]") {
  const WlSchedule plain{20.0, 300000, 0};
  const WlSchedule plateau{20.0, 300000, 2000000};

  CHECK(plain.amount(150001) == Approx(10.000066666666667).epsilon(1e-15));
  CHECK(plain.amount(2500001) == Approx(2.399999040000384).epsilon(1e-15));
  CHECK(plateau.amount(2500001) == Approx(15.99999360000256).epsilon(1e-15));
  CHECK(plain.amount(150001) == Approx(double(20.0L * 150001 / 300000)).epsilon(1e-15));
  CHECK(plain.amount(2500001) == Approx(double(20.0L * 300000 / 2500001)).epsilon(1e-15));
  CHECK(plateau.amount(2500001) == Approx(double(20.0L * 2000000 / 2500001)).epsilon(1e-15));

  // The ramp, the plateau and the decay meet without a jump.
  CHECK(plain.amount(1) == Approx(20.0 / 300000).epsilon(1e-15));
  CHECK(plain.amount(300000) == 20.0);
  CHECK(plateau.amount(300000) == 20.0);
  CHECK(plateau.amount(1000000) == 20.0);
  CHECK(plateau.amount(2000000) == 20.0);
  CHECK(plain.amount(600000) == Approx(10.0).epsilon(1e-15));
}

}  // namespace
}  // namespace glassy
