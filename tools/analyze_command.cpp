// `glassy analyze DIR`. It analyzes every part of a `glassy reproduce` directory whose files
// exist and skips the others, which is never an error, because a reproduction may be partial.
// DIR/analysis/ contains:
//   analysis.json               the plan, the parts' states, and per map and train part the
//                               results (tools/analyze_map.h, tools/analyze_training.h)
//   steps_to_generalize.csv     one row per train part and seed
//   <map>/                      the files of each map (tools/analyze_outputs.h)
// The bytes depend only on DIR's files: no absolute paths, no times, parts in the plan's order
// and JSON keys sorted. The directory is written as analysis.partial and renamed at the end.
#include "tools/analyze_command.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "engine/error.h"
#include "engine/run_dir.h"
#include "tools/analyze_outputs.h"
#include "tools/analyze_parts.h"
#include "tools/signals.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;

struct AnalyzeOptions {
  std::string directory;
  bool no_figures = false;
};

void add_analyze_options(CLI::App& app, AnalyzeOptions& options) {
  app.add_option("DIR", options.directory, "the directory that glassy reproduce --out wrote")
      ->required();
  app.add_flag("--no-figures", options.no_figures,
               "write DIR/analysis only, without running tools/plot_reproduction.py for the "
               "figures and the report");
}

AnalyzeOptions parse_analyze_options(const std::vector<std::string>& args) {
  AnalyzeOptions options;
  CLI::App app("glassy analyze");
  add_analyze_options(app, options);
  // CLI11 takes its arguments in reverse order.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    throw UsageError(fmt::format("{}; run 'glassy analyze --help'", error.what()));
  }
  return options;
}

// Returns part[key], or null when the plan leaves it out.
nlohmann::json field(const nlohmann::json& part, const std::string& key) {
  return part.contains(key) ? part[key] : nlohmann::json(nullptr);
}

// The results so far, filled part by part in the plan's order.
struct AnalysisResults {
  nlohmann::json parts = nlohmann::json::array();
  nlohmann::json maps = nlohmann::json::array();
  nlohmann::json training = nlohmann::json::array();
  nlohmann::json comparisons = nlohmann::json::array();
  std::map<std::string, TrainingSummary> summaries;
  std::string steps_csv =
      "part,role,task,train_frac,optimizer,seed,step_train_99,step_test_95,delay,"
      "final_train_acc,final_test_acc,final_norm,max_norm\n";
  double total_wall_seconds = 0.0;
  int64_t skipped = 0;
};

nlohmann::json part_entry(const ReproduceDirectory& dir, const nlohmann::json& part,
                          AnalysisResults& results) {
  const std::string name = part.at("name").get<std::string>();
  nlohmann::json entry;
  for (const char* key : {"name", "kind", "role", "title", "task", "train_frac", "d_model",
                          "compare"}) {
    entry[key] = field(part, key);
  }
  const nlohmann::json status = dir.status.contains(name) ? dir.status[name] : nlohmann::json();
  entry["state"] = status.is_object() ? status.value("state", "unknown") : "unknown";
  entry["wall_seconds"] = field(status, "wall_seconds");
  entry["attempts"] = field(status, "attempts");
  if (entry["wall_seconds"].is_number()) {
    results.total_wall_seconds += entry["wall_seconds"].get<double>();
  }
  const std::string config = part_directory(dir, name) + "/config.json";
  entry["config"] = fs::is_regular_file(config) ? read_json_file(config) : nlohmann::json();
  return entry;
}

// Throws UsageError unless every replica's metrics reach the part's last step: a file cut by a
// crash or an edit would otherwise pass its last row off as the final result.
void check_metrics_complete(const std::string& name, const std::vector<MetricsRow>& rows,
                            std::size_t replicas, int64_t steps) {
  std::vector<int64_t> last(replicas, -1);
  for (const MetricsRow& row : rows) {
    if (row.replica >= 0 && std::size_t(row.replica) < replicas) {
      last[row.replica] = std::max(last[row.replica], row.step);
    }
  }
  for (std::size_t r = 0; r < replicas; ++r) {
    GLASSY_REQUIRE(last[r] >= steps,
                   "parts/{}/metrics.csv ends at step {} for replica {}, but the part ran {} "
                   "steps: the file was cut. Remove parts/{} and run glassy reproduce again "
                   "with --resume to redo the part",
                   name, last[r], r, steps, name);
  }
}

