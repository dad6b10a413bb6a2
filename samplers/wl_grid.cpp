// The Wang-Landau grid: configuration checks, the stencil, the schedule, the bias, and the
// host side of the walker grids whose per-step work runs in the backend's wl_* kernels.
#include "samplers/wl_grid.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace glassy {
namespace {

// The grid sizes stay far below what a walker can fill; this also keeps NX * NY * G in range.
constexpr int64_t kMaxBins = 1 << 20;

}  // namespace

double WlSchedule::amount(int64_t t) const {
  const double ramp = double(ramp_steps);
  const double plateau = double(std::max(plateau_end, ramp_steps));
  const double time = double(t);
  if (time <= ramp) return amplitude * time / ramp;
  if (time <= plateau) return amplitude;
  return amplitude * plateau / time;
}

double WlBias::value(double x, double y) const {
  double total = 0.0;
  if (beta > 0.0 && x > l0) total += beta * (x - l0) * (x - l0);
  if (low_beta > 0.0 && x < low_x) total += low_beta * (low_x - x) * (low_x - x);
  if (y_beta > 0.0 && y < y_lo) total += y_beta * (y_lo - y) * (y_lo - y);
  if (y_beta > 0.0 && y > y_hi) total += y_beta * (y - y_hi) * (y - y_hi);
  return total;
}

OutOfRangePolicy parse_out_of_range_policy(const std::string& name) {
  if (name == "clamp") return OutOfRangePolicy::clamp;
  if (name == "stop") return OutOfRangePolicy::stop;
  throw UsageError(fmt::format("--out-of-range must be clamp or stop, got '{}'", name));
}

GridSharing parse_grid_sharing(const std::string& name) {
  if (name == "average") return GridSharing::average;
  if (name == "continuous") return GridSharing::continuous;
  throw UsageError(fmt::format("--sharing must be average or continuous, got '{}'", name));
}

std::string to_string(OutOfRangePolicy policy) {
  return policy == OutOfRangePolicy::clamp ? "clamp" : "stop";
}

std::string to_string(GridSharing sharing) {
  return sharing == GridSharing::average ? "average" : "continuous";
}

GridAxis grid_axis(double lo, double hi, double width, const std::string& flag) {
  GLASSY_REQUIRE(std::isfinite(lo) && std::isfinite(hi) && lo < hi,
                 "{} range must be finite with lo < hi, got [{}, {}]; give a non-empty range",
                 flag, lo, hi);
  GLASSY_REQUIRE(std::isfinite(width) && width > 0.0,
                 "{} bin width must be a positive number, got {}", flag, width);
  const double bins = std::ceil((hi - lo) / width - 1e-9);
  GLASSY_REQUIRE(bins >= 1.0 && bins <= double(kMaxBins),
                 "{} range [{}, {}] at width {} gives {} bins; allowed is 1 to {}", flag, lo, hi,
                 width, bins, kMaxBins);
  return GridAxis{lo, width, int64_t(bins)};
}

void wl_grid_validate(const WlGridConfig& c) {
  GLASSY_REQUIRE(c.dims == 1 || c.dims == 2, "--dims must be 1 or 2, got {}", c.dims);
  GLASSY_REQUIRE(c.x.bins >= 1 && c.x.width > 0.0, "the x axis must have bins of positive width");
  GLASSY_REQUIRE(c.dims == 1 || (c.y.bins >= 1 && c.y.width > 0.0),
                 "the y axis must have bins of positive width");
  GLASSY_REQUIRE(c.x.bins * (c.dims == 2 ? c.y.bins : 1) <= kMaxBins * 4,
                 "the grid has {} x {} cells; at most {} are allowed", c.x.bins, c.y.bins,
                 kMaxBins * 4);
  GLASSY_REQUIRE(std::isfinite(c.y_scale) && c.y_scale > 0.0,
                 "--y-scale must be a positive number, got {}", c.y_scale);
  // Below 0.1 bins the stencil is one bin whose neighbours underflow to 0, and near 0 the
  // Gaussian's exponent divides 0 by 0.
  GLASSY_REQUIRE(std::isfinite(c.sigma_bins) && c.sigma_bins >= 0.1 && c.sigma_bins <= 1000.0,
                 "--sigma must be in [0.1, 1000] bins, got {}", c.sigma_bins);
  GLASSY_REQUIRE(std::isfinite(c.schedule.amplitude) && c.schedule.amplitude >= 0.0,
                 "--f-wl must be a non-negative number, got {}", c.schedule.amplitude);
  GLASSY_REQUIRE(c.schedule.ramp_steps >= 1, "--t-wl must be at least 1 step, got {}",
                 c.schedule.ramp_steps);
  GLASSY_REQUIRE(c.schedule.plateau_end >= 0, "--plateau-end must be >= 0, got {}",
                 c.schedule.plateau_end);
  GLASSY_REQUIRE(std::isfinite(c.bias.beta) && c.bias.beta >= 0.0,
                 "--beta must be a non-negative number, got {}", c.bias.beta);
  GLASSY_REQUIRE(std::isfinite(c.bias.l0), "--l0 must be a finite number, got {}", c.bias.l0);
  GLASSY_REQUIRE(std::isfinite(c.bias.low_beta) && c.bias.low_beta >= 0.0,
                 "--low-beta must be a non-negative number, got {}", c.bias.low_beta);
  GLASSY_REQUIRE(std::isfinite(c.bias.y_beta) && c.bias.y_beta >= 0.0,
                 "--y-beta must be a non-negative number, got {}", c.bias.y_beta);
}

