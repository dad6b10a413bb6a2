// `glassy reproduce --preset demo|paper --out DIR [--only NAMES] [--resume]`.
//
// DIR/reproduce.json records the plan once; DIR/status.json records every part's state, wall
// time and attempts and is rewritten atomically after each change, so a kill at any moment
// leaves a state that --resume continues from. A part counts as done only when its run
// finished all its steps; its own checkpoint covers the steps in between.
#include "tools/reproduce_command.h"

#include <sys/utsname.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/error.h"
#include "engine/run_dir.h"
#include "engine/version.h"
#include "tools/analyze_command.h"
#include "tools/progress.h"
#include "tools/reproduce_plan.h"
#include "tools/run_files.h"
#include "tools/sample_command.h"
#include "tools/signals.h"
#include "tools/train_command.h"
#include "tools/train_flags.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExitFailure = 1;

struct ReproduceSettings {
  std::string preset;
  std::string only;
  std::string out;
  bool resume = false;
  bool dry_run = false;
  bool no_figures = false;
  int threads = 0;
};

void add_reproduce_options(CLI::App& app, ReproduceSettings& s) {
  app.add_option("--preset", s.preset, "experiment set:\n" + reproduce_preset_help());
  app.add_option("--only", s.only, "run only these parts, comma-separated part names or roles "
                 "(adamw, map, shell, fixed-norm, wand, adamw-frac, hybrid); see --dry-run");
  app.add_option("--out", s.out, "directory of the reproduction (must not exist or be empty, "
                 "unless --resume)");
  app.add_flag("--resume", s.resume, "continue the reproduction in --out: skip finished parts "
               "and resume the one that was cut short from its checkpoint. Where --out holds "
               "no reproduction yet, it starts one, so a requeued cluster job can always pass "
               "--resume");
  app.add_flag("--dry-run", s.dry_run, "print the parts and their glassy commands, run nothing");
  app.add_flag("--no-figures", s.no_figures, "write DIR/analysis only, without the figures "
               "and the report (which need the Python of tools/install.sh)");
  app.add_option("--threads", s.threads, "CPU threads of every part (0: all cores)")
      ->capture_default_str();
}

// Per part: pending, running, interrupted, failed, done or skipped.
struct PartStatus {
  std::string state = "pending";
  double wall_seconds = 0.0;
  int attempts = 0;
};

using StatusMap = std::map<std::string, PartStatus>;

json status_json(const StatusMap& status) {
  json parts = json::object();
  for (const auto& [name, s] : status) {
    parts[name] = {{"state", s.state}, {"wall_seconds", s.wall_seconds},
                   {"attempts", s.attempts}};
  }
  return {{"parts", parts}};
}

void write_status(const std::string& dir, const StatusMap& status) {
  write_file_atomic(dir + "/status.json", status_json(status).dump(2) + "\n");
}

StatusMap read_status(const std::string& dir, const std::vector<ReproducePart>& parts) {
  StatusMap status;
  for (const ReproducePart& part : parts) status[part.name] = PartStatus{};
  std::ifstream file(dir + "/status.json");
  if (!file.good()) return status;
  const json recorded = json::parse(file, nullptr, false);
  const std::string damaged = fmt::format(
      "{}/status.json is damaged; delete it, and --resume rebuilds the parts' states from their "
      "checkpoints (their wall times are then lost)", dir);
  GLASSY_REQUIRE(recorded.is_object() && recorded.contains("parts") &&
                     recorded["parts"].is_object(), "{}", damaged);
  for (const auto& [name, s] : recorded["parts"].items()) {
    if (!status.count(name)) continue;
    GLASSY_REQUIRE(s.is_object() && s.value("state", json()).is_string() &&
                       s.value("wall_seconds", json()).is_number() &&
                       s.value("attempts", json()).is_number_integer(),
                   "{} (part {})", damaged, name);
    status[name] = {s["state"].get<std::string>(), s["wall_seconds"].get<double>(),
                    s["attempts"].get<int>()};
  }
  return status;
}

