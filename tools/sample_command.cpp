// `glassy sample`. The run directory it writes:
//   config.json       the settings as flags (a config file that reruns the run), the machine
//   sampler.json      the resolved walkers, groups, seeds, grid axes and bounds
//   split.csv, parameters.json, bounds.npy, starts/   the inputs the walkers start from
//   traces.csv        every walker's x, y, diagnostics, weight norm and kinetic temperature
//   progress.csv      the progress lines' fields with timings and ETA
//   convergence.csv   per checkpoint: f_WL, change of S since the last one, histogram flatness
//   map.npy, histogram.npy, studied.npy, map.csv, equilibrium.csv, axes.json
//                     the entropy map (tools/sample_outputs.h), rewritten at every checkpoint
//   summary.json      regions reached per walker group, temperatures, out-of-range counts
//   checkpoint/       the sampler state; `glassy sample --resume DIR` continues bit for bit
#include "tools/sample_command.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>


#include "engine/csv_format.h"
#include "engine/npy.h"
#include "engine/run_dir.h"
#include "engine/task_observables.h"
#include "tools/progress.h"
#include "tools/run_files.h"
#include "tools/sample_outputs.h"
#include "tools/sample_starts.h"
#include "tools/sample_summary.h"
#include "tools/signals.h"
#include "tools/train_flags.h"

namespace glassy {
namespace {

constexpr int kExitSamplerStop = 1;

const std::vector<std::string> kProgressHeader = {
    "step", "elapsed_s", "mean_x", "mean_y", "max_temperature", "f_wl", "ms_per_step",
    "walker_steps_per_s", "eta_s"};
const std::vector<std::string> kConvergenceHeader = {
    "step", "f_wl", "max_abs_change", "mean_abs_change", "visited_bins",
    "flatness_min_over_mean", "flatness_variation", "out_of_range"};

// The flags a resumed run may change: how long it runs and how it uses the machine.
const std::vector<std::string> kResumeFlags = {"--resume", "--steps", "--threads",
                                               "--log-every"};

SampleSettings resume_settings(const std::string& directory,
                               const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    GLASSY_REQUIRE(std::find(kResumeFlags.begin(), kResumeFlags.end(), name) !=
                       kResumeFlags.end(),
                   "{} cannot change on --resume; a resumed run keeps the settings in "
                   "{}/config.json and takes only --steps, --threads and --log-every",
                   name, directory);
  }
  const std::string config = directory + "/config.json";
  GLASSY_REQUIRE(std::filesystem::is_regular_file(config),
                 "--resume {}: no config.json there; name the directory of a glassy sample run",
                 directory);
  std::ifstream config_file(config);
  const nlohmann::json recorded = nlohmann::json::parse(config_file, nullptr, false);
  GLASSY_REQUIRE(recorded.is_object() && recorded.contains("start"),
                 "--resume {}: this is not a glassy sample run (its config.json has no 'start'); "
                 "a training run resumes with glassy train --resume", directory);
  std::vector<std::string> merged = {"--config", config};
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--resume") {
      ++i;  // and its value
    } else if (args[i].rfind("--resume=", 0) != 0) {
      merged.push_back(args[i]);
    }
  }
  SampleSettings settings = parse_sample_settings(merged);
  // Runs recorded before the walker ledger existed have no walker maps to continue.
  if (!recorded.contains("walker-maps")) settings.walker_maps = false;
  settings.out = directory;
  settings.resume = directory;
  return settings;
}

std::vector<uint64_t> walker_seeds(const SamplePlan& plan) {
  std::vector<uint64_t> seeds(plan.walkers);
  for (int64_t r = 0; r < plan.walkers; ++r) seeds[r] = plan.first_seed + uint64_t(r);
  return seeds;
}

std::vector<std::string> walker_labels(const SamplePlan& plan) {
  std::vector<std::string> labels;
  for (const WalkerGroup& group : plan.groups) {
    for (int64_t i = 0; i < group.count; ++i) labels.push_back(group.label());
  }
  return labels;
}

