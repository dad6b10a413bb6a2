// The analysis of one entropy map S(ln L_train, A_test) from `glassy sample`. It contains S
// shifted so the smallest visited bin is 0 and the equilibrium curve per x column. It bins
// AdamW trajectories in ln L_train and compares them with the equilibrium (the high-entropy
// advantage), and it measures the entropy barrier between the memorizing and generalizing end.
// Uncertainties come from the walker jackknife: the map rebuilt from every walker's deposits
// but one (leave-one-out), once per walker.
//
// Shapes: NX x bins, NY y bins, R walkers. A statistic that cannot be computed is NaN.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "samplers/wl_grid.h"
#include "tools/analyze_statistics.h"
#include "tools/sample_outputs.h"

namespace glassy {

// AdamW trajectories are binned in ln L_train with this width, aligned to the map's x.lo.
constexpr double kTrajectoryBinWidth = 0.5;

// One `glassy sample` map with each walker's own deposits and visits.
struct MapInput {
  WlGridConfig grid;               // axes, y scale, deposit sigma, bias and sharing mode
  std::vector<double> map;         // (NX, NY) S on the whole grid, bias included
  std::vector<int64_t> histogram;  // (NX, NY) visits of all walkers
  std::vector<double> bias;        // (NX, NY) the grid the walkers started from
  int64_t walkers = 0;             // R; 0 when the per-walker arrays are missing
  std::vector<double> deposits;    // (R, NX, NY) walker r's deposits without the bias
  std::vector<int64_t> visits;     // (R, NX, NY) walker r's visits
};

// One estimate of S and the bins it covers: the full map or a leave-one-out map.
struct EntropyGrid {
  std::vector<double> s;         // (NX, NY)
  std::vector<uint8_t> visited;  // (NX, NY) 1 where S is defined
};

EntropyGrid full_entropy_grid(const MapInput& input);

// The map without walker r: S_(-r) = bias + w R / (R - 1) sum_{q != r} D_q, with w = 1 for a
// shared grid (continuous) and 1/R for averaged grids, visited where the other walkers visited.
// The factor R / (R - 1) keeps the deposits' total at the full map's scale. Needs R >= 2.
EntropyGrid leave_one_out_grid(const MapInput& input, int64_t walker);

// S minus its smallest visited value, NaN where unvisited (NX, NY).
std::vector<double> shifted_entropy(const EntropyGrid& grid);

// The equilibrium of one x column: the accuracy of the visited bin of largest S, and the mean
// accuracy weighted by e^(S - S_max) over the column's visited bins.
struct ColumnEquilibrium {
  bool visited = false;
  double y_argmax = NAN;
  double y_mean = NAN;
  double s_max = NAN;  // unshifted
};

std::vector<ColumnEquilibrium> equilibrium_columns(const WlGridConfig& config,
                                                   const EntropyGrid& grid);  // (NX)

// A bin on the barrier's path.
struct BarrierPoint {
  int64_t ix = -1, iy = -1;
  double x = NAN, accuracy = NAN;
  double s = NAN;  // unshifted
};

// The entropy barrier on one map. The band is the visited bins with x centre < -4 where the
// bias is zero (the studied range). The memorizing end M is its bin of largest S with
// accuracy < 0.5, the generalizing end G its bin of largest S with accuracy > 0.9. A path
// steps between band bins at most barrier_reach() bins apart on each axis. The saddle value b
// is the largest, over paths from M to G, of the smallest S on the path (a widest-path
// search), and B = min(S(M), S(G)) - b >= 0.
struct BarrierSearch {
  bool defined = false;
  std::string reason;  // why B is undefined
  double value = NAN;  // B
  BarrierPoint memorizing, generalizing, saddle;
  std::vector<BarrierPoint> path;  // M first, G last
};

BarrierSearch find_barrier(const WlGridConfig& config, const EntropyGrid& grid);

// Returns the maximum step of a barrier path in bins: the deposit width sigma rounded up. A
// deposit reaches that far, so a gap of unvisited bins below the map's resolution does not
// split the path.
int barrier_reach(const WlGridConfig& config);

// A test-accuracy trajectory point of one AdamW replica.
struct TrajectoryPoint {
  int64_t replica = 0;
  double log_train_loss = NAN;
  double accuracy = NAN;
};

// One 0.5-wide bin of ln L_train, k, covering [x_lo + 0.5 k, x_lo + 0.5 (k + 1)).
struct TrajectoryBin {
  int64_t index = 0;
  double x_lo = NAN, x_hi = NAN;
  std::map<int64_t, double> replica_means;  // replica -> mean accuracy of its points here
  MeanSe accuracy;                          // over the replicas' means
};

// Bins the points with finite coordinates; returns only bins with points, in order of k.
std::vector<TrajectoryBin> bin_trajectories(const std::vector<TrajectoryPoint>& points,
                                            double x_lo);

enum class EquilibriumStatistic { argmax, weighted_mean };

// The mean of a column statistic over the visited columns whose x centre lies in bin k of
// kTrajectoryBinWidth; NaN when none does.
double equilibrium_in_bin(const WlGridConfig& config,
                          const std::vector<ColumnEquilibrium>& columns, int64_t bin,
                          EquilibriumStatistic statistic);

// A row of equilibrium.csv; the se fields are the walker jackknife's.
struct EquilibriumRow {
  double x = NAN;
  int64_t visits = 0;
  double y_argmax = NAN, y_argmax_se = NAN;
  double y_mean = NAN, y_mean_se = NAN;
  double s_max = NAN;  // shifted
};

// Equilibrium accuracy minus AdamW accuracy in one bin that has both curves.
struct AdvantageBin {
  TrajectoryBin adamw;
  MeanSe equilibrium;  // value on the full map, jackknife standard error
  double advantage = NAN;
  double advantage_se = NAN;
};

// The mean advantage over the bins entirely below ln L_train = -4 (bins = 0 when none).
struct AdvantageSummary {
  double mean = NAN, se = NAN;
  int64_t bins = 0;
  double x_lo = NAN, x_hi = NAN;
};

// The barrier with its walker-jackknife error. The error needs at least half of the R
// leave-one-out maps, and at least 2, to join the two ends. When fewer do, the path rests on a
// few walkers and the spread of the others tells nothing about B, so se stays NaN.
struct BarrierResult {
  BarrierSearch search;  // on the full map
  double se = NAN;
  int64_t jackknife_n = 0;     // leave-one-out maps that define B
  int64_t walkers = 0;         // leave-one-out maps in all (R)
  bool detected = false;
  std::string statement;
};

struct MapAnalysis {
  double shift = NAN;           // the smallest visited S, subtracted from every reported S
  std::vector<double> entropy;  // (NX, NY) shifted S, NaN where unvisited
  int64_t visited_bins = 0;
  Flatness flatness;
  std::vector<EquilibriumRow> equilibrium;  // visited columns, in order of x
  std::vector<TrajectoryBin> adamw;
  std::vector<AdvantageBin> advantage;  // with the argmax equilibrium
  AdvantageSummary advantage_argmax, advantage_weighted_mean;
  BarrierResult barrier;
};

// Analyzes a 2-D map. `adamw` contains the compare part's trajectories, or none.
MapAnalysis analyze_map(const MapInput& input, const std::vector<TrajectoryPoint>& adamw);

}  // namespace glassy