std::vector<double> wl_stencil(double sigma_bins) {
  const int radius = int(std::floor(4.0 * sigma_bins));
  std::vector<double> stencil(2 * radius + 1);
  double sum = 0.0;
  for (int k = -radius; k <= radius; ++k) {
    stencil[k + radius] = std::exp(-double(k) * k / (2.0 * sigma_bins * sigma_bins));
    sum += stencil[k + radius];
  }
  for (double& weight : stencil) weight /= sum;
  return stencil;
}

WlGrid::WlGrid(Backend& backend, const WlGridConfig& config, int64_t walkers)
    : backend_(backend), config_(config), walkers_(walkers) {
  wl_grid_validate(config_);
  if (config_.dims == 1) config_.y = GridAxis{0.0, 1.0, 1};
  grid_count_ = config_.sharing == GridSharing::average ? walkers : 1;
  grids_ = Buffer<double>(backend, grid_count_ * cells());
  histogram_ = Buffer<int64_t>(backend, cells());
  x_ = Buffer<double>(backend, walkers);
  y_ = Buffer<double>(backend, walkers);
  bins_ = Buffer<int64_t>(backend, walkers);
  flags_ = Buffer<int32_t>(backend, walkers);

  const std::vector<double> stencil = wl_stencil(config_.sigma_bins);
  stencil_ = stencil;
  radius_ = int(stencil.size() / 2);
  if (config_.walker_ledger) {
    walker_deposits_.assign(walkers * cells(), 0.0);
    walker_visits_.assign(walkers * cells(), 0);
  }
  stencil_x_ = Buffer<double>(backend, stencil.size());
  stencil_x_.upload(stencil);
  if (config_.dims == 2) {
    stencil_y_ = Buffer<double>(backend, stencil.size());
    stencil_y_.upload(stencil);
  }

  const std::vector<double> bias = bias_values();
  std::vector<double> start(grid_count_ * cells());
  for (int64_t g = 0; g < grid_count_; ++g) {
    std::copy(bias.begin(), bias.end(), start.begin() + g * cells());
  }
  grids_.upload(start);
}

WangLandauParams WlGrid::params() {
  WangLandauParams p;
  p.walkers = walkers_;
  p.x_axis = config_.x;
  p.y_axis = config_.y;
  p.grids = grids_.data();
  p.grid_stride = config_.sharing == GridSharing::average ? cells() : 0;
  p.histogram = histogram_.data();
  p.x = x_.data();
  p.y = config_.dims == 2 ? y_.data() : nullptr;
  p.y_scale = config_.y_scale;
  p.bin = bins_.data();
  p.flags = flags_.data();
  p.stencil_x = stencil_x_.data();
  p.radius_x = radius_;
  p.stencil_y = config_.dims == 2 ? stencil_y_.data() : nullptr;
  p.radius_y = config_.dims == 2 ? radius_ : 0;
  return p;
}

std::vector<int32_t> WlGrid::lookup(const std::vector<double>& x, const std::vector<double>& y,
                                    ForceCoefficients* force) {
  GLASSY_CHECK(int64_t(x.size()) == walkers_, "lookup of {} values for {} walkers", x.size(),
               walkers_);
  x_.upload(x);
  if (config_.dims == 2) y_.upload(y);
  WangLandauParams p = params();
  p.force = force;
  backend_.wl_lookup(p);

  return flags_.download();
}

