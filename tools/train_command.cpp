// `glassy train`. The run directory it writes:
//   config.json    the resolved settings, the replica grid, the machine and the build
//   split.csv      every example with its set (train or test), reproducible from split-seed
//   metrics.csv    one row per replica per evaluation step, reproducible bit for bit
//   progress.csv   the progress lines' fields with timings and ETA
//   summary.json   per replica: steps to 99% train and 95% test accuracy, final values
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
#include <optional>

#include <omp.h>

#include "engine/csv_format.h"
#include "engine/npy.h"
#include "engine/run_dir.h"
#include "engine/version.h"
#include "models/task_system.h"
#include "samplers/trainer.h"
#include "tools/progress.h"
#include "tools/signals.h"
#include "tools/train_checkpoint.h"
#include "tools/train_flags.h"
#include "tools/train_resume.h"
#include "tools/train_settings.h"

namespace glassy {
namespace {

constexpr double kTrainAccuracyTarget = 0.99;
constexpr double kTestAccuracyTarget = 0.95;

const std::vector<std::string> kMetricsHeader = {
    "step", "replica", "train_loss", "log_train_loss", "train_acc", "test_loss", "test_acc",
    "smooth_test_acc", "weight_norm", "lr"};
const std::vector<std::string> kProgressHeader = {
    "step", "elapsed_s", "mean_train_loss", "mean_train_acc", "mean_test_acc",
    "mean_weight_norm", "ms_per_step", "replica_steps_per_s", "eta_s"};

// Returns the bytes of memory available to new allocations, from /proc/meminfo, or 0.
double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kilobytes = 0.0;
  std::string unit;
  while (meminfo >> key >> kilobytes >> unit) {
    if (key == "MemAvailable:") return kilobytes * 1024.0;
  }
  return 0.0;
}

// Rejects a run whose buffers would not fit in the available memory.
void check_memory(const TrainPlan& plan, const Split& split) {
  const int64_t replicas = int64_t(plan.replicas.size());
  const double params = double(transformer_layout(plan.model).size());
  const double states = plan.optimizer.kind == OptimizerKind::adamw ? 4.0 : 3.0;
  const double needed = double(TaskSystem::memory_bytes(plan.model, split, replicas)) +
                        states * sizeof(float) * params * double(replicas);
  const double available = available_memory_bytes();
  GLASSY_REQUIRE(available == 0.0 || needed < 0.9 * available,
                 "this run needs about {} of memory but {} is available; reduce --replicas "
                 "(or the grid), --p, --d-model or --d-mlp",
                 format_bytes(needed), format_bytes(available));
}

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

void print_config(const TrainPlan& plan,
                  const Backend& backend,
                  int64_t params,
                  std::size_t model_bytes,
                  std::size_t optimizer_bytes,
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
      {"optimizer", fmt::format("{}, lr {}, wd {}, betas ({}, {}), eps {}, warm-up {} steps "
                                "from {} x lr", s.optimizer, s.lr, s.wd, s.beta1, s.beta2,
                                s.eps, s.warmup_steps, s.warmup_start)},
      {"fixed norm", s.fixed_norm > 0.0 ? fmt::format("{}", s.fixed_norm) : "off"},
      {"replicas", fmt::format("{} (seeds x lr x wd)", r)},
      {"steps", fmt::format("{}, metrics every {}, log every {}", s.steps, s.eval_every,
                            s.log_every)},
      {"device", backend.device_description()},
      {"memory", fmt::format("parameters and gradients {}, optimizer state {}, activations "
                             "and data {}", format_bytes(2.0 * 4.0 * double(r * params)),
                             format_bytes(double(optimizer_bytes)),
                             format_bytes(double(model_bytes)))},
      {"output", s.out},
      {"checkpoints", s.checkpoint_every > 0
                          ? fmt::format("every {} steps and at the last step", s.checkpoint_every)
                          : "at the last step"},
  };
  if (start_step > 0) {
    rows.push_back({"resume", fmt::format("from the checkpoint at step {}", start_step)});
  }
  std::cerr << "glassy train\n" << format_table(rows) << std::flush;
}

