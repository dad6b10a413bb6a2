// The transformer's hand-written backward against central finite differences in double
// precision, for every parameter tensor, for the gradients of ln L and of the smoothed
// accuracy; and the trimmed last layer against the untrimmed computation.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "engine/backend.h"
#include "engine/buffer.h"
#include "models/transformer.h"

namespace glassy {
namespace {

// A double-precision transformer over random token triples whose last token is "=" (the
// last vocabulary entry), with random answers, on the CPU backend.
struct DoubleModelFixture {
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu);
  TransformerConfig config;
  int64_t replicas;
  int64_t examples;
  Transformer<double> model;
  Buffer<int32_t> tokens;
  Buffer<int32_t> answers;
  Buffer<double> d_logits, example_loss, example_margin;
  Buffer<LossObjective> objectives;
  Buffer<LossStats> stats;

  DoubleModelFixture(const TransformerConfig& c, int64_t r, int64_t n)
      : config(c), replicas(r), examples(n), model(*backend, c, r, n),
        tokens(*backend, n * c.context), answers(*backend, n),
        d_logits(*backend, r * n * c.classes), example_loss(*backend, r * n),
        example_margin(*backend, r * n), objectives(*backend, r), stats(*backend, r) {
    std::vector<int32_t> host_tokens(n * c.context), host_answers(n);
    for (int64_t i = 0; i < n; ++i) {
      for (int t = 0; t + 1 < c.context; ++t) {
        host_tokens[i * c.context + t] = int32_t((i * 7 + t * 3 + i * t) % (c.vocab - 1));
      }
      host_tokens[i * c.context + c.context - 1] = c.vocab - 1;
      host_answers[i] = int32_t((i * 5 + 1) % c.classes);
    }
    tokens.upload(host_tokens);
    answers.upload(host_answers);
  }

  // Returns each replica's stats; with an objective, also writes the gradient into grads.
  std::vector<LossStats> evaluate(const Buffer<double>& weights, const LossObjective* objective,
                                  Buffer<double>* grads) {
    const double* logits = model.forward(weights.data(), tokens.data(), examples);
    LossParams<double> loss;
    loss.replicas = replicas;
    loss.examples = examples;
    loss.classes = config.classes;
    loss.slope = 7.0;
    loss.logits = logits;
    loss.ld_logits = config.classes;
    loss.stride_logits = examples * config.classes;
    loss.answers = answers.data();
    loss.d_logits = d_logits.data();
    loss.example_loss = example_loss.data();
    loss.example_margin = example_margin.data();
    loss.stats = stats.data();
    if (objective) {
      objectives.upload(std::vector<LossObjective>(replicas, *objective));
      loss.objective = objectives.data();
    }
    backend->cross_entropy(loss);
    if (objective) model.backward(weights.data(), d_logits.data(), grads->data());
    return stats.download();
  }
};

double objective_value(const LossStats& stats, const LossObjective& objective) {
  return objective.coef_loss * stats.loss + objective.coef_log_loss * stats.log_loss +
         objective.coef_smooth_acc * stats.smooth_accuracy;
}

TransformerConfig small_config(int layers) {
  TransformerConfig c;
  c.vocab = 8;
  c.context = 3;
  c.classes = 8;
  c.d_model = 16;
  c.heads = 2;
  c.d_mlp = 64;
  c.layers = layers;
  return c;
}

// Compares the backward of one replica with central differences, tensor by tensor.
void check_gradient(int layers, const LossObjective& objective) {
  const int64_t replicas = 2, examples = 24;
  DoubleModelFixture fixture(small_config(layers), replicas, examples);
  const int64_t p = fixture.model.layout().size();
  Buffer<double> weights(*fixture.backend, replicas * p);
  Buffer<double> grads(*fixture.backend, replicas * p);
  fixture.model.initialize(weights, {11, 12});

  // At the initial scale attention is nearly uniform and the smoothed accuracy's gradient
  // on W_Q and W_K is near 1e-6, below what differences of a double objective resolve.
  // Sharper attention lifts it well above that floor.
  std::vector<double> host = weights.download();
  for (const TensorInfo& tensor : fixture.model.layout().tensors()) {
    const bool projection = tensor.name.ends_with("W_Q") || tensor.name.ends_with("W_K");
    for (int64_t r = 0; r < replicas && projection; ++r) {
      for (int64_t i = 0; i < tensor.size; ++i) host[r * p + tensor.offset + i] *= 4.0;
    }
  }
  weights.upload(host);
  fixture.evaluate(weights, &objective, &grads);
  const std::vector<double> analytic = grads.download();

  // Replica 1, so that a mistake in the replica strides shows up. The five-point central
  // difference has truncation error O(h^4), so h can stay small enough that no ReLU changes
  // sign inside the stencil.
  const int64_t replica = 1;
  const double step = 1e-4;
  auto value_at = [&](int64_t at, double offset) {
    const double saved = host[at];
    host[at] = saved + offset;
    weights.upload(host);
    const double value =
        objective_value(fixture.evaluate(weights, nullptr, nullptr)[replica], objective);
    host[at] = saved;
    return value;
  };
  for (const TensorInfo& tensor : fixture.model.layout().tensors()) {
    double diff_sq = 0.0, ref_sq = 0.0;
    for (int64_t i = 0; i < tensor.size; ++i) {
      const int64_t at = replica * p + tensor.offset + i;
      const double numeric = (8.0 * (value_at(at, step) - value_at(at, -step)) -
                              (value_at(at, 2.0 * step) - value_at(at, -2.0 * step))) /
                             (12.0 * step);
      diff_sq += (numeric - analytic[at]) * (numeric - analytic[at]);
      ref_sq += numeric * numeric;
    }
    const double relative = std::sqrt(diff_sq / ref_sq);
    INFO("layers " << layers << ", tensor " << tensor.name << ": relative error " << relative
                   << ", gradient norm " << std::sqrt(ref_sq));
    CHECK(ref_sq > 0.0);
    CHECK(relative < 1e-6);
  }
}

}  // namespace

