// Statistical tests of WLMD against an exact density of states. For c in R^d and
// U = |c|^2 / 2 the volume below U grows as U^(d/2), so with x = ln U the entropy is
// S(x) = (d/2) x + const. A WLMD run with the default integrator (BAOAB) must recover the slope
// d/2 of the whole grid over the studied range, and on two independent blocks the slopes of
// both axes.
//
// Settings. By step t the schedule f_WL = F_WL min(t / t_WL, t_WL / t) has deposited about
// R F_WL t_WL (1/2 + ln(t / t_WL)) in total, an estimate that ignores the part of the stencil
// falling outside the studied bins. Leveling a linear S takes half its rise per studied bin on
// average, so the low end stays unfilled when the deposit per bin falls short of that. A
// larger deposit only adds noise, so F_WL t_WL is chosen to give about one to two times that
// minimum. The walls are the starting bias outside the studied range. Deposits erode them
// too, so each wall is sized to stay higher than the fill, and the grid uses
// OutOfRangePolicy::stop: a walker that leaves the grid fails the test with SamplerStop. The
// wall below the x range is the softer one, because the force on ln U stiffens like 1/U.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "models/quadratic_well.h"
#include "samplers/wlmd.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::ThreadCountGuard;

// A studied range [lo, hi] of one observable.
struct Range {
  double lo = 0.0, hi = 0.0;
  double middle() const { return 0.5 * (lo + hi); }
};

struct SlopeCase {
  std::vector<int64_t> blocks;  // d0, or d0 and d1 for a 2-D run
  Range x, y;                   // studied ranges of x = ln U0 and y = ln U1
  double bin_width = 0.02;
  double sigma_bins = 3.0;
  double dt = 0.02;
  // c_f. At 0.02 a walker keeps its momentum for about 50 steps and moves farther between
  // velocity draws. At d = 10 the fitted slope spread 0.3% over 6 seeds (1e6 steps, dt 0.02),
  // against 1% with c_f 0.1 (2e6 steps, dt 0.01).
  double friction = 0.02;
  double amplitude = 0.1;  // F_WL
  int64_t ramp_steps = 1000;  // t_WL
  int64_t walkers = 4;
  int64_t steps = 1000000;
  double high_beta = 1000.0;  // bias beta above both ranges and below the y range
  double low_beta = 100.0;    // bias beta below the x range
  double low_margin = 1.0;    // grid length below each range
  double high_margin = 0.5;   // grid length above each range
  uint64_t seed = 1;
};

WlmdConfig slope_config(const SlopeCase& c) {
  const bool two_d = c.blocks.size() == 2;
  WlmdConfig config;
  config.langevin.dt = c.dt;
  config.langevin.friction = c.friction;
  config.constraint = Constraint::none;
  config.grid.dims = two_d ? 2 : 1;
  config.grid.x = grid_axis(c.x.lo - c.low_margin, c.x.hi + c.high_margin, c.bin_width, "x");
  if (two_d) {
    config.grid.y = grid_axis(c.y.lo - c.low_margin, c.y.hi + c.high_margin, c.bin_width, "y");
  }
  config.grid.sigma_bins = c.sigma_bins;
  config.grid.bias.beta = c.high_beta;
  config.grid.bias.l0 = c.x.hi;
  config.grid.bias.low_beta = c.low_beta;
  config.grid.bias.low_x = c.x.lo;
  if (two_d) {
    config.grid.bias.y_beta = c.high_beta;
    config.grid.bias.y_lo = c.y.lo;
    config.grid.bias.y_hi = c.y.hi;
  }
  config.grid.schedule.amplitude = c.amplitude;
  config.grid.schedule.ramp_steps = c.ramp_steps;
  config.grid.out_of_range = OutOfRangePolicy::stop;
  config.grid.sharing = GridSharing::continuous;
  return config;
}

// Draws the well's normal initialization and rescales each walker's block b to
// U_b = exp(middle of its range), so every walker starts inside the studied region.
std::vector<float> middle_start(QuadraticWell& well, Backend& backend, const SlopeCase& c,
                                const std::vector<uint64_t>& seeds) {
  const int64_t params = well.parameter_count();
  Buffer<float> buffer(backend, seeds.size() * params);
  well.initialize(buffer, seeds);
  std::vector<float> weights = buffer.download();
  const Range ranges[2] = {c.x, c.y};
  for (std::size_t r = 0; r < seeds.size(); ++r) {
    int64_t offset = int64_t(r) * params;
    for (std::size_t b = 0; b < c.blocks.size(); ++b) {
      double sum_squares = 0.0;
      for (int64_t i = 0; i < c.blocks[b]; ++i) {
        sum_squares += double(weights[offset + i]) * weights[offset + i];
      }
      const double scale = std::sqrt(2.0 * std::exp(ranges[b].middle()) / sum_squares);
      for (int64_t i = 0; i < c.blocks[b]; ++i) weights[offset + i] *= float(scale);
      offset += c.blocks[b];
    }
  }
  return weights;
}

