// Statistical tests of the Langevin integrators on a harmonic well U = k c^2 / 2, one
// independent oscillator per parameter. On such a well both integrators are linear maps
// (c, v) -> A (c, v) + b xi, so the exact stationary covariance of each map solves the
// discrete Lyapunov equation S = A S A^T + b b^T; the tests solve it here in double, start the
// oscillators from that distribution and compare measured moments with it.
//
// Standard errors: each oscillator's moments are averaged over the run first. Oscillators are
// independent (own initial draw, own noise stream), so the spread of these time averages
// across oscillators gives an honest standard error whatever the correlation time.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "kernels/philox.h"
#include "samplers/langevin.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::ThreadCountGuard;

// One step of an integrator on the well as a linear map on (c, v): A (2, 2) and the noise
// direction b (2), for xi ~ N(0, 1) per oscillator and step.
struct LinearMap {
  double a[2][2];
  double b[2];
};

// The stationary covariance of a LinearMap: <c^2>, <c v> and <v^2>.
struct Covariance {
  double cc = 0.0, cv = 0.0, vv = 0.0;
};

struct HarmonicSettings {
  Integrator integrator = Integrator::paper;
  double stiffness = 1.0;  // k
  double kt = 1.0;
  double friction = 0.1;  // c_f
  double dt = 0.1;
};

// The `paper` integrator with a = -k c, written out from its definition in kernels/params.h:
//   v' = v + a dt - c_f v + sigma xi = (1 - c_f) v - k dt c + sigma xi,
//   c' = c + v' dt,
// with sigma = sqrt(c_f (2 - c_f) kT).
LinearMap paper_map(const HarmonicSettings& s) {
  const double sigma = std::sqrt(s.friction * (2.0 - s.friction) * s.kt);
  const double keep = 1.0 - s.friction;
  LinearMap m;
  m.a[1][0] = -s.stiffness * s.dt;
  m.a[1][1] = keep;
  m.a[0][0] = 1.0 + s.dt * m.a[1][0];
  m.a[0][1] = s.dt * keep;
  m.b[1] = sigma;
  m.b[0] = s.dt * sigma;
  return m;
}

// BAOAB with the closing half kick merged into the next step's kick, as LangevinDynamics runs
// it after its first step, with h = dt / 2:
//   v1 = v - k dt c,   c1 = c + h v1,   v' = (1 - c_f) v1 + sigma xi,   c' = c1 + h v'.
// The stored v' is the velocity right after the O step.
LinearMap baoab_map(const HarmonicSettings& s) {
  const double sigma = std::sqrt(s.friction * (2.0 - s.friction) * s.kt);
  const double keep = 1.0 - s.friction;
  const double h = 0.5 * s.dt;
  const double kdt = s.stiffness * s.dt;
  LinearMap m;
  m.a[1][0] = -keep * kdt;
  m.a[1][1] = keep;
  m.a[0][0] = 1.0 - h * kdt - h * keep * kdt;
  m.a[0][1] = h + h * keep;
  m.b[1] = sigma;
  m.b[0] = h * sigma;
  return m;
}

// Solves S = A S A^T + b b^T for symmetric S by Gaussian elimination on the three unknowns
// (S_cc, S_cv, S_vv).
Covariance stationary_covariance(const LinearMap& m) {
  const double a11 = m.a[0][0], a12 = m.a[0][1], a21 = m.a[1][0], a22 = m.a[1][1];
  double system[3][4] = {
      {1.0 - a11 * a11, -2.0 * a11 * a12, -a12 * a12, m.b[0] * m.b[0]},
      {-a11 * a21, 1.0 - (a11 * a22 + a12 * a21), -a12 * a22, m.b[0] * m.b[1]},
      {-a21 * a21, -2.0 * a21 * a22, 1.0 - a22 * a22, m.b[1] * m.b[1]},
  };
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int row = col + 1; row < 3; ++row) {
      if (std::fabs(system[row][col]) > std::fabs(system[pivot][col])) pivot = row;
    }
    for (int j = 0; j < 4; ++j) std::swap(system[col][j], system[pivot][j]);
    for (int row = 0; row < 3; ++row) {
      if (row == col) continue;
      const double factor = system[row][col] / system[col][col];
      for (int j = 0; j < 4; ++j) system[row][j] -= factor * system[col][j];
    }
  }
  Covariance s;
  s.cc = system[0][3] / system[0][0];
  s.cv = system[1][3] / system[1][1];
  s.vv = system[2][3] / system[2][2];
  return s;
}

Covariance exact_moments(const HarmonicSettings& s) {
  const LinearMap map = s.integrator == Integrator::paper ? paper_map(s) : baoab_map(s);
  return stationary_covariance(map);
}