void WlGrid::count_out_of_range(const std::vector<int32_t>& flags) {
  for (const int32_t f : flags) {
    counts_.x_low += (f & kGridXLow) != 0;
    counts_.x_high += (f & kGridXHigh) != 0;
    counts_.y_low += (f & kGridYLow) != 0;
    counts_.y_high += (f & kGridYHigh) != 0;
    counts_.not_a_number += (f & kGridNotANumber) != 0;
  }
}

void WlGrid::deposit(int64_t t) {
  WangLandauParams p = params();
  p.amount = config_.schedule.amount(t);
  backend_.wl_deposit(p);
  if (config_.walker_ledger) record_in_ledger(p.amount);
}

// The same stencil sum as the deposit kernel, cell += amount * (w_x w_y), into walker r's own
// ledger grid; the host copy of the bins is R integers per step.
void WlGrid::record_in_ledger(double amount) {
  const std::vector<int64_t> bins = bins_.download();
  const int64_t ny = config_.y.bins;
  const int radius_y = config_.dims == 2 ? radius_ : 0;
  for (int64_t r = 0; r < walkers_; ++r) {
    double* grid = walker_deposits_.data() + r * cells();
    const int64_t ix = bins[r] / ny, iy = bins[r] % ny;
    for (int di = -radius_; di <= radius_; ++di) {
      const int64_t gx = ix + di;
      if (gx < 0 || gx >= config_.x.bins) continue;
      for (int dj = -radius_y; dj <= radius_y; ++dj) {
        const int64_t gy = iy + dj;
        if (gy < 0 || gy >= ny) continue;
        const double weight_y = config_.dims == 2 ? stencil_[dj + radius_y] : 1.0;
        grid[gx * ny + gy] += amount * (stencil_[di + radius_] * weight_y);
      }
    }
    walker_visits_[r * cells() + bins[r]] += 1;
  }
}

void WlGrid::average() {
  if (grid_count_ > 1) backend_.wl_average(grid_count_, cells(), grids_.data());
}

std::vector<double> WlGrid::grid(int64_t g) const {
  GLASSY_CHECK(g >= 0 && g < grid_count_, "grid {} of {}", g, grid_count_);
  std::vector<double> host(cells());
  backend_.copy_to_host(host.data(), grids_.data() + g * cells(), cells() * sizeof(double));
  return host;
}

std::vector<double> WlGrid::all_grids() const { return grids_.download(); }

std::vector<double> WlGrid::mean_grid() const {
  const std::vector<double> grids = all_grids();
  std::vector<double> mean(grids.begin(), grids.begin() + cells());
  for (int64_t c = 0; c < cells(); ++c) {
    double sum = 0.0;
    for (int64_t g = 0; g < grid_count_; ++g) sum += grids[g * cells() + c] - mean[c];
    if (sum != 0.0) mean[c] += sum / double(grid_count_);
  }
  return mean;
}

std::vector<double> WlGrid::bias_values() const {
  std::vector<double> bias(cells());
  for (int64_t i = 0; i < config_.x.bins; ++i) {
    for (int64_t j = 0; j < config_.y.bins; ++j) {
      const double y = config_.dims == 2 ? grid_bin_centre(config_.y, j) : config_.bias.y_lo;
      bias[i * config_.y.bins + j] = config_.bias.value(grid_bin_centre(config_.x, i), y);
    }
  }
  return bias;
}

std::vector<int64_t> WlGrid::studied_mask() const {
  const std::vector<double> bias = bias_values();
  std::vector<int64_t> mask(bias.size());
  for (std::size_t c = 0; c < bias.size(); ++c) mask[c] = bias[c] == 0.0 ? 1 : 0;
  return mask;
}

void WlGrid::restore(const std::vector<double>& grids, const std::vector<int64_t>& histogram,
                     const RangeCounts& counts) {
  GLASSY_REQUIRE(int64_t(grids.size()) == grid_count_ * cells() &&
                     int64_t(histogram.size()) == cells(),
                 "the saved grid has {} values and {} histogram cells; this run's grid needs "
                 "{} and {}",
                 grids.size(), histogram.size(), grid_count_ * cells(), cells());
  grids_.upload(grids);
  histogram_.upload(histogram);
  counts_ = counts;
}

void WlGrid::restore_ledger(const std::vector<double>& deposits,
                            const std::vector<int64_t>& visits) {
  GLASSY_REQUIRE(config_.walker_ledger && deposits.size() == walker_deposits_.size() &&
                     visits.size() == walker_visits_.size(),
                 "the saved walker ledger has {} deposit and {} visit values; this run's grid "
                 "needs {} of each",
                 deposits.size(), visits.size(), walker_deposits_.size());
  walker_deposits_ = deposits;
  walker_visits_ = visits;
}

}  // namespace glassy
