// Progress lines, CSV rows, warnings and the summary of `glassy train`.
#include "tools/train_report.h"

#include <cmath>
#include <iostream>

#include "engine/csv_format.h"

namespace glassy {
namespace {

constexpr double kTrainAccuracyTarget = 0.99;
constexpr double kTestAccuracyTarget = 0.95;

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

}  // namespace

void report_progress(const TrainRecord& record, int64_t total, ProgressClock& clock,
                     CsvWriter& progress) {
  const double loss = mean(record.train, &LossStats::loss);
  const double train_acc = mean(record.train, &LossStats::accuracy);
  const double test_acc = mean(record.test, &LossStats::accuracy);
  const double norm = mean(record.weight_norm);
  const double ms = clock.lap_ms_per_step(record.step);
  const double rate = 1000.0 * double(record.train.size()) / ms;
  const double eta = clock.eta_seconds(record.step, total);
  // WanD runs show the mean kinetic temperature, the first sign of a dt that is too large.
  const std::string temperature =
      record.temperature.empty() ? ""
                                 : fmt::format(" | T {:>5.2f} kT", mean(record.temperature));
  std::cerr << fmt::format(
      "step {:>{}}/{} | loss {:>9.4g} | train acc {:>6.4f} | test acc {:>6.4f} | norm {:>7.4g}{} | "
      "{:>8.2f} ms/step | {:>8.1f} replica-steps/s | ETA {}\n",
      record.step, std::to_string(total).size(), total, loss, train_acc, test_acc, norm,
      temperature, ms, rate, format_duration(eta));
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

void write_wand_rows(CsvWriter& wand, const TrainPlan& plan, const TrainRecord& record) {
  for (std::size_t r = 0; r < record.temperature.size(); ++r) {
    const double alpha = hybrid_alpha(plan.wand.alpha, record.test[r].smooth_accuracy);
    wand.write_row({std::to_string(record.step), std::to_string(r),
                    format_double(record.temperature[r]), format_double(alpha)});
  }
}

// In equilibrium WanD's kinetic temperature stays near 1 kT, so a replica above this is heating.
constexpr double kHotTemperature = 1.3;

void warn_on_heating(const TrainPlan& plan, const TrainRecord& record,
                     std::vector<bool>& warned) {
  for (std::size_t r = 0; r < record.temperature.size(); ++r) {
    if (warned[r] || !(record.temperature[r] > kHotTemperature)) continue;
    warned[r] = true;
    std::cerr << fmt::format("warning: replica {} (seed {}) has a kinetic temperature of {:.3f} "
                             "kT at step {}, above {} kT: WanD is heating, and a smaller --dt "
                             "or --beta keeps it near 1 kT (wand.csv has every replica's)\n",
                             r, plan.replicas[r].seed, record.temperature[r], record.step,
                             kHotTemperature);
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

void update_progress(const TrainPlan& plan, const TrainRecord& record,
                     std::vector<ReplicaProgress>& progress) {
  for (std::size_t r = 0; r < progress.size(); ++r) {
    const bool finite =
        std::isfinite(record.train[r].loss) && std::isfinite(record.weight_norm[r]);
    if (!finite && !progress[r].diverged_step) {
      progress[r].diverged_step = record.step;
      std::cerr << fmt::format("warning: replica {} (seed {}, lr {}, wd {}) has diverged by step "
                               "{} (the first evaluation with a loss or weight norm that is "
                               "not finite); lower its {}\n", r, plan.replicas[r].seed,
                               plan.replicas[r].hyper.lr, plan.replicas[r].hyper.weight_decay,
                               record.step, plan.uses_wand ? "--dt" : "learning rate");
    }
    if (!progress[r].train_target_step && record.train[r].accuracy >= kTrainAccuracyTarget) {
      progress[r].train_target_step = record.step;
    }
    if (!progress[r].test_target_step && record.test[r].accuracy >= kTestAccuracyTarget) {
      progress[r].test_target_step = record.step;
    }
  }
}

}  // namespace glassy
