// summary.json of `glassy sample`: which regions of the map each walker group reached, the
// walkers' kinetic temperatures, out-of-range counts and the histogram's flatness. It is built
// from traces.csv and the sampler state, so a resumed run summarizes the whole run.
#pragma once

#include <string>

#include "engine/run_dir.h"
#include "samplers/wlmd.h"
#include "tools/sample_settings.h"

namespace glassy {

// A walker whose kinetic temperature <v^2> / kT passes this is too hot: the step is too large
// for the force.
constexpr double kHotTemperature = 1.3;

// The map's regions, in ln L_train (x) and smoothed test accuracy (y).
constexpr double kHighLossX = 0.0;          // high loss: x > 0, i.e. L_train > 1
constexpr double kLowLossX = -4.0;          // memorizing and generalizing: x < -4
constexpr double kMemorizingAccuracy = 0.5;   // memorizing: y < 0.5
constexpr double kGeneralizingAccuracy = 0.9; // generalizing: y > 0.9

void write_sample_summary(const RunDirectory& dir, const SamplePlan& plan, Wlmd& wlmd,
                          double seconds, const std::string& status);

}  // namespace glassy
