// `glassy train`. The run directory it writes:
//   config.json    the resolved settings, the replica grid, the machine and the build
//   split.csv      every example with its set (train or test), reproducible from split-seed
//   metrics.csv    one row per replica per evaluation step, reproducible bit for bit
//   progress.csv   the progress lines' fields with timings and ETA
//   summary.json   per replica: steps to 99% train and 95% test accuracy, final values
//   wand.csv       WanD and the hybrid only: each replica's kinetic temperature and alpha at
//                  every evaluation step
//   weights.npy    the final parameters (R, P), float32; parameters.json names the slices
//   checkpoint/    the state to resume from (see tools/train_checkpoint.h)
// A resumed run cuts metrics.csv and progress.csv back to the checkpoint's step and writes
// the same rows again from there. So its metrics.csv, summary.json and weights.npy end up
// byte-identical to those of an uninterrupted run. progress.csv differs in its timings.
#include "tools/train_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>


#include "engine/csv_format.h"
#include "engine/npy.h"
#include "engine/run_dir.h"
#include "models/task_system.h"
#include "samplers/trainer.h"
#include "tools/progress.h"
#include "tools/run_files.h"
#include "tools/signals.h"
#include "tools/train_checkpoint.h"
#include "tools/train_dynamics.h"
#include "tools/train_flags.h"
#include "tools/train_report.h"
#include "tools/train_resume.h"
#include "tools/train_settings.h"
#include "tools/train_wand_settings.h"