// Analyzes a train part: its seeds' steps to generalize and their summary.
void analyze_train_part(const ReproduceDirectory& dir, const nlohmann::json& part,
                        AnalysisResults& results) {
  const std::string name = part.at("name").get<std::string>();
  const std::string part_dir = part_directory(dir, name);
  const nlohmann::json config = read_json_file(part_dir + "/config.json");
  const std::vector<MetricsRow> rows = read_metrics_csv(part_dir + "/metrics.csv");
  std::vector<uint64_t> seeds = read_replica_seeds(part_dir);
  // A run without seed records gets its replica indices as seeds.
  for (const MetricsRow& row : rows) {
    while (int64_t(seeds.size()) <= row.replica) seeds.push_back(seeds.size());
  }
  check_metrics_complete(name, rows, seeds.size(), config.value("steps", int64_t(0)));
  const std::vector<SeedOutcome> outcomes = steps_to_generalize(rows, seeds);
  const TrainingSummary summary = summarize_training(outcomes);
  results.summaries[name] = summary;

  nlohmann::json seed_entries = nlohmann::json::array();
  const std::string optimizer = config.value("optimizer", "");
  for (const SeedOutcome& outcome : outcomes) {
    seed_entries.push_back(seed_outcome_json(outcome));
    const nlohmann::json train_frac = field(part, "train_frac");
    results.steps_csv += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{}\n", name, part.value("role", ""),
        part.value("task", ""),
        train_frac.is_number() ? csv_number(train_frac.get<double>()) : "", optimizer,
        outcome.seed, csv_number(outcome.step_train_99), csv_number(outcome.step_test_95),
        csv_number(outcome.delay), csv_number(outcome.final_train_acc),
        csv_number(outcome.final_test_acc), csv_number(outcome.final_norm),
        csv_number(outcome.max_norm));
  }
  results.training.push_back({{"name", name},
                              {"role", field(part, "role")},
                              {"task", field(part, "task")},
                              {"train_frac", field(part, "train_frac")},
                              {"optimizer", field(config, "optimizer")},
                              {"steps", field(config, "steps")},
                              {"seeds", seed_entries},
                              {"summary", training_summary_json(summary)}});
  std::cerr << fmt::format("analyze: {}: {} of {} seeds reached 95% test accuracy\n", name,
                           summary.reached_test_95, summary.seeds);
}

// The AdamW trajectories that a map part is compared with, or none when it names no compare
// part or that part has no metrics.csv.
std::vector<TrajectoryPoint> compare_trajectories(const ReproduceDirectory& dir,
                                                  const nlohmann::json& part) {
  const nlohmann::json compare = field(part, "compare");
  if (!compare.is_string()) return {};
  const std::string compare_dir = part_directory(dir, compare.get<std::string>());
  if (!train_part_complete(compare_dir)) return {};
  return trajectory_points(read_metrics_csv(compare_dir + "/metrics.csv"));
}

nlohmann::json map_files_json(const std::string& name) {
  const std::string prefix = "analysis/" + name + "/";
  return {{"entropy", prefix + "entropy.npy"},
          {"equilibrium", prefix + "equilibrium.csv"},
          {"adamw", prefix + "adamw.csv"},
          {"advantage", prefix + "advantage.csv"},
          {"barrier_path", prefix + "barrier_path.csv"}};
}

nlohmann::json map_entry(const nlohmann::json& part, const nlohmann::json& config,
                         const MapInput& input, const MapAnalysis& analysis) {
  const WlGridConfig& grid = input.grid;
  const std::string name = part.at("name").get<std::string>();
  return {{"name", name},
          {"role", field(part, "role")},
          {"task", field(part, "task")},
          {"d_model", field(part, "d_model")},
          {"compare", field(part, "compare")},
          {"walkers", input.walkers > 0 ? nlohmann::json(input.walkers) : nlohmann::json()},
          {"sharing", to_string(grid.sharing)},
          {"steps_per_walker", field(config, "steps")},
          {"visited_bins", analysis.visited_bins},
          {"flatness", {{"min_over_mean", analysis.flatness.min_over_mean},
                        {"variation", analysis.flatness.variation}}},
          {"x", {{"lo", grid.x.lo}, {"width", grid.x.width}, {"bins", grid.x.bins}}},
          {"y", {{"lo", grid.y.lo}, {"width", grid.y.width}, {"bins", grid.y.bins},
                 {"scale", grid.y_scale}}},
          {"sigma_bins", grid.sigma_bins},
          {"files", map_files_json(name)},
          {"advantage", advantage_json(analysis)},
          {"barrier", barrier_json(analysis)}};
}