nlohmann::json sampler_json(const SamplePlan& plan, const nlohmann::json& bounds,
                            const std::vector<StartRecord>& starts) {
  nlohmann::json groups = nlohmann::json::array();
  int64_t first = 0;
  for (const WalkerGroup& group : plan.groups) {
    groups.push_back({{"start", group.label()}, {"walkers", group.count},
                      {"first_walker", first},
                      {"first_seed", plan.first_seed + uint64_t(first)}});
    first += group.count;
  }
  nlohmann::json start_states = nlohmann::json::array();
  for (const StartRecord& s : starts) {
    start_states.push_back({{"start", s.label}, {"ln_loss_train", s.log_train_loss},
                            {"acc_train", s.train_acc}, {"acc_test", s.test_acc},
                            {"weight_norm", s.weight_norm}});
  }
  const WlmdConfig& c = plan.wlmd;
  return {{"walkers", plan.walkers},
          {"groups", groups},
          {"adamw_start_states", start_states},
          {"integrator", to_string(c.langevin.integrator)},
          {"sharing", to_string(c.grid.sharing)},
          {"constraint", to_string(c.constraint)},
          {"grid", grid_axes_json(c.grid)},
          {"bounds", bounds}};
}

// Writes config.json, split.csv and parameters.json: everything --resume needs to start the
// run again, even before the first checkpoint.
void write_inputs(const RunDirectory& dir, const SamplePlan& plan, const Split& split,
                  const Backend& backend, const ParameterLayout& layout) {
  nlohmann::json config = sample_settings_json(plan.settings);
  add_run_metadata(config, layout, split, backend.device_description());
  write_file_atomic(dir.file("config.json"), config.dump(2) + "\n");
  write_file_atomic(dir.file("split.csv"), split_csv(split, plan.settings.p));
  write_file_atomic(dir.file("parameters.json"), layout_json(layout).dump(2) + "\n");
}

void print_config(const SamplePlan& plan, const Backend& backend, int64_t params) {
  const SampleSettings& s = plan.settings;
  const WlmdConfig& c = plan.wlmd;
  const double state_bytes = 4.0 * 4.0 * double(plan.walkers * params);
  const double grid_bytes = 8.0 * double(c.grid.x.bins * c.grid.y.bins) *
                            (c.grid.sharing == GridSharing::average ? plan.walkers : 1);
  std::vector<std::pair<std::string, std::string>> rows = {
      {"preset", s.preset.empty() ? "(none)" : s.preset},
      {"task", fmt::format("{} mod {}, train fraction {}, split seed {}", s.task, s.p,
                           s.train_frac, plan.split_seed)},
      {"model", fmt::format("d_model {}, {} heads, d_mlp {}, {} parameters", s.d_model, s.heads,
                            plan.model.d_mlp, params)},
      {"walkers", fmt::format("{} ({}), seeds from {}", plan.walkers, s.start, plan.first_seed)},
      {"dynamics", fmt::format("{}, dt {}, c_f {}, kT {}, {}", to_string(c.langevin.integrator),
                               s.dt, s.friction, s.kt, to_string(c.constraint))},
      {"grid", fmt::format("{}-D, x [{}] at {}, y [{}] x {} at {}, sigma {} bins", s.dims,
                           s.x_range, s.x_width, s.y_range, s.y_scale, s.y_width, s.sigma)},
      {"bias", fmt::format("{} (x - {})^2 above L0", s.beta, s.l0)},
      {"schedule", fmt::format("F_WL {}, ramp {}, plateau to {}", s.f_wl, s.t_wl,
                               s.plateau_end)},
      {"sharing", s.sharing == "average" ? fmt::format("average every {}", s.average_every)
                                         : std::string("continuous")},
      {"steps", fmt::format("{} per walker, checkpoint every {}", s.steps, s.checkpoint_every)},
      {"device", backend.device_description()},
      {"memory", fmt::format("walker state {}, grids {}", format_bytes(state_bytes),
                             format_bytes(grid_bytes))},
      {"output", s.out},
  };
  std::cerr << "glassy sample\n" << format_table(rows) << std::flush;
}

// The open files and counters of one sampling run.
struct SampleRun {
  const SamplePlan& plan;
  const RunDirectory& dir;
  Wlmd& wlmd;
  std::vector<std::string> labels;
  CsvWriter traces, progress, convergence;
  std::vector<double> reference_map;  // the map at the last recorded checkpoint
  ProgressClock clock;
  std::vector<bool> warned_hot;
  int64_t checkpointed_step = -1;
};

