// Tests of WanD and the WanD-AdamW hybrid: the state round-trips through save_state and
// load_state so that a restored Wand continues bit for bit, load_state rejects a state of
// another size, and the training loop's records with WanD describe the weights after s
// updates, as they do with AdamW.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "engine/data.h"
#include "engine/error.h"
#include "engine/task_observables.h"
#include "models/quadratic_well.h"
#include "models/task_system.h"
#include "samplers/optimizer.h"
#include "samplers/trainer.h"
#include "samplers/wand.h"
#include "tests/support/numbers.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::bitwise_equal;
using test::ThreadCountGuard;

const std::vector<uint64_t> kSeeds = {3, 5, 8};

// WanD on ln U of a 12-coordinate well (x) with a second block of 4 (y, used by the hybrid).
// The bias pushes x from about ln 6 toward L0 = -2, and F_WL 5 with t_WL 10 makes the deposits
// large after a few steps, so the grids, histogram and velocities all change.
WandConfig well_wand_config(HybridAlpha alpha) {
  WandConfig config = wand_defaults();
  config.langevin.dt = 0.01;
  config.grid.x = grid_axis(-6.0, 4.0, 0.05, "--x-range");
  config.grid.bias.beta = 5.0;
  config.grid.bias.l0 = -2.0;
  config.grid.schedule = WlSchedule{5.0, 10, 0};
  config.alpha = alpha;
  return config;
}

QuadraticWellConfig well_config() {
  QuadraticWellConfig config;
  config.blocks = {12, 4};
  return config;
}

// A Wand on its own well and, for the hybrid, its own AdamW optimizer.
struct WandRun {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  QuadraticWell well;
  std::unique_ptr<Optimizer> adamw;
  std::unique_ptr<Wand> wand;
  Buffer<float> weights;

  explicit WandRun(HybridAlpha alpha)
      : well(*backend, well_config(), int64_t(kSeeds.size())),
        weights(*backend, int64_t(kSeeds.size()) * well.parameter_count()) {
    if (alpha != HybridAlpha::none) {
      const std::vector<ReplicaHyper> hyper(kSeeds.size(), ReplicaHyper{1e-2, 0.5});
      adamw = std::make_unique<Optimizer>(*backend, OptimizerConfig{}, hyper,
                                          well.parameter_count());
    }
    wand = std::make_unique<Wand>(well, well_wand_config(alpha), kSeeds, adamw.get());
  }

  void advance(int steps) {
    for (int i = 0; i < steps; ++i) wand->step(weights);
  }
};

void check_same_state(const WandState& a, const WandState& b) {
  CHECK(a.steps_done == b.steps_done);
  CHECK(bitwise_equal(a.velocity, b.velocity));
  CHECK(bitwise_equal(a.grids, b.grids));
  CHECK(a.histogram == b.histogram);
  CHECK(a.range_counts.x_low == b.range_counts.x_low);
  CHECK(a.range_counts.x_high == b.range_counts.x_high);
  CHECK(a.range_counts.not_a_number == b.range_counts.not_a_number);
}

}  // namespace

TEST_CASE("wand state round trip continues bitwise", "[samplers][wand]") {
  ThreadCountGuard guard;
  for (const HybridAlpha alpha : {HybridAlpha::none, HybridAlpha::square}) {
    INFO("alpha " << to_string(alpha));
    WandRun first(alpha);
    first.well.initialize(first.weights, kSeeds);
    first.wand->start();
    first.advance(40);
    const std::vector<float> saved_weights = first.weights.download();
    const WandState saved = first.wand->save_state();
    const OptimizerState saved_adamw = first.adamw ? first.adamw->save_state() : OptimizerState{};
    CHECK(saved.steps_done == 40);
    CHECK(saved.histogram.size() == std::size_t(first.wand->grid().config().x.bins));
    first.advance(25);

    WandRun second(alpha);
    second.weights.upload(saved_weights);
    second.wand->load_state(saved);
    if (second.adamw) second.adamw->load_state(saved_adamw);
    second.advance(25);

    CHECK(bitwise_equal(first.weights.download(), second.weights.download()));
    check_same_state(first.wand->save_state(), second.wand->save_state());
  }
}

