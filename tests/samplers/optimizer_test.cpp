// Tests of glassy::Optimizer and the CPU optimizer kernels: AdamW's decoupled weight decay
// under each warm-up style, the placement of epsilon, subnormal gradients, SGD with momentum,
// the fixed-norm projection, the independence of replicas, and saving and loading the state.
#include "samplers/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "kernels/cpu/optimizer.h"
#include "tests/support/numbers.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::bitwise_equal;
using test::digits;
using test::ThreadCountGuard;

// AdamW with the project's default betas (0.9, 0.98) and eps 1e-8, and no warm-up.
OptimizerConfig adamw_config() {
  OptimizerConfig config;
  config.kind = OptimizerKind::adamw;
  config.beta1 = 0.9;
  config.beta2 = 0.98;
  config.eps = 1e-8;
  config.warmup_steps = 0;
  return config;
}

// Runs `steps` AdamW steps on one parameter p0 = 1 with zero gradient, so only the weight
// decay p <- p (1 - lr_k wd) acts, and returns p.
float decay_only(const OptimizerConfig& config, int64_t steps) {
  // One replica is work for one thread only. With more runnable threads than cores, each
  // parallel region can cost milliseconds (10 s per 1000 steps, measured on 2 busy cores).
  const ThreadCountGuard one_thread(1);
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  Optimizer optimizer(*backend, config, {{1e-3, 1.0}}, 1);
  Buffer<float> weights(*backend, 1), grads(*backend, 1);
  weights.upload({1.0f});
  for (int64_t k = 0; k < steps; ++k) optimizer.step(weights, grads);
  return weights.download()[0];
}

// Returns the learning-rate multiplier of step k under the warm-up rules of OptimizerConfig,
// written out here independently of Optimizer::learning_rate.
long double warmup_factor(long double start, int64_t warmup_steps, int64_t k) {
  if (warmup_steps == 0) return 1.0L;
  const long double progress = std::min((k - 1) / (long double)warmup_steps, 1.0L);
  return start + (1.0L - start) * progress;
}

// Runs one AdamW step from m = v = 0 on p0 = 0 with weight decay 0 and returns the size of
// the update.
double first_step(double gradient, double beta2, double eps) {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  OptimizerConfig config = adamw_config();
  config.beta2 = beta2;
  config.eps = eps;
  Optimizer optimizer(*backend, config, {{1e-3, 0.0}}, 1);
  Buffer<float> weights(*backend, 1), grads(*backend, 1);
  grads.upload({float(gradient)});
  optimizer.step(weights, grads);
  return -double(weights.download()[0]);
}

std::vector<float> random_values(int64_t size, std::mt19937_64& gen, double scale) {
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<float> x(size);
  for (float& value : x) value = float(dist(gen));
  return x;
}

// Writes the gradient of a tilted double well, f(w) = sum_i (w_i^2 - 1)^2 / 4 + t_i w_i with
// t_i = 0.1 (i mod 7 - 3), so that each step depends on the weights.
void double_well_gradient(const std::vector<float>& weights, std::vector<float>& grads) {
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const float w = weights[i];
    grads[i] = w * (w * w - 1.0f) + 0.1f * float(int(i % 7) - 3);
  }
}

// Runs `steps` optimizer steps on the double well, computing each gradient on the host.
void descend_double_well(Optimizer& optimizer, Buffer<float>& weights, Buffer<float>& grads,
                         int64_t steps) {
  std::vector<float> host_grads(grads.size());
  for (int64_t k = 0; k < steps; ++k) {
    double_well_gradient(weights.download(), host_grads);
    grads.upload(host_grads);
    optimizer.step(weights, grads);
  }
}

// Runs `steps` steps with the gradient 1 in every element and returns the size of the last
// update of element 0. With a constant gradient the bias-corrected moments are m_hat = 1 and
// v_hat = 1, so every AdamW update is lr_k / (1 + eps).
double constant_gradient_steps(Backend& backend, Optimizer& optimizer, Buffer<float>& weights,
                               int64_t steps) {
  Buffer<float> grads(backend, weights.size());
  grads.upload(std::vector<float>(weights.size(), 1.0f));
  float before = 0.0f;
  for (int64_t k = 0; k < steps; ++k) {
    before = weights.download()[0];
    optimizer.step(weights, grads);
  }
  return double(before) - double(weights.download()[0]);
}

}  // namespace

