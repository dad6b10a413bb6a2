// Reading a `glassy reproduce` directory for `glassy analyze`: the plan (reproduce.json), the
// parts' states (status.json) and each part's run directory under parts/<name>/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/analyze_map.h"
#include "tools/analyze_training.h"

namespace glassy {

struct ReproduceDirectory {
  std::string path;       // as given on the command line
  nlohmann::json plan;    // reproduce.json
  nlohmann::json status;  // status.json's "parts" object; empty when status.json is missing
};

// Reads DIR/reproduce.json and DIR/status.json. Throws UsageError when DIR is not a directory,
// has no reproduce.json, or either file is not valid JSON, or a part name could escape
// parts/ (names are letters, digits, '.', '_' and '-').
ReproduceDirectory read_reproduce_directory(const std::string& path);

// Reads a JSON file. Throws UsageError naming the path when it is missing or not valid JSON.
nlohmann::json read_json_file(const std::string& path);

std::string part_directory(const ReproduceDirectory& dir, const std::string& name);

// Returns whether a part's run directory has the files that the analysis reads. A train part
// needs config.json and metrics.csv. A sample part needs config.json, axes.json, map.npy and
// histogram.npy.
bool train_part_complete(const std::string& part_dir);
bool map_part_complete(const std::string& part_dir);

// Reads a sample part's map. The per-walker arrays (walker_deposits.npy, walker_visits.npy)
// are optional: without them the input has 0 walkers and no jackknife. Throws UsageError
// naming the file when an array's shape or dtype does not match axes.json.
MapInput read_map_input(const std::string& part_dir);

// Returns the seed of every replica of a train part, from summary.json or else from
// config.json's replica_grid. An entry without a seed gets its replica index. The list is empty
// when neither file lists the replicas.
std::vector<uint64_t> read_replica_seeds(const std::string& part_dir);

// The (ln L_train, smoothed test accuracy) points of every replica, the axes of the map.
std::vector<TrajectoryPoint> trajectory_points(const std::vector<MetricsRow>& rows);

}  // namespace glassy