// The machine the reproduction runs on, for the report.
json machine_json() {
  utsname names{};
  uname(&names);
  const double memory_gib = total_memory_bytes() / (1024.0 * 1024.0 * 1024.0);
  return {{"cpu", cpu_model_name()},
          {"cores", std::thread::hardware_concurrency()},
          {"memory_gib", std::round(memory_gib * 10.0) / 10.0},
          {"os", fmt::format("{} {} {}", names.sysname, names.release, names.machine)},
          {"backend", "cpu"}};
}

std::string command_line(const std::vector<std::string>& args) {
  return fmt::format("glassy reproduce {}", fmt::join(args, " "));
}

// The plan recorded at the start. A resumed reproduction must use the same preset, while its
// --only may differ.
json plan_json(const ReproduceSettings& s, const std::vector<ReproducePart>& parts,
               const std::vector<std::string>& args) {
  json list = json::array();
  for (const ReproducePart& part : parts) list.push_back(part_json(part));
  return {{"format", 1},
          {"preset", s.preset},
          {"only", split_part_names(s.only)},
          {"glassy_version", glassy_version()},
          {"command", command_line(args)},
          {"machine", machine_json()},
          {"parts", list}};
}

void check_same_plan(const ReproduceSettings& s, const json& recorded) {
  GLASSY_REQUIRE(recorded.is_object() && recorded.value("preset", json()).is_string() &&
                     recorded.value("parts", json()).is_array(),
                 "{}/reproduce.json is damaged, so the reproduction cannot be resumed; choose "
                 "another --out, or move the directory away and start again",
                 s.out);
  const std::string preset = recorded.value("preset", "");
  GLASSY_REQUIRE(preset == s.preset,
                 "{} contains a reproduction made with --preset {}; resume it with --preset {}, or "
                 "choose another --out for --preset {}",
                 s.out, preset, preset, s.preset);
  const std::string version = recorded.value("glassy_version", "");
  if (version != glassy_version()) {
    std::cerr << fmt::format("glassy reproduce: warning: {} was started by glassy {}; this is "
                             "glassy {}\n",
                             s.out, version, glassy_version());
  }
}

// The steps in a part's last checkpoint and the steps its run requests; done is -1 when the
// part has no complete checkpoint.
struct PartProgress {
  int64_t done = -1;
  int64_t total = 0;
};

PartProgress part_progress(const std::string& dir, const std::string& kind) {
  PartProgress progress;
  const std::string checkpoint = checkpoint_find(dir + "/checkpoint");
  if (checkpoint.empty()) return progress;
  std::ifstream meta_file(checkpoint + "/checkpoint.json");
  const json meta = json::parse(meta_file, nullptr, false);
  std::ifstream config_file(dir + "/config.json");
  const json config = json::parse(config_file, nullptr, false);
  if (!meta.is_object() || !config.is_object()) return progress;
  progress.done = meta.value(kind == "train" ? "step" : "steps_done", int64_t(-1));
  progress.total = config.value("steps", int64_t(0));
  return progress;
}

bool part_finished(const PartProgress& progress) {
  return progress.total > 0 && progress.done >= progress.total;
}

// Whether a part ran all its steps and wrote its results. A run writes its last checkpoint
// before its result files, so a kill in between leaves a finished checkpoint without them.
bool part_complete(const std::string& dir, const std::string& kind) {
  if (!part_finished(part_progress(dir, kind))) return false;
  const std::vector<std::string> results =
      kind == "train" ? std::vector<std::string>{"metrics.csv", "summary.json", "weights.npy"}
                      : std::vector<std::string>{"map.npy", "histogram.npy", "summary.json"};
  for (const std::string& name : results) {
    if (!fs::is_regular_file(dir + "/" + name)) return false;
  }
  return true;
}