TEST_CASE("adamw weight decay is decoupled", "[optimizer]") {
  // With g = 0, m and v stay 0 and the update term is 0 / (0 + eps) = 0, so each step is
  // p <- fl(p (1 - lr_k wd)), the product taken in double, with lr 1e-3 and wd 1. After 1000
  // steps p is close to the exact product of (1 - lr_k).
  //
  // Tolerance against the exact product: each step rounds once to float32 (u = 6e-8), so
  // 1000 steps drift by about sqrt(1000 / 3) u = 1.1e-6 for random rounding; measured, 1e-8
  // to 1.2e-7. A float32 factor (PyTorch's mul_) would be 1.3e-5 off. The second check is
  // exact: the recurrence itself, written out here, must give the same bits.
  //
  // The ramp from 0.1 x lr is PyTorch's LinearLR(start_factor=0.1, total_iters=10).
  struct Case {
    const char* name;
    int64_t warmup_steps;
    double start;
    double expected;  // prod (1 - lr_k wd) in exact arithmetic, to 10 digits
  };
  const Case cases[] = {{"constant lr", 0, 0.0, 0.3676954248},
                        {"warm-up from zero", 10, 0.0, 0.3697246440},
                        {"warm-up from 0.1", 10, 0.1, 0.3695212832}};
  for (const Case& c : cases) {
    OptimizerConfig config = adamw_config();
    config.warmup_steps = c.warmup_steps;
    config.warmup_start = c.start;
    const float p = decay_only(config, 1000);

    long double exact = 1.0L;
    float recurrence = 1.0f;
    for (int64_t k = 1; k <= 1000; ++k) {
      exact *= 1.0L - 1e-3L * warmup_factor(c.start, c.warmup_steps, k);
      const double lr = 1e-3 * double(warmup_factor(c.start, c.warmup_steps, k));
      recurrence = float(double(recurrence) * (1.0 - lr * 1.0));
    }
    const double error_exact = double(std::abs((p - exact) / exact));
    INFO(c.name << ": p " << digits(p, 10) << ", exact product " << digits(double(exact), 10)
                << ", float32 recurrence " << digits(recurrence, 10) << ", relative error "
                << error_exact);
    CHECK(double(exact) == Approx(c.expected).margin(5e-11));
    CHECK(error_exact < 1e-6);
    CHECK(p == recurrence);
  }
}

TEST_CASE("optimizer warm-up follows the documented schedules", "[optimizer]") {
  // lr (f0 + (1 - f0) min((k - 1) / W, 1)) with W = 10, lr 1e-3 and f0 = 0 or 0.1.
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  for (double start : {0.0, 0.1}) {
    OptimizerConfig config = adamw_config();
    config.warmup_steps = 10;
    config.warmup_start = start;
    const Optimizer optimizer(*backend, config, {{1e-3, 1.0}}, 1);
    for (int64_t k = 1; k <= 12; ++k) {
      const double expected = 1e-3 * double(warmup_factor(start, 10, k));
      INFO("start factor " << start << ", step " << k);
      CHECK(optimizer.learning_rate(0, k) == Approx(expected).epsilon(1e-15));
    }
    CHECK(optimizer.learning_rate(0, 1) == Approx(1e-3 * start).margin(1e-19));
    CHECK(optimizer.learning_rate(0, 10) ==
          Approx(start == 0.0 ? 9e-4 : 9.1e-4).epsilon(1e-15));
    CHECK(optimizer.learning_rate(0, 11) == Approx(1e-3).epsilon(1e-15));
  }
}

