// Progress lines, CSV rows, warnings and the summary of `glassy train`: what a run reports
// at each evaluation step and at its end.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/run_dir.h"
#include "samplers/trainer.h"
#include "tools/progress.h"
#include "tools/train_checkpoint.h"
#include "tools/train_settings.h"

namespace glassy {

// Prints one progress line (means over replicas) and appends the same fields, with the
// timings that metrics.csv leaves out to stay reproducible, to progress.csv.
void report_progress(const TrainRecord& record, int64_t total, ProgressClock& clock,
                     CsvWriter& progress);

// Appends one row per replica to metrics.csv, and for WanD to wand.csv.
void write_metrics_rows(CsvWriter& metrics, const TrainRecord& record, int64_t replicas);
void write_wand_rows(CsvWriter& wand, const TrainPlan& plan, const TrainRecord& record);

// Warns once per replica and process when its kinetic temperature first passes 1.3 kT.
void warn_on_heating(const TrainPlan& plan, const TrainRecord& record,
                     std::vector<bool>& warned);

// Records the first steps at which each replica reached the accuracy targets or stopped being
// finite, and warns once per diverged replica.
void update_progress(const TrainPlan& plan, const TrainRecord& record,
                     std::vector<ReplicaProgress>& progress);

// The results of the run for summary.json, and their table on standard output.
nlohmann::json summary_json(const TrainPlan& plan, const std::vector<ReplicaProgress>& progress,
                            const TrainRecord& last, const TrainOutcome& outcome);
void print_summary(const TrainPlan& plan, const std::vector<ReplicaProgress>& progress,
                   const TrainRecord& last);

}  // namespace glassy
