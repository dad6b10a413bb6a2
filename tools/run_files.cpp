// split.csv and parameters.json.
#include "tools/run_files.h"

#include <fstream>

#include <fmt/format.h>
#include <omp.h>

#include "engine/version.h"

namespace glassy {

std::string split_csv(const Split& split, int64_t p) {
  std::string text = "index,x,y,answer,set\n";
  auto add = [&](const Dataset& set, const std::vector<int64_t>& index, const char* name) {
    for (int64_t i = 0; i < set.size(); ++i) {
      text += fmt::format("{},{},{},{},{}\n", index[i], index[i] / p, index[i] % p,
                          set.answers[i], name);
    }
  };
  add(split.train, split.train_index, "train");
  add(split.test, split.test_index, "test");
  return text;
}

nlohmann::json layout_json(const ParameterLayout& layout) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorInfo& t : layout.tensors()) {
    tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"offset", t.offset},
                       {"size", t.size}, {"init_std", t.init_std}});
  }
  return {{"parameters", layout.size()}, {"tensors", tensors}};
}

void add_run_metadata(nlohmann::json& config, const ParameterLayout& layout, const Split& split,
                      const std::string& device) {
  config["parameters"] = layout.size();
  config["train_examples"] = split.train.size();
  config["test_examples"] = split.test.size();
  config["device"] = device;
  config["threads_used"] = omp_get_max_threads();
  config["glassy_version"] = glassy_version();
}

namespace {

// The value of one /proc/meminfo line (key with its colon, e.g. "MemTotal:") in bytes, or 0.
double meminfo_bytes(const std::string& requested_key) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  double kilobytes = 0.0;
  while (meminfo >> key >> kilobytes >> unit) {
    if (key == requested_key) return kilobytes * 1024.0;
  }
  return 0.0;
}

}  // namespace

double available_memory_bytes() { return meminfo_bytes("MemAvailable:"); }

double total_memory_bytes() { return meminfo_bytes("MemTotal:"); }

}  // namespace glassy