// Starts the part, or resumes it from its checkpoint. A part directory without a checkpoint
// was cut short before its first one, and one with a finished checkpoint but no results was
// cut between the two, so both start again from nothing.
int run_part(const ReproducePart& part, const std::string& dir, int threads) {
  std::vector<std::string> args;
  const PartProgress progress = part_progress(dir, part.kind);
  if (progress.done >= 0 && !part_finished(progress)) {
    args = {"--resume", dir};
  } else {
    if (fs::exists(dir)) fs::remove_all(dir);
    args = part.args;
    args.insert(args.end(), {"--out", dir});
  }
  args.insert(args.end(), {"--threads", std::to_string(threads)});
  return part.kind == "train" ? run_train_command(args) : run_sample_command(args);
}

int run_part_reporting_errors(const ReproducePart& part, const std::string& dir, int threads) {
  try {
    return run_part(part, dir, threads);
  } catch (const std::exception& error) {
    std::cerr << fmt::format("glassy reproduce: part {} failed: {}\n", part.name, error.what());
    return kExitFailure;
  }
}

std::string eta_text(double elapsed, double work_done, double work_left) {
  if (work_done <= 0.0) return "";
  return fmt::format(", about {} left", format_duration(elapsed / work_done * work_left));
}

// Runs the parts that are not done, in plan order. Returns the first signal's exit status, or
// 1 when a part failed, else 0.
int run_parts(const ReproduceSettings& s, const std::vector<ReproducePart>& chosen,
              StatusMap& status) {
  double work_left = 0.0, work_done = 0.0;
  for (const ReproducePart& part : chosen) {
    if (status[part.name].state != "done") work_left += part.work;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  bool failed = false;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const ReproducePart& part = chosen[i];
    PartStatus& st = status[part.name];
    const std::string dir = s.out + "/parts/" + part.name;
    const bool complete = part_complete(dir, part.kind);
    if (st.state == "done" && !complete) {
      std::cerr << fmt::format("[{}/{}] {}: marked done, but its results are missing or "
                               "incomplete; running it again\n",
                               i + 1, chosen.size(), part.name);
      st.state = "pending";
    }
    if (st.state != "done" && complete) st.state = "done";
    if (st.state == "done") {
      std::cerr << fmt::format("[{}/{}] {}: finished earlier, skipped\n", i + 1, chosen.size(),
                               part.name);
      write_status(s.out, status);
      continue;
    }
    if (stop_requested()) return 128 + stop_signal();
    std::cerr << fmt::format("\n[{}/{}] {}: {} (glassy {}){}\n", i + 1, chosen.size(),
                             part.name, part.title, part.kind,
                             eta_text(elapsed(), work_done, work_left));
    st.state = "running";
    st.attempts += 1;
    write_status(s.out, status);
    const double part_start = elapsed();
    const int rc = run_part_reporting_errors(part, dir, s.threads);
    st.wall_seconds += elapsed() - part_start;
    st.state = "failed";
    if (rc == 0) st.state = "done";
    if (rc >= 128) st.state = "interrupted";
    write_status(s.out, status);
    if (rc >= 128) return rc;
    failed = failed || rc != 0;
    work_done += part.work;
    work_left -= part.work;
  }
  return failed ? kExitFailure : 0;
}

void print_plan(const std::vector<ReproducePart>& parts, const std::string& out) {
  const std::string dir = out.empty() ? "DIR" : out;
  for (const ReproducePart& part : parts) {
    std::cout << fmt::format("{:<15} {:<11} {}\n  glassy {} {} --out {}/parts/{}\n", part.name,
                             part.role, part.title, part.kind, fmt::join(part.args, " "), dir,
                             part.name);
  }
}

