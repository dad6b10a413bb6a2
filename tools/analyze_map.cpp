// The statistics of one entropy map and their walker-jackknife errors (tools/analyze_map.h).
// The barrier's widest-path search is in tools/analyze_barrier.cpp.
#include "tools/analyze_map.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/error.h"
#include "tools/sample_summary.h"

namespace glassy {
namespace {

double accuracy_of(const WlGridConfig& config, int64_t iy) {
  return grid_bin_centre(config.y, iy) / config.y_scale;
}

// Returns the index k of the kTrajectoryBinWidth bin that contains x, counted from x_lo.
int64_t trajectory_bin(double x, double x_lo) {
  return int64_t(std::floor((x - x_lo) / kTrajectoryBinWidth));
}

double column_statistic(const ColumnEquilibrium& column, EquilibriumStatistic statistic) {
  return statistic == EquilibriumStatistic::argmax ? column.y_argmax : column.y_mean;
}

}  // namespace

EntropyGrid full_entropy_grid(const MapInput& input) {
  EntropyGrid grid;
  grid.s = input.map;
  grid.visited.resize(input.histogram.size());
  for (std::size_t c = 0; c < input.histogram.size(); ++c) {
    grid.visited[c] = input.histogram[c] > 0 ? 1 : 0;
  }
  return grid;
}

EntropyGrid leave_one_out_grid(const MapInput& input, int64_t walker) {
  const int64_t walkers = input.walkers;
  GLASSY_CHECK(walkers >= 2 && walker >= 0 && walker < walkers,
               "leaving out walker {} needs at least 2 walkers, got {}", walker, walkers);
  const std::size_t cells = input.map.size();
  std::vector<double> deposits(cells, 0.0);
  std::vector<int64_t> visits(cells, 0);
  // Summing the other walkers directly, not the total minus walker r, avoids cancellation
  // where walker r deposited most of a bin.
  for (int64_t q = 0; q < walkers; ++q) {
    if (q == walker) continue;
    const double* d = input.deposits.data() + q * cells;
    const int64_t* v = input.visits.data() + q * cells;
    for (std::size_t c = 0; c < cells; ++c) {
      deposits[c] += d[c];
      visits[c] += v[c];
    }
  }
  const double weight = input.grid.sharing == GridSharing::continuous ? 1.0 : 1.0 / walkers;
  const double scale = weight * double(walkers) / double(walkers - 1);
  EntropyGrid grid;
  grid.s.resize(cells);
  grid.visited.resize(cells);
  for (std::size_t c = 0; c < cells; ++c) {
    grid.s[c] = input.bias[c] + scale * deposits[c];
    grid.visited[c] = visits[c] > 0 ? 1 : 0;
  }
  return grid;
}

std::vector<double> shifted_entropy(const EntropyGrid& grid) {
  double lowest = INFINITY;
  for (std::size_t c = 0; c < grid.s.size(); ++c) {
    if (grid.visited[c]) lowest = std::min(lowest, grid.s[c]);
  }
  std::vector<double> shifted(grid.s.size(), NAN);
  for (std::size_t c = 0; c < grid.s.size(); ++c) {
    if (grid.visited[c]) shifted[c] = grid.s[c] - lowest;
  }
  return shifted;
}

std::vector<ColumnEquilibrium> equilibrium_columns(const WlGridConfig& config,
                                                   const EntropyGrid& grid) {
  const int64_t ny = config.y.bins;
  std::vector<ColumnEquilibrium> columns(config.x.bins);
  for (int64_t ix = 0; ix < config.x.bins; ++ix) {
    const double* s = grid.s.data() + ix * ny;
    const uint8_t* visited = grid.visited.data() + ix * ny;
    int64_t best = -1;
    for (int64_t iy = 0; iy < ny; ++iy) {
      if (visited[iy] && (best < 0 || s[iy] > s[best])) best = iy;
    }
    if (best < 0) continue;
    // Weights e^(S - S_max) are at most 1, so the sum cannot overflow.
    double weight_sum = 0.0, weighted_accuracy = 0.0;
    for (int64_t iy = 0; iy < ny; ++iy) {
      if (!visited[iy]) continue;
      const double weight = std::exp(s[iy] - s[best]);
      weight_sum += weight;
      weighted_accuracy += weight * accuracy_of(config, iy);
    }
    ColumnEquilibrium& column = columns[ix];
    column.visited = true;
    column.y_argmax = accuracy_of(config, best);
    column.y_mean = weighted_accuracy / weight_sum;
    column.s_max = s[best];
  }
  return columns;
}

std::vector<TrajectoryBin> bin_trajectories(const std::vector<TrajectoryPoint>& points,
                                            double x_lo) {
  // bin -> replica -> (sum, count); std::map keeps both in order.
  std::map<int64_t, std::map<int64_t, std::pair<double, int64_t>>> sums;
  for (const TrajectoryPoint& point : points) {
    if (!std::isfinite(point.log_train_loss) || !std::isfinite(point.accuracy)) continue;
    auto& cell = sums[trajectory_bin(point.log_train_loss, x_lo)][point.replica];
    cell.first += point.accuracy;
    ++cell.second;
  }
  std::vector<TrajectoryBin> bins;
  for (const auto& [index, replicas] : sums) {
    TrajectoryBin bin;
    bin.index = index;
    bin.x_lo = x_lo + kTrajectoryBinWidth * double(index);
    bin.x_hi = x_lo + kTrajectoryBinWidth * double(index + 1);
    std::vector<double> means;
    for (const auto& [replica, sum] : replicas) {
      bin.replica_means[replica] = sum.first / double(sum.second);
      means.push_back(bin.replica_means[replica]);
    }
    bin.accuracy = mean_and_se(means);
    bins.push_back(bin);
  }
  return bins;
}

double equilibrium_in_bin(const WlGridConfig& config,
                          const std::vector<ColumnEquilibrium>& columns, int64_t bin,
                          EquilibriumStatistic statistic) {
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t ix = 0; ix < int64_t(columns.size()); ++ix) {
    if (!columns[ix].visited) continue;
    if (trajectory_bin(grid_bin_centre(config.x, ix), config.x.lo) != bin) continue;
    sum += column_statistic(columns[ix], statistic);
    ++count;
  }
  return count > 0 ? sum / double(count) : NAN;
}

