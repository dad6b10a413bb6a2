// Files that every kind of run directory holds: the data split and the parameter layout.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/data.h"
#include "engine/parameters.h"

namespace glassy {

// split.csv: every example with its index, operands, answer and set (train or test).
std::string split_csv(const Split& split, int64_t p);

// parameters.json: the tensors' names, shapes, offsets, sizes and initialization std.
nlohmann::json layout_json(const ParameterLayout& layout);

// Adds what a run's config.json records beside its flags: the parameter count, the set sizes,
// the device, the threads and the glassy version. Config-file readers skip these keys.
void add_run_metadata(nlohmann::json& config, const ParameterLayout& layout, const Split& split,
                      const std::string& device);

// The bytes of memory available to new allocations, from /proc/meminfo, or 0 when unknown.
double available_memory_bytes();

// The machine's total memory in bytes, from /proc/meminfo, or 0 when unknown.
double total_memory_bytes();

}  // namespace glassy
