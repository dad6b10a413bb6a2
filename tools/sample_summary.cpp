// Region coverage and health of a sampling run, from traces.csv and the sampler state.
#include "tools/sample_summary.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "tools/sample_outputs.h"

namespace glassy {
namespace {

enum Region { kHighLoss, kMemorizing, kGeneralizing, kRegionCount };
const char* const kRegionNames[kRegionCount] = {"high_loss", "memorizing", "generalizing"};

// A 1-D run has no accuracy axis, so only the high-loss region is defined there.
bool in_region(Region region, double x, double y, int dims) {
  if (dims == 1 && region != kHighLoss) return false;
  switch (region) {
    case kHighLoss: return x > kHighLossX;
    case kMemorizing: return x < kLowLossX && y < kMemorizingAccuracy;
    default: return x < kLowLossX && y > kGeneralizingAccuracy;
  }
}

struct GroupStats {
  int64_t rows = 0;
  int64_t first_step[kRegionCount] = {-1, -1, -1};
  int64_t rows_in[kRegionCount] = {0, 0, 0};
  double min_x = INFINITY;
  double max_temperature = 0.0;
  int64_t hot_rows = 0;
};

std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) fields.push_back(field);
  return fields;
}

// Reads traces.csv: step, walker, group, x, y, diagnostics..., weight_norm, temperature.
std::map<std::string, GroupStats> group_stats(const std::string& path, int dims) {
  std::map<std::string, GroupStats> groups;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split_row(line);
    if (f.size() < 7) continue;
    const int64_t step = std::stoll(f[0]);
    const double x = std::strtod(f[3].c_str(), nullptr);
    const double y = std::strtod(f[4].c_str(), nullptr);
    const double temperature = std::strtod(f.back().c_str(), nullptr);
    GroupStats& g = groups[f[2]];
    ++g.rows;
    g.min_x = std::min(g.min_x, x);
    g.max_temperature = std::max(g.max_temperature, temperature);
    g.hot_rows += temperature > kHotTemperature;
    for (int r = 0; r < kRegionCount; ++r) {
      if (!in_region(Region(r), x, y, dims)) continue;
      ++g.rows_in[r];
      if (g.first_step[r] < 0) g.first_step[r] = step;
    }
  }
  return groups;
}

nlohmann::json groups_json(const std::map<std::string, GroupStats>& groups) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [label, g] : groups) {
    nlohmann::json regions = nlohmann::json::object();
    for (int r = 0; r < kRegionCount; ++r) {
      regions[kRegionNames[r]] = {
          {"reached", g.first_step[r] >= 0},
          {"first_step", g.first_step[r] >= 0 ? nlohmann::json(g.first_step[r]) : nullptr},
          {"fraction_of_trace_rows", g.rows > 0 ? double(g.rows_in[r]) / double(g.rows) : 0.0}};
    }
    out[label] = {{"trace_rows", g.rows},
                  {"min_ln_loss_train", g.min_x},
                  {"max_temperature", g.max_temperature},
                  {"hot_trace_rows", g.hot_rows},
                  {"regions", regions}};
  }
  return out;
}

// Visits of the map per region, by bin centre.
nlohmann::json map_regions_json(const WlGrid& grid) {
  const WlGridConfig& c = grid.config();
  const std::vector<int64_t> histogram = grid.histogram();
  int64_t visits[kRegionCount] = {0, 0, 0};
  for (int64_t i = 0; i < c.x.bins; ++i) {
    for (int64_t j = 0; j < c.y.bins; ++j) {
      const double x = grid_bin_centre(c.x, i);
      const double y = c.dims == 2 ? grid_bin_centre(c.y, j) / c.y_scale : 0.0;
      for (int r = 0; r < kRegionCount; ++r) {
        if (in_region(Region(r), x, y, c.dims)) visits[r] += histogram[i * c.y.bins + j];
      }
    }
  }
  nlohmann::json out = nlohmann::json::object();
  for (int r = 0; r < kRegionCount; ++r) out[kRegionNames[r]] = visits[r];
  return out;
}

}  // namespace

void write_sample_summary(const RunDirectory& dir, const SamplePlan& plan, Wlmd& wlmd,
                          double seconds, const std::string& status) {
  const std::map<std::string, GroupStats> groups =
      group_stats(dir.file("traces.csv"), plan.wlmd.grid.dims);
  int64_t hot_rows = 0;
  for (const auto& [label, g] : groups) hot_rows += g.hot_rows;
  const WlGrid& grid = wlmd.grid();
  const Flatness flat = histogram_flatness(grid.histogram());
  const RangeCounts& counts = grid.range_counts();
  const nlohmann::json summary = {
      {"status", status},
      {"steps_done", wlmd.steps_done()},
      {"steps_planned", plan.settings.steps},
      {"walkers", plan.walkers},
      {"wall_seconds_this_process", seconds},
      {"f_wl_now", plan.wlmd.grid.schedule.amount(std::max<int64_t>(wlmd.steps_done(), 1))},
      {"regions_definition",
       fmt::format("high_loss: ln L_train > {}; memorizing: ln L_train < {} and smoothed test "
                   "accuracy < {}; generalizing: ln L_train < {} and accuracy > {} (2-D "
                   "runs only)",
                   kHighLossX, kLowLossX, kMemorizingAccuracy, kLowLossX,
                   kGeneralizingAccuracy)},
      {"map_visits_by_region", map_regions_json(grid)},
      {"groups", groups_json(groups)},
      {"hot_temperature_limit", kHotTemperature},
      {"hot_trace_rows", hot_rows},
      {"out_of_range", {{"x_low", counts.x_low}, {"x_high", counts.x_high},
                        {"y_low", counts.y_low}, {"y_high", counts.y_high},
                        {"not_a_number", counts.not_a_number}}},
      {"flatness", {{"visited_bins", flat.visited}, {"min_over_mean", flat.min_over_mean},
                    {"variation", flat.variation}}},
  };
  write_file_atomic(dir.file("summary.json"), summary.dump(2) + "\n");
  if (hot_rows > 0) {
    std::cerr << fmt::format("warning: {} trace rows had a kinetic temperature above {} kT; "
                             "summary.json lists them per group\n", hot_rows, kHotTemperature);
  }
}

}  // namespace glassy