CsvWriter open_csv(const std::string& path, const std::vector<std::string>& header,
                   bool resuming, int64_t keep_before) {
  if (!resuming) return CsvWriter(path, header);
  csv_keep_rows_before_step(path, header, keep_before);
  return CsvWriter::append(path, header);
}

std::vector<std::string> trace_header(ObservableSystem& system) {
  std::vector<std::string> header = {"step", "walker", "group", system.x_name(),
                                     system.y_name()};
  for (const std::string& name : system.diagnostic_names()) header.push_back(name);
  header.push_back("weight_norm");
  header.push_back("temperature");
  return header;
}

void write_traces(SampleRun& run, int64_t step, const WlmdStep& measured,
                  const std::vector<double>& temperature, const std::vector<double>& norm) {
  for (std::size_t r = 0; r < measured.observations.size(); ++r) {
    const Observation& o = measured.observations[r];
    std::vector<std::string> row = {std::to_string(step), std::to_string(r), run.labels[r],
                                    format_double(o.x), format_double(o.y)};
    for (double d : o.diagnostics) row.push_back(format_double(d));
    row.push_back(format_double(norm[r]));
    row.push_back(format_double(temperature[r]));
    run.traces.write_row(row);

    if (temperature[r] > kHotTemperature && !run.warned_hot[r]) {
      run.warned_hot[r] = true;
      std::cerr << fmt::format("warning: walker {} ({}) has kinetic temperature {:.3f} kT at "
                               "step {}, above {} kT: dt {} is too large for the force; lower "
                               "--dt or --beta\n", r, run.labels[r], temperature[r], step,
                               kHotTemperature, run.plan.settings.dt);
    }
  }
}

void report_progress(SampleRun& run, const WlmdStep& measured, int64_t step) {
  double sum_x = 0.0, sum_y = 0.0;
  for (const Observation& o : measured.observations) {
    sum_x += o.x;
    sum_y += o.y;
  }
  const double walkers = double(measured.observations.size());
  const std::vector<double> temperature = run.wlmd.temperature();
  const double hottest = *std::max_element(temperature.begin(), temperature.end());
  const int64_t total = run.plan.settings.steps;
  const double ms = run.clock.lap_ms_per_step(step);
  const double rate = 1000.0 * walkers / ms;
  const double eta = run.clock.eta_seconds(step, total);
  const double f = run.plan.wlmd.grid.schedule.amount(step);
  std::cerr << fmt::format(
      "step {:>{}}/{} | ln L {:>8.3f} | A_test {:>6.4f} | max T {:>5.3f} | f_WL {:>8.4g} | "
      "{:>7.2f} ms/step | {:>7.1f} walker-steps/s | ETA {}\n",
      step, std::to_string(total).size(), total, sum_x / walkers, sum_y / walkers, hottest, f,
      ms, rate, format_duration(eta));
  run.progress.write_row({std::to_string(step), fmt::format("{:.3f}", run.clock.elapsed_seconds()),
                          format_double(sum_x / walkers), format_double(sum_y / walkers),
                          format_double(hottest), format_double(f), fmt::format("{:.4f}", ms),
                          fmt::format("{:.2f}", rate),
                          std::isfinite(eta) ? fmt::format("{:.1f}", eta) : ""});
}

// Saves the state and rewrites the map files. With record, it first appends the convergence
// row (the change since the last recorded checkpoint) and makes this map the new reference,
// which the checkpoint stores. A stop by a signal saves without a row, so the rows of a
// resumed run are those of an uninterrupted one. The row is written before the checkpoint
// because a crash before the new checkpoint is complete resumes from the previous one, and
// that resume drops the row again.
void checkpoint(SampleRun& run, bool record) {
  const WlGrid& grid = run.wlmd.grid();
  const int64_t step = run.wlmd.steps_done();
  if (step == run.checkpointed_step) return;
  if (record) {
    const std::vector<double> map = grid.mean_grid();
    const std::vector<int64_t> histogram = grid.histogram();
    const MapChange change = map_change(map, run.reference_map, histogram);
    const Flatness flat = histogram_flatness(histogram);
    run.convergence.write_row(
        {std::to_string(step), format_double(run.plan.wlmd.grid.schedule.amount(step)),
         format_double(change.max_abs), format_double(change.mean_abs),
         std::to_string(flat.visited), format_double(flat.min_over_mean),
         format_double(flat.variation), std::to_string(grid.range_counts().total())});
    run.reference_map = map;
  }
  const int64_t nx = grid.config().x.bins, ny = grid.config().y.bins;
  run.wlmd.save(run.dir.file("checkpoint"),
                {{"reference_map.npy", run.reference_map.data(), {nx, ny}}});
  write_map_files(run.dir.path(), grid);
  run.checkpointed_step = step;
}