TEST_CASE("wand load_state rejects other sizes", "[samplers][wand]") {
  WandRun run(HybridAlpha::none);
  run.well.initialize(run.weights, kSeeds);
  run.wand->start();
  const WandState good = run.wand->save_state();

  WandState short_velocity = good;
  short_velocity.velocity.pop_back();
  CHECK_THROWS_AS(run.wand->load_state(short_velocity), UsageError);

  WandState one_grid_short = good;
  one_grid_short.grids.resize(good.grids.size() - run.wand->grid().cells());
  CHECK_THROWS_AS(run.wand->load_state(one_grid_short), UsageError);

  WandState negative_steps = good;
  negative_steps.steps_done = -1;
  CHECK_THROWS_AS(run.wand->load_state(negative_steps), UsageError);
}

TEST_CASE("wand training records describe weights after s updates", "[samplers][wand]") {
  // The loop takes record s's training statistics from the pass that computes update s + 1.
  // Replaying the same updates by hand and evaluating after each must give the same bits.
  ThreadCountGuard guard;
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  backend->set_threads(1);
  TransformerConfig model;
  model.vocab = 8;
  model.context = 3;
  model.classes = 8;
  model.d_model = 16;
  model.heads = 2;
  model.d_mlp = 32;
  const Split split = make_split(Operation::add, 7, 0.5, 2);
  const std::vector<uint64_t> seeds = {1, 2};
  WandConfig config = wand_defaults();
  config.grid.bias.beta = 50.0;

  TaskSystem system(*backend, model, split, 2, 7.0);
  TaskObservables observables(system);
  Buffer<float> weights(*backend, 2 * system.parameter_count());
  system.initialize(weights, seeds);
  Wand wand(observables, config, seeds, nullptr);
  wand.start();
  WandDynamics dynamics(system, observables, wand, nullptr);
  std::vector<TrainRecord> records;
  TrainerOptions options{12, 3, 0};
  const TrainOutcome outcome = train_replicas(
      system, dynamics, weights, options, [&](const TrainRecord& r) { records.push_back(r); },
      nullptr);
  CHECK(outcome.steps_done == 12);
  REQUIRE(records.size() == 5);

  TaskSystem replay_system(*backend, model, split, 2, 7.0);
  TaskObservables replay_observables(replay_system);
  Buffer<float> replay(*backend, 2 * replay_system.parameter_count());
  replay_system.initialize(replay, seeds);
  Wand replay_wand(replay_observables, config, seeds, nullptr);
  replay_wand.start();
  std::vector<LossStats> train, test;
  for (int64_t step = 0; step <= 12; ++step) {
    if (step % 3 == 0) {
      const TrainRecord& record = records[step / 3];
      replay_system.evaluate(DataSplit::train, replay.data(), nullptr, nullptr, train);
      replay_system.evaluate(DataSplit::test, replay.data(), nullptr, nullptr, test);
      INFO("step " << step);
      CHECK(record.step == step);
      for (int r = 0; r < 2; ++r) {
        CHECK(std::memcmp(&record.train[r].log_loss, &train[r].log_loss, sizeof(double)) == 0);
        CHECK(std::memcmp(&record.test[r].loss, &test[r].loss, sizeof(double)) == 0);
        CHECK(record.lr[r] == (step == 0 ? 0.0 : config.langevin.dt));
      }
      CHECK(bitwise_equal(record.temperature, replay_wand.temperature()));
    }
    if (step < 12) replay_wand.step(replay);
  }
  CHECK(bitwise_equal(weights.download(), replay.download()));
}

}  // namespace glassy
