// Cross-entropy in a form that stays accurate for tiny losses. With c the answer, z the
// logits and s = sum over j != c of exp(z_j - z_c), each example's loss is
//   l = log1p(s)                          when z_c is the largest logit,
//   l = log(sum_j exp(z_j - z_max)) + z_max - z_c   otherwise (then l > ln 2),
// evaluated in double. A float32 log-softmax rounds 1 + s to 1 once s < 6e-8 (ln L near -16)
// and returns -inf soon after; the sampler's x = ln L reaches -30, so every step here is
// double and the mean L is accumulated in double in a fixed example order.
//
// Gradient of J = a L + b ln L + g A_smooth with respect to the logits of example n:
//   dJ/dz = (a / N + b / (N L)) dl/dz + g dA/dz,  dl/dz_j = p_j (j != c),  dl/dz_c = -sum p_j,
// where p is the softmax; the answer's entry sums the others instead of using p_c - 1, which
// would cancel to 0. A_smooth = mean sigmoid(slope (z_c - z_w)) with w the best wrong class,
// so its gradient touches z_c and z_w only.
#include "kernels/cpu/cross_entropy.h"

#include <cmath>
#include <vector>

namespace glassy::cpu {
namespace {

struct ExampleTerms {
  double loss;
  double margin;  // z_c - max over j != c of z_j
  bool saturated;
};

template <typename T>
ExampleTerms example_terms(const T* z, int classes, int answer) {
  double z_max = -INFINITY;
  double best_wrong = -INFINITY;
  for (int j = 0; j < classes; ++j) {
    z_max = std::fmax(z_max, double(z[j]));
    if (j != answer) best_wrong = std::fmax(best_wrong, double(z[j]));
  }
  const double z_answer = z[answer];
  double others = 0.0;
  double total = 0.0;
  for (int j = 0; j < classes; ++j) {
    const double e = std::exp(double(z[j]) - z_max);
    total += e;
    if (j != answer) others += e;
  }
  ExampleTerms terms;
  terms.loss = z_answer >= z_max ? std::log1p(others) : std::log(total) + (z_max - z_answer);
  terms.margin = z_answer - best_wrong;
  terms.saturated = float(std::exp(z_answer - z_max) / total) == 1.0f;
  return terms;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Writes dJ/dz for one example given the replica's loss weight and smoothed-accuracy weight.
template <typename T>
void example_gradient(const T* z, int classes, int answer, double slope,
                      double loss_weight, double smooth_weight, T* d_z) {
  double z_max = -INFINITY;
  int best_wrong = answer == 0 ? 1 : 0;
  for (int j = 0; j < classes; ++j) {
    z_max = std::fmax(z_max, double(z[j]));
    if (j != answer && z[j] > z[best_wrong]) best_wrong = j;
  }
  double total = 0.0;
  for (int j = 0; j < classes; ++j) total += std::exp(double(z[j]) - z_max);

  double others = 0.0;
  for (int j = 0; j < classes; ++j) {
    if (j == answer) continue;
    const double prob = std::exp(double(z[j]) - z_max) / total;
    others += prob;
    d_z[j] = T(loss_weight * prob);
  }
  d_z[answer] = T(-loss_weight * others);

  if (smooth_weight != 0.0) {
    const double sig = sigmoid(slope * (double(z[answer]) - double(z[best_wrong])));
    const double d_margin = smooth_weight * sig * (1.0 - sig);
    d_z[answer] = T(double(d_z[answer]) + d_margin);
    d_z[best_wrong] = T(double(d_z[best_wrong]) - d_margin);
  }
}

}  // namespace

template <typename T>
void cross_entropy(const LossParams<T>& p) {
  const int64_t total = p.replicas * p.examples;
  std::vector<unsigned char> saturated(total);

  // Pass 1: per-example loss and margin.
#pragma omp parallel for schedule(static)
  for (int64_t re = 0; re < total; ++re) {
    const int64_t r = re / p.examples;
    const int64_t n = re % p.examples;
    const T* z = p.logits + r * p.stride_logits + n * p.ld_logits;
    const ExampleTerms terms = example_terms(z, p.classes, p.answers[n]);
    p.example_loss[re] = terms.loss;
    p.example_margin[re] = terms.margin;
    saturated[re] = terms.saturated;
  }

  // Per-replica means, summed in example order so the result does not depend on threads.
  for (int64_t r = 0; r < p.replicas; ++r) {
    double loss = 0.0, correct = 0.0, smooth = 0.0, saturated_count = 0.0;
    for (int64_t n = 0; n < p.examples; ++n) {
      const int64_t re = r * p.examples + n;
      loss += p.example_loss[re];
      correct += p.example_margin[re] > 0.0 ? 1.0 : 0.0;
      smooth += sigmoid(p.slope * p.example_margin[re]);
      saturated_count += saturated[re];
    }
    const double count = double(p.examples);
    LossStats& stats = p.stats[r];
    stats.loss = loss / count;
    stats.log_loss = std::log(stats.loss);
    stats.accuracy = correct / count;
    stats.smooth_accuracy = smooth / count;
    stats.saturated = saturated_count / count;
  }
  if (!p.objective) {
    return;
  }

  // Pass 2: gradient of the objective.
#pragma omp parallel for schedule(static)
  for (int64_t re = 0; re < total; ++re) {
    const int64_t r = re / p.examples;
    const int64_t n = re % p.examples;
    const LossObjective& objective = p.objective[r];
    const double count = double(p.examples);
    double loss_weight = objective.coef_loss / count;
    if (objective.coef_log_loss != 0.0) {
      loss_weight += objective.coef_log_loss / (count * p.stats[r].loss);
    }
    const double smooth_weight = objective.coef_smooth_acc * p.slope / count;
    const T* z = p.logits + r * p.stride_logits + n * p.ld_logits;
    T* d_z = p.d_logits + r * p.stride_logits + n * p.ld_logits;
    example_gradient(z, p.classes, p.answers[n], p.slope, loss_weight, smooth_weight, d_z);
  }
}

template void cross_entropy(const LossParams<float>&);
template void cross_entropy(const LossParams<double>&);

}  // namespace glassy::cpu