// Means over the replicas whose values are finite, so one diverged replica does not turn the
// progress line into NaN; its own values stay in metrics.csv.
double mean(const std::vector<double>& values) {
  double sum = 0.0;
  int64_t count = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++count;
  }
  return count > 0 ? sum / double(count) : NAN;
}

double mean(const std::vector<LossStats>& stats, double LossStats::*field) {
  std::vector<double> values;
  for (const LossStats& s : stats) {
    if (std::isfinite(s.loss)) values.push_back(s.*field);
  }
  return mean(values);
}

// Prints one progress line (means over replicas) and appends the same fields, with the
// timings that metrics.csv leaves out to stay reproducible, to progress.csv.
void report_progress(const TrainRecord& record, int64_t total, ProgressClock& clock,
                     CsvWriter& progress) {
  const double loss = mean(record.train, &LossStats::loss);
  const double train_acc = mean(record.train, &LossStats::accuracy);
  const double test_acc = mean(record.test, &LossStats::accuracy);
  const double norm = mean(record.weight_norm);
  const double ms = clock.lap_ms_per_step(record.step);
  const double rate = 1000.0 * double(record.train.size()) / ms;
  const double eta = clock.eta_seconds(record.step, total);
  std::cerr << fmt::format(
      "step {:>{}}/{} | loss {:>9.4g} | train acc {:>6.4f} | test acc {:>6.4f} | norm {:>7.4g} | "
      "{:>8.2f} ms/step | {:>8.1f} replica-steps/s | ETA {}\n",
      record.step, std::to_string(total).size(), total, loss, train_acc, test_acc, norm, ms,
      rate, format_duration(eta));
  progress.write_row({std::to_string(record.step), fmt::format("{:.3f}", clock.elapsed_seconds()),
                      format_double(loss), format_double(train_acc), format_double(test_acc),
                      format_double(norm), fmt::format("{:.4f}", ms), fmt::format("{:.2f}", rate),
                      std::isfinite(eta) ? fmt::format("{:.1f}", eta) : ""});
}

void write_metrics_rows(CsvWriter& metrics, const TrainRecord& record, int64_t replicas) {
  for (int64_t r = 0; r < replicas; ++r) {
    const LossStats& train = record.train[r];
    const LossStats& test = record.test[r];
    metrics.write_row({std::to_string(record.step), std::to_string(r),
                       format_double(train.loss), format_double(train.log_loss),
                       format_double(train.accuracy), format_double(test.loss),
                       format_double(test.accuracy), format_double(test.smooth_accuracy),
                       format_double(record.weight_norm[r]), format_double(record.lr[r])});
  }
}

// The results of the run. Wall time is left out, so the file of a resumed run equals that of
// an uninterrupted one. progress.csv records the time.
nlohmann::json summary_json(const TrainPlan& plan, const std::vector<ReplicaProgress>& progress,
                            const TrainRecord& last, const TrainOutcome& outcome) {
  nlohmann::json replicas = nlohmann::json::array();
  for (std::size_t r = 0; r < progress.size(); ++r) {
    const ReplicaProgress& p = progress[r];
    nlohmann::json entry = {
        {"replica", r},
        {"seed", plan.replicas[r].seed},
        {"lr", plan.replicas[r].hyper.lr},
        {"wd", plan.replicas[r].hyper.weight_decay},
        {"first_step_train_acc_99", p.train_target_step ? nlohmann::json(*p.train_target_step)
                                                        : nlohmann::json(nullptr)},
        {"first_step_test_acc_95", p.test_target_step ? nlohmann::json(*p.test_target_step)
                                                      : nlohmann::json(nullptr)},
        {"diverged_at_step", p.diverged_step ? nlohmann::json(*p.diverged_step)
                                             : nlohmann::json(nullptr)},
        {"grokking_delay_ratio", nullptr},
        {"final_train_acc", last.train[r].accuracy},
        {"final_test_acc", last.test[r].accuracy},
        {"final_train_loss", last.train[r].loss},
        {"final_log_train_loss", last.train[r].log_loss},
        {"final_test_loss", last.test[r].loss},
        {"final_weight_norm", last.weight_norm[r]},
    };
    if (p.train_target_step && p.test_target_step && *p.train_target_step > 0) {
      entry["grokking_delay_ratio"] =
          double(*p.test_target_step) / double(*p.train_target_step);
    }
    replicas.push_back(entry);
  }
  return {{"steps_done", outcome.steps_done},
          {"steps_planned", plan.settings.steps},
          {"interrupted", outcome.interrupted},
          {"eval_every", plan.settings.eval_every},
          {"replicas", replicas}};
}