TEST_CASE("adamw adds eps after the root and bias correction", "[optimizer]") {
  // After one step from m = v = 0 the bias-corrected moments are g and g^2, so the update is
  // lr g / (|g| + eps). Putting eps inside the root or before the bias correction changes the
  // update for g near eps by a factor of 4 or more. Tolerance: the float32 step rounds about
  // ten operations and constants, each within u = 6e-8 relative, so a correct step is within
  // 10.5 u = 6.3e-7; 1e-6 rounds that up.
  struct Case {
    double gradient, beta2, eps;
    double expected;  // to the 7 digits stated
  };
  const Case cases[] = {{1e-8, 0.98, 1e-8, 5.000000e-4},
                        {1e-6, 0.98, 1e-8, 9.900990e-4},
                        {1.0, 0.98, 1e-8, 1.000000e-3},
                        {1e-8, 0.99, 1e-25, 1.000000e-3}};
  for (const Case& c : cases) {
    const double update = first_step(c.gradient, c.beta2, c.eps);
    const double formula = 1e-3 * c.gradient / (c.gradient + c.eps);
    INFO("g " << c.gradient << ", beta2 " << c.beta2 << ", eps " << c.eps << ": update "
              << digits(update, 10) << ", formula " << digits(formula, 10));
    CHECK(update == Approx(formula).epsilon(1e-6));
    CHECK(update == Approx(c.expected).epsilon(1e-6));
  }
}

TEST_CASE("adamw first step matches PyTorch with beta2 0.999", "[optimizer]") {
  // PyTorch's default beta2. PyTorch forms 1 - beta2 in double and rounds it once, to
  // float(0.001). Forming 1.0f - 0.999f in float32 instead gives 0.00099998713, 1.29e-5
  // low: v is then 1.29e-5 too small for the double bias correction 1 - beta2^t, and the
  // first step for g = 1 is 6.7e-6 too large. A correct float32 step is within 1e-6, as in
  // the test above.
  const double update = first_step(1.0, 0.999, 1e-8);
  const double formula = 1e-3 / (1.0 + 1e-8);
  INFO("update " << digits(update, 10) << ", formula " << digits(formula, 10)
                 << ", relative error " << std::abs(update / formula - 1.0));
  CHECK(update == Approx(formula).epsilon(1e-6));
}

TEST_CASE("adamw keeps subnormal second moments", "[optimizer]") {
  // g = 1e-20 gives v = (1 - beta2) g^2 = 1e-42, a float32 subnormal with about 10 significant
  // bits (spacing 1.4e-3 relative, so rounding within 7e-4). The square root halves that
  // error, so the step is 1e-3 (1 +- 3.5e-4). With flush-to-zero v becomes 0, the
  // denominator is eps = 1e-25 and the step is 1e-2 * 1e-21 / 1e-25 = 100.
  const double update = first_step(1e-20, 0.99, 1e-25);
  INFO("update " << digits(update, 10));
  CHECK(update == Approx(1e-3).epsilon(1e-3));
  CHECK(update < 1.0);
}

TEST_CASE("adamw kernel keeps a subnormal second moment", "[optimizer]") {
  // The same step through cpu::adamw_update with the scalars Optimizer would compute.
  float weight = 0.0f, grad = 1e-20f, m = 0.0f, v = 0.0f;
  AdamWScalars scalars;
  scalars.lr = 1e-3f;
  scalars.decay = 1.0;
  scalars.beta1 = 0.9f;
  scalars.one_minus_beta1 = float(1.0 - 0.9);
  scalars.beta2 = 0.99f;
  scalars.one_minus_beta2 = float(1.0 - 0.99);
  scalars.eps = 1e-25f;
  scalars.step_size = float(1e-3 / (1.0 - 0.9));
  scalars.bias_correction2_sqrt = float(std::sqrt(1.0 - 0.99));
  OptimizerParams params;
  params.replicas = 1;
  params.params = 1;
  params.weights = &weight;
  params.grads = &grad;
  params.state1 = &m;
  params.state2 = &v;
  params.adamw = &scalars;
  cpu::adamw_update(params);
  INFO("weight " << digits(weight, 10) << ", v " << digits(v, 10));
  CHECK(v > 0.0f);
  CHECK(std::fpclassify(v) == FP_SUBNORMAL);
  CHECK(-weight == Approx(1e-3).epsilon(1e-3));
}