namespace glassy {
namespace {

const std::vector<std::string> kMetricsHeader = {
    "step", "replica", "train_loss", "log_train_loss", "train_acc", "test_loss", "test_acc",
    "smooth_test_acc", "weight_norm", "lr"};
// wand.csv: temperature is <v^2> / kT. alpha is the hybrid's WanD share of the update from
// these weights, computed from smooth_test_acc, and 1 for WanD alone.
const std::vector<std::string> kWandHeader = {"step", "replica", "temperature", "alpha"};
const std::vector<std::string> kProgressHeader = {
    "step", "elapsed_s", "mean_train_loss", "mean_train_acc", "mean_test_acc",
    "mean_weight_norm", "ms_per_step", "replica_steps_per_s", "eta_s"};

// Rejects a run whose buffers would not fit in the available memory.
void check_memory(const TrainPlan& plan, const Split& split) {
  const int64_t replicas = int64_t(plan.replicas.size());
  const int64_t params = transformer_layout(plan.model).size();
  const double needed = double(TaskSystem::memory_bytes(plan.model, split, replicas)) +
                        sizeof(float) * double(params) * double(replicas) +
                        RunDynamics::planned_state_bytes(plan, params);
  const double available = available_memory_bytes();
  GLASSY_REQUIRE(available == 0.0 || needed < 0.9 * available,
                 "this run needs about {} of memory but {} is available; reduce --replicas "
                 "(or the grid), --p, --d-model or --d-mlp",
                 format_bytes(needed), format_bytes(available));
}

// Describes the gradient optimizer, or for WanD that it takes no learning rate.
std::string optimizer_description(const TrainPlan& plan) {
  const TrainSettings& s = plan.settings;
  if (s.optimizer == "wand") return "wand (see the wand rows; no lr, no weight decay)";
  const std::string name = s.optimizer == "hybrid" ? "hybrid of wand and adamw" : s.optimizer;
  return fmt::format("{}, lr {}, wd {}, betas ({}, {}), eps {}, warm-up {} steps from {} x lr",
                     name, s.lr, s.wd, s.beta1, s.beta2, s.eps, s.warmup_steps,
                     s.warmup_start);
}

void print_config(const TrainPlan& plan,
                  const Backend& backend,
                  int64_t params,
                  std::size_t model_bytes,
                  std::size_t state_bytes,
                  int64_t start_step) {
  const TrainSettings& s = plan.settings;
  const int64_t r = int64_t(plan.replicas.size());
  std::vector<std::pair<std::string, std::string>> rows = {
      {"preset", s.preset.empty() ? "(none)" : s.preset},
      {"task", fmt::format("{} mod {}, train fraction {}, split seed {}", s.task, s.p,
                           s.train_frac, plan.split_seed)},
      {"model", fmt::format("{} layer(s), d_model {}, {} heads, d_mlp {}, {} classes, trim {}",
                            s.layers, s.d_model, s.heads, plan.model.d_mlp, plan.model.classes,
                            s.trim_last_layer ? "on" : "off")},
      {"parameters", fmt::format("{} per replica", params)},
      {"optimizer", optimizer_description(plan)},
      {"fixed norm", s.fixed_norm > 0.0 ? fmt::format("{}", s.fixed_norm) : "off"},
      {"replicas", fmt::format("{} ({})", r, s.optimizer == "wand" ? "seeds" : "seeds x lr x wd")},
      {"steps", fmt::format("{}, metrics every {}, log every {}", s.steps, s.eval_every,
                            s.log_every)},
      {"device", backend.device_description()},
      {"memory", fmt::format("weights {}, gradients and optimizer state {}, activations "
                             "and data {}", format_bytes(4.0 * double(r * params)),
                             format_bytes(double(state_bytes)),
                             format_bytes(double(model_bytes)))},
      {"output", s.out},
      {"checkpoints", s.checkpoint_every > 0
                          ? fmt::format("every {} steps and at the last step", s.checkpoint_every)
                          : "at the last step"},
  };
  if (plan.uses_wand) {
    const auto wand_rows = wand_config_rows(plan);
    rows.insert(rows.begin() + 5, wand_rows.begin(), wand_rows.end());
  }
  if (start_step > 0) {
    rows.push_back({"resume", fmt::format("from the checkpoint at step {}", start_step)});
  }
  std::cerr << "glassy train\n" << format_table(rows) << std::flush;
}

// Writes the files that describe the run before it starts.
void write_run_inputs(const RunDirectory& dir, const TrainPlan& plan, const Split& split,
                      const Backend& backend, const ParameterLayout& layout) {
  nlohmann::json config = train_plan_json(plan);
  add_run_metadata(config, layout, split, backend.device_description());
  write_file_atomic(dir.file("config.json"), config.dump(2) + "\n");
  write_file_atomic(dir.file("split.csv"), split_csv(split, plan.settings.p));
  write_file_atomic(dir.file("parameters.json"), layout_json(layout).dump(2) + "\n");
}

// Opens a run's CSV file: a new one, or the existing one of a resumed run.
CsvWriter open_csv(const std::string& path, const std::vector<std::string>& header,
                   bool append) {
  if (append) return CsvWriter::append(path, header);
  return CsvWriter(path, header);
}

// Writes the results of a run that ended, releases the directory and returns the exit status.
int finish_run(const TrainPlan& plan, RunDirectory& dir, const Buffer<float>& weights,
               const std::vector<ReplicaProgress>& progress, const TrainRecord& last,
               const TrainOutcome& outcome, double seconds) {
  const TrainSettings& s = plan.settings;
  const int64_t replicas = int64_t(plan.replicas.size());
  const std::vector<float> host_weights = weights.download();
  const std::vector<int64_t> shape = {replicas, int64_t(weights.size()) / replicas};
  npy_write(dir.file("weights.npy"), host_weights.data(), shape);
  write_file_atomic(dir.file("summary.json"),
                    summary_json(plan, progress, last, outcome).dump(2) + "\n");
  print_summary(plan, progress, last);
  // The results are written, so the directory no longer needs the claim of a running run.
  dir.release();
  if (outcome.interrupted) {
    std::cerr << fmt::format("stopped by signal {} at step {}; results so far are in {}, and "
                             "'glassy train --resume {}' continues the run\n", stop_signal(),
                             outcome.steps_done, s.out, s.out);
    return 128 + stop_signal();
  }
  const auto diverged = std::count_if(progress.begin(), progress.end(),
                                      [](const ReplicaProgress& p) { return p.diverged_step; });
  if (diverged > 0) {
    std::cerr << fmt::format("warning: {} of {} replicas diverged; summary.json gives the step "
                             "for each\n", diverged, replicas);
  }
  std::cerr << fmt::format("finished {} steps in {}; results in {}\n", outcome.steps_done,
                           format_duration(seconds), s.out);
  return 0;
}

// The CSV files a run streams, new or reopened by a resumed run. wand.csv only for WanD.
struct RunCsvFiles {
  CsvWriter metrics, progress;
  std::unique_ptr<CsvWriter> wand;