void print_summary(const TrainPlan& plan, const std::vector<ReplicaProgress>& progress,
                   const TrainRecord& last) {
  std::cout << fmt::format("{:>7} {:>10} {:>8} {:>6} {:>16} {:>16} {:>9} {:>8} {:>9}\n",
                           "replica", "seed", "lr", "wd", "train>=99% step", "test>=95% step",
                           "train acc", "test acc", "norm");
  auto step_text = [](const std::optional<int64_t>& step) {
    return step ? std::to_string(*step) : std::string("never");
  };
  for (std::size_t r = 0; r < progress.size(); ++r) {
    std::cout << fmt::format("{:>7} {:>10} {:>8.3g} {:>6.3g} {:>16} {:>16} {:>9.4f} {:>8.4f} "
                             "{:>9.3f}\n",
                             r, plan.replicas[r].seed, plan.replicas[r].hyper.lr,
                             plan.replicas[r].hyper.weight_decay,
                             step_text(progress[r].train_target_step),
                             step_text(progress[r].test_target_step), last.train[r].accuracy,
                             last.test[r].accuracy, last.weight_norm[r]);
  }
}

// Writes the files that describe the run before it starts.
void write_run_inputs(const RunDirectory& dir, const TrainPlan& plan, const Split& split,
                      const Backend& backend, const ParameterLayout& layout) {
  nlohmann::json config = train_plan_json(plan);
  config["parameters"] = layout.size();
  config["train_examples"] = split.train.size();
  config["test_examples"] = split.test.size();
  config["device"] = backend.device_description();
  config["threads_used"] = omp_get_max_threads();
  config["glassy_version"] = glassy_version();
  write_file_atomic(dir.file("config.json"), config.dump(2) + "\n");
  write_file_atomic(dir.file("split.csv"), split_csv(split, plan.settings.p));
  write_file_atomic(dir.file("parameters.json"), layout_json(layout).dump(2) + "\n");
}

