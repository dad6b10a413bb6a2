// Tests of cpu::cross_entropy numerics on float32 logits: tiny losses whose logarithm a float32
// log-softmax cannot resolve, large shared offsets, softmax saturation, and the accuracy and
// smoothed-accuracy statistics and gradients. Expected values come from the closed forms in
// long double.
#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/numbers.h"

namespace glassy {
namespace {

using test::digits;

constexpr int kClasses = 68;
constexpr int kAnswer = 17;  // not the first class, so the code cannot rely on position 0

struct LossRun {
  LossStats stats;
  std::vector<float> d_logits;
};

// Runs the kernel on one replica's (N, C) logits; the gradient buffer starts as NaN so any
// entry the kernel fails to write shows.
LossRun run_loss(const std::vector<float>& logits, const std::vector<int32_t>& answers,
                 int classes, const LossObjective& objective, double slope = 7.0) {
  const int64_t examples = int64_t(answers.size());
  LossRun run;
  run.d_logits.assign(logits.size(), std::numeric_limits<float>::quiet_NaN());
  std::vector<double> example_loss(examples), example_margin(examples);
  LossParams<float> p;
  p.replicas = 1;
  p.examples = examples;
  p.classes = classes;
  p.slope = slope;
  p.logits = logits.data();
  p.ld_logits = classes;
  p.stride_logits = examples * classes;
  p.answers = answers.data();
  p.objective = &objective;
  p.d_logits = run.d_logits.data();
  p.example_loss = example_loss.data();
  p.example_margin = example_margin.data();
  p.stats = &run.stats;
  cpu::cross_entropy(p);
  return run;
}

// One example: every wrong logit 0, the answer's logit margin.
std::vector<float> margin_logits(float margin) {
  std::vector<float> logits(kClasses, 0.0f);
  logits[kAnswer] = margin;
  return logits;
}

double relative_error(double got, long double expected) {
  return double(std::abs((static_cast<long double>(got) - expected) / expected));
}

}  // namespace

TEST_CASE("cross entropy resolves tiny losses", "[kernels]") {
  // With s = 67 e^-m, L = log1p(s), d ln L / dz_answer = -s / ((1 + s) L) and
  // d ln L / dz_wrong = e^-m / ((1 + s) L). N = 1 and coef_log_loss = 1, so d_logits is
  // d ln L / dz. The gradient is stored as float (relative rounding 6e-8) and the kernel sums
  // 68 exponentials in double, so 1e-5 relative is a loose bound. It still catches a float32
  // sum of the exponentials, which is off by 0.9% in ln L at margin 20 and gives -inf from
  // margin 21 on.
  LossObjective objective;
  objective.coef_log_loss = 1.0;
  double worst = 0.0;
  for (int margin : {5, 10, 16, 20, 21, 25, 30, 40, 50}) {
    const LossRun run = run_loss(margin_logits(float(margin)), {kAnswer}, kClasses, objective);
    const long double tail = std::exp(-static_cast<long double>(margin));
    const long double s = 67.0L * tail;
    const long double loss = std::log1p(s);
    const long double log_loss = std::log(loss);
    const long double d_answer = -s / ((1.0L + s) * loss);
    const long double d_wrong = tail / ((1.0L + s) * loss);

    double worst_wrong = 0.0;
    for (int j = 0; j < kClasses; ++j) {
      if (j == kAnswer) continue;
      const double error = relative_error(run.d_logits[j], d_wrong);
      if (!(error <= worst_wrong)) worst_wrong = error;
    }
    const double log_loss_error = relative_error(run.stats.log_loss, log_loss);
    const double answer_error = relative_error(run.d_logits[kAnswer], d_answer);
    INFO("margin " << margin << ": ln L " << digits(run.stats.log_loss, 10) << " (expected "
                   << digits(double(log_loss), 10) << "), d_answer "
                   << digits(run.d_logits[kAnswer], 8) << " (expected "
                   << digits(double(d_answer), 8) << "), d_wrong "
                   << digits(run.d_logits[kAnswer == 0 ? 1 : 0], 8) << " (expected "
                   << digits(double(d_wrong), 8) << ")");
    INFO("relative errors: ln L " << log_loss_error << ", d_answer " << answer_error
                                  << ", worst d_wrong " << worst_wrong);
    CHECK(std::isfinite(run.stats.log_loss));
    CHECK(std::isfinite(run.d_logits[kAnswer]));
    CHECK(log_loss_error < 1e-5);
    CHECK(answer_error < 1e-5);
    CHECK(worst_wrong < 1e-5);
    worst = std::max({worst, log_loss_error, answer_error, worst_wrong});
  }
  INFO("worst relative error over all margins " << worst);
  CHECK(worst < 1e-5);
}

TEST_CASE("cross entropy at margin 20 beats a float32 log-softmax", "[kernels]") {
  LossObjective objective;
  objective.coef_log_loss = 1.0;
  const LossRun run = run_loss(margin_logits(20.0f), {kAnswer}, kClasses, objective);
  // ln(log1p(67 e^-20)) = -15.7953069..., rounded to the 8 digits given.
  CHECK(run.stats.log_loss == Approx(-15.795307).margin(5e-7));

  // A float32 log-softmax sums 1 + 67 e^-20 = 1 + 1.38e-7 in float. Even correctly rounded,
  // that sum is 1 + 2^-23, so its loss is 2^-23 and ln L is -15.942385, off by 0.15.
  const float total = 1.0f + float(67.0 * std::exp(-20.0));
  const double float32_log_loss = std::log(double(std::log(total)));
  INFO("float32 log-softmax ln L " << digits(float32_log_loss, 10) << ", kernel ln L "
                                   << digits(run.stats.log_loss, 10));
  CHECK(float32_log_loss == Approx(-15.942385).margin(5e-7));
  CHECK(std::abs(run.stats.log_loss - float32_log_loss) > 0.1);
}

TEST_CASE("cross entropy ignores a large shared offset", "[kernels]") {
  // Equal logits give L = ln C and dL/dz = 1/C - onehot whatever the common value, as long as
  // the kernel subtracts the maximum. Each offset below is an exact float.
  const double ln68 = 4.219507705176107;
  CHECK(ln68 == Approx(std::log(68.0)).epsilon(2e-16));
  LossObjective objective;
  objective.coef_loss = 1.0;
  for (float offset : {0.0f, 1e2f, 1e4f, 1e6f, 1e8f}) {
    const std::vector<float> logits(kClasses, offset);
    const LossRun run = run_loss(logits, {kAnswer}, kClasses, objective);
    INFO("offset " << offset << ": loss " << digits(run.stats.loss, 16) << ", d_answer "
                   << run.d_logits[kAnswer] << ", d_wrong " << run.d_logits[0]);
    // The loss is log1p(67) in double: within 2 ulp of ln 68.
    CHECK(run.stats.loss == Approx(ln68).epsilon(4.5e-16));
    // The gradient is a double rounded once to float: within 1 float ulp (6e-8 relative).
    CHECK(run.d_logits[kAnswer] == Approx(1.0 / 68.0 - 1.0).epsilon(6e-8));
    double worst_wrong = 0.0;
    for (int j = 0; j < kClasses; ++j) {
      if (j == kAnswer) continue;
      const double error = relative_error(run.d_logits[j], 1.0L / 68.0L);
      if (!(error <= worst_wrong)) worst_wrong = error;
    }
    CAPTURE(worst_wrong);
    CHECK(worst_wrong <= 6e-8);
  }
  for (float offset : {0.0f, 1e8f}) {
    const LossRun run = run_loss({offset, offset}, {1}, 2, objective);
    INFO("two classes, offset " << offset);
    CHECK(run.stats.loss == Approx(std::log(2.0)).epsilon(2.5e-16));
    CHECK(run.d_logits[0] == 0.5f);
    CHECK(run.d_logits[1] == -0.5f);
  }
}

TEST_CASE("cross entropy gradient survives softmax collapse", "[kernels]") {
  // Margin 25: the answer's float32 probability rounds to 1, so p_answer - 1 would give a
  // zero gradient. The kernel sums the wrong probabilities instead:
  //   dL/dz_wrong = e^-25 / (1 + 67 e^-25),  dL/dz_answer = -67 e^-25 / (1 + 67 e^-25).
  LossObjective objective;
  objective.coef_loss = 1.0;
  const LossRun run = run_loss(margin_logits(25.0f), {kAnswer}, kClasses, objective);
  const long double tail = std::exp(-25.0L);
  const long double d_wrong = tail / (1.0L + 67.0L * tail);
  const long double d_answer = -67.0L * d_wrong;
  INFO("d_answer " << digits(run.d_logits[kAnswer], 8) << ", d_wrong "
                    << digits(run.d_logits[0], 8));
  CHECK(run.d_logits[kAnswer] == Approx(-9.3049e-10).epsilon(1e-4));
  CHECK(relative_error(run.d_logits[kAnswer], d_answer) < 1e-6);
  double worst_wrong = 0.0;
  for (int j = 0; j < kClasses; ++j) {
    if (j == kAnswer) continue;
    const double error = relative_error(run.d_logits[j], d_wrong);
    if (!(error <= worst_wrong)) worst_wrong = error;
  }
  CAPTURE(worst_wrong);
  CHECK(run.d_logits[0] == Approx(1.3888e-11).epsilon(1e-4));
  CHECK(worst_wrong < 1e-6);
  CHECK(run.stats.saturated == 1.0);

  const LossRun mild = run_loss(margin_logits(1.0f), {kAnswer}, kClasses, objective);
  CHECK(mild.stats.saturated == 0.0);

  // Both examples in one batch: half of them saturated.
  std::vector<float> both = margin_logits(25.0f);
  const std::vector<float> second = margin_logits(1.0f);
  both.insert(both.end(), second.begin(), second.end());
  const LossRun pair = run_loss(both, {kAnswer, kAnswer}, kClasses, objective);
  CHECK(pair.stats.saturated == 0.5);
}

TEST_CASE("cross entropy accuracy counts ties as wrong", "[kernels]") {
  // Four examples over five classes with answer margins 2, -1, 0 (a tie) and 0.5.
  const int classes = 5;
  const std::vector<float> logits = {
      3.0f, 1.0f,  0.0f,  -1.0f, 0.5f,   // answer 0, best wrong 1, margin 2
      0.5f, 1.5f,  0.5f,  0.0f,  0.0f,   // answer 2, best wrong 1, margin -1
      0.0f, 2.0f,  0.0f,  1.0f,  2.0f,   // answer 4, best wrong 1, margin 0
      1.0f, 0.0f,  0.25f, 1.5f,  -2.0f,  // answer 3, best wrong 0, margin 0.5
  };
  const std::vector<int32_t> answers = {0, 2, 4, 3};
  const int best_wrong[] = {1, 1, 1, 0};
  const double margins[] = {2.0, -1.0, 0.0, 0.5};
  const double slope = 7.0;
  LossObjective objective;
  objective.coef_smooth_acc = 1.0;
  const LossRun run = run_loss(logits, answers, classes, objective, slope);

  double smooth = 0.0, loss = 0.0;
  for (int n = 0; n < 4; ++n) {
    smooth += 1.0 / (1.0 + std::exp(-slope * margins[n]));
    double total = 0.0;
    for (int j = 0; j < classes; ++j) total += std::exp(double(logits[n * classes + j]));
    loss += std::log(total) - double(logits[n * classes + answers[n]]);
  }
  CHECK(run.stats.accuracy == 0.5);
  // Sums of four terms in double: a few ulp.
  CHECK(run.stats.smooth_accuracy == Approx(smooth / 4.0).epsilon(1e-14));
  CHECK(run.stats.loss == Approx(loss / 4.0).epsilon(1e-14));

  // d(mean sigmoid(slope margin))/dz_answer = slope sig (1 - sig) / N and the negative of
  // that on the best wrong logit; every other logit gets exactly 0. The double value is
  // rounded once to float, so it is within 6e-8 relative.
  for (int n = 0; n < 4; ++n) {
    const double sig = 1.0 / (1.0 + std::exp(-slope * margins[n]));
    const double d_margin = slope * sig * (1.0 - sig) / 4.0;
    const float* d_z = run.d_logits.data() + n * classes;
    INFO("example " << n << ": d_answer " << d_z[answers[n]] << ", d_best_wrong "
                    << d_z[best_wrong[n]] << ", expected +-" << d_margin);
    CHECK(d_z[answers[n]] == Approx(d_margin).epsilon(1e-7));
    CHECK(d_z[best_wrong[n]] == Approx(-d_margin).epsilon(1e-7));
    int untouched_nonzero = 0;
    for (int j = 0; j < classes; ++j) {
      if (j != answers[n] && j != best_wrong[n] && d_z[j] != 0.0f) ++untouched_nonzero;
    }
    CHECK(untouched_nonzero == 0);
  }
}

}  // namespace glassy