// Runs the steps; returns the exit status.
int sample_loop(SampleRun& run) {
  const SampleSettings& s = run.plan.settings;
  Wlmd& wlmd = run.wlmd;
  try {
    while (wlmd.steps_done() < s.steps && !stop_requested()) {
      const int64_t done = wlmd.steps_done();
      const bool trace = done % s.trace_every == 0;
      std::vector<double> temperature, norm;
      if (trace) {
        temperature = wlmd.temperature();
        norm = wlmd.weight_norm();
      }
      const WlmdStep& measured = wlmd.step();
      if (trace) write_traces(run, done, measured, temperature, norm);
      const int64_t now = done + 1;
      if (now % s.log_every == 0 || now == s.steps) report_progress(run, measured, now);
      if (now % s.checkpoint_every == 0 && now < s.steps) checkpoint(run, true);
    }
  } catch (const SamplerStop& stop) {
    checkpoint(run, false);
    write_sample_summary(run.dir, run.plan, run.wlmd, run.clock.elapsed_seconds(), "stopped");
    std::cerr << fmt::format("glassy sample: stopped: {}\nthe state at the start of that step "
                             "is saved; results so far are in {}\n", stop.what(), s.out);
    return kExitSamplerStop;
  }
  const bool interrupted = wlmd.steps_done() < s.steps;
  checkpoint(run, !interrupted);
  write_sample_summary(run.dir, run.plan, run.wlmd, run.clock.elapsed_seconds(),
                       interrupted ? "interrupted" : "finished");
  if (interrupted) {
    std::cerr << fmt::format("stopped by signal {} at step {}; continue with glassy sample "
                             "--resume {}\n", stop_signal(), wlmd.steps_done(), s.out);
    return 128 + stop_signal();
  }
  std::cerr << fmt::format("finished {} steps in {}; map in {}/map.npy, summary in "
                           "{}/summary.json\n", wlmd.steps_done(),
                           format_duration(run.clock.elapsed_seconds()), s.out, s.out);
  return 0;
}

// Places the walkers. A run with a checkpoint loads it, with the bounds and the reference map
// of its convergence rows. Otherwise it builds the start states (training the AdamW ones) and
// the bounds; it returns false when a signal stopped that training.
bool place_walkers(const SamplePlan& plan, const Split& split, const RunDirectory& dir,
                   TaskSystem& system, Wlmd& wlmd, std::vector<double>& reference_map) {
  const bool bounded = plan.wlmd.constraint == Constraint::bounds;
  if (!checkpoint_find(dir.file("checkpoint")).empty()) {
    if (bounded) wlmd.set_bounds(npy_read(dir.file("bounds.npy")).values<float>());
    const Checkpoint checkpoint = wlmd.load(dir.file("checkpoint"));
    reference_map = checkpoint.arrays.at("reference_map.npy").values<double>();
    return true;
  }
  std::filesystem::create_directories(dir.file("starts"));
  std::vector<StartRecord> records;
  const std::vector<float> starts =
      sample_start_weights(plan, split, system, dir.path(), records);
  if (starts.empty()) return false;
  nlohmann::json report;
  const std::vector<float> bounds = sample_bounds(plan, system.layout(), starts, report);
  const std::vector<int64_t> shape{system.parameter_count()};
  npy_write(dir.file("bounds.npy"), bounds.data(), shape);
  write_file_atomic(dir.file("sampler.json"),
                    sampler_json(plan, report, records).dump(2) + "\n");
  if (bounded) wlmd.set_bounds(bounds);
  wlmd.start(starts);
  reference_map = wlmd.grid().mean_grid();
  return true;
}

