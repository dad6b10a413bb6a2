// Times one full-batch training step (forward over the whole training set, loss, backward,
// AdamW update) of the reference transformer on x+y, for every replica at once.
//   paper: p = 67, train fraction 0.5, d_model 128, 4 heads, d_mlp 512 (215,040 parameters)
//   demo:  p = 31, train fraction 0.5, d_model 64, 4 heads, d_mlp 256
// First it checks the float step against the double model on the same weights (ln L and
// the gradient), then runs warm-up and timed steps and prints the median, GFLOP/s against
// an estimated peak, and a summary line:
//   summary bench=train_step backend=cpu model=paper replicas=1 threads=2 params=215040
//           ms_per_step=... gflops=... replica_steps_per_s=...
// Usage: bench_train_step [--model paper|demo] [--replicas R] [--threads N] [--steps N]
//                         [--warmup N] [--trim on|off]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <omp.h>

#include "engine/data.h"
#include "models/task_system.h"
#include "samplers/optimizer.h"

namespace glassy {
namespace {

struct BenchOptions {
  std::string model = "paper";
  int64_t replicas = 1;
  int threads = 0;
  int steps = 30;
  int warmup = 5;
  std::string trim = "on";
};

struct BenchModel {
  int64_t p;
  TransformerConfig config;
};

BenchModel bench_model(const std::string& name, bool trim) {
  BenchModel model;
  model.p = name == "paper" ? 67 : 31;
  const int d = name == "paper" ? 128 : 64;
  model.config.vocab = int(model.p + 1);
  model.config.classes = int(model.p + 1);
  model.config.d_model = d;
  model.config.heads = 4;
  model.config.d_mlp = 4 * d;
  model.config.trim_last_layer = trim;
  return model;
}

// Estimated single-precision peak: cores x clock x 32 FLOP/cycle (two 8-wide FMA pipes).
double estimated_peak_gflops(int threads) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  double mhz = 0.0;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("cpu MHz", 0) == 0) mhz = std::stod(line.substr(line.find(':') + 1));
  }
  return double(threads) * mhz * 1e-3 * 32.0;
}

// Relative difference between the float step and the double model on the same weights.
double check_against_double(Backend& backend, const BenchModel& model, const Split& split) {
  TaskSystem system(backend, model.config, split, 1, 7.0);
  const int64_t params = system.parameter_count();
  Buffer<float> weights(backend, params), grads(backend, params);
  system.initialize(weights, {1});
  std::vector<LossObjective> objective(1);
  objective[0].coef_log_loss = 1.0;
  std::vector<LossStats> stats;
  system.evaluate(DataSplit::train, weights.data(), &objective, grads.data(), stats);

  Transformer<double> reference(backend, model.config, 1, split.train.size());
  Buffer<double> weights_double(backend, params), grads_double(backend, params);
  reference.initialize(weights_double, {1});
  Buffer<int32_t> tokens(backend, split.train.tokens.size());
  Buffer<int32_t> answers(backend, split.train.answers.size());
  tokens.upload(split.train.tokens);
  answers.upload(split.train.answers);
  const int64_t n = split.train.size(), classes = model.config.classes;
  Buffer<double> d_logits(backend, n * classes), loss(backend, n), margin(backend, n);
  Buffer<LossObjective> device_objective(backend, 1);
  Buffer<LossStats> device_stats(backend, 1);
  device_objective.upload(objective);
  LossParams<double> lp;
  lp.examples = n;
  lp.classes = int(classes);
  lp.logits = reference.forward(weights_double.data(), tokens.data(), n);
  lp.ld_logits = classes;
  lp.stride_logits = n * classes;
  lp.answers = answers.data();
  lp.objective = device_objective.data();
  lp.d_logits = d_logits.data();
  lp.example_loss = loss.data();
  lp.example_margin = margin.data();
  lp.stats = device_stats.data();
  backend.cross_entropy(lp);
  reference.backward(weights_double.data(), d_logits.data(), grads_double.data());

  const std::vector<float> g = grads.download();
  const std::vector<double> g_ref = grads_double.download();
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    diff += (g[i] - g_ref[i]) * (g[i] - g_ref[i]);
    norm += g_ref[i] * g_ref[i];
  }
  const double loss_error = std::abs(stats[0].log_loss - device_stats.download()[0].log_loss);
  return std::max(std::sqrt(diff / norm), loss_error);
}

int run(const BenchOptions& options) {
  const BenchModel model = bench_model(options.model, options.trim == "on");
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  backend->set_threads(options.threads);
  const int threads = omp_get_max_threads();
  const Split split = make_split(Operation::add, model.p, 0.5, 0);

  const double error = check_against_double(*backend, model, split);
  std::cerr << fmt::format("check: float step vs double model, relative error {:.2e}\n", error);
  if (!(error < 1e-4)) {
    std::cerr << "check failed: the float step disagrees with the double model\n";
    return 1;
  }

  TaskSystem system(*backend, model.config, split, options.replicas, 7.0);
  const int64_t params = system.parameter_count();
  Buffer<float> weights(*backend, options.replicas * params);
  Buffer<float> grads(*backend, options.replicas * params);
  std::vector<uint64_t> seeds;
  for (int64_t r = 0; r < options.replicas; ++r) seeds.push_back(uint64_t(r));
  system.initialize(weights, seeds);
  OptimizerConfig optimizer_config;
  Optimizer optimizer(*backend, optimizer_config,
                      std::vector<ReplicaHyper>(options.replicas, {3e-3, 1.0}), params);
  std::vector<LossObjective> objectives(options.replicas);
  for (LossObjective& objective : objectives) objective.coef_loss = 1.0;
  std::vector<LossStats> stats;

  std::vector<double> times;
  for (int step = 0; step < options.warmup + options.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    system.evaluate(DataSplit::train, weights.data(), &objectives, grads.data(), stats);
    optimizer.step(weights, grads);
    backend->synchronize();
    const auto end = std::chrono::steady_clock::now();
    if (step >= options.warmup) {
      times.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double gflops = system.gradient_flops(DataSplit::train) / (median * 1e6);
  const double peak = estimated_peak_gflops(threads);
  std::cerr << fmt::format("ms/step min {:.3f} median {:.3f} max {:.3f}; {:.1f} GFLOP/s of an "
                           "estimated {:.0f} peak ({:.0f}%)\n",
                           times.front(), median, times.back(), gflops, peak,
                           100.0 * gflops / peak);
  std::cout << fmt::format("summary bench=train_step backend=cpu model={} trim={} replicas={} "
                           "threads={} params={} ms_per_step={:.3f} gflops={:.1f} "
                           "replica_steps_per_s={:.1f}\n",
                           options.model, options.trim, options.replicas, threads, params,
                           median, gflops, 1000.0 * double(options.replicas) / median);
  return 0;
}

}  // namespace
}  // namespace glassy

int main(int argc, char** argv) {
  glassy::BenchOptions options;
  CLI::App app("Time one full-batch training step of the reference transformer");
  app.add_option("--model", options.model, "paper or demo")
      ->check(CLI::IsMember({"paper", "demo"}))->capture_default_str();
  app.add_option("--replicas", options.replicas, "replicas per step")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--threads", options.threads, "CPU threads (0: all cores)")
      ->capture_default_str();
  app.add_option("--steps", options.steps, "timed steps")->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--warmup", options.warmup, "untimed steps first")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--trim", options.trim, "trim the last layer: on or off")
      ->check(CLI::IsMember({"on", "off"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return glassy::run(options);
  } catch (const std::exception& error) {
    std::cerr << "bench_train_step: failed: " << error.what() << "\n";
    return 1;
  }
}