TEST_CASE("sgd with momentum follows PyTorch's update", "[optimizer]") {
  // PyTorch's SGD: g' = g + wd p, then buf = mu buf + g', then p -= lr buf. Worked by hand for
  // p0 = 1, lr 0.1, wd 0.01, mu 0.9 and gradients 0.5, -0.25, 1:
  //   step 1: g' = 0.51,       buf = 0.51,       p = 0.949
  //   step 2: g' = -0.24051,   buf = 0.21849,    p = 0.927151
  //   step 3: g' = 1.00927151, buf = 1.20591251, p = 0.806559749
  // Each step rounds a few float32 operations on O(1) values, so 1e-6 relative holds.
  const float gradients[] = {0.5f, -0.25f, 1.0f};
  const double expected_p[] = {0.949, 0.927151, 0.806559749};
  const double expected_buffer[] = {0.51, 0.21849, 1.20591251};

  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  OptimizerConfig config;
  config.kind = OptimizerKind::sgd;
  config.momentum = 0.9;
  config.warmup_steps = 0;
  Optimizer optimizer(*backend, config, {{0.1, 0.01}}, 1);
  Buffer<float> weights(*backend, 1), grads(*backend, 1);
  weights.upload({1.0f});

  // The kernel directly, to see the momentum buffer too.
  float weight = 1.0f, buffer = 0.0f, grad = 0.0f;
  SgdScalars scalars{0.1f, 0.01f, 0.9f};
  OptimizerParams params;
  params.replicas = 1;
  params.params = 1;
  params.weights = &weight;
  params.grads = &grad;
  params.state1 = &buffer;
  params.sgd = &scalars;

  for (int step = 0; step < 3; ++step) {
    grads.upload({gradients[step]});
    optimizer.step(weights, grads);
    grad = gradients[step];
    cpu::sgd_update(params);
    const float p = weights.download()[0];
    INFO("step " << step + 1 << ": p " << digits(p, 10) << ", kernel p " << digits(weight, 10)
                 << ", buffer " << digits(buffer, 10));
    CHECK(p == Approx(expected_p[step]).epsilon(1e-6));
    CHECK(weight == Approx(expected_p[step]).epsilon(1e-6));
    CHECK(buffer == Approx(expected_buffer[step]).epsilon(1e-6));
  }
}

TEST_CASE("fixed-norm mode rescales each replica", "[optimizer]") {
  // Each element is scaled by float(target / norm): two roundings of at most u each, so the
  // float32 norm lands within about 2u = 1.2e-7 of the target; 3e-7 adds margin for the
  // norm's own float32 inputs.
  const int64_t params = 37;
  const double target = 3.0;
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  OptimizerConfig config = adamw_config();
  config.fixed_norm = target;
  Optimizer optimizer(*backend, config, {{1e-2, 0.1}, {3e-3, 1.0}}, params);
  std::mt19937_64 gen(7);
  Buffer<float> weights(*backend, 2 * params), grads(*backend, 2 * params);
  weights.upload(random_values(2 * params, gen, 1.0));
  for (int step = 0; step < 5; ++step) {
    grads.upload(random_values(2 * params, gen, 0.5));
    optimizer.step(weights, grads);
    const std::vector<float> host = weights.download();
    for (int64_t r = 0; r < 2; ++r) {
      double sum = 0.0;
      for (int64_t i = 0; i < params; ++i) {
        const double value = host[r * params + i];
        sum += value * value;
      }
      INFO("step " << step + 1 << ", replica " << r << ": norm " << std::sqrt(sum));
      CHECK(std::sqrt(sum) == Approx(target).epsilon(3e-7));
    }
  }
}