TEST_CASE("transformer backward of ln L matches finite differences", "[models][grad]") {
  LossObjective objective;
  objective.coef_log_loss = 1.0;
  check_gradient(1, objective);
  check_gradient(2, objective);
}

TEST_CASE("transformer backward of smoothed accuracy matches finite differences",
          "[models][grad]") {
  LossObjective objective;
  objective.coef_smooth_acc = 1.0;
  check_gradient(1, objective);
  check_gradient(2, objective);
}

TEST_CASE("trimmed last layer equals the untrimmed computation", "[models]") {
  for (int layers : {1, 2}) {
    TransformerConfig trimmed = small_config(layers);
    TransformerConfig full = trimmed;
    full.trim_last_layer = false;
    const int64_t replicas = 2, examples = 24;
    DoubleModelFixture a(trimmed, replicas, examples), b(full, replicas, examples);
    const int64_t p = a.model.layout().size();
    Buffer<double> weights_a(*a.backend, replicas * p), grads_a(*a.backend, replicas * p);
    Buffer<double> weights_b(*b.backend, replicas * p), grads_b(*b.backend, replicas * p);
    a.model.initialize(weights_a, {3, 4});
    b.model.initialize(weights_b, {3, 4});
    LossObjective objective;
    objective.coef_log_loss = 1.0;
    objective.coef_smooth_acc = 0.5;
    const std::vector<LossStats> stats_a = a.evaluate(weights_a, &objective, &grads_a);
    const std::vector<LossStats> stats_b = b.evaluate(weights_b, &objective, &grads_b);
    const std::vector<double> g_a = grads_a.download(), g_b = grads_b.download();

    double max_diff = 0.0, max_grad = 0.0;
    for (std::size_t i = 0; i < g_a.size(); ++i) {
      max_diff = std::max(max_diff, std::abs(g_a[i] - g_b[i]));
      max_grad = std::max(max_grad, std::abs(g_b[i]));
    }
    INFO("layers " << layers << ": max gradient difference " << max_diff << " of "
                   << max_grad);
    for (int64_t r = 0; r < replicas; ++r) {
      CHECK(stats_a[r].log_loss == Approx(stats_b[r].log_loss).epsilon(1e-13));
      CHECK(stats_a[r].smooth_accuracy == Approx(stats_b[r].smooth_accuracy).epsilon(1e-13));
    }
    CHECK(max_diff <= 1e-13 * max_grad);
  }
}

}  // namespace glassy
