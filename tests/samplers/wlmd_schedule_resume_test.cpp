// Field case C13 at its own step counts: a WLMD run checkpointed at t = 150,000 (mid-ramp of
// F_WL = 20, t_WL = 3e5) or t = 2,500,000 (on the 1/t tail, with and without a plateau to
// 2e6) and resumed continues exactly as the run that was not interrupted. One walker on a
// four-coordinate well keeps a step to a few microseconds, so the long case fits in seconds.
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "models/quadratic_well.h"
#include "samplers/wlmd.h"
#include "tests/support/numbers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::bitwise_equal;

struct WellRun {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  QuadraticWell well;
  Wlmd sampler;
  WellRun(const WlmdConfig& config)
      : well(*backend, QuadraticWellConfig{{4}, 1.0, WellObservable::log_energy, 1.0}, 1),
        sampler(well, config, {7}) {}
};

WlmdConfig schedule_config(int64_t plateau_end) {
  WlmdConfig c;
  c.langevin.dt = 0.01;
  c.constraint = Constraint::none;
  c.grid.dims = 1;
  c.grid.x = grid_axis(-4.0, 6.0, 0.02, "--x-range");
  c.grid.sigma_bins = 3.0;
  c.grid.bias = WlBias{100.0, 4.0, 100.0, -2.0, 0.0, 0.0, 0.0};
  c.grid.schedule = WlSchedule{20.0, 300000, plateau_end};
  c.grid.sharing = GridSharing::continuous;
  return c;
}

void run_steps(Wlmd& sampler, int64_t steps) {
  for (int64_t i = 0; i < steps; ++i) sampler.step();
}

void check_resume_at(int64_t checkpoint, int64_t plateau_end) {
  const test::ThreadCountGuard one_thread(1);
  const int64_t after = 2000;
  const WlmdConfig config = schedule_config(plateau_end);
  INFO("checkpoint at " << checkpoint << ", plateau to " << plateau_end << ", f_WL there "
                        << config.grid.schedule.amount(checkpoint + 1));

  WellRun straight(config);
  std::vector<float> start{1.0f, -0.5f, 0.5f, 1.5f};
  straight.sampler.start(start);
  run_steps(straight.sampler, checkpoint);
  test::TemporaryDirectory directory;
  const std::string path = (directory.path() / "checkpoint").string();
  straight.sampler.save(path);
  run_steps(straight.sampler, after);

  WellRun resumed(config);
  resumed.sampler.load(path);
  REQUIRE(resumed.sampler.steps_done() == checkpoint);
  run_steps(resumed.sampler, after);

  CHECK(bitwise_equal(resumed.sampler.grid().all_grids(), straight.sampler.grid().all_grids()));
  CHECK(resumed.sampler.grid().histogram() == straight.sampler.grid().histogram());
  CHECK(bitwise_equal(resumed.sampler.weights().download(),
                      straight.sampler.weights().download()));
  CHECK(resumed.sampler.grid().range_counts().total() ==
        straight.sampler.grid().range_counts().total());
}

TEST_CASE("WLMD resumed mid-ramp at t = 150000 continues bitwise", "[samplers][wlmd]") {
  CHECK(schedule_config(0).grid.schedule.amount(150001) == Approx(10.000066666666667));
  check_resume_at(150000, 0);
}

TEST_CASE("WLMD resumed on the 1/t tail at t = 2500000 continues bitwise",
          "[samplers][wlmd][.slow]") {
  CHECK(schedule_config(0).grid.schedule.amount(2500001) == Approx(2.399999040000384));
  CHECK(schedule_config(2000000).grid.schedule.amount(2500001) == Approx(15.99999360000256));
  check_resume_at(2500000, 0);
  check_resume_at(2500000, 2000000);
}

}  // namespace
}  // namespace glassy