TEST_CASE("replicas evolve exactly as they would alone", "[optimizer]") {
  // Two replicas with different lr and wd in one Optimizer, against one Optimizer per
  // replica on the same data: the results must agree bit for bit. P = 37 is odd, so the
  // second replica's data sits at a different alignment than it would alone.
  const int64_t params = 37;
  const int64_t steps = 12;  // past the 10 warm-up steps
  const std::vector<ReplicaHyper> hyper = {{1e-2, 0.1}, {3e-3, 1.0}};
  struct Setting {
    const char* name;
    OptimizerKind kind;
    double fixed_norm;
  };
  const Setting settings[] = {{"adamw", OptimizerKind::adamw, 0.0},
                              {"adamw, fixed norm", OptimizerKind::adamw, 4.0},
                              {"sgd", OptimizerKind::sgd, 0.0},
                              {"sgd, fixed norm", OptimizerKind::sgd, 4.0}};
  for (const Setting& setting : settings) {
    OptimizerConfig config;
    config.kind = setting.kind;
    config.warmup_steps = 10;  // from_zero, so lr differs per step and per replica
    config.fixed_norm = setting.fixed_norm;

    std::mt19937_64 gen(11);
    const std::vector<float> start = random_values(2 * params, gen, 1.0);
    std::vector<std::vector<float>> gradients;
    for (int64_t k = 0; k < steps; ++k) {
      gradients.push_back(random_values(2 * params, gen, 0.3));
    }

    std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
    Optimizer together(*backend, config, hyper, params);
    Buffer<float> weights(*backend, 2 * params), grads(*backend, 2 * params);
    weights.upload(start);
    for (int64_t k = 0; k < steps; ++k) {
      grads.upload(gradients[k]);
      together.step(weights, grads);
    }
    const std::vector<float> result = weights.download();

    for (int64_t r = 0; r < 2; ++r) {
      Optimizer alone(*backend, config, {hyper[r]}, params);
      Buffer<float> weights_alone(*backend, params), grads_alone(*backend, params);
      weights_alone.upload(
          std::vector<float>(start.begin() + r * params, start.begin() + (r + 1) * params));
      for (int64_t k = 0; k < steps; ++k) {
        const std::vector<float>& all = gradients[k];
        grads_alone.upload(
            std::vector<float>(all.begin() + r * params, all.begin() + (r + 1) * params));
        alone.step(weights_alone, grads_alone);
      }
      const std::vector<float> expected = weights_alone.download();
      const std::vector<float> got(result.begin() + r * params,
                                   result.begin() + (r + 1) * params);
      INFO(setting.name << ", replica " << r << ": first value " << got[0] << " vs "
                        << expected[0]);
      CHECK(bitwise_equal(got, expected));
    }
    // The two replicas do differ, so the comparison above is not trivially true.
    CHECK_FALSE(std::equal(result.begin(), result.begin() + params, result.begin() + params));
  }
}

}  // namespace glassy