// Analyzes a sample part's map and writes its files under staging/<name>/.
void analyze_map_part(const ReproduceDirectory& dir, const nlohmann::json& part,
                      const std::string& staging, AnalysisResults& results) {
  const std::string name = part.at("name").get<std::string>();
  const std::string part_dir = part_directory(dir, name);
  const MapInput input = read_map_input(part_dir);
  const MapAnalysis analysis = analyze_map(input, compare_trajectories(dir, part));
  fs::create_directories(staging + "/" + name);
  write_map_analysis_files(staging + "/" + name, input, analysis);
  results.maps.push_back(
      map_entry(part, read_json_file(part_dir + "/config.json"), input, analysis));
  std::cerr << fmt::format("analyze: {}: {} visited bins, {} walkers; {}\n", name,
                           analysis.visited_bins, input.walkers, analysis.barrier.statement);
}

void add_comparisons(const ReproduceDirectory& dir, AnalysisResults& results) {
  for (const nlohmann::json& part : dir.plan["parts"]) {
    const nlohmann::json compare = field(part, "compare");
    const auto self = results.summaries.find(part.value("name", ""));
    if (!compare.is_string() || self == results.summaries.end()) continue;
    const auto other = results.summaries.find(compare.get<std::string>());
    if (other == results.summaries.end()) continue;
    results.comparisons.push_back(comparison_json(part, self->second, other->second));
  }
}

nlohmann::json analysis_json(const ReproduceDirectory& dir, const AnalysisResults& results) {
  return {{"format", 1},
          {"preset", field(dir.plan, "preset")},
          {"glassy_version", field(dir.plan, "glassy_version")},
          {"command", field(dir.plan, "command")},
          {"machine", field(dir.plan, "machine")},
          {"parts", results.parts},
          {"total_wall_seconds", results.total_wall_seconds},
          {"maps", results.maps},
          {"training", results.training},
          {"comparisons", results.comparisons}};
}

// Analyzes every part into staging and returns what was found.
AnalysisResults analyze_parts(const ReproduceDirectory& dir, const std::string& staging) {
  AnalysisResults results;
  for (const nlohmann::json& part : dir.plan["parts"]) {
    const std::string name = part.at("name").get<std::string>();
    const std::string kind = part.value("kind", "");
    nlohmann::json entry = part_entry(dir, part, results);
    const std::string part_dir = part_directory(dir, name);
    const std::string state = entry["state"].get<std::string>();
    // A part cut short or failed would show its first steps as if they were the result.
    const bool finished = state == "done" || state == "unknown";
    if (finished && kind == "train" && train_part_complete(part_dir)) {
      analyze_train_part(dir, part, results);
    } else if (finished && kind == "sample" && map_part_complete(part_dir)) {
      analyze_map_part(dir, part, staging, results);
    } else {
      ++results.skipped;
      if (state != "skipped") {
        std::cerr << fmt::format("analyze: {}: not analyzed, {}\n", name,
                                 finished ? "its files are missing" : "its state is " + state);
      }
    }
    results.parts.push_back(entry);
  }
  add_comparisons(dir, results);
  return results;
}

// Writes DIR/analysis/ whole: into analysis.partial first, which then replaces it.
void write_analysis(const ReproduceDirectory& dir) {
  const std::string staging = dir.path + "/analysis.partial";
  const std::string target = dir.path + "/analysis";
  fs::remove_all(staging);
  fs::create_directories(staging);
  const AnalysisResults results = analyze_parts(dir, staging);
  write_file_atomic(staging + "/analysis.json", analysis_json(dir, results).dump(2) + "\n");
  write_file_atomic(staging + "/steps_to_generalize.csv", results.steps_csv);
  fs::remove_all(target);
  fs::rename(staging, target);
  std::cerr << fmt::format("analyze: {} maps and {} train parts analyzed, {} parts skipped\n",
                           results.maps.size(), results.training.size(), results.skipped);
}

