// The entropy barrier of a map (find_barrier in tools/analyze_map.h): the ends of the low-loss
// band, then a widest-path search between them.
//
// The widest-path (maximum-bottleneck) search is Dijkstra's algorithm with the path length
// replaced by the smallest S on the path. A bin's label is the largest such bottleneck of the
// paths from M found so far, and bins are settled in order of decreasing label. When G is
// settled its label is b, and the parent links give a path whose smallest S is b.
#include <algorithm>
#include <cmath>
#include <queue>

#include "tools/analyze_map.h"
#include "tools/sample_summary.h"

namespace glassy {
namespace {

// The band: visited bins with x centre < kLowLossX where the bias is zero (1 = inside),
// (NX, NY). Where the bias is not zero, S is mostly the bias until deposits dominate it, and a
// bias that grows with x would put the memorizing end at the band's high-loss edge.
std::vector<uint8_t> low_loss_band(const WlGridConfig& config, const EntropyGrid& grid) {
  const int64_t ny = config.y.bins;
  std::vector<uint8_t> band(grid.visited.size(), 0);
  for (int64_t ix = 0; ix < config.x.bins; ++ix) {
    const double x = grid_bin_centre(config.x, ix);
    if (!(x < kLowLossX)) continue;
    for (int64_t iy = 0; iy < ny; ++iy) {
      const bool studied = config.bias.studied(x, grid_bin_centre(config.y, iy));
      band[ix * ny + iy] = studied ? grid.visited[ix * ny + iy] : 0;
    }
  }
  return band;
}

// Returns the band bin of largest S whose accuracy passes `accepts`, or -1 when none does. Ties
// go to the first bin in C order, so the result does not depend on anything but the map.
template <typename Accepts>
int64_t largest_entropy_bin(const WlGridConfig& config, const EntropyGrid& grid,
                            const std::vector<uint8_t>& band, Accepts accepts) {
  int64_t best = -1;
  for (int64_t c = 0; c < int64_t(band.size()); ++c) {
    if (!band[c] || !accepts(grid_bin_centre(config.y, c % config.y.bins) / config.y_scale)) {
      continue;
    }
    if (best < 0 || grid.s[c] > grid.s[best]) best = c;
  }
  return best;
}

struct Candidate {
  double width;  // the smallest S on the best path found to cell
  int64_t cell;
};

// Orders the priority queue: widest first, then the lower cell index, for determinism.
struct NarrowerFirst {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.width < b.width || (a.width == b.width && a.cell > b.cell);
  }
};

// Returns the cells of a widest path from start to goal through band cells, start first, or an
// empty list when no path joins them. A step goes to any band cell within `reach` bins on both
// axes, so unvisited gaps narrower than the deposit stencil's width do not cut the path.
std::vector<int64_t> widest_path(const std::vector<double>& s, const std::vector<uint8_t>& band,
                                 int64_t nx, int64_t ny, int reach, int64_t start, int64_t goal) {
  std::vector<double> label(s.size(), -INFINITY);
  std::vector<int64_t> parent(s.size(), -1);
  std::vector<uint8_t> settled(s.size(), 0);
  std::priority_queue<Candidate, std::vector<Candidate>, NarrowerFirst> queue;
  label[start] = s[start];
  queue.push({s[start], start});
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (settled[top.cell]) continue;
    settled[top.cell] = 1;
    if (top.cell == goal) break;
    const int64_t ix = top.cell / ny, iy = top.cell % ny;
    for (int64_t jx = std::max<int64_t>(ix - reach, 0); jx <= std::min(ix + reach, nx - 1); ++jx) {
      for (int64_t jy = std::max<int64_t>(iy - reach, 0); jy <= std::min(iy + reach, ny - 1);
           ++jy) {
        const int64_t next = jx * ny + jy;
        if (!band[next] || settled[next]) continue;
        const double width = std::min(top.width, s[next]);
        if (width <= label[next]) continue;
        label[next] = width;
        parent[next] = top.cell;
        queue.push({width, next});
      }
    }
  }
  if (!settled[goal]) return {};
  std::vector<int64_t> path;
  for (int64_t c = goal; c >= 0; c = parent[c]) path.push_back(c);
  return {path.rbegin(), path.rend()};
}

BarrierPoint barrier_point(const WlGridConfig& config, const EntropyGrid& grid, int64_t cell) {
  BarrierPoint point;
  point.ix = cell / config.y.bins;
  point.iy = cell % config.y.bins;
  point.x = grid_bin_centre(config.x, point.ix);
  point.accuracy = grid_bin_centre(config.y, point.iy) / config.y_scale;
  point.s = grid.s[cell];
  return point;
}

std::string missing_end_reason(bool no_memorizing, bool no_generalizing) {
  const std::string memorizing =
      fmt::format("test accuracy < {} (the memorizing end)", kMemorizingAccuracy);
  const std::string generalizing =
      fmt::format("test accuracy > {} (the generalizing end)", kGeneralizingAccuracy);
  std::string accuracy = no_memorizing ? memorizing : generalizing;
  if (no_memorizing && no_generalizing) accuracy = memorizing + " or " + generalizing;
  return fmt::format("no visited bin with ln L_train < {}, zero bias and {}", kLowLossX,
                     accuracy);
}

}  // namespace

int barrier_reach(const WlGridConfig& config) {
  return std::max(1, int(std::ceil(config.sigma_bins)));
}

BarrierSearch find_barrier(const WlGridConfig& config, const EntropyGrid& grid) {
  BarrierSearch search;
  const std::vector<uint8_t> band = low_loss_band(config, grid);
  const int64_t memorizing = largest_entropy_bin(
      config, grid, band, [](double accuracy) { return accuracy < kMemorizingAccuracy; });
  const int64_t generalizing = largest_entropy_bin(
      config, grid, band, [](double accuracy) { return accuracy > kGeneralizingAccuracy; });
  if (memorizing < 0 || generalizing < 0) {
    search.reason = missing_end_reason(memorizing < 0, generalizing < 0);
    return search;
  }
  const std::vector<int64_t> path =
      widest_path(grid.s, band, config.x.bins, config.y.bins, barrier_reach(config), memorizing,
                  generalizing);
  if (path.empty()) {
    search.reason = fmt::format("the memorizing and the generalizing end are not joined by "
                                "visited bins with ln L_train < {} and zero bias that lie at "
                                "most {} bin{} apart", kLowLossX, barrier_reach(config),
                                barrier_reach(config) == 1 ? "" : "s");
    return search;
  }

  // The saddle is the first bin of smallest S on the path; its S is the saddle value b.
  int64_t saddle = path.front();
  for (int64_t cell : path) {
    if (grid.s[cell] < grid.s[saddle]) saddle = cell;
  }
  search.defined = true;
  search.value = std::min(grid.s[memorizing], grid.s[generalizing]) - grid.s[saddle];
  search.memorizing = barrier_point(config, grid, memorizing);
  search.generalizing = barrier_point(config, grid, generalizing);
  search.saddle = barrier_point(config, grid, saddle);
  for (int64_t cell : path) search.path.push_back(barrier_point(config, grid, cell));
  return search;
}

}  // namespace glassy
