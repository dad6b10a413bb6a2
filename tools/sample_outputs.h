// The result files of `glassy sample`, written from the sampler's state at every checkpoint and
// at the end, so a killed run still leaves a map:
//   map.npy          S on the whole grid (NX, NY), bias included, float64
//   histogram.npy    visits per bin (NX, NY), int64, all walkers
//   studied.npy      1 where the bias is 0 (the studied range), else 0, int64
//   walker_deposits.npy, walker_visits.npy  each walker's own deposits (float64) and visits
//                    (int64), (R, NX, NY), with --walker-maps
//   map.csv          one row per bin: centres, S, bias, studied, visits (visited bins only
//                    when the grid has more than kMapCsvMaxCells bins)
//   equilibrium.csv  per x column with visits: the y of largest S and the e^S-weighted mean y
//   axes.json        the grid's axes, y scale and the bias, to read the arrays
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "samplers/wl_grid.h"

namespace glassy {

constexpr int64_t kMapCsvMaxCells = 250000;

// Histogram flatness over the visited bins. The whole grid, bias included, converges to S, so
// every visited bin counts, inside the studied range or not.
struct Flatness {
  int64_t visited = 0;
  double min_over_mean = 0.0;  // 1 for a perfectly flat histogram
  double variation = 0.0;      // standard deviation over mean
};

Flatness histogram_flatness(const std::vector<int64_t>& histogram);

// Largest and mean |S - previous| over the bins visited so far (bins first visited since the
// previous map count too: their change is the mass deposited there).
struct MapChange {
  double max_abs = 0.0;
  double mean_abs = 0.0;
};

MapChange map_change(const std::vector<double>& map, const std::vector<double>& previous,
                     const std::vector<int64_t>& histogram);

nlohmann::json grid_axes_json(const WlGridConfig& config);

// Writes the files listed above into directory.
void write_map_files(const std::string& directory, const WlGrid& grid);

}  // namespace glassy