// Records the first steps at which each replica reached the accuracy targets or stopped being
// finite, and warns once per diverged replica.
void update_progress(const TrainPlan& plan, const TrainRecord& record,
                     std::vector<ReplicaProgress>& progress) {
  for (std::size_t r = 0; r < progress.size(); ++r) {
    const bool finite =
        std::isfinite(record.train[r].loss) && std::isfinite(record.weight_norm[r]);
    if (!finite && !progress[r].diverged_step) {
      progress[r].diverged_step = record.step;
      std::cerr << fmt::format("warning: replica {} (seed {}, lr {}, wd {}) has diverged by step "
                               "{} (the first evaluation with a loss or weight norm that is "
                               "not finite); lower its learning rate\n", r, plan.replicas[r].seed,
                               plan.replicas[r].hyper.lr, plan.replicas[r].hyper.weight_decay,
                               record.step);
    }
    if (!progress[r].train_target_step && record.train[r].accuracy >= kTrainAccuracyTarget) {
      progress[r].train_target_step = record.step;
    }
    if (!progress[r].test_target_step && record.test[r].accuracy >= kTestAccuracyTarget) {
      progress[r].test_target_step = record.step;
    }
  }
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

// Runs the training loop from the state in `start`, whose weights and optimizer state are
// already loaded, streaming metrics.csv and writing checkpoints, then writes the results.
int train_and_record(const TrainPlan& plan, RunDirectory& dir, System& system,
                     Optimizer& optimizer, Buffer<float>& weights, const TrainCheckpoint& start) {
  const TrainSettings& s = plan.settings;
  const int64_t replicas = system.replicas();
  // Checkpoints are never taken at step 0, so a start past it is a resumed run.
  const bool resumed = start.step > 0;
  CsvWriter metrics = open_csv(dir.file("metrics.csv"), kMetricsHeader, resumed);
  CsvWriter progress_csv = open_csv(dir.file("progress.csv"), kProgressHeader, resumed);
  std::vector<ReplicaProgress> progress = start.progress;
  TrainRecord last;
  ProgressClock clock(start.step, start.elapsed_seconds);
  auto on_record = [&](const TrainRecord& record) {
    write_metrics_rows(metrics, record, replicas);
    update_progress(plan, record, progress);
    if (record.step % s.log_every == 0 || record.step == s.steps) {
      report_progress(record, s.steps, clock, progress_csv);
    }
    last = record;
  };
  // The rows up to the checkpoint go to the disk first, because a resumed run keeps them.
  auto on_checkpoint = [&](int64_t step) {
    metrics.sync();
    progress_csv.sync();
    train_checkpoint_write(dir.path(), plan, {step, clock.elapsed_seconds(), weights.download(),
                                              optimizer.save_state(), progress});
  };
  const TrainerOptions options{s.steps, s.eval_every, s.checkpoint_every};
  const TrainOutcome outcome = train_replicas(system, optimizer, weights, options, on_record,
                                              &install_stop_handlers(), on_checkpoint);
  if (outcome.interrupted && last.step % s.log_every != 0) {
    report_progress(last, s.steps, clock, progress_csv);
  }
  return finish_run(plan, dir, weights, progress, last, outcome, clock.elapsed_seconds());
}

// Loads the checkpoint of the run in dir into weights and optimizer, and cuts metrics.csv and
// progress.csv back to the rows before its step. Returns the checkpoint's step, time and
// progress.
TrainCheckpoint load_checkpoint(const TrainPlan& plan, const Split& split,
                                const RunDirectory& dir, Buffer<float>& weights,
                                Optimizer& optimizer) {
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
  optimizer.load_state(checkpoint.optimizer);
  checkpoint.weights = {};
  checkpoint.optimizer = {};

  // Evaluations ran at steps 0, e, 2e, ... below the checkpoint's step.
  const int64_t evaluations = (checkpoint.step + s.eval_every - 1) / s.eval_every;
  const int64_t rows =
      csv_keep_rows_before_step(dir.file("metrics.csv"), kMetricsHeader, checkpoint.step);
  GLASSY_REQUIRE(rows == evaluations * replicas, "'{}' has {} rows before step {}, but the run "
                 "evaluated {} replicas {} times; the file was changed or cut",
                 dir.file("metrics.csv"), rows, checkpoint.step, replicas, evaluations);
  csv_keep_rows_before_step(dir.file("progress.csv"), kProgressHeader, checkpoint.step);
  return checkpoint;
}

// Builds the run's system, weights and optimizer, starting from the initialization or, when
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
  std::vector<ReplicaHyper> hyper;
  for (const ReplicaSpec& replica : plan.replicas) {
    seeds.push_back(replica.seed);
    hyper.push_back(replica.hyper);
  }
  Buffer<float> weights(*backend, replicas * params);
  Optimizer optimizer(*backend, plan.optimizer, hyper, params);
  TrainCheckpoint start;
  start.progress.resize(replicas);
  if (resume) {
    start = load_checkpoint(plan, split, dir, weights, optimizer);
  } else {
    system.initialize(weights, seeds);
  }
  const std::size_t optimizer_bytes =
      (plan.optimizer.kind == OptimizerKind::adamw ? 2 : 1) * weights.bytes();
  print_config(plan, *backend, params, TaskSystem::memory_bytes(plan.model, split, replicas),
               optimizer_bytes, start.step);
  if (!resume) write_run_inputs(dir, plan, split, *backend, system.layout());

  return train_and_record(plan, dir, system, optimizer, weights, start);
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