// The Python that runs the plot tool: $GLASSY_PYTHON, else the checkout's .venv made by
// tools/install.sh, else python3 from the PATH.
std::string plot_python() {
  const char* chosen = std::getenv("GLASSY_PYTHON");
  if (chosen != nullptr && *chosen != '\0') return chosen;
  const std::string venv = std::string(GLASSY_SOURCE_DIR) + "/.venv/bin/python";
  if (fs::exists(venv)) return venv;
  return "python3";
}

// Runs python script directory and returns its exit status, or 127 when python cannot start.
// Ctrl-C reaches the whole process group, but a signal sent to glassy alone does not, so
// glassy passes it on to the child. The child also gets SIGTERM when glassy dies, so no plot
// tool keeps writing into the directory after glassy has gone.
int run_python(const std::string& python, const std::string& script,
               const std::string& directory) {
  std::vector<std::string> words = {python, script, directory};
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  GLASSY_CHECK(child >= 0, "fork failed while starting the plot tool");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  bool forwarded = false;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (stop_requested() && !forwarded) {
      ::kill(child, SIGTERM);
      forwarded = true;
    }
    ::usleep(20000);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void run_plot_tool(const std::string& directory) {
  const std::string script = std::string(GLASSY_SOURCE_DIR) + "/tools/plot_reproduction.py";
  const std::string python = plot_python();
  const std::string hint = fmt::format(
      "The numbers are in {}/analysis. Run tools/install.sh in the glassy checkout to install "
      "Python with numpy and matplotlib, set GLASSY_PYTHON to another Python, or rerun with "
      "--no-figures to skip the figures",
      directory);
  if (python.find('/') != std::string::npos && !fs::exists(python)) {
    throw Error(fmt::format("the Python for the figures, {}, does not exist. {}", python, hint));
  }
  if (!fs::is_regular_file(script)) {
    throw Error(fmt::format("the plot tool {} is missing from this glassy checkout. {}", script,
                            hint));
  }
  const int status = run_python(python, script, directory);
  if (stop_requested()) return;
  if (status == 127) {
    throw Error(fmt::format("could not run {} {} (exit status 127: Python was not found). {}",
                            python, script, hint));
  }
  if (status != 0) {
    throw Error(fmt::format("{} {} {} failed with exit status {}. {}", python, script, directory,
                            status, hint));
  }
}

}  // namespace

std::string analyze_help() {
  AnalyzeOptions options;
  CLI::App app("Analyze a glassy reproduce directory: entropy maps (equilibrium curves, the "
               "high-entropy advantage, the entropy barrier with walker-jackknife errors) and "
               "steps to generalize. Writes DIR/analysis/, then runs "
               "tools/plot_reproduction.py for DIR/figures/, DIR/report.md and "
               "DIR/report.html.\n"
               "Example: glassy analyze runs/repro",
               "glassy analyze");
  add_analyze_options(app, options);
  return app.help();
}

int analyze_directory(const std::string& directory, bool figures) {
  install_stop_handlers();
  const ReproduceDirectory dir = read_reproduce_directory(directory);
  // A report from an earlier analysis would no longer match the new numbers.
  fs::remove(directory + "/report.md");
  fs::remove(directory + "/report.html");
  write_analysis(dir);
  std::cout << directory << "/analysis/analysis.json\n";
  if (stop_requested()) return 128 + stop_signal();
  if (!figures) return 0;
  run_plot_tool(directory);
  if (stop_requested()) return 128 + stop_signal();
  std::cout << directory << "/report.md\n";
  return 0;
}

int run_analyze_command(const std::vector<std::string>& args) {
  AnalyzeOptions options = parse_analyze_options(args);
  // "runs/repro/" names the same directory as "runs/repro"; the printed paths use the latter.
  while (options.directory.size() > 1 && options.directory.back() == '/') {
    options.directory.pop_back();
  }
  read_reproduce_directory(options.directory);
  // The claim keeps a running reproduction, or another analysis, from writing at the same time.
  RunDirectory claim = RunDirectory::claim(options.directory, "DIR");
  const int status = analyze_directory(options.directory, !options.no_figures);
  claim.release();
  return status;
}

}  // namespace glassy
