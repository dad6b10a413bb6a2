// Reading a `glassy reproduce` directory and its parts' files for `glassy analyze`.
#include "tools/analyze_parts.h"

#include <cctype>
#include <filesystem>
#include <fstream>

#include <fmt/ranges.h>

#include "engine/error.h"
#include "engine/npy.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;

bool is_file(const std::string& path) { return fs::is_regular_file(path); }

// A part name becomes a folder name under parts/ and analysis/, so it must not be a path.
bool is_safe_part_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                         c == '-';
    if (!allowed) return false;
  }
  return true;
}

void check_plan(const std::string& path, const nlohmann::json& plan) {
  GLASSY_REQUIRE(plan.is_object() && plan.contains("parts") && plan["parts"].is_array(),
                 "{}/reproduce.json has no \"parts\" list; it was not written by glassy "
                 "reproduce, which a new run of glassy reproduce --out DIR fixes",
                 path);
  for (const nlohmann::json& part : plan["parts"]) {
    const std::string name = part.value("name", "");
    GLASSY_REQUIRE(is_safe_part_name(name),
                   "{}/reproduce.json names a part '{}'; part names must be non-empty and "
                   "contain only letters, digits, '.', '_' and '-'",
                   path, name);
  }
}

// Returns the values of the array read from path, which must have the given dtype and shape.
// Throws UsageError naming the file otherwise.
template <typename T>
std::vector<T> checked_values(const std::string& path, const NpyArray& array,
                              const std::vector<int64_t>& shape) {
  GLASSY_REQUIRE(array.dtype == npy_dtype<T>() && array.shape == shape,
                 "{} has dtype {} and shape ({}), but axes.json needs dtype {} and shape ({}); "
                 "the part's files do not belong together, so rerun the part",
                 path, array.dtype, fmt::join(array.shape, ", "), npy_dtype<T>(),
                 fmt::join(shape, ", "));
  return array.values<T>();
}

// Reads an .npy file. A file cut short or not in the .npy format raises UsageError that names
// it and the way to restore it, instead of the reader's bare message.
NpyArray read_npy_file(const std::string& path) {
  try {
    return npy_read(path);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& error) {
    throw UsageError(fmt::format("{} cannot be read ({}); the part's run was cut or the file "
                                 "was damaged, so remove the part's directory and run glassy "
                                 "reproduce again with --resume to redo it",
                                 path, error.what()));
  }
}

template <typename T>
std::vector<T> read_array(const std::string& path, const std::vector<int64_t>& shape) {
  return checked_values<T>(path, read_npy_file(path), shape);
}

GridAxis axis_from_json(const nlohmann::json& axis) {
  return {axis.at("lo").get<double>(), axis.at("width").get<double>(),
          axis.at("bins").get<int64_t>()};
}

// The grid of axes.json (as grid_axes_json writes it) with the sharing mode of config.json.
WlGridConfig grid_config(const std::string& part_dir) {
  const nlohmann::json axes = read_json_file(part_dir + "/axes.json");
  const nlohmann::json config = read_json_file(part_dir + "/config.json");
  WlGridConfig grid;
  try {
    grid.dims = axes.at("dims").get<int>();
    grid.x = axis_from_json(axes.at("x"));
    grid.y = axis_from_json(axes.at("y"));
    grid.y_scale = axes.at("y_scale").get<double>();
    grid.sigma_bins = axes.at("sigma_bins").get<double>();
    const nlohmann::json& bias = axes.at("bias");
    grid.bias = {bias.at("beta").get<double>(),     bias.at("l0").get<double>(),
                 bias.at("low_beta").get<double>(), bias.at("low_x").get<double>(),
                 bias.at("y_beta").get<double>(),   bias.at("y_lo").get<double>(),
                 bias.at("y_hi").get<double>()};
  } catch (const nlohmann::json::exception& error) {
    throw UsageError(fmt::format("{}/axes.json is not the axes file of glassy sample: {}",
                                 part_dir, error.what()));
  }
  GLASSY_REQUIRE(grid.dims == 2 && grid.x.bins > 0 && grid.y.bins > 0 && grid.y_scale > 0.0,
                 "{}/axes.json describes a {}-D grid of {} x {} bins with y scale {}; "
                 "glassy analyze reads 2-D maps with positive sizes",
                 part_dir, grid.dims, grid.x.bins, grid.y.bins, grid.y_scale);
  grid.sharing = parse_grid_sharing(config.value("sharing", "average"));
  return grid;
}