// Runs the case and returns the shared grid (NX, NY).
std::vector<double> run_slope_case(const SlopeCase& c) {
  const ThreadCountGuard one_thread(1);
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  QuadraticWellConfig well_config;
  well_config.blocks = c.blocks;
  well_config.observable = WellObservable::log_energy;
  QuadraticWell well(*backend, well_config, c.walkers);
  std::vector<uint64_t> seeds(c.walkers);
  for (int64_t r = 0; r < c.walkers; ++r) seeds[r] = 1000 * c.seed + uint64_t(r);
  Wlmd sampler(well, slope_config(c), seeds);
  sampler.start(middle_start(well, *backend, c, seeds));

  const auto begin = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < c.steps; ++k) sampler.step();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::printf("WLMD on %zu block(s) of d0 = %lld: %lld steps x %lld walkers in %.1f s\n",
              c.blocks.size(), (long long)c.blocks[0], (long long)c.steps,
              (long long)c.walkers, seconds);
  return sampler.grid().grid(0);
}

// Least-squares slope dS/dv of the grid along one axis over the cells whose centre lies in
// `along` on that axis and in `across` on the other (ignored in 1-D). S is additive in x and
// y, so pooling the cells of a rectangle gives the slope along the axis.
double fitted_slope(const std::vector<double>& grid, const WlGridConfig& config, int axis,
                    Range along, Range across) {
  const int64_t ny = config.dims == 2 ? config.y.bins : 1;
  double sum_v = 0.0, sum_s = 0.0, sum_vv = 0.0, sum_vs = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < config.x.bins; ++i) {
    for (int64_t j = 0; j < ny; ++j) {
      const double x = grid_bin_centre(config.x, i);
      const double y = config.dims == 2 ? grid_bin_centre(config.y, j) : 0.0;
      const double v = axis == 0 ? x : y;
      const double w = axis == 0 ? y : x;
      if (v < along.lo || v > along.hi) continue;
      if (config.dims == 2 && (w < across.lo || w > across.hi)) continue;
      const double s = grid[i * ny + j];
      sum_v += v;
      sum_s += s;
      sum_vv += v * v;
      sum_vs += v * s;
      ++count;
    }
  }
  REQUIRE(count >= 2);
  const double n = double(count);
  return (n * sum_vs - sum_v * sum_s) / (n * sum_vv - sum_v * sum_v);
}

// The studied range less 10% at each end, where the deposit stencil reaches into the walls.
Range interior(Range r) {
  const double cut = 0.1 * (r.hi - r.lo);
  return Range{r.lo + cut, r.hi - cut};
}

struct SlopeResult {
  double relative_error = 0.0;        // of the fit over the whole interior
  double worst_local_error = 0.0;     // the largest |relative error| over the sub-intervals
};

// Fits the slope of one axis over its interior and over 4 equal sub-intervals, prints them
// against d/2 and returns the relative errors.
SlopeResult check_axis(const std::vector<double>& grid, const WlGridConfig& config, int axis,
                       Range range, Range other, int64_t d) {
  const double expected = 0.5 * double(d);
  const Range along = interior(range);
  const Range across = interior(other);
  SlopeResult result;
  const double slope = fitted_slope(grid, config, axis, along, across);
  result.relative_error = slope / expected - 1.0;
  std::printf("  %s = ln U of %lld coordinates: dS/d%s = %.4f over [%.2f, %.2f], expected %.1f,"
              " relative error %+.2f%%\n",
              axis == 0 ? "x" : "y", (long long)d, axis == 0 ? "x" : "y", slope, along.lo,
              along.hi, expected, 100.0 * result.relative_error);
  constexpr int kParts = 4;
  const double part = (along.hi - along.lo) / kParts;
  std::printf("    local slopes / (d/2):");
  for (int k = 0; k < kParts; ++k) {
    const Range piece{along.lo + k * part, along.lo + (k + 1) * part};
    const double local = fitted_slope(grid, config, axis, piece, across) / expected - 1.0;
    result.worst_local_error = std::max(result.worst_local_error, std::fabs(local));
    std::printf(" %.3f", 1.0 + local);
  }
  std::printf("; worst %.2f%%\n", 100.0 * result.worst_local_error);
  return result;
}

