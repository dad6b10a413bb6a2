// The demo and paper experiment sets of `glassy reproduce`.
//
// Every part of a preset shares one modulus, train fraction (except the hybrid study), split
// seed and model width, so the AdamW trajectories of a task can be drawn on the map of the same
// task. Seeds are listed explicitly so each part's replicas are known before it runs.
#include "tools/reproduce_plan.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.h"

namespace glassy {
namespace {

// Relative cost of one replica-step of each kind, measured at d_model 32 on a CPU: a WLMD
// step evaluates the train and the test set and backpropagates two objectives.
constexpr double kSampleCost = 2.4;
constexpr double kWandCost = 1.3;

struct TaskName {
  std::string task;
  std::string suffix;  // of the part names: add, x2y, x3
  std::string adamw_lr;
};

const std::vector<TaskName> kTasks = {
    {"x+y", "add", "3e-3"}, {"x^2+y", "x2y", "5e-3"}, {"x^3+xy^2+y", "x3", "1e-2"}};

std::string seed_list(int count) {
  std::vector<int> seeds(count);
  for (int i = 0; i < count; ++i) seeds[i] = i;
  return fmt::format("{}", fmt::join(seeds, ","));
}

// Replaces the value that follows `flag` in args.
void set_flag(std::vector<std::string>& args, const std::string& flag, const std::string& value) {
  const auto it = std::find(args.begin(), args.end(), flag);
  GLASSY_CHECK(it != args.end() && it + 1 != args.end(), "no {} among the part's flags", flag);
  *(it + 1) = value;
}

std::string fraction_suffix(double frac) { return fmt::format("f{:02d}", int(frac * 100 + 0.5)); }

// The sizes that differ between the presets.
struct Scale {
  std::vector<std::string> model;  // --p, --train-frac, --split-seed, --d-model
  int p = 31;
  int d_model = 32;
  int seeds = 6;              // AdamW curves per task
  int compare_seeds = 4;      // fixed-norm, WanD, hybrid and their AdamW peers
  int adamw_steps = 5000;
  int hybrid_steps = 3000;    // at train fractions above 0.5, which generalize sooner
  std::vector<int64_t> map_steps;  // per task
  int64_t shell_steps = 3000;
  std::vector<int> shell_widths;
  int walkers = 6;
  bool sample_presets = false;  // maps from the paper-* presets of glassy sample
  std::vector<std::string> map_extra;    // sample flags beside the task
  std::vector<std::string> map_starts;   // --start per task, or empty for the preset's
  std::vector<int> map_walkers;          // walkers per task, for the ETA
  std::vector<std::string> shell_extra;
  std::string wand_dt;
};

Scale demo_scale() {
  Scale s;
  s.model = {"--p", "31", "--train-frac", "0.5", "--split-seed", "0", "--d-model", "32"};
  s.map_steps = {8000, 4000, 4000};
  s.shell_widths = {16, 32, 48};
  // Walkers from the initialization and from AdamW states that memorized (step 300) and
  // generalized (4,500). On x+y two more start half-way through grokking (3,000): without
  // them the memorizing and the generalizing walkers left a gap at accuracy 0.5-0.55 that no
  // barrier path crossed in 8,000 steps. Two walkers per start keep the path when the walker
  // jackknife leaves one out.
  s.map_extra = {"--preset", "demo", "--log-every", "1000"};
  s.map_starts = {"init:2,adamw@300:2,adamw@3000:2,adamw@4500:2",
                  "init:2,adamw@300:2,adamw@4500:2", "init:2,adamw@300:2,adamw@4500:2"};
  s.map_walkers = {8, 6, 6};
  // On the shell the AdamW states are scaled up to norm 30, which lowers their loss and
  // stiffens the force. At dt 5e-4 the generalizing walkers of d_model 32 heated to 4 kT
  // within 100 steps, and at 2.5e-4 none passed 1.03 kT in 3,000 steps.
  s.shell_extra = {"--preset",     "demo", "--constraint", "shell",
                   "--shell-norm", "30",   "--start",      "adamw@300:2,adamw@4500:2",
                   "--dt",         "2.5e-4", "--log-every", "1000"};
  return s;
}

// Every part at a few hundred steps: checks an installation end to end in about a minute.
Scale smoke_scale() {
  Scale s;
  s.model = {"--p", "13", "--train-frac", "0.5", "--split-seed", "0", "--d-model", "16"};
  s.p = 13;
  s.d_model = 16;
  s.seeds = 2;
  s.compare_seeds = 2;
  s.adamw_steps = 200;
  s.hybrid_steps = 200;
  s.map_steps = {300, 300, 300};
  s.shell_steps = 200;
  s.shell_widths = {8, 12, 16};
  s.walkers = 4;
  const std::vector<std::string> run = {"--trace-every", "20", "--log-every", "100",
                                        "--checkpoint-every", "100"};
  s.map_extra = {"--preset", "demo", "--start", "init:2,adamw@40:1,adamw@150:1"};
  s.map_extra.insert(s.map_extra.end(), run.begin(), run.end());
  s.shell_extra = {"--preset", "demo", "--constraint", "shell", "--shell-norm", "30",
                   "--start", "adamw@40:2,adamw@150:2", "--dt", "2.5e-4"};
  s.shell_extra.insert(s.shell_extra.end(), run.begin(), run.end());
  return s;
}

Scale paper_scale() {
  Scale s;
  s.model = {"--p", "67", "--train-frac", "0.5", "--split-seed", "0", "--d-model", "128"};
  s.p = 67;
  s.d_model = 128;
  s.seeds = 8;
  s.compare_seeds = 8;
  s.adamw_steps = 10000;
  s.hybrid_steps = 10000;
  s.map_steps = {1000000, 1000000, 1000000};
  s.shell_steps = 1000000;
  s.shell_widths = {32, 64, 128};
  s.walkers = 8;
  s.sample_presets = true;
  s.wand_dt = "3e-3";
  return s;
}

ReproducePart train_part(const Scale& s, const std::string& name, const std::string& role,
                         const TaskName& task, int seeds, int steps) {
  ReproducePart part;
  part.name = name;
  part.kind = "train";
  part.role = role;
  part.task = task.task;
  part.d_model = s.d_model;
  part.args = s.model;
  part.args.insert(part.args.end(), {"--task", task.task, "--seeds", seed_list(seeds),
                                     "--steps", std::to_string(steps), "--eval-every", "10",
                                     "--log-every", "500"});
  part.work = double(seeds) * steps;
  return part;
}

void add_adamw_parts(const Scale& s, std::vector<ReproducePart>& parts) {
  for (const TaskName& task : kTasks) {
    ReproducePart part = train_part(s, "adamw-" + task.suffix, "adamw", task, s.seeds,
                                    s.adamw_steps);
    part.title = "AdamW on " + task.task;
    part.args.insert(part.args.end(), {"--lr", task.adamw_lr, "--wd", "1"});
    parts.push_back(part);
  }
}

ReproducePart sample_part(const Scale& s, const std::string& name, const std::string& role,
                          const TaskName& task, int d_model, int64_t steps) {
  ReproducePart part;
  part.name = name;
  part.kind = "sample";
  part.role = role;
  part.task = task.task;
  part.d_model = d_model;
  part.args = role == "map" ? s.map_extra : s.shell_extra;
  part.args.insert(part.args.end(), s.model.begin(), s.model.end() - 1);
  part.args.insert(part.args.end(), {std::to_string(d_model), "--task", task.task, "--steps",
                                     std::to_string(steps), "--adamw-lr", task.adamw_lr});
  part.work = kSampleCost * s.walkers * double(steps) *
              (double(d_model) / 32.0) * (double(d_model) / 32.0);
  return part;
}

void add_map_parts(const Scale& s, std::vector<ReproducePart>& parts) {
  for (std::size_t t = 0; t < kTasks.size(); ++t) {
    const TaskName& task = kTasks[t];
    ReproducePart part = sample_part(s, "map-" + task.suffix, "map", task, s.d_model,
                                     s.map_steps[t]);
    if (!s.map_starts.empty()) {
      part.args.insert(part.args.end(), {"--start", s.map_starts[t]});
      part.work *= double(s.map_walkers[t]) / s.walkers;
    }
    if (s.sample_presets) {
      part.args = {"--preset", "paper-" + task.suffix, "--steps",
                   std::to_string(s.map_steps[t])};
    }
    part.title = "Entropy map of " + task.task;
    part.compare = "adamw-" + task.suffix;
    parts.push_back(part);
  }
  for (const int width : s.shell_widths) {
    ReproducePart part = sample_part(s, fmt::format("shell-d{}", width), "shell", kTasks[0],
                                     width, s.shell_steps);
    if (s.sample_presets) {
      part.args = {"--preset", fmt::format("paper-shell-d{}", width), "--steps",
                   std::to_string(s.shell_steps)};
    }
    part.title = fmt::format("Entropy map on the norm shell |c| = 30, d_model {}", width);
    parts.push_back(part);
  }
}

void add_optimizer_parts(const Scale& s, std::vector<ReproducePart>& parts) {
  const TaskName& add = kTasks[0];
  ReproducePart fixed = train_part(s, "fixed-norm-add", "fixed-norm", add, s.compare_seeds,
                                   s.adamw_steps);
  fixed.title = "AdamW on x+y with the weight norm fixed at 30";
  fixed.args.insert(fixed.args.end(), {"--lr", "1e-3", "--wd", "0", "--fixed-norm", "30"});
  fixed.compare = "adamw-add";
  parts.push_back(fixed);

  ReproducePart wand = train_part(s, "wand-add", "wand", add, s.compare_seeds, s.adamw_steps);
  wand.title = "WanD on x+y";
  wand.args.insert(wand.args.end(), {"--optimizer", "wand"});
  if (!s.wand_dt.empty()) wand.args.insert(wand.args.end(), {"--dt", s.wand_dt});
  wand.compare = "adamw-add";
  wand.work *= kWandCost;
  parts.push_back(wand);
}

// The hybrid at train fractions 0.5-0.8 on x+y. Its AdamW peer at 0.5 is the AdamW curve part.
void add_hybrid_parts(const Scale& s, std::vector<ReproducePart>& parts) {
  const TaskName& add = kTasks[0];
  for (const double frac : {0.5, 0.6, 0.7, 0.8}) {
    const std::string suffix = fraction_suffix(frac);
    const std::string frac_text = fmt::format("{}", frac);
    std::string peer = "adamw-add";
    if (frac != 0.5) {
      ReproducePart adamw = train_part(s, "adamw-" + suffix, "adamw-frac", add,
                                       s.compare_seeds, s.hybrid_steps);
      adamw.title = fmt::format("AdamW on x+y at train fraction {}", frac_text);
      adamw.train_frac = frac;
      set_flag(adamw.args, "--train-frac", frac_text);
      adamw.args.insert(adamw.args.end(), {"--lr", add.adamw_lr, "--wd", "1"});
      parts.push_back(adamw);
      peer = adamw.name;
    }
    ReproducePart hybrid = train_part(s, "hybrid-" + suffix, "hybrid", add, s.compare_seeds,
                                      frac == 0.5 ? s.adamw_steps : s.hybrid_steps);
    hybrid.title = fmt::format("Hybrid WanD-AdamW on x+y at train fraction {}", frac_text);
    hybrid.train_frac = frac;
    set_flag(hybrid.args, "--train-frac", frac_text);
    hybrid.args.insert(hybrid.args.end(), {"--optimizer", "hybrid", "--alpha", "square",
                                           "--lr", add.adamw_lr, "--wd", "1"});
    if (!s.wand_dt.empty()) hybrid.args.insert(hybrid.args.end(), {"--dt", s.wand_dt});
    hybrid.compare = peer;
    hybrid.work *= kWandCost;
    parts.push_back(hybrid);
  }
}

}  // namespace

const std::vector<std::string>& reproduce_preset_names() {
  static const std::vector<std::string> names = {"demo", "paper", "smoke"};
  return names;
}

std::string reproduce_preset_help() {
  return "demo: p 31, d_model 32, train fraction 0.5; every part scaled down to finish in "
         "about 15 minutes on 2 CPU cores\n"
         "paper: p 67, d_model 128, the paper's seeds, steps and grids (maps of 10^6 steps "
         "per walker); meant for GPUs and clusters\n"
         "smoke: p 13, d_model 16, a few hundred steps per part; checks an installation end "
         "to end in about a minute, numbers meaningless";
}

std::vector<ReproducePart> reproduce_plan(const std::string& preset) {
  GLASSY_REQUIRE(preset == "demo" || preset == "paper" || preset == "smoke",
                 "--preset must be one of {}, got '{}'",
                 fmt::join(reproduce_preset_names(), ", "), preset);
  const Scale s = preset == "demo"    ? demo_scale()
                  : preset == "smoke" ? smoke_scale()
                                      : paper_scale();
  std::vector<ReproducePart> parts;
  add_adamw_parts(s, parts);
  add_map_parts(s, parts);
  add_optimizer_parts(s, parts);
  add_hybrid_parts(s, parts);
  return parts;
}

std::vector<std::string> split_part_names(const std::string& list) {
  std::vector<std::string> names;
  std::stringstream stream(list);
  std::string name;
  while (std::getline(stream, name, ',')) {
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

std::vector<ReproducePart> select_parts(const std::vector<ReproducePart>& parts,
                                        const std::string& only) {
  if (only.empty()) return parts;
  const std::vector<std::string> names_given = split_part_names(only);
  const std::set<std::string> requested(names_given.begin(), names_given.end());
  std::set<std::string> known;
  std::vector<ReproducePart> chosen;
  for (const ReproducePart& part : parts) {
    known.insert(part.name);
    known.insert(part.role);
    if (requested.count(part.name) || requested.count(part.role)) chosen.push_back(part);
  }
  std::vector<std::string> unknown;
  for (const std::string& name : requested) {
    if (!known.count(name)) unknown.push_back(name);
  }
  std::vector<std::string> names, roles;
  for (const ReproducePart& part : parts) {
    names.push_back(part.name);
    if (std::find(roles.begin(), roles.end(), part.role) == roles.end()) {
      roles.push_back(part.role);
    }
  }
  GLASSY_REQUIRE(unknown.empty() && !chosen.empty(),
                 "--only names no part of this preset: '{}'; give part names ({}) or roles "
                 "({}), comma-separated",
                 fmt::join(unknown.empty() ? std::vector<std::string>{only} : unknown, "', '"),
                 fmt::join(names, ", "), fmt::join(roles, ", "));
  return chosen;
}

nlohmann::json part_json(const ReproducePart& part) {
  return {{"name", part.name},
          {"kind", part.kind},
          {"role", part.role},
          {"title", part.title},
          {"task", part.task},
          {"train_frac", part.train_frac},
          {"d_model", part.d_model},
          {"compare", part.compare.empty() ? nlohmann::json() : nlohmann::json(part.compare)},
          {"args", part.args}};
}

}  // namespace glassy
