// Map, histogram and equilibrium-curve files of `glassy sample`.
#include "tools/sample_outputs.h"

#include <cmath>
#include <limits>

#include "engine/csv_format.h"
#include "engine/npy.h"
#include "engine/run_dir.h"

namespace glassy {

Flatness histogram_flatness(const std::vector<int64_t>& histogram) {
  Flatness f;
  double sum = 0.0, sum_squares = 0.0;
  int64_t lowest = std::numeric_limits<int64_t>::max();
  for (std::size_t c = 0; c < histogram.size(); ++c) {
    if (histogram[c] == 0) continue;
    ++f.visited;
    sum += double(histogram[c]);
    sum_squares += double(histogram[c]) * double(histogram[c]);
    lowest = std::min(lowest, histogram[c]);
  }
  if (f.visited == 0) return f;
  const double mean = sum / double(f.visited);
  f.min_over_mean = double(lowest) / mean;
  f.variation = std::sqrt(std::max(0.0, sum_squares / double(f.visited) - mean * mean)) / mean;
  return f;
}

MapChange map_change(const std::vector<double>& map, const std::vector<double>& previous,
                     const std::vector<int64_t>& histogram) {
  MapChange change;
  int64_t count = 0;
  for (std::size_t c = 0; c < map.size(); ++c) {
    if (histogram[c] == 0) continue;
    const double delta = std::fabs(map[c] - previous[c]);
    change.max_abs = std::max(change.max_abs, delta);
    change.mean_abs += delta;
    ++count;
  }
  if (count > 0) change.mean_abs /= double(count);
  return change;
}

nlohmann::json grid_axes_json(const WlGridConfig& c) {
  auto axis = [](const GridAxis& a) {
    return nlohmann::json{{"lo", a.lo}, {"width", a.width}, {"bins", a.bins},
                          {"hi", a.lo + a.width * double(a.bins)}};
  };
  return {{"dims", c.dims},
          {"x", axis(c.x)},
          {"y", axis(c.y)},
          {"y_scale", c.y_scale},
          {"bin_rule", "bin = floor((value - lo) / width); y value = y_scale x accuracy"},
          {"bias", {{"beta", c.bias.beta}, {"l0", c.bias.l0}, {"low_beta", c.bias.low_beta},
                    {"low_x", c.bias.low_x}, {"y_beta", c.bias.y_beta},
                    {"y_lo", c.bias.y_lo}, {"y_hi", c.bias.y_hi}}},
          {"sigma_bins", c.sigma_bins}};
}

namespace {

// Per x column with visits: the y centre of the visited bin of largest S, and the mean of y
// weighted by e^S over the visited bins (unvisited bins are undefined, not zero). A 1-D map
// has no y, so its y columns stay empty and s_max is S of the column.
std::string equilibrium_csv(const WlGridConfig& c, const std::vector<double>& map,
                            const std::vector<int64_t>& histogram) {
  std::string text = "x,visits,y_argmax,y_mean,s_max\n";
  const int64_t ny = c.y.bins;
  for (int64_t i = 0; i < c.x.bins; ++i) {
    int64_t visits = 0, best = -1;
    for (int64_t j = 0; j < ny; ++j) {
      const int64_t cell = i * ny + j;
      if (histogram[cell] == 0) continue;
      visits += histogram[cell];
      if (best < 0 || map[cell] > map[i * ny + best]) best = j;
    }
    if (best < 0) continue;
    const double top = map[i * ny + best];
    if (c.dims == 1) {
      text += fmt::format("{},{},,,{}\n", format_double(grid_bin_centre(c.x, i)), visits,
                          format_double(top));
      continue;
    }
    double weight_sum = 0.0, weighted_y = 0.0;
    for (int64_t j = 0; j < ny; ++j) {
      if (histogram[i * ny + j] == 0) continue;
      const double weight = std::exp(map[i * ny + j] - top);
      weight_sum += weight;
      weighted_y += weight * grid_bin_centre(c.y, j) / c.y_scale;
    }
    text += fmt::format("{},{},{},{},{}\n", format_double(grid_bin_centre(c.x, i)), visits,
                        format_double(grid_bin_centre(c.y, best) / c.y_scale),
                        format_double(weighted_y / weight_sum), format_double(top));
  }
  return text;
}

std::string map_csv(const WlGridConfig& c, const std::vector<double>& map,
                    const std::vector<double>& bias, const std::vector<int64_t>& histogram) {
  const int64_t ny = c.y.bins;
  const bool all_cells = c.x.bins * ny <= kMapCsvMaxCells;
  std::string text = "x,y,s,bias,studied,visits\n";
  for (int64_t i = 0; i < c.x.bins; ++i) {
    for (int64_t j = 0; j < ny; ++j) {
      const int64_t cell = i * ny + j;
      if (!all_cells && histogram[cell] == 0) continue;
      const double y = c.dims == 2 ? grid_bin_centre(c.y, j) / c.y_scale : 0.0;
      text += fmt::format("{},{},{},{},{},{}\n", format_double(grid_bin_centre(c.x, i)),
                          format_double(y), format_double(map[cell]), format_double(bias[cell]),
                          bias[cell] == 0.0 ? 1 : 0, histogram[cell]);
    }
  }
  return text;
}

}  // namespace

void write_map_files(const std::string& directory, const WlGrid& grid) {
  const WlGridConfig& c = grid.config();
  const std::vector<double> map = grid.mean_grid();
  const std::vector<int64_t> histogram = grid.histogram();
  const std::vector<double> bias = grid.bias_values();
  const std::vector<int64_t> studied = grid.studied_mask();
  const std::vector<int64_t> shape{c.x.bins, c.y.bins};
  npy_write(directory + "/map.npy", map.data(), shape);
  npy_write(directory + "/histogram.npy", histogram.data(), shape);
  npy_write(directory + "/studied.npy", studied.data(), shape);
  if (c.walker_ledger) {
    const std::vector<int64_t> walker_shape{grid.walkers(), c.x.bins, c.y.bins};
    npy_write(directory + "/walker_deposits.npy", grid.walker_deposits().data(), walker_shape);
    npy_write(directory + "/walker_visits.npy", grid.walker_visits().data(), walker_shape);
  }
  write_file_atomic(directory + "/map.csv", map_csv(c, map, bias, histogram));
  write_file_atomic(directory + "/equilibrium.csv", equilibrium_csv(c, map, histogram));
  write_file_atomic(directory + "/axes.json", grid_axes_json(c).dump(2) + "\n");
}

}  // namespace glassy