// Creates DIR with its plan, or claims an existing one to resume it.
RunDirectory open_reproduction(const ReproduceSettings& s, const std::vector<ReproducePart>& parts,
                               const std::vector<std::string>& args) {
  const std::string plan_path = s.out + "/reproduce.json";
  if (s.resume && fs::is_regular_file(plan_path)) {
    std::ifstream file(plan_path);
    const json recorded = json::parse(file, nullptr, false);
    check_same_plan(s, recorded);
    RunDirectory dir = RunDirectory::claim(s.out, "--out");
    std::cerr << fmt::format("glassy reproduce: resuming {}\n", s.out);
    return dir;
  }
  if (!s.resume) {
    GLASSY_REQUIRE(!fs::is_regular_file(plan_path),
                   "--out {} already contains a reproduction; continue it with --resume or choose "
                   "another --out", s.out);
  }
  RunDirectory dir = RunDirectory::create(s.out, "--out");
  write_file_atomic(plan_path, plan_json(s, parts, args).dump(2) + "\n");
  return dir;
}

ReproduceSettings parse_reproduce_settings(const std::vector<std::string>& args) {
  ReproduceSettings s;
  CLI::App app("glassy reproduce");
  add_reproduce_options(app, s);
  parse_known_flags(args, app, "reproduce");
  GLASSY_REQUIRE(!s.preset.empty(), "--preset is required: one of {}",
                 fmt::join(reproduce_preset_names(), ", "));
  GLASSY_REQUIRE(s.threads >= 0, "--threads must be 0 (all cores) or more, got {}", s.threads);
  while (s.out.size() > 1 && s.out.back() == '/') s.out.pop_back();
  return s;
}

// Marks the parts outside --only that never ran, so the analysis can tell them from failures.
void mark_unselected(const std::vector<ReproducePart>& chosen, StatusMap& status) {
  for (auto& [name, st] : status) {
    bool selected = false;
    for (const ReproducePart& part : chosen) selected = selected || part.name == name;
    if (!selected && st.state == "pending") st.state = "skipped";
    if (selected && st.state == "skipped") st.state = "pending";
  }
}

int analyze_and_report(const ReproduceSettings& s) {
  std::cerr << "\nglassy reproduce: analysing " << s.out << "\n";
  return analyze_directory(s.out, !s.no_figures);
}

}  // namespace

std::string reproduce_help() {
  ReproduceSettings settings;
  CLI::App app("Run the experiment set of the grokking-as-glass-relaxation study into one "
               "directory, then analyse it and write DIR/report.md and DIR/report.html.\n"
               "Example: glassy reproduce --preset demo --out runs/reproduce-demo",
               "glassy reproduce");
  add_reproduce_options(app, settings);
  return app.help();
}

int run_reproduce_command(const std::vector<std::string>& args) {
  install_stop_handlers();
  const ReproduceSettings s = parse_reproduce_settings(args);
  const std::vector<ReproducePart> parts = reproduce_plan(s.preset);
  const std::vector<ReproducePart> chosen = select_parts(parts, s.only);
  if (s.dry_run) {
    print_plan(chosen, s.out);
    return 0;
  }
  GLASSY_REQUIRE(!s.out.empty(), "--out is required: the directory for the parts, the analysis "
                 "and the report, e.g. --out runs/reproduce-{}", s.preset);

  RunDirectory dir = open_reproduction(s, parts, args);
  StatusMap status = read_status(s.out, parts);
  mark_unselected(chosen, status);
  write_status(s.out, status);
  const auto start = std::chrono::steady_clock::now();
  const int rc = run_parts(s, chosen, status);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rc >= 128) {
    std::cerr << fmt::format("\nglassy reproduce: stopped after {}; the finished parts are kept. "
                             "Continue with: glassy reproduce --preset {} --out {}{} --resume\n",
                             format_duration(seconds), s.preset, s.out,
                             s.only.empty() ? "" : " --only " + s.only);
    return rc;
  }
  int analysis = 0;
  try {
    analysis = analyze_and_report(s);
  } catch (...) {
    dir.release();
    throw;
  }
  dir.release();
  std::cerr << fmt::format("glassy reproduce: {} parts in {}{}\n", chosen.size(),
                           format_duration(seconds),
                           rc == 0 ? "" : "; some parts failed, see status.json");
  if (analysis == 0 && !s.no_figures) std::cout << "report: " << s.out << "/report.md\n";
  return rc != 0 ? rc : analysis;
}

}  // namespace glassy
