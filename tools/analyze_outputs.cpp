// The files and the analysis.json entry of one analyzed map (tools/analyze_outputs.h).
#include "tools/analyze_outputs.h"

#include "engine/npy.h"
#include "engine/run_dir.h"

namespace glassy {
namespace {

// Joins already formatted fields into one CSV line with its newline.
std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += fields[i];
  }
  return line + "\n";
}

std::string equilibrium_csv(const MapAnalysis& analysis) {
  std::string text = "x,visits,y_argmax,y_argmax_se,y_mean,y_mean_se,s_max\n";
  for (const EquilibriumRow& row : analysis.equilibrium) {
    text += csv_line({csv_number(row.x), std::to_string(row.visits), csv_number(row.y_argmax),
                      csv_number(row.y_argmax_se), csv_number(row.y_mean),
                      csv_number(row.y_mean_se), csv_number(row.s_max)});
  }
  return text;
}

std::string adamw_csv(const MapAnalysis& analysis) {
  std::string text = "x_lo,x_hi,seeds,y_mean,y_se\n";
  for (const TrajectoryBin& bin : analysis.adamw) {
    text += csv_line({csv_number(bin.x_lo), csv_number(bin.x_hi),
                      std::to_string(bin.replica_means.size()), csv_number(bin.accuracy.mean),
                      csv_number(bin.accuracy.se)});
  }
  return text;
}

std::string advantage_csv(const MapAnalysis& analysis) {
  std::string text = "x_lo,x_hi,y_equilibrium,y_equilibrium_se,y_adamw,y_adamw_se,advantage,"
                     "advantage_se\n";
  for (const AdvantageBin& bin : analysis.advantage) {
    text += csv_line({csv_number(bin.adamw.x_lo), csv_number(bin.adamw.x_hi),
                      csv_number(bin.equilibrium.mean), csv_number(bin.equilibrium.se),
                      csv_number(bin.adamw.accuracy.mean), csv_number(bin.adamw.accuracy.se),
                      csv_number(bin.advantage), csv_number(bin.advantage_se)});
  }
  return text;
}

std::string barrier_path_csv(const MapAnalysis& analysis) {
  std::string text = "order,x,accuracy,s\n";
  const std::vector<BarrierPoint>& path = analysis.barrier.search.path;
  for (std::size_t i = 0; i < path.size(); ++i) {
    text += csv_line({std::to_string(i), csv_number(path[i].x), csv_number(path[i].accuracy),
                      csv_number(path[i].s - analysis.shift)});
  }
  return text;
}

nlohmann::json summary_json(const AdvantageSummary& summary) {
  return {{"mean", json_number(summary.mean)},
          {"se", json_number(summary.se)},
          {"bins", summary.bins},
          {"x_lo", json_number(summary.x_lo)},
          {"x_hi", json_number(summary.x_hi)}};
}

nlohmann::json point_json(const BarrierPoint& point, double shift) {
  return {{"x", json_number(point.x)},
          {"accuracy", json_number(point.accuracy)},
          {"s", json_number(point.s - shift)}};
}

}  // namespace

void write_map_analysis_files(const std::string& directory, const MapInput& input,
                              const MapAnalysis& analysis) {
  const std::vector<int64_t> shape = {input.grid.x.bins, input.grid.y.bins};
  npy_write(directory + "/entropy.npy", analysis.entropy.data(), shape);
  write_file_atomic(directory + "/equilibrium.csv", equilibrium_csv(analysis));
  write_file_atomic(directory + "/adamw.csv", adamw_csv(analysis));
  write_file_atomic(directory + "/advantage.csv", advantage_csv(analysis));
  write_file_atomic(directory + "/barrier_path.csv", barrier_path_csv(analysis));
}

nlohmann::json advantage_json(const MapAnalysis& analysis) {
  if (analysis.advantage_argmax.bins == 0) return nullptr;
  return {{"argmax", summary_json(analysis.advantage_argmax)},
          {"weighted_mean", summary_json(analysis.advantage_weighted_mean)}};
}

nlohmann::json barrier_json(const MapAnalysis& analysis) {
  const BarrierResult& barrier = analysis.barrier;
  if (!barrier.search.defined) {
    return {{"value", nullptr},
            {"reason", barrier.search.reason},
            {"statement", barrier.statement}};
  }
  return {{"value", json_number(barrier.search.value)},
          {"se", json_number(barrier.se)},
          {"jackknife_n", barrier.jackknife_n},
          {"detected", barrier.detected},
          {"statement", barrier.statement},
          {"memorizing_end", point_json(barrier.search.memorizing, analysis.shift)},
          {"generalizing_end", point_json(barrier.search.generalizing, analysis.shift)},
          {"saddle", point_json(barrier.search.saddle, analysis.shift)}};
}

}  // namespace glassy