// Rejects a run whose buffers would not fit in the available memory.
void check_sample_memory(const SamplePlan& plan, const Split& split) {
  const double params = double(transformer_layout(plan.model).size());
  const WlGridConfig& g = plan.wlmd.grid;
  const double grids = g.sharing == GridSharing::average ? double(plan.walkers) : 1.0;
  // Weights, velocities and two gradients per walker; the grids and the histogram.
  const double needed = double(TaskSystem::memory_bytes(plan.model, split, plan.walkers)) +
                        4.0 * sizeof(float) * params * double(plan.walkers) +
                        8.0 * double(g.x.bins * g.y.bins) * (grids + 1.0);
  const double available = available_memory_bytes();
  GLASSY_REQUIRE(available == 0.0 || needed < 0.9 * available,
                 "this run needs about {} of memory but {} is available; reduce the walkers, "
                 "--p, --d-model or the grid", format_bytes(needed), format_bytes(available));
}

// Records a --steps that a resumed run raised, so that resuming it again uses the new total.
void record_steps(const RunDirectory& dir, int64_t steps) {
  std::ifstream file(dir.file("config.json"));
  nlohmann::json config = nlohmann::json::parse(file);
  if (config.value("steps", int64_t(-1)) == steps) return;
  config["steps"] = steps;
  write_file_atomic(dir.file("config.json"), config.dump(2) + "\n");
}

int run_plan(const SamplePlan& plan, const Split& split, bool resuming) {
  const SampleSettings& s = plan.settings;
  std::unique_ptr<Backend> backend = make_backend(parse_backend_kind(s.backend));
  backend->set_threads(s.threads);
  check_sample_memory(plan, split);
  if (stop_requested()) return 128 + stop_signal();
  RunDirectory dir = resuming ? RunDirectory::claim(s.out) : RunDirectory::create(s.out);
  const bool has_checkpoint = !checkpoint_find(dir.file("checkpoint")).empty();

  TaskSystem system(*backend, plan.model, split, plan.walkers, s.slope);
  TaskObservables observables(system);
  Wlmd wlmd(observables, plan.wlmd, walker_seeds(plan));
  std::vector<double> reference_map;
  if (!has_checkpoint) write_inputs(dir, plan, split, *backend, system.layout());
  try {
    if (!place_walkers(plan, split, dir, system, wlmd, reference_map)) {
      std::cerr << fmt::format("stopped by signal {} while training the start states; start "
                               "again with glassy sample --resume {}\n", stop_signal(), s.out);
      return 128 + stop_signal();
    }
  } catch (const UsageError&) {
    // A new run that cannot start (a bound that excludes a starting weight, an unreadable
    // start file) leaves no directory behind, like every other bad setting.
    if (!resuming) std::filesystem::remove_all(dir.path());
    throw;
  }
  print_config(plan, *backend, system.parameter_count());

  const int64_t start = wlmd.steps_done();
  GLASSY_REQUIRE(start <= s.steps, "--steps {} is below the {} steps the run has done",
                 s.steps, start);
  if (resuming) record_steps(dir, s.steps);
  // A resume rewrites the map files from the checkpoint, which a kill may have cut short.
  if (has_checkpoint) write_map_files(dir.path(), wlmd.grid());
  SampleRun run{plan,
                dir,
                wlmd,
                walker_labels(plan),
                open_csv(dir.file("traces.csv"), trace_header(observables), has_checkpoint,
                         start),
                open_csv(dir.file("progress.csv"), kProgressHeader, has_checkpoint, start + 1),
                open_csv(dir.file("convergence.csv"), kConvergenceHeader, has_checkpoint,
                         start + 1),
                reference_map,
                ProgressClock(start),
                std::vector<bool>(plan.walkers, false),
                has_checkpoint ? start : -1};
  if (!has_checkpoint) checkpoint(run, true);
  const int status = sample_loop(run);
  dir.release();
  return status;
}

}  // namespace

int run_sample_command(const std::vector<std::string>& args) {
  install_stop_handlers();
  const std::string resume = find_flag(args, "--resume");
  const SampleSettings settings =
      resume.empty() ? parse_sample_settings(args) : resume_settings(resume, args);
  const SamplePlan plan = resolve_sample_plan(settings);
  const Split split = make_split(plan.operation, plan.settings.p, plan.settings.train_frac,
                                 plan.split_seed);
  if (resume.empty()) RunDirectory::check_creatable(plan.settings.out);
  return run_plan(plan, split, !resume.empty());
}

}  // namespace glassy