  RunCsvFiles(const TrainPlan& plan, const RunDirectory& dir, bool append)
      : metrics(open_csv(dir.file("metrics.csv"), kMetricsHeader, append)),
        progress(open_csv(dir.file("progress.csv"), kProgressHeader, append)) {
    // CsvWriter cannot be moved; new initializes it from the returned prvalue in place.
    if (plan.uses_wand) wand.reset(new CsvWriter(open_csv(dir.file("wand.csv"), kWandHeader,
                                                          append)));
  }
  void sync() {
    metrics.sync();
    progress.sync();
    if (wand) wand->sync();
  }
};

// Runs the training loop from the state in `start`, whose weights and dynamics state are
// already loaded, streaming the CSV files and writing checkpoints, then writes the results.
int train_and_record(const TrainPlan& plan, RunDirectory& dir, System& system,
                     RunDynamics& dynamics, Buffer<float>& weights,
                     const TrainCheckpoint& start) {
  const TrainSettings& s = plan.settings;
  const int64_t replicas = system.replicas();
  // Checkpoints are never taken at step 0, so a start past it is a resumed run.
  RunCsvFiles files(plan, dir, start.step > 0);
  std::vector<ReplicaProgress> progress = start.progress;
  std::vector<bool> warned_hot(replicas, false);
  TrainRecord last;
  ProgressClock clock(start.step, start.elapsed_seconds);
  auto on_record = [&](const TrainRecord& record) {
    write_metrics_rows(files.metrics, record, replicas);
    if (files.wand) write_wand_rows(*files.wand, plan, record);
    update_progress(plan, record, progress);
    warn_on_heating(plan, record, warned_hot);
    if (record.step % s.log_every == 0 || record.step == s.steps) {
      report_progress(record, s.steps, clock, files.progress);
    }
    last = record;
  };
  // The rows up to the checkpoint go to the disk first, because a resumed run keeps them.
  auto on_checkpoint = [&](int64_t step) {
    files.sync();
    TrainCheckpoint checkpoint{step, clock.elapsed_seconds(), weights.download(), {}, {},
                               progress};
    dynamics.save(checkpoint);
    train_checkpoint_write(dir.path(), plan, checkpoint);
  };
  const TrainerOptions options{s.steps, s.eval_every, s.checkpoint_every};
  const TrainOutcome outcome =
      train_replicas(system, dynamics.dynamics(), weights, options, on_record,
                     &install_stop_handlers(), on_checkpoint);
  if (outcome.interrupted && last.step % s.log_every != 0) {
    report_progress(last, s.steps, clock, files.progress);
  }
  return finish_run(plan, dir, weights, progress, last, outcome, clock.elapsed_seconds());
}

// Cuts a CSV file of one row per replica and evaluation back to the rows before `step`, and
// checks that it held all of them.
void cut_replica_csv(const TrainPlan& plan, const std::string& path,
                     const std::vector<std::string>& header, int64_t step) {
  const int64_t replicas = int64_t(plan.replicas.size());
  // Evaluations ran at steps 0, e, 2e, ... below the checkpoint's step.
  const int64_t evaluations = (step + plan.settings.eval_every - 1) / plan.settings.eval_every;
  const int64_t rows = csv_keep_rows_before_step(path, header, step);
  GLASSY_REQUIRE(rows == evaluations * replicas, "'{}' has {} rows before step {}, but the run "
                 "evaluated {} replicas {} times; the file was changed or cut", path, rows,
                 step, replicas, evaluations);
}

// Loads the checkpoint of the run in dir into weights and dynamics, and cuts the CSV files
// back to the rows before its step. Returns the checkpoint's step, time and progress.
TrainCheckpoint load_checkpoint(const TrainPlan& plan, const Split& split,
                                const RunDirectory& dir, Buffer<float>& weights,
                                RunDynamics& dynamics) {
  const TrainSettings& s = plan.settings;
  const int64_t replicas = int64_t(plan.replicas.size());
  std::ifstream split_file(dir.file("split.csv"), std::ios::binary);
  const std::string recorded_split((std::istreambuf_iterator<char>(split_file)),
                                   std::istreambuf_iterator<char>());
  GLASSY_REQUIRE(recorded_split == split_csv(split, s.p), "'{}' differs from the split that "
                 "split-seed {} gives; the file was changed or written by another glassy "
                 "version", dir.file("split.csv"), plan.split_seed);

  TrainCheckpoint checkpoint =
      train_checkpoint_read(dir.path(), plan, int64_t(weights.size()) / replicas);
  GLASSY_REQUIRE(checkpoint.step < s.steps, "--resume '{}': the run already finished all {} "
                 "steps, so there is nothing to continue", s.out, s.steps);
  weights.upload(checkpoint.weights);
  dynamics.load(checkpoint);
  checkpoint.weights = {};

  cut_replica_csv(plan, dir.file("metrics.csv"), kMetricsHeader, checkpoint.step);
  if (plan.uses_wand) cut_replica_csv(plan, dir.file("wand.csv"), kWandHeader, checkpoint.step);
  csv_keep_rows_before_step(dir.file("progress.csv"), kProgressHeader, checkpoint.step);
  return checkpoint;
}

// Builds the run's system, weights and dynamics, starting from the initialization or, when
// `resume`, from the checkpoint in s.out, and trains.
int run_plan(const TrainPlan& plan, const Split& split, bool resume) {
  const TrainSettings& s = plan.settings;
  std::unique_ptr<Backend> backend = make_backend(parse_backend_kind(s.backend));
  backend->set_threads(s.threads);
  check_memory(plan, split);
  if (stop_requested()) {
    std::cerr << fmt::format("stopped by signal {} before the run started; nothing was "
                             "written\n", stop_signal());
    return 128 + stop_signal();
  }
  RunDirectory dir = resume ? RunDirectory::claim(s.out) : RunDirectory::create(s.out);

  const int64_t replicas = int64_t(plan.replicas.size());
  TaskSystem system(*backend, plan.model, split, replicas, s.slope);
  const int64_t params = system.parameter_count();
  std::vector<uint64_t> seeds;
  for (const ReplicaSpec& replica : plan.replicas) seeds.push_back(replica.seed);
  Buffer<float> weights(*backend, replicas * params);
  RunDynamics dynamics(plan, *backend, system);
  TrainCheckpoint start;
  start.progress.resize(replicas);
  if (resume) {
    start = load_checkpoint(plan, split, dir, weights, dynamics);
  } else {
    system.initialize(weights, seeds);
    dynamics.start();
  }
  print_config(plan, *backend, params, TaskSystem::memory_bytes(plan.model, split, replicas),
               dynamics.state_bytes(), start.step);
  if (!resume) write_run_inputs(dir, plan, split, *backend, system.layout());

  return train_and_record(plan, dir, system, dynamics, weights, start);
}

}  // namespace

int run_train_command(const std::vector<std::string>& args) {
  // Installed first, so a signal during setup also stops cleanly: before the run directory
  // exists nothing is written, and after that the run stops at step 0 with its results.
  install_stop_handlers();
  const bool resume = has_resume_flag(args);
  const TrainPlan plan = resume ? resume_train_plan(args, find_flag(args, "--resume"))
                                : resolve_train_plan(parse_train_settings(args));
  // The input is checked before a new run directory is created. A resumed run checks its
  // checkpoint only after it claimed the directory, so that no other run writes it meanwhile.
  const Split split = make_split(plan.operation, plan.settings.p, plan.settings.train_frac,
                                 plan.split_seed);
  if (!resume) RunDirectory::check_creatable(plan.settings.out);
  return run_plan(plan, split, resume);
}

}  // namespace glassy
