// The experiment set of `glassy reproduce`: the parts that reproduce "Is Grokking a
// Computational Glass Relaxation?" (Zhang, Shang, Yang, Zhang 2025), each an ordinary
// `glassy train` or `glassy sample` run with its flags, and the presets that size them.
// docs/reproduction.md describes the parts and compares the demo with the paper.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassy {

// One run of the set. glassy analyze computes from each part what its `role` calls for:
//   adamw       AdamW curves of one task, several seeds
//   map         the 2-D entropy map S(ln L_train, A_test) of one task
//   shell       a 2-D map on the norm shell |c| = 30, one per model width
//   fixed-norm  AdamW with the global norm held at 30 and no weight decay
//   wand        the WanD optimizer
//   adamw-frac  AdamW at another train fraction, the peer of a hybrid part
//   hybrid      alpha x WanD + (1 - alpha) x AdamW, alpha = (2 A_test - 1)^2
// `compare` names the AdamW part with the same task, split and model that the part is
// compared with or overlaid on, or is empty.
struct ReproducePart {
  std::string name;
  std::string kind;  // "train" or "sample"
  std::string role;
  std::string title;
  std::string task;
  double train_frac = 0.5;
  int d_model = 0;
  std::string compare;
  std::vector<std::string> args;  // the command's flags, without --out
  double work = 0.0;              // relative cost, for the ETA: replica-steps x a cost factor
};

// The names of the presets, in the order --help lists them.
const std::vector<std::string>& reproduce_preset_names();

// A one-line description of each preset for --help.
std::string reproduce_preset_help();

// The parts of a preset, in the order they run. Throws UsageError for an unknown preset.
std::vector<ReproducePart> reproduce_plan(const std::string& preset);

// Splits a comma-separated list of part names or roles, dropping empty entries.
std::vector<std::string> split_part_names(const std::string& list);

// Keeps the parts named in `only` (comma-separated names or roles), in plan order. Throws
// UsageError naming the unknown entries and listing the allowed ones.
std::vector<ReproducePart> select_parts(const std::vector<ReproducePart>& parts,
                                        const std::string& only);

// The part as it is recorded in reproduce.json.
nlohmann::json part_json(const ReproducePart& part);

}  // namespace glassy