// The bias at every bin centre (NX, NY), the grid that every walker started from.
std::vector<double> bias_values(const WlGridConfig& grid) {
  std::vector<double> bias(grid.x.bins * grid.y.bins);
  for (int64_t ix = 0; ix < grid.x.bins; ++ix) {
    for (int64_t iy = 0; iy < grid.y.bins; ++iy) {
      bias[ix * grid.y.bins + iy] =
          grid.bias.value(grid_bin_centre(grid.x, ix), grid_bin_centre(grid.y, iy));
    }
  }
  return bias;
}

}  // namespace

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream file(path);
  GLASSY_REQUIRE(file.good(), "cannot read {}: the file is missing or unreadable", path);
  const nlohmann::json value = nlohmann::json::parse(file, nullptr, false);
  GLASSY_REQUIRE(!value.is_discarded(), "{} is not valid JSON", path);
  return value;
}

ReproduceDirectory read_reproduce_directory(const std::string& path) {
  GLASSY_REQUIRE(fs::is_directory(path),
                 "{} is not a directory; name the directory that glassy reproduce --out wrote",
                 path);
  GLASSY_REQUIRE(is_file(path + "/reproduce.json"),
                 "{} is not a glassy reproduce directory: it has no reproduce.json; name the "
                 "--out directory of a glassy reproduce run, or make one with glassy reproduce "
                 "--preset demo --out NEW_DIR",
                 path);
  ReproduceDirectory dir;
  dir.path = path;
  dir.plan = read_json_file(path + "/reproduce.json");
  check_plan(path, dir.plan);
  dir.status = nlohmann::json::object();
  if (is_file(path + "/status.json")) {
    const nlohmann::json status = read_json_file(path + "/status.json");
    if (status.contains("parts") && status["parts"].is_object()) dir.status = status["parts"];
  }
  return dir;
}

std::string part_directory(const ReproduceDirectory& dir, const std::string& name) {
  return dir.path + "/parts/" + name;
}

bool train_part_complete(const std::string& part_dir) {
  return is_file(part_dir + "/config.json") && is_file(part_dir + "/metrics.csv");
}

bool map_part_complete(const std::string& part_dir) {
  return is_file(part_dir + "/config.json") && is_file(part_dir + "/axes.json") &&
         is_file(part_dir + "/map.npy") && is_file(part_dir + "/histogram.npy");
}

MapInput read_map_input(const std::string& part_dir) {
  MapInput input;
  input.grid = grid_config(part_dir);
  const std::vector<int64_t> shape = {input.grid.x.bins, input.grid.y.bins};
  input.map = read_array<double>(part_dir + "/map.npy", shape);
  input.histogram = read_array<int64_t>(part_dir + "/histogram.npy", shape);
  input.bias = bias_values(input.grid);

  const std::string deposits = part_dir + "/walker_deposits.npy";
  const std::string visits = part_dir + "/walker_visits.npy";
  if (!is_file(deposits) || !is_file(visits)) return input;
  {
    // The walker arrays are R times the size of the map, so the file's bytes are freed at the
    // end of this block, before the visits are read.
    const NpyArray array = read_npy_file(deposits);
    input.walkers = array.shape.empty() ? 0 : array.shape[0];
    input.deposits =
        checked_values<double>(deposits, array, {input.walkers, shape[0], shape[1]});
  }
  GLASSY_REQUIRE(input.walkers > 0, "{} has no walkers; rerun the part", deposits);
  input.visits = read_array<int64_t>(visits, {input.walkers, shape[0], shape[1]});
  return input;
}

std::vector<uint64_t> read_replica_seeds(const std::string& part_dir) {
  nlohmann::json replicas;
  if (is_file(part_dir + "/summary.json")) {
    replicas = read_json_file(part_dir + "/summary.json").value("replicas", nlohmann::json());
  } else {
    replicas = read_json_file(part_dir + "/config.json").value("replica_grid", nlohmann::json());
  }
  std::vector<uint64_t> seeds;
  if (!replicas.is_array()) return seeds;
  for (const nlohmann::json& replica : replicas) {
    seeds.push_back(replica.value("seed", uint64_t(seeds.size())));
  }
  return seeds;
}

std::vector<TrajectoryPoint> trajectory_points(const std::vector<MetricsRow>& rows) {
  std::vector<TrajectoryPoint> points;
  points.reserve(rows.size());
  for (const MetricsRow& row : rows) {
    points.push_back({row.replica, row.log_train_loss, row.smooth_test_acc});
  }
  return points;
}

}  // namespace glassy