// A mean over oscillators and its standard error.
struct Estimate {
  double mean = 0.0;
  double standard_error = 0.0;
};

struct MeasuredMoments {
  Estimate cc, cv, vv;
};

Estimate mean_and_error(const std::vector<double>& per_oscillator) {
  const double n = double(per_oscillator.size());
  double sum = 0.0;
  for (const double x : per_oscillator) sum += x;
  const double mean = sum / n;
  double squares = 0.0;
  for (const double x : per_oscillator) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / (n - 1.0) / n)};
}

// Runs `steps` steps of LangevinDynamics on `oscillators` independent wells, one walker with
// one parameter per oscillator, started from the exact stationary distribution of the map.
// The force is a = x * grad_x with grad_x a copy of the weights and x = -k. Returns the mean
// over oscillators of each oscillator's time-averaged moments, with its standard error.
MeasuredMoments run_oscillators(const HarmonicSettings& s, int64_t oscillators, int64_t steps,
                                uint64_t seed) {
  const ThreadCountGuard one_thread(1);
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  LangevinConfig config;
  config.integrator = s.integrator;
  config.dt = s.dt;
  config.friction = s.friction;
  config.kt = s.kt;
  LangevinDynamics dynamics(*backend, config, oscillators, {seed});

  // c = sqrt(S_cc) z1 and v = (S_cv / S_cc) c + sqrt(S_vv - S_cv^2 / S_cc) z2 have the
  // covariance S.
  const Covariance start = exact_moments(s);
  const double c_scale = std::sqrt(start.cc);
  const double v_given_c = start.cv / start.cc;
  const double v_scale = std::sqrt(start.vv - start.cv * v_given_c);
  std::vector<float> c(oscillators), v(oscillators);
  for (int64_t i = 0; i < oscillators; ++i) {
    const double z1 = random_normal(seed, 0, RandomPurpose::init, 0, uint64_t(i));
    const double z2 = random_normal(seed, 0, RandomPurpose::init, 1, uint64_t(i));
    c[i] = float(c_scale * z1);
    v[i] = float(v_given_c * double(c[i]) + v_scale * z2);
  }
  Buffer<float> weights(*backend, oscillators), grad(*backend, oscillators);
  Buffer<ForceCoefficients> force(*backend, 1);
  weights.upload(c);
  force.upload({ForceCoefficients{-s.stiffness, 0.0}});
  // A step counter of 1 makes BAOAB apply the full merged kick from the first step on, as
  // the stationary start already is a state after an O step.
  dynamics.restore(v, 1);

  std::vector<double> sum_cc(oscillators), sum_cv(oscillators), sum_vv(oscillators);
  for (int64_t step = 0; step < steps; ++step) {
    backend->copy(grad.data(), weights.data(), oscillators * sizeof(float));
    dynamics.step(weights.data(), grad.data(), nullptr, force.data(), nullptr);
    c = weights.download();
    v = dynamics.velocity().download();
    for (int64_t i = 0; i < oscillators; ++i) {
      sum_cc[i] += double(c[i]) * c[i];
      sum_cv[i] += double(c[i]) * v[i];
      sum_vv[i] += double(v[i]) * v[i];
    }
  }
  for (int64_t i = 0; i < oscillators; ++i) {
    sum_cc[i] /= double(steps);
    sum_cv[i] /= double(steps);
    sum_vv[i] /= double(steps);
  }
  return {mean_and_error(sum_cc), mean_and_error(sum_cv), mean_and_error(sum_vv)};
}

// Prints the measurement and returns its z-score against `expected`.
double report(const char* label, const Estimate& measured, double expected) {
  const double z = (measured.mean - expected) / measured.standard_error;
  std::printf("%-44s measured %.7f  expected %.7f  se %.2e  z %+.2f\n", label, measured.mean,
              expected, measured.standard_error, z);
  return z;
}

struct PaperCase {
  HarmonicSettings settings;
  double expected_cc;  // exact stationary values, computed in rational arithmetic
  double expected_vv;
  uint64_t seed;
};