namespace glassy {

TEST_CASE("optimizer state round trip is bitwise", "[optimizer][resume]") {
  // 1000 steps straight, against 500 steps, save_state, a new Optimizer that loads the state,
  // and 500 more. The warm-up lasts 800 steps, so the resumed half starts mid-ramp. The
  // weights must agree bit for bit.
  const int64_t params = 37;
  const std::vector<ReplicaHyper> hyper = {{1e-2, 0.1}, {3e-3, 1.0}};
  struct Setting {
    const char* name;
    OptimizerKind kind;
  };
  const Setting settings[] = {{"adamw", OptimizerKind::adamw}, {"sgd", OptimizerKind::sgd}};
  for (const Setting& setting : settings) {
    OptimizerConfig config;
    config.kind = setting.kind;
    config.warmup_steps = 800;
    config.warmup_start = 0.1;
    std::mt19937_64 gen(5);
    const std::vector<float> start = random_values(2 * params, gen, 1.0);

    std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
    Buffer<float> grads(*backend, 2 * params);
    Buffer<float> straight_weights(*backend, 2 * params);
    straight_weights.upload(start);
    Optimizer straight(*backend, config, hyper, params);
    descend_double_well(straight, straight_weights, grads, 1000);

    Buffer<float> resumed_weights(*backend, 2 * params);
    resumed_weights.upload(start);
    OptimizerState saved;
    {
      Optimizer first_half(*backend, config, hyper, params);
      descend_double_well(first_half, resumed_weights, grads, 500);
      saved = first_half.save_state();
    }
    Optimizer second_half(*backend, config, hyper, params);
    second_half.load_state(saved);
    CHECK(second_half.steps_done() == 500);
    descend_double_well(second_half, resumed_weights, grads, 500);

    const std::vector<float> expected = straight_weights.download();
    const std::vector<float> got = resumed_weights.download();
    INFO(setting.name << ": first value " << digits(got[0], 10) << " vs "
                      << digits(expected[0], 10));
    CHECK(second_half.steps_done() == 1000);
    CHECK(bitwise_equal(got, expected));
    CHECK(bitwise_equal(second_half.save_state().state1, straight.save_state().state1));
    CHECK(bitwise_equal(second_half.save_state().state2, straight.save_state().state2));
  }
}

TEST_CASE("restored adamw continues step count", "[optimizer][resume]") {
  // After 501 steps with gradient 1, m = 1 - 0.9^501 and v = 1 - 0.98^501, so step 501 with
  // the bias corrections 1 - beta^501 moves each weight by lr_501 / (1 + eps). Restarting the
  // count at 0 divides m by 1 - 0.9 and v by 1 - 0.98 instead, which makes the step
  // (m / 0.1) / sqrt(v / 0.02) = 1.41424 times too large (10 / sqrt(50) for large counts),
  // and restarts the warm-up at lr_1. Both restarts are run here through a state whose
  // steps_done is set to 0, to show their size.
  // Tolerance: m and v accumulate float32 rounding over 500 steps, measured 1.7e-7 relative.
  struct Case {
    const char* name;
    int64_t warmup_steps;
    double resumed_factor;    // lr_501 / lr
    double restarted_factor;  // the update with the count restarted, over lr
  };
  const double m = 1.0 - std::pow(0.9, 501.0), v = 1.0 - std::pow(0.98, 501.0);
  const double restart_factor = (m / 0.1) / std::sqrt(v / 0.02);
  const Case cases[] = {{"no warm-up", 0, 1.0, restart_factor},
                        {"warm-up over 1000 steps from 0", 1000, 0.5, 0.0}};
  const double lr = 1e-3;
  for (const Case& c : cases) {
    OptimizerConfig config = adamw_config();
    config.warmup_steps = c.warmup_steps;
    std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
    Buffer<float> weights(*backend, 3);
    Optimizer first_half(*backend, config, {{lr, 0.0}}, 3);
    constant_gradient_steps(*backend, first_half, weights, 500);
    const OptimizerState saved = first_half.save_state();
    // Step 501 runs three ways: straight on, resumed and restarted. Each starts from weights 0,
    // so the step is measured without the rounding of larger weights. With wd 0 the weights
    // do not enter the update.
    const std::vector<float> weights_at_500(3, 0.0f);
    weights.upload(weights_at_500);
    const double straight_step = constant_gradient_steps(*backend, first_half, weights, 1);
    const std::vector<float> straight_weights = weights.download();
    Optimizer resumed(*backend, config, {{lr, 0.0}}, 3);
    resumed.load_state(saved);
    weights.upload(weights_at_500);
    const double resumed_step = constant_gradient_steps(*backend, resumed, weights, 1);
    const std::vector<float> resumed_weights = weights.download();
    OptimizerState restart = saved;
    restart.steps_done = 0;
    Optimizer restarted(*backend, config, {{lr, 0.0}}, 3);
    restarted.load_state(restart);
    weights.upload(weights_at_500);
    const double restarted_step = constant_gradient_steps(*backend, restarted, weights, 1);

    INFO(c.name << ": straight step " << digits(straight_step, 10) << ", resumed step "
                << digits(resumed_step, 10) << ", restarted step "
                << digits(restarted_step, 10));
    CHECK(bitwise_equal(resumed_weights, straight_weights));
    CHECK(resumed_step == Approx(lr * c.resumed_factor).epsilon(1e-5));
    CHECK(restarted_step == Approx(lr * c.restarted_factor).epsilon(1e-5).margin(1e-12));
  }
}

TEST_CASE("optimizer rejects state of another size", "[optimizer][resume]") {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  Optimizer adamw(*backend, adamw_config(), {{1e-3, 0.0}, {1e-3, 0.0}}, 5);
  OptimizerConfig sgd_config;
  sgd_config.kind = OptimizerKind::sgd;
  Optimizer sgd(*backend, sgd_config, {{1e-3, 0.0}, {1e-3, 0.0}}, 5);
  OptimizerState one_replica = adamw.save_state();
  one_replica.state1.resize(5);
  one_replica.state2.resize(5);
  CHECK_THROWS_AS(adamw.load_state(one_replica), Error);
  CHECK_THROWS_AS(sgd.load_state(adamw.save_state()), Error);
  CHECK_THROWS_AS(adamw.load_state(sgd.save_state()), Error);
  OptimizerState negative = adamw.save_state();
  negative.steps_done = -1;
  CHECK_THROWS_AS(adamw.load_state(negative), Error);
  CHECK_NOTHROW(adamw.load_state(adamw.save_state()));
}

}  // namespace glassy