// Tolerances of the statistical tests: 2% of d/2 for the fit over the whole interior, and 5%
// for the noisier fits over a quarter of it. Over seeds 1 to 6 the three slow tests measured
// errors up to 0.9% for whole-interior fits and up to 2.0% for quarters.
constexpr double kSlopeTolerance = 0.02;
constexpr double kLocalSlopeTolerance = 0.05;

SlopeCase one_block_case(int64_t d, Range x) {
  SlopeCase c;
  c.blocks = {d};
  c.x = x;
  return c;
}

TEST_CASE("WLMD entropy slope at d = 10", "[samplers][wlmd][.slow]") {
  // S rises by 20 over x in [-1, 3]. F_WL t_WL = 100 deposits about 16 per studied bin by
  // 2e6 steps, above the 10 that leveling needs.
  SlopeCase c = one_block_case(10, Range{-1.0, 3.0});
  c.steps = 2000000;
  const std::vector<double> grid = run_slope_case(c);
  const SlopeResult x = check_axis(grid, slope_config(c).grid, 0, c.x, c.y, 10);
  CHECK(std::fabs(x.relative_error) < kSlopeTolerance);
  CHECK(x.worst_local_error < kLocalSlopeTolerance);
}

TEST_CASE("WLMD entropy slope at d = 100", "[samplers][wlmd][.slow]") {
  // S rises by 150 over x in [2, 5]. F_WL t_WL = 1000 deposits about 136 per studied bin by
  // 1e6 steps, above the 75 that leveling needs. U >= e^2 keeps the force soft enough for
  // dt 0.02, and the walls are stronger than at d = 10 to hold the larger fill.
  SlopeCase c = one_block_case(100, Range{2.0, 5.0});
  c.ramp_steps = 10000;
  c.high_beta = 4000.0;
  c.low_beta = 400.0;
  c.low_margin = 0.5;
  c.steps = 1000000;
  const std::vector<double> grid = run_slope_case(c);
  const SlopeResult x = check_axis(grid, slope_config(c).grid, 0, c.x, c.y, 100);
  CHECK(std::fabs(x.relative_error) < kSlopeTolerance);
  CHECK(x.worst_local_error < kLocalSlopeTolerance);
}

TEST_CASE("WLMD entropy slopes on two blocks", "[samplers][wlmd][.slow]") {
  // x = ln U0 of 10 coordinates on [-1, 3] and y = ln U1 of 20 on [1, 3.5], on 80 x 50
  // studied bins of 0.05. S rises by 45 across the rectangle, so leveling needs 22.5 per bin.
  // F_WL t_WL = 2500 with 8 walkers deposits about 21 per bin by 1e6 steps. The shortfall
  // shows at the corner of lowest S, whose grid values cannot drop below the zero bias: one
  // run measured that corner 3 above the level of the rest, and the interior within 0.3 of
  // it. The 10% cut at each end keeps the corner out of the fits.
  SlopeCase c;
  c.blocks = {10, 20};
  c.x = Range{-1.0, 3.0};
  c.y = Range{1.0, 3.5};
  c.bin_width = 0.05;
  c.sigma_bins = 2.0;
  c.ramp_steps = 25000;
  c.walkers = 8;
  c.steps = 1000000;
  const std::vector<double> grid = run_slope_case(c);
  const WlGridConfig grid_config = slope_config(c).grid;
  const SlopeResult x = check_axis(grid, grid_config, 0, c.x, c.y, 10);
  const SlopeResult y = check_axis(grid, grid_config, 1, c.y, c.x, 20);
  CHECK(std::fabs(x.relative_error) < kSlopeTolerance);
  CHECK(std::fabs(y.relative_error) < kSlopeTolerance);
  CHECK(x.worst_local_error < kLocalSlopeTolerance);
  CHECK(y.worst_local_error < kLocalSlopeTolerance);
}

TEST_CASE("WLMD entropy slope in a short run", "[samplers][wlmd]") {
  // The d = 10 case at 2e5 steps. Over 9 seeds the fitted slope had a standard deviation of
  // 0.9% and a worst error of 1.6%, so 5% leaves room for any seed. The local slopes are
  // printed but not checked, because they still vary by up to 4% this early.
  constexpr double kShortRunTolerance = 0.05;
  SlopeCase c = one_block_case(10, Range{-1.0, 3.0});
  c.steps = 200000;
  const std::vector<double> grid = run_slope_case(c);
  const SlopeResult x = check_axis(grid, slope_config(c).grid, 0, c.x, c.y, 10);
  CHECK(std::fabs(x.relative_error) < kShortRunTolerance);
}

}  // namespace
}  // namespace glassy
