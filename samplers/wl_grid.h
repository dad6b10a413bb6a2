// The Wang-Landau entropy grid in one or two dimensions (docs/method.md, "The grid"): the
// axes, the Gaussian deposit stencil, the schedule f_WL(t), the bias that the grid starts
// from, and the walker grids in backend memory with their lookup, deposit and averaging.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "kernels/params.h"

namespace glassy {

// f_WL(t) = F t / t_WL on the ramp t <= t_WL, F on the plateau t_WL <= t <= t_P, and
// F t_P / t after it (t_P = t_WL when there is no plateau). t counts one walker's steps from 1.
struct WlSchedule {
  double amplitude = 20.0;    // F_WL
  int64_t ramp_steps = 2000;  // t_WL
  int64_t plateau_end = 0;    // t_P; 0 or <= t_WL means no plateau
  double amount(int64_t t) const;
};

// The starting grid S_bias(x, y): beta (x - L0)^2 above L0, an optional wall
// low_beta (low_x - x)^2 below low_x, and an optional y_beta times the squared distance
// outside [y_lo, y_hi] (y in grid units). The studied region is where all terms are 0.
struct WlBias {
  double beta = 0.0;
  double l0 = 0.0;
  double low_beta = 0.0;
  double low_x = 0.0;
  double y_beta = 0.0;
  double y_lo = 0.0, y_hi = 0.0;
  double value(double x, double y) const;
  bool studied(double x, double y) const { return value(x, y) == 0.0; }
};

enum class OutOfRangePolicy { clamp, stop };
enum class GridSharing { average, continuous };

OutOfRangePolicy parse_out_of_range_policy(const std::string& name);
GridSharing parse_grid_sharing(const std::string& name);
std::string to_string(OutOfRangePolicy policy);
std::string to_string(GridSharing sharing);

struct WlGridConfig {
  int dims = 2;
  GridAxis x{-20.0, 0.1, 260};
  GridAxis y{-0.2, 0.02, 70};  // in grid units: y_scale times the observable
  double y_scale = 1.0;
  double sigma_bins = 2.0;  // deposit width in bins, on both axes
  WlBias bias;
  WlSchedule schedule;
  OutOfRangePolicy out_of_range = OutOfRangePolicy::clamp;
  GridSharing sharing = GridSharing::average;
  // Keep each walker's own deposits and visits beside the shared grid (walker_deposits(),
  // walker_visits()), for uncertainties across walkers. Costs 16 bytes per walker and bin.
  bool walker_ledger = false;
};

// Builds an axis from a range [lo, hi) and a bin width. Throws UsageError naming `flag` when
// the range is empty or the width is not positive.
GridAxis grid_axis(double lo, double hi, double width, const std::string& flag);

// Throws UsageError for a setting outside its allowed range.
void wl_grid_validate(const WlGridConfig& config);

// The normalized 1-D Gaussian stencil exp(-k^2 / (2 sigma^2)) for |k| <= floor(4 sigma),
// divided by its sum; the 2-D stencil is the outer product, which also sums to 1.
std::vector<double> wl_stencil(double sigma_bins);

// Centre of bin i of an axis.
inline double grid_bin_centre(const GridAxis& axis, int64_t i) {
  return axis.lo + (double(i) + 0.5) * axis.width;
}

// Counts of out-of-range lookups per side, summed over walkers and steps.
struct RangeCounts {
  int64_t x_low = 0, x_high = 0, y_low = 0, y_high = 0, not_a_number = 0;
  int64_t total() const { return x_low + x_high + y_low + y_high + not_a_number; }
};

// The grids of R walkers: one per walker with GridSharing::average, one shared with
// GridSharing::continuous. All start from the bias.
class WlGrid {
public:
  WlGrid(Backend& backend, const WlGridConfig& config, int64_t walkers);

  const WlGridConfig& config() const { return config_; }
  int64_t walkers() const { return walkers_; }
  int64_t cells() const { return config_.x.bins * config_.y.bins; }
  int64_t grid_count() const { return grid_count_; }

  // Finds every walker's bin for the observables x, y (R, host; y ignored in 1-D) and writes
  // the force coefficients (R, backend memory; kernels/params.h). Returns the flags (R) and
  // leaves the out-of-range policy to the caller, because the kernel clamps every value.
  std::vector<int32_t> lookup(const std::vector<double>& x, const std::vector<double>& y,
                              ForceCoefficients* force);
  // Adds a lookup's flags to range_counts(), once the step they belong to goes ahead.
  void count_out_of_range(const std::vector<int32_t>& flags);
  // Deposits f_WL(t) at the bins of the last lookup and counts the visits.
  void deposit(int64_t t);
  // Averages the walker grids (a no-op for a shared grid).
  void average();

  // Host copies. grid(g) is (NX, NY); the histogram sums all walkers' visits.
  std::vector<double> grid(int64_t g) const;
  std::vector<double> all_grids() const;  // (G, NX, NY)
  // The walkers' common estimate (NX, NY): the average that wl_average would make. It is
  // computed on the host and leaves the grids unchanged. A shared grid is its own estimate.
  std::vector<double> mean_grid() const;
  std::vector<int64_t> histogram() const { return histogram_.download(); }
  const RangeCounts& range_counts() const { return counts_; }
  // The bias at every cell (NX, NY) and the studied mask (1 where the bias is 0).
  std::vector<double> bias_values() const;
  std::vector<int64_t> studied_mask() const;

  // Each walker's deposits without the bias (R, NX, NY) and its visits (R, NX, NY), kept only
  // with config().walker_ledger (else empty). A shared grid is the bias plus the sum of the
  // walkers' deposits, an averaged grid the bias plus their mean, up to rounding.
  const std::vector<double>& walker_deposits() const { return walker_deposits_; }
  const std::vector<int64_t>& walker_visits() const { return walker_visits_; }
  // Restores the state saved by all_grids(), histogram() and range_counts().
  void restore(const std::vector<double>& grids, const std::vector<int64_t>& histogram,
               const RangeCounts& counts);
  // Restores the ledger saved by walker_deposits() and walker_visits().
  void restore_ledger(const std::vector<double>& deposits, const std::vector<int64_t>& visits);

private:
  WangLandauParams params();
  void record_in_ledger(double amount);

  Backend& backend_;
  WlGridConfig config_;
  int64_t walkers_;
  int64_t grid_count_;
  Buffer<double> grids_;         // (G, NX, NY)
  Buffer<int64_t> histogram_;    // (NX, NY)
  Buffer<double> x_, y_;         // (R)
  Buffer<int64_t> bins_;         // (R)
  Buffer<int32_t> flags_;        // (R)
  Buffer<double> stencil_x_, stencil_y_;
  int radius_ = 0;
  std::vector<double> stencil_;             // host copy of the 1-D stencil
  std::vector<double> walker_deposits_;     // (R, NX, NY) host, with walker_ledger
  std::vector<int64_t> walker_visits_;      // (R, NX, NY) host, with walker_ledger
  RangeCounts counts_;
};

}  // namespace glassy
