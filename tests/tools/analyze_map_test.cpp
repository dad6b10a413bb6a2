// The statistics of `glassy analyze` on hand-made maps: the equilibrium curve, the barrier's
// widest-path search, the walker jackknife, AdamW binning and the high-entropy advantage.
// Every expected value is worked out by hand in the comments.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "tools/analyze_map.h"

namespace glassy {
namespace {

// A grid of nx x bins of width x_width from x_lo, and 10 accuracy bins of 0.1 on [0, 1], so
// bin iy has accuracy 0.05 + 0.1 iy. No bias. The deposit sigma of 1 bin lets barrier paths
// step to the 8 neighbours of a bin.
WlGridConfig small_grid(int64_t nx, double x_lo = -10.0, double x_width = 1.0) {
  WlGridConfig grid;
  grid.dims = 2;
  grid.x = {x_lo, x_width, nx};
  grid.y = {0.0, 0.1, 10};
  grid.y_scale = 1.0;
  grid.sigma_bins = 1.0;
  grid.sharing = GridSharing::continuous;
  return grid;
}

// An entropy grid from S values; NaN marks an unvisited bin.
EntropyGrid entropy_grid(const std::vector<double>& s) {
  EntropyGrid grid;
  grid.s = s;
  for (double v : s) grid.visited.push_back(std::isnan(v) ? 0 : 1);
  for (double& v : grid.s) v = std::isnan(v) ? 0.0 : v;
  return grid;
}

// A map input from each walker's deposits (R, NX, NY). A walker visits the bins where it
// deposited; the map is bias + w sum_r D_r and the histogram sums the visits.
MapInput input_from_walkers(const WlGridConfig& grid, int64_t walkers,
                            const std::vector<double>& deposits) {
  MapInput input;
  input.grid = grid;
  input.walkers = walkers;
  input.deposits = deposits;
  const std::size_t cells = deposits.size() / std::size_t(walkers);
  input.bias.assign(cells, 0.0);
  input.map.assign(cells, 0.0);
  input.histogram.assign(cells, 0);
  const double weight = grid.sharing == GridSharing::continuous ? 1.0 : 1.0 / double(walkers);
  for (std::size_t i = 0; i < deposits.size(); ++i) {
    input.visits.push_back(deposits[i] > 0.0 ? 1 : 0);
    input.map[i % cells] += weight * deposits[i];
    input.histogram[i % cells] += input.visits.back();
  }
  return input;
}

constexpr double kUnvisited = NAN;

TEST_CASE("equilibrium curve on a hand-made grid", "[analyze]") {
  // Column 0 visits accuracy bins 1 (S 2) and 3 (S 3); bin 5 has a larger S but no visits.
  // Column 1 is unvisited.
  const WlGridConfig grid = small_grid(2);
  std::vector<double> s(20, kUnvisited);
  s[1] = 2.0;
  s[3] = 3.0;
  EntropyGrid entropy = entropy_grid(s);
  entropy.s[5] = 100.0;
  const std::vector<ColumnEquilibrium> columns = equilibrium_columns(grid, entropy);
  REQUIRE(columns.size() == 2);
  CHECK(columns[0].visited);
  CHECK(columns[0].y_argmax == Approx(0.35));
  CHECK(columns[0].s_max == 3.0);
  // (e^-1 0.15 + 1 0.35) / (e^-1 + 1)
  const double expected_mean = (std::exp(-1.0) * 0.15 + 0.35) / (std::exp(-1.0) + 1.0);
  CHECK(columns[0].y_mean == Approx(expected_mean).epsilon(1e-14));
  CHECK_FALSE(columns[1].visited);
  CHECK(std::isnan(columns[1].y_argmax));
}

TEST_CASE("shifted entropy is NaN where unvisited", "[analyze]") {
  const std::vector<double> shifted = shifted_entropy(entropy_grid({kUnvisited, 5.0, 7.5}));
  CHECK(std::isnan(shifted[0]));
  CHECK(shifted[1] == 0.0);
  CHECK(shifted[2] == 2.5);
}

// One visited column at x = -9.5 with S per accuracy bin; every other column unvisited.
EntropyGrid column_grid(const std::vector<double>& column, int64_t nx) {
  std::vector<double> s(nx * 10, kUnvisited);
  for (std::size_t iy = 0; iy < column.size(); ++iy) s[iy] = column[iy];
  return entropy_grid(s);
}

TEST_CASE("barrier of a dip of 3 between two peaks is 3", "[analyze][barrier]") {
  // M = accuracy 0.05 (S 5), G = accuracy 0.95 (S 6); the only path dips to S 2 at 0.35.
  const WlGridConfig grid = small_grid(3);
  const BarrierSearch search =
      find_barrier(grid, column_grid({5, 4, 3, 2, 3, 4, 5, 5, 5, 6}, 3));
  REQUIRE(search.defined);
  CHECK(search.value == 3.0);
  CHECK(search.memorizing.accuracy == Approx(0.05));
  CHECK(search.generalizing.accuracy == Approx(0.95));
  CHECK(search.saddle.accuracy == Approx(0.35));
  CHECK(search.saddle.s == 2.0);
  REQUIRE(search.path.size() == 10);
  CHECK(search.path.front().iy == 0);
  CHECK(search.path.back().iy == 9);
}

TEST_CASE("barrier along a monotone ridge is 0", "[analyze][barrier]") {
  // M is the largest S below accuracy 0.5 (S 5 at 0.45); S only rises from there to G.
  const BarrierSearch search =
      find_barrier(small_grid(3), column_grid({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3));
  REQUIRE(search.defined);
  CHECK(search.value == 0.0);
  CHECK(search.memorizing.accuracy == Approx(0.45));
  CHECK(search.path.size() == 6);
}

TEST_CASE("barrier across a disconnected band is null", "[analyze][barrier]") {
  const double u = kUnvisited;
  const BarrierSearch search =
      find_barrier(small_grid(3), column_grid({5, 4, 3, 2, u, u, u, 5, 5, 6}, 3));
  CHECK_FALSE(search.defined);
  CHECK(std::isnan(search.value));
  CHECK(search.path.empty());
  CHECK(search.reason ==
        "the memorizing and the generalizing end are not joined by visited bins with "
        "ln L_train < -4 and zero bias that lie at most 1 bin apart");
}

TEST_CASE("barrier without a generalizing end is null", "[analyze][barrier]") {
  const double u = kUnvisited;
  const BarrierSearch search =
      find_barrier(small_grid(3), column_grid({5, 4, 3, 2, 1, u, u, u, u, u}, 3));
  CHECK_FALSE(search.defined);
  CHECK(search.reason == "no visited bin with ln L_train < -4, zero bias and test accuracy > "
                         "0.9 (the generalizing end)");
}

TEST_CASE("barrier ends and path stay where the bias is zero", "[analyze][barrier]") {
  // Columns at x = -9.5 ... -4.5 with the bias 100 (x + 7)^2 above L0 = -7, so columns 3-5
  // (x -6.5, -5.5, -4.5) carry the bias. Column 4 contains the largest S below accuracy 0.5
  // (S 900, mostly bias), which must not become the memorizing end. In columns 0-2 the
  // memorizing end is S 5 at accuracy 0.05 and the path dips to S 2.
  WlGridConfig grid = small_grid(6);
  grid.bias = WlBias{100.0, -7.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  std::vector<double> s(60, kUnvisited);
  const std::vector<double> column = {5, 4, 3, 2, 3, 4, 5, 5, 5, 6};
  for (int64_t iy = 0; iy < 10; ++iy) {
    s[iy] = column[iy];
    s[40 + iy] = 900.0 - double(iy);
  }
  const BarrierSearch search = find_barrier(grid, entropy_grid(s));
  REQUIRE(search.defined);
  CHECK(search.memorizing.x == Approx(-9.5));
  CHECK(search.memorizing.s == 5.0);
  CHECK(search.value == 3.0);
  for (const BarrierPoint& point : search.path) CHECK(point.x < -7.0);
}

TEST_CASE("barrier band stops at ln L_train -4", "[analyze][barrier]") {
  // x centres -5.5, -4.5, -3.5. Columns 0 and 1 have a gap between the ends. Column 2 is
  // visited everywhere and joins them, but it lies above -4, so the ends are not joined in the
  // band. With the same map at x centres below -4 the path through column 2 exists.
  const double u = kUnvisited;
  std::vector<double> s(30, 1.0);
  const std::vector<double> column = {5, 4, 3, u, u, u, u, 5, 5, 6};
  for (int iy = 0; iy < 10; ++iy) {
    s[iy] = column[iy];
    s[10 + iy] = iy < 3 || iy > 6 ? 1.0 : u;
  }
  const BarrierSearch above = find_barrier(small_grid(3, -6.0), entropy_grid(s));
  CHECK_FALSE(above.defined);
  const BarrierSearch below = find_barrier(small_grid(3, -10.0), entropy_grid(s));
  REQUIRE(below.defined);
  CHECK(below.value == 4.0);
}

TEST_CASE("widest path goes around a low wall", "[analyze][barrier]") {
  // Five columns of S 5 with a wall of S 1 at accuracy 0.55. With a gap in the wall at the
  // last column the path goes through it and B = 0; a closed wall gives B = 5 - 1 = 4.
  const WlGridConfig grid = small_grid(5);
  std::vector<double> s(50, 5.0);
  for (int ix = 0; ix < 4; ++ix) s[ix * 10 + 5] = 1.0;
  const BarrierSearch around = find_barrier(grid, entropy_grid(s));
  REQUIRE(around.defined);
  CHECK(around.value == 0.0);
  bool through_gap = false;
  for (const BarrierPoint& point : around.path) through_gap = through_gap || point.ix == 4;
  CHECK(through_gap);
  for (const BarrierPoint& point : around.path) CHECK(point.s == 5.0);

  s[4 * 10 + 5] = 1.0;
  const BarrierSearch closed = find_barrier(grid, entropy_grid(s));
  REQUIRE(closed.defined);
  CHECK(closed.value == 4.0);
  CHECK(closed.saddle.s == 1.0);
}

TEST_CASE("barrier path bridges unvisited gaps narrower than the deposit sigma",
          "[analyze][barrier]") {
  // Accuracy bins 4 and 5 are unvisited: a path from bin 3 to bin 6 needs steps of 3 bins.
  // sigma 2 bins reaches 2, sigma 3 reaches 3, and the path then dips to S 2 at bin 3.
  const double u = kUnvisited;
  const EntropyGrid entropy = column_grid({5, 4, 3, 2, u, u, 3, 5, 5, 6}, 3);
  WlGridConfig grid = small_grid(3);
  grid.sigma_bins = 2.0;
  CHECK(barrier_reach(grid) == 2);
  CHECK_FALSE(find_barrier(grid, entropy).defined);
  grid.sigma_bins = 2.5;
  CHECK(barrier_reach(grid) == 3);
  const BarrierSearch bridged = find_barrier(grid, entropy);
  REQUIRE(bridged.defined);
  CHECK(bridged.value == 3.0);
  CHECK(bridged.saddle.accuracy == Approx(0.35));
}

TEST_CASE("jackknife standard error of three values", "[analyze]") {
  // mean 2, sum of squares 2, sqrt((3 - 1) / 3 * 2) = sqrt(4 / 3)
  CHECK(jackknife_se({1.0, 2.0, 3.0}) == Approx(std::sqrt(4.0 / 3.0)).epsilon(1e-15));
  CHECK(std::isnan(jackknife_se({1.0})));
  CHECK(std::isnan(jackknife_se({})));
}

TEST_CASE("leave-one-out map rescales the other walkers", "[analyze]") {
  // Continuous: S_(-0) = 2 / 1 D_1. Average (w = 1/2): S_(-0) = 1/2 2 / 1 D_1 = D_1.
  WlGridConfig grid = small_grid(1);
  std::vector<double> deposits(20, 0.0);
  deposits[3] = 4.0;       // walker 0, accuracy bin 3
  deposits[10 + 3] = 1.5;  // walker 1, accuracy bin 3
  deposits[10 + 6] = 2.0;  // walker 1, accuracy bin 6
  const EntropyGrid continuous = leave_one_out_grid(input_from_walkers(grid, 2, deposits), 0);
  CHECK(continuous.s[3] == 3.0);
  CHECK(continuous.s[6] == 4.0);
  CHECK(continuous.visited[3] == 1);
  CHECK(continuous.visited[0] == 0);
  const EntropyGrid without_walker_1 =
      leave_one_out_grid(input_from_walkers(grid, 2, deposits), 1);
  CHECK(without_walker_1.visited[6] == 0);
  grid.sharing = GridSharing::average;
  const EntropyGrid average = leave_one_out_grid(input_from_walkers(grid, 2, deposits), 0);
  CHECK(average.s[3] == 1.5);
  CHECK(average.s[6] == 2.0);
}

TEST_CASE("equilibrium jackknife on three walkers", "[analyze]") {
  // One column. Each walker's deposits at accuracy 0.25 (bin 2) and 0.55 (bin 5):
  //   walker 0: 10, 0    walker 1: 0, 8    walker 2: 1, 4
  // The full map (11, 12) has its argmax at 0.55.
  // Without walker 0: (1, 12) -> 0.55. Without 1: (11, 4) -> 0.25. Without 2: (10, 8) -> 0.25.
  // Their mean is 0.35 and the squares sum to 0.04 + 0.01 + 0.01 = 0.06.
  // se = sqrt(2 / 3 0.06) = 0.2.
  const WlGridConfig grid = small_grid(1);
  std::vector<double> deposits(30, 0.0);
  deposits[2] = 10.0;
  deposits[10 + 5] = 8.0;
  deposits[20 + 2] = 1.0;
  deposits[20 + 5] = 4.0;
  MapInput input = input_from_walkers(grid, 3, deposits);
  // Every walker visits both bins, so each leave-one-out map has both.
  for (int r = 0; r < 3; ++r) input.visits[r * 10 + 2] = input.visits[r * 10 + 5] = 1;
  input.histogram[2] = input.histogram[5] = 3;
  const MapAnalysis analysis = analyze_map(input, {});
  REQUIRE(analysis.equilibrium.size() == 1);
  CHECK(analysis.equilibrium[0].visits == 6);
  CHECK(analysis.equilibrium[0].y_argmax == Approx(0.55));
  CHECK(analysis.equilibrium[0].y_argmax_se == Approx(0.2).epsilon(1e-12));
  CHECK(analysis.equilibrium[0].s_max == 1.0);  // 12 - 11
  CHECK(analysis.shift == 11.0);
  CHECK(analysis.visited_bins == 2);
}

TEST_CASE("AdamW trajectories binned per seed", "[analyze]") {
  // x_lo -10: bin -1 = [-10.5, -10), bin 0 = [-10, -9.5), bin 1 = [-9.5, -9).
  // Bin 0: replica 0 mean (0.2 + 0.4) / 2 = 0.3, replica 1 0.5 -> mean 0.4,
  // se = std(0.3, 0.5) / sqrt(2) = 0.1. Bin 1: replica 0 only, se undefined.
  const std::vector<TrajectoryPoint> points = {
      {0, -9.9, 0.2}, {0, -9.6, 0.4}, {0, -9.2, 0.6}, {1, -9.8, 0.5},
      {1, NAN, 0.9},  {1, -10.2, 0.1}};
  const std::vector<TrajectoryBin> bins = bin_trajectories(points, -10.0);
  REQUIRE(bins.size() == 3);
  CHECK(bins[0].index == -1);
  CHECK(bins[0].x_lo == -10.5);
  CHECK(bins[1].index == 0);
  CHECK(bins[1].x_hi == -9.5);
  CHECK(bins[1].replica_means.size() == 2);
  CHECK(bins[1].accuracy.mean == Approx(0.4));
  CHECK(bins[1].accuracy.se == Approx(0.1));
  CHECK(bins[2].accuracy.mean == Approx(0.6));
  CHECK(std::isnan(bins[2].accuracy.se));
}

TEST_CASE("high-entropy advantage with its uncertainty", "[analyze]") {
  // Two columns of width 0.5 at x -9.75 and -9.25, one per 0.5 bin; two walkers, shared grid.
  // Column 0: walker 0 deposits 1 at 0.65 and 3 at 0.85, walker 1 2 and 1. The full map
  // (3, 4) has its argmax at 0.85, without walker 0 (2 D_1 = 4, 2) at 0.65, without walker 1
  // (2 D_0 = 2, 6) at 0.85: eq 0.85, se sqrt(1/2 (0.1^2 + 0.1^2)) = 0.1.
  // Column 1: both walkers at 0.95, se 0.
  // AdamW: replica 0 0.5 and 0.7, replica 1 0.7 and 0.9 -> 0.6 and 0.8, se 0.1 each.
  const WlGridConfig grid = small_grid(2, -10.0, 0.5);
  std::vector<double> deposits(40, 0.0);
  deposits[6] = 1.0;
  deposits[8] = 3.0;
  deposits[19] = 1.0;
  deposits[20 + 6] = 2.0;
  deposits[20 + 8] = 1.0;
  deposits[20 + 19] = 1.0;
  const MapInput input = input_from_walkers(grid, 2, deposits);
  const std::vector<TrajectoryPoint> adamw = {
      {0, -9.9, 0.5}, {0, -9.4, 0.7}, {1, -9.9, 0.7}, {1, -9.4, 0.9}};
  const MapAnalysis analysis = analyze_map(input, adamw);
  REQUIRE(analysis.advantage.size() == 2);
  CHECK(analysis.advantage[0].equilibrium.mean == Approx(0.85));
  CHECK(analysis.advantage[0].equilibrium.se == Approx(0.1));
  CHECK(analysis.advantage[0].advantage == Approx(0.25));
  CHECK(analysis.advantage[0].advantage_se == Approx(std::sqrt(0.02)));
  CHECK(analysis.advantage[1].advantage == Approx(0.15));
  CHECK(analysis.advantage[1].advantage_se == Approx(0.1));

  // Summary: 0.9 - 0.7 = 0.2. Jackknife of the mean eq: (0.65 + 0.95) / 2 = 0.8 and
  // (0.85 + 0.95) / 2 = 0.9, se 0.05. Seeds' means 0.6 and 0.8, se 0.1.
  const AdvantageSummary& summary = analysis.advantage_argmax;
  CHECK(summary.bins == 2);
  CHECK(summary.x_lo == -10.0);
  CHECK(summary.x_hi == -9.0);
  CHECK(summary.mean == Approx(0.2));
  CHECK(summary.se == Approx(std::sqrt(0.05 * 0.05 + 0.1 * 0.1)));
  // The weighted mean of column 0 on the full map: S 3 at 0.65 and 4 at 0.85.
  const double column_mean = (std::exp(-1.0) * 0.65 + 0.85) / (std::exp(-1.0) + 1.0);
  CHECK(analysis.advantage_weighted_mean.mean == Approx((column_mean + 0.95) / 2 - 0.7));
}

TEST_CASE("advantage summary uses only bins below -4", "[analyze]") {
  // Columns at x -4.75, -4.25, -3.75, -3.25, each visited at accuracy 0.95; AdamW in all four
  // 0.5 bins. Only [-5, -4.5) and [-4.5, -4) lie below -4.
  const WlGridConfig grid = small_grid(4, -5.0, 0.5);
  std::vector<double> deposits(40, 0.0);
  for (int ix = 0; ix < 4; ++ix) deposits[ix * 10 + 9] = 1.0;
  const std::vector<TrajectoryPoint> adamw = {
      {0, -4.8, 0.5}, {0, -4.3, 0.5}, {0, -3.8, 0.5}, {0, -3.3, 0.5}};
  const MapAnalysis analysis = analyze_map(input_from_walkers(grid, 1, deposits), adamw);
  CHECK(analysis.advantage.size() == 4);
  CHECK(analysis.advantage_argmax.bins == 2);
  CHECK(analysis.advantage_argmax.x_hi == -4.0);
  CHECK(analysis.advantage_argmax.mean == Approx(0.45));
  CHECK(std::isnan(analysis.advantage_argmax.se));

  const std::vector<TrajectoryPoint> high = {{0, -3.8, 0.5}};
  const MapAnalysis none = analyze_map(input_from_walkers(grid, 1, deposits), high);
  CHECK(none.advantage.size() == 1);
  CHECK(none.advantage_argmax.bins == 0);
}

TEST_CASE("barrier jackknife and statement", "[analyze][barrier]") {
  // One column, two walkers on a shared grid. Walker 0 deposits the dip profile
  // 5 4 3 2 3 4 5 5 5 6 and walker 1 the same plus 1 at accuracy 0.35 (bin 3):
  // full map B = 10 - 5 = 5; without walker 0 (2 D_1) B = 10 - 6 = 4; without walker 1
  // (2 D_0) B = 10 - 4 = 6. se = sqrt(1/2 (1 + 1)) = 1, so B = 5 > 2 se is detected.
  const WlGridConfig grid = small_grid(3);
  const std::vector<double> profile = {5, 4, 3, 2, 3, 4, 5, 5, 5, 6};
  std::vector<double> deposits(60, 0.0);
  for (int iy = 0; iy < 10; ++iy) {
    deposits[iy] = profile[iy];
    deposits[30 + iy] = profile[iy] + (iy == 3 ? 1.0 : 0.0);
  }
  const MapAnalysis analysis = analyze_map(input_from_walkers(grid, 2, deposits), {});
  const BarrierResult& barrier = analysis.barrier;
  REQUIRE(barrier.search.defined);
  CHECK(barrier.search.value == 5.0);
  CHECK(barrier.jackknife_n == 2);
  CHECK(barrier.se == Approx(1.0));
  CHECK(barrier.detected);
  CHECK(barrier.statement == "a barrier of 5 +- 1 is detected");

  // Walker 0 alone: B = 5 - 2 = 3, with no leave-one-out map.
  const std::vector<double> first(deposits.begin(), deposits.begin() + 30);
  const MapAnalysis single = analyze_map(input_from_walkers(grid, 1, first), {});
  CHECK(single.barrier.search.value == 3.0);
  CHECK_FALSE(single.barrier.detected);
  CHECK(single.barrier.jackknife_n == 0);
  CHECK(single.barrier.statement.find("no barrier is detected at this map's resolution (B = 3 "
                                      "with no standard error") == 0);
  CHECK(single.barrier.statement.find("bins 1 x 0.1, deposit sigma 1 bins") !=
        std::string::npos);
}

TEST_CASE("barrier error needs half of the leave-one-out maps", "[analyze][barrier]") {
  // One column. Walker 0 deposits the dip profile at accuracy bins 0-4 and walker 1 at bins
  // 5-9; walkers 2-4 deposit 1 at bin 0 only. The maps without walker 0 or 1 lose half of
  // the path, so 3 of 5 leave-one-out maps define B, and 3 >= 5 / 2 keeps the error. With
  // walkers 0-2 alone, 1 of 3 maps defines B and the error is NaN.
  const WlGridConfig grid = small_grid(1);
  const std::vector<double> profile = {5, 4, 3, 2, 3, 4, 5, 5, 5, 6};
  std::vector<double> split(50, 0.0);
  for (int iy = 0; iy < 10; ++iy) split[(iy < 5 ? 0 : 10) + iy] = profile[iy];
  for (int r = 2; r < 5; ++r) split[10 * r] = 1.0;
  const MapAnalysis five = analyze_map(input_from_walkers(grid, 5, split), {});
  CHECK(five.barrier.walkers == 5);
  CHECK(five.barrier.jackknife_n == 3);
  CHECK(std::isfinite(five.barrier.se));

  const std::vector<double> three(split.begin(), split.begin() + 30);
  const MapAnalysis few = analyze_map(input_from_walkers(grid, 3, three), {});
  REQUIRE(few.barrier.search.defined);
  CHECK(few.barrier.walkers == 3);
  CHECK(few.barrier.jackknife_n == 1);
  CHECK(std::isnan(few.barrier.se));
  CHECK_FALSE(few.barrier.detected);
  CHECK_THAT(few.barrier.statement,
             Catch::Matchers::Contains("with no standard error: 1 of 3 leave-one-out maps"));
}

}  // namespace
}  // namespace glassy