// The published values of the paper rule's stationary moments, checked against the
// covariance solved here, and the moments measured on 2 x 10^5 oscillators against them.
// Six z-scores are checked at 4 standard errors, so a correct kernel fails by chance in
// under 0.04 % of seeds. A noise scale written as its variance c_f (2 - c_f) kT gives
// <c^2> = 0.1411 and <v^2> = 0.1881 in the second case, hundreds of standard errors off.
TEST_CASE("paper Langevin rule matches exact harmonic moments", "[samplers]") {
  const PaperCase cases[] = {
      {{Integrator::paper, 1.0, 0.5, 0.5, 0.003}, 0.375001125, 0.5000015, 101},
      {{Integrator::paper, 1.0, 0.5, 0.5, 0.1}, 0.3762541806, 0.5016722408, 102},
      {{Integrator::paper, 1.0, 1.0, 0.1, 0.5}, 1.016901408, 1.070422535, 103},
  };
  constexpr int64_t kOscillators = 200000;
  constexpr int64_t kSteps = 200;
  constexpr double kMaxZ = 4.0;

  for (const PaperCase& c : cases) {
    const HarmonicSettings& s = c.settings;
    INFO("k " << s.stiffness << ", kT " << s.kt << ", c_f " << s.friction << ", dt " << s.dt);
    const Covariance exact = exact_moments(s);
    CHECK(exact.cc == Approx(c.expected_cc).epsilon(1e-9));
    CHECK(exact.vv == Approx(c.expected_vv).epsilon(1e-9));

    std::printf("paper rule, k %g, kT %g, c_f %g, dt %g:\n", s.stiffness, s.kt, s.friction,
                s.dt);
    const MeasuredMoments measured = run_oscillators(s, kOscillators, kSteps, c.seed);
    const double z_cc = report("  <c^2>", measured.cc, exact.cc);
    const double z_cv = report("  <c v>", measured.cv, exact.cv);
    const double z_vv = report("  <v^2>", measured.vv, exact.vv);
    CHECK(std::fabs(z_cc) < kMaxZ);
    CHECK(std::fabs(z_cv) < kMaxZ);
    CHECK(std::fabs(z_vv) < kMaxZ);
  }
}

// Thermostat acceptance: <c^2> = kT / k and <v^2> = kT within 3 standard errors. On a harmonic
// well BAOAB samples both exactly at any stable dt (its stationary covariance, solved here,
// shows it), so c_f spans the under- and overdamped ends. k = 2 keeps kT / k apart from kT.
TEST_CASE("BAOAB samples harmonic well at kT", "[samplers]") {
  constexpr int64_t kOscillators = 200000;
  constexpr int64_t kSteps = 200;
  constexpr double kMaxZ = 3.0;
  const double frictions[] = {0.01, 0.5, 1.0};

  uint64_t seed = 251;
  for (const double friction : frictions) {
    const HarmonicSettings s{Integrator::baoab, 2.0, 0.5, friction, 0.05};
    INFO("k " << s.stiffness << ", kT " << s.kt << ", c_f " << s.friction << ", dt " << s.dt);
    const Covariance exact = exact_moments(s);
    CHECK(exact.cc == Approx(s.kt / s.stiffness).epsilon(1e-12));
    CHECK(exact.vv == Approx(s.kt).epsilon(1e-12));

    std::printf("BAOAB, k %g, kT %g, c_f %g, dt %g:\n", s.stiffness, s.kt, s.friction, s.dt);
    const MeasuredMoments measured = run_oscillators(s, kOscillators, kSteps, seed++);
    const double z_cc = report("  <c^2> against kT / k", measured.cc, s.kt / s.stiffness);
    const double z_vv = report("  <v^2> against kT", measured.vv, s.kt);
    CHECK(std::fabs(z_cc) < kMaxZ);
    CHECK(std::fabs(z_vv) < kMaxZ);
  }
}

// The paper rule's positions sample kT (1 - c_f / 2) up to terms in dt. At c_f = 1e-4 and
// dt = 0.02 its exact moments differ from kT / k and kT by at most 2e-4 relative, under a
// tenth of a standard error here.
// Energy decorrelates over about 1 / c_f = 10^4 steps, so the error comes from the number of
// independent oscillators, not from the length of the run.
TEST_CASE("paper Langevin rule at low friction samples kT", "[samplers]") {
  constexpr int64_t kOscillators = 200000;
  constexpr int64_t kSteps = 400;
  constexpr double kMaxZ = 3.0;
  const HarmonicSettings s{Integrator::paper, 2.0, 0.5, 1e-4, 0.02};

  const Covariance exact = exact_moments(s);
  std::printf("paper rule, k %g, kT %g, c_f %g, dt %g (exact <c^2> %.7f, <v^2> %.7f):\n",
              s.stiffness, s.kt, s.friction, s.dt, exact.cc, exact.vv);
  const MeasuredMoments measured = run_oscillators(s, kOscillators, kSteps, 301);
  const double z_cc = report("  <c^2> against kT / k", measured.cc, s.kt / s.stiffness);
  const double z_vv = report("  <v^2> against kT", measured.vv, s.kt);
  CHECK(std::fabs(z_cc) < kMaxZ);
  CHECK(std::fabs(z_vv) < kMaxZ);
}

}  // namespace
}  // namespace glassy