namespace {

// The statistics that the jackknife needs, on the full map and on every leave-one-out map.
struct Replicates {
  std::vector<ColumnEquilibrium> columns;                 // (NX) full map
  std::vector<std::vector<ColumnEquilibrium>> loo_columns;  // (R, NX), empty when R < 2
  BarrierSearch barrier;                                  // full map
  std::vector<double> loo_barrier;                        // (R) B, NaN where undefined
};

Replicates compute_replicates(const MapInput& input, const EntropyGrid& full) {
  Replicates replicates;
  replicates.columns = equilibrium_columns(input.grid, full);
  replicates.barrier = find_barrier(input.grid, full);
  if (input.walkers < 2) return replicates;
  for (int64_t r = 0; r < input.walkers; ++r) {
    const EntropyGrid grid = leave_one_out_grid(input, r);
    replicates.loo_columns.push_back(equilibrium_columns(input.grid, grid));
    replicates.loo_barrier.push_back(find_barrier(input.grid, grid).value);
  }
  return replicates;
}

// The jackknife over the leave-one-out values that are defined (finite).
struct Jackknife {
  double se = NAN;
  int64_t n = 0;
};

Jackknife jackknife_of_defined(const std::vector<double>& values) {
  std::vector<double> defined;
  for (double v : values) {
    if (std::isfinite(v)) defined.push_back(v);
  }
  return {jackknife_se(defined), int64_t(defined.size())};
}

std::vector<EquilibriumRow> equilibrium_rows(const MapInput& input, const Replicates& rep,
                                             double shift) {
  const int64_t ny = input.grid.y.bins;
  std::vector<EquilibriumRow> rows;
  for (int64_t ix = 0; ix < input.grid.x.bins; ++ix) {
    const ColumnEquilibrium& column = rep.columns[ix];
    if (!column.visited) continue;
    EquilibriumRow row;
    row.x = grid_bin_centre(input.grid.x, ix);
    for (int64_t iy = 0; iy < ny; ++iy) row.visits += input.histogram[ix * ny + iy];
    row.y_argmax = column.y_argmax;
    row.y_mean = column.y_mean;
    row.s_max = column.s_max - shift;
    std::vector<double> argmax, mean;
    for (const auto& loo : rep.loo_columns) {
      argmax.push_back(loo[ix].y_argmax);
      mean.push_back(loo[ix].y_mean);
    }
    row.y_argmax_se = jackknife_of_defined(argmax).se;
    row.y_mean_se = jackknife_of_defined(mean).se;
    rows.push_back(row);
  }
  return rows;
}

std::vector<AdvantageBin> advantage_bins(const WlGridConfig& config, const Replicates& rep,
                                         const std::vector<TrajectoryBin>& adamw) {
  std::vector<AdvantageBin> bins;
  for (const TrajectoryBin& trajectory : adamw) {
    const auto statistic = EquilibriumStatistic::argmax;
    const double eq = equilibrium_in_bin(config, rep.columns, trajectory.index, statistic);
    if (!std::isfinite(eq)) continue;
    std::vector<double> loo;
    for (const auto& columns : rep.loo_columns) {
      loo.push_back(equilibrium_in_bin(config, columns, trajectory.index, statistic));
    }
    AdvantageBin bin;
    bin.adamw = trajectory;
    bin.equilibrium = {eq, jackknife_of_defined(loo).se};
    bin.advantage = eq - trajectory.accuracy.mean;
    bin.advantage_se = std::hypot(bin.equilibrium.se, trajectory.accuracy.se);
    bins.push_back(bin);
  }
  return bins;
}

// Returns the mean accuracy over bins of each seed that has points in every one of them.
std::vector<double> replica_means_over(const std::vector<const TrajectoryBin*>& bins) {
  std::vector<double> means;
  for (const auto& [replica, first] : bins.front()->replica_means) {
    double sum = 0.0;
    bool everywhere = true;
    for (const TrajectoryBin* bin : bins) {
      const auto found = bin->replica_means.find(replica);
      everywhere = everywhere && found != bin->replica_means.end();
      if (found != bin->replica_means.end()) sum += found->second;
    }
    if (everywhere) means.push_back(sum / double(bins.size()));
  }
  return means;
}

AdvantageSummary summarize_advantage(const WlGridConfig& config, const Replicates& rep,
                                     const std::vector<AdvantageBin>& bins,
                                     EquilibriumStatistic statistic) {
  std::vector<const TrajectoryBin*> low;
  for (const AdvantageBin& bin : bins) {
    if (bin.adamw.x_hi <= kLowLossX) low.push_back(&bin.adamw);
  }
  AdvantageSummary summary;
  if (low.empty()) return summary;
  summary.bins = int64_t(low.size());
  summary.x_lo = low.front()->x_lo;
  summary.x_hi = low.back()->x_hi;

  // The mean equilibrium accuracy over the bins, on one map.
  auto mean_equilibrium = [&](const std::vector<ColumnEquilibrium>& columns) {
    double sum = 0.0;
    for (const TrajectoryBin* bin : low) {
      sum += equilibrium_in_bin(config, columns, bin->index, statistic);
    }
    return sum / double(low.size());
  };
  double adamw_sum = 0.0;
  for (const TrajectoryBin* bin : low) adamw_sum += bin->accuracy.mean;
  summary.mean = mean_equilibrium(rep.columns) - adamw_sum / double(low.size());
  std::vector<double> loo;
  for (const auto& columns : rep.loo_columns) loo.push_back(mean_equilibrium(columns));

  const double se_equilibrium = jackknife_of_defined(loo).se;
  const double se_adamw = mean_and_se(replica_means_over(low)).se;
  summary.se = std::hypot(se_equilibrium, se_adamw);
  return summary;
}

std::string barrier_statement(const WlGridConfig& config, const BarrierResult& barrier) {
  if (!barrier.search.defined) return "no barrier can be measured: " + barrier.search.reason;
  const double value = barrier.search.value;
  if (barrier.detected) {
    return fmt::format("a barrier of {:.3g} +- {:.2g} is detected", value, barrier.se);
  }
  const std::string error =
      std::isfinite(barrier.se)
          ? fmt::format("B = {:.3g} +- {:.2g}", value, barrier.se)
          : fmt::format("B = {:.3g} with no standard error: {} of {} leave-one-out maps "
                        "(each without one walker) join the two ends, and the error needs at "
                        "least half of them and at least 2",
                        value, barrier.jackknife_n, barrier.walkers);
  return fmt::format("no barrier is detected at this map's resolution ({}; bins {:g} x {:g}, "
                     "deposit sigma {:g} bins, so features narrower than about 2 sigma = {:g} "
                     "bins are smoothed away, and the path steps over unvisited gaps of up to "
                     "{} bin{})",
                     error, config.x.width, config.y.width / config.y_scale, config.sigma_bins,
                     2.0 * config.sigma_bins, barrier_reach(config) - 1,
                     barrier_reach(config) == 2 ? "" : "s");
}

BarrierResult barrier_result(const WlGridConfig& config, const Replicates& rep) {
  BarrierResult barrier;
  barrier.search = rep.barrier;
  if (barrier.search.defined) {
    const Jackknife jackknife = jackknife_of_defined(rep.loo_barrier);
    barrier.walkers = int64_t(rep.loo_barrier.size());
    barrier.jackknife_n = jackknife.n;
    if (2 * jackknife.n >= barrier.walkers) barrier.se = jackknife.se;
    barrier.detected = std::isfinite(barrier.se) && barrier.search.value > 2.0 * barrier.se;
  }
  barrier.statement = barrier_statement(config, barrier);
  return barrier;
}

}  // namespace

MapAnalysis analyze_map(const MapInput& input, const std::vector<TrajectoryPoint>& adamw) {
  GLASSY_CHECK(input.grid.dims == 2, "the analysis needs a 2-D map, got {} dimensions",
               input.grid.dims);
  MapAnalysis analysis;
  const EntropyGrid full = full_entropy_grid(input);
  analysis.entropy = shifted_entropy(full);
  for (std::size_t c = 0; c < full.s.size(); ++c) {
    if (!full.visited[c]) continue;
    ++analysis.visited_bins;
    analysis.shift = std::isnan(analysis.shift) ? full.s[c] : std::min(analysis.shift, full.s[c]);
  }
  analysis.flatness = histogram_flatness(input.histogram);

  const Replicates replicates = compute_replicates(input, full);
  analysis.equilibrium = equilibrium_rows(input, replicates, analysis.shift);
  analysis.adamw = bin_trajectories(adamw, input.grid.x.lo);
  analysis.advantage = advantage_bins(input.grid, replicates, analysis.adamw);
  analysis.advantage_argmax = summarize_advantage(input.grid, replicates, analysis.advantage,
                                                  EquilibriumStatistic::argmax);
  analysis.advantage_weighted_mean = summarize_advantage(
      input.grid, replicates, analysis.advantage, EquilibriumStatistic::weighted_mean);
  analysis.barrier = barrier_result(input.grid, replicates);
  return analysis;
}

}  // namespace glassy
