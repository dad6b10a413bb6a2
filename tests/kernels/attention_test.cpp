// Tests of cpu::attention_forward and cpu::attention_backward in double: the forward pass
// against a naive causal softmax attention, the probabilities against their sum, and the
// backward pass against central finite differences.
#include "kernels/cpu/attention.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::ThreadCountGuard;

constexpr int64_t kReplicas = 2;
constexpr int64_t kExamples = 3;

// One attention problem with random q, k, v and a random weight w for the loss sum(out * w).
struct AttentionProblem {
  int t, tq, heads, head_dim;
  int64_t width;
  std::vector<double> q, k, v, w;

  AttentionProblem(int t_, int tq_, int heads_, int head_dim_, uint64_t seed)
      : t(t_), tq(tq_), heads(heads_), head_dim(head_dim_), width(int64_t(heads_) * head_dim_) {
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> dist(-1.5, 1.5);
    auto random_vector = [&](int64_t size) {
      std::vector<double> x(size);
      for (double& value : x) value = dist(gen);
      return x;
    };
    q = random_vector(kReplicas * kExamples * tq * width);
    k = random_vector(kReplicas * kExamples * t * width);
    v = random_vector(kReplicas * kExamples * t * width);
    w = random_vector(kReplicas * kExamples * tq * width);
  }

  AttentionParams<double> params() const {
    AttentionParams<double> p;
    p.replicas = kReplicas;
    p.examples = kExamples;
    p.t = t;
    p.tq = tq;
    p.heads = heads;
    p.head_dim = head_dim;
    p.q = q.data();
    p.k = k.data();
    p.v = v.data();
    return p;
  }

  // Runs the kernel's forward pass, writes the probabilities to probs and returns out.
  std::vector<double> forward(std::vector<double>& probs) const {
    std::vector<double> out(q.size(), std::numeric_limits<double>::quiet_NaN());
    probs.assign(kReplicas * kExamples * heads * tq * t, std::numeric_limits<double>::quiet_NaN());
    AttentionParams<double> p = params();
    p.probs = probs.data();
    p.out = out.data();
    cpu::attention_forward(p);
    return out;
  }

  double loss() const {
    std::vector<double> probs;
    const std::vector<double> out = forward(probs);
    double sum = 0.0;
    for (size_t i = 0; i < out.size(); ++i) sum += out[i] * w[i];
    return sum;
  }
};

// The naive forward pass: the query at position t - tq + i attends to keys 0..t - tq + i with
// weights softmax(q . k / sqrt(E)), computed without the max shift. Returns out and writes
// probs laid out like the kernel's (R, N, H, tq, t), zero where a key is not visible.
void naive_forward(const AttentionProblem& a, std::vector<double>& probs,
                   std::vector<double>& out) {
  probs.assign(kReplicas * kExamples * a.heads * a.tq * a.t, 0.0);
  out.assign(a.q.size(), 0.0);
  const double scale = 1.0 / std::sqrt(double(a.head_dim));
  for (int64_t re = 0; re < kReplicas * kExamples; ++re) {
    for (int h = 0; h < a.heads; ++h) {
      for (int i = 0; i < a.tq; ++i) {
        const int position = a.t - a.tq + i;
        const double* q = &a.q[(re * a.tq + i) * a.width + h * a.head_dim];
        double* p = &probs[((re * a.heads + h) * a.tq + i) * a.t];
        double total = 0.0;
        for (int j = 0; j <= position; ++j) {
          const double* key = &a.k[(re * a.t + j) * a.width + h * a.head_dim];
          double score = 0.0;
          for (int e = 0; e < a.head_dim; ++e) score += q[e] * key[e];
          p[j] = std::exp(score * scale);
          total += p[j];
        }
        for (int j = 0; j <= position; ++j) p[j] /= total;
        double* o = &out[(re * a.tq + i) * a.width + h * a.head_dim];
        for (int j = 0; j <= position; ++j) {
          const double* value = &a.v[(re * a.t + j) * a.width + h * a.head_dim];
          for (int e = 0; e < a.head_dim; ++e) o[e] += p[j] * value[e];
        }
      }
    }
  }
}

double max_abs_difference(const std::vector<double>& x, const std::vector<double>& y) {
  double worst = x.size() == y.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    const double difference = std::abs(x[i] - y[i]);
    if (!(difference <= worst)) worst = difference;  // NaN propagates as the worst
  }
  return worst;
}

constexpr int kContexts[] = {1, 3, 5};

// Returns the query counts to test for context t: all t positions, and the last one alone.
std::vector<int> query_counts(int t) {
  if (t == 1) return {1};
  return {t, 1};
}
constexpr int kHeadCounts[] = {1, 3};
constexpr int kHeadDims[] = {1, 4};

}  // namespace

TEST_CASE("attention forward matches a naive causal attention", "[kernels]") {
  // Inputs are O(1) and every quantity is a sum of at most 5 terms of O(1) in double, so
  // both sides are within a few 1e-16 of the exact values. The bound 1e-13 leaves a wide
  // margin and is still far below the effect of any indexing or masking error.
  uint64_t seed = 10;
  for (int t : kContexts) {
    for (int tq : query_counts(t)) {
      for (int heads : kHeadCounts) {
        for (int head_dim : kHeadDims) {
          const AttentionProblem problem(t, tq, heads, head_dim, ++seed);
          std::vector<double> probs, expected_probs, expected_out;
          const std::vector<double> out = problem.forward(probs);
          naive_forward(problem, expected_probs, expected_out);
          INFO("t " << t << " tq " << tq << " heads " << heads << " head_dim " << head_dim);
          CHECK(max_abs_difference(probs, expected_probs) < 1e-13);
          CHECK(max_abs_difference(out, expected_out) < 1e-13);
        }
      }
    }
  }
}

TEST_CASE("attention probabilities of each query sum to 1", "[kernels]") {
  uint64_t seed = 100;
  for (int t : kContexts) {
    for (int tq : query_counts(t)) {
      for (int heads : kHeadCounts) {
        for (int head_dim : kHeadDims) {
          const AttentionProblem problem(t, tq, heads, head_dim, ++seed);
          std::vector<double> probs;
          problem.forward(probs);
          // Each row is at most 5 probabilities in [0, 1], so its sum is within 5 eps of 1.
          double worst = 0.0;
          int64_t negative = 0;
          for (int64_t row = 0; row < kReplicas * kExamples * heads * tq; ++row) {
            double sum = 0.0;
            for (int j = 0; j < t; ++j) {
              sum += probs[row * t + j];
              if (!(probs[row * t + j] >= 0.0)) ++negative;
            }
            if (!(std::abs(sum - 1.0) <= worst)) worst = std::abs(sum - 1.0);
          }
          INFO("t " << t << " tq " << tq << " heads " << heads << " head_dim " << head_dim);
          CHECK(worst <= 5 * std::numeric_limits<double>::epsilon());
          CHECK(negative == 0);
        }
      }
    }
  }
}

TEST_CASE("attention backward matches finite differences", "[kernels]") {
  // Loss sum(out * w) with fixed random w, so d_out = w. The central difference with step h
  // has truncation error about h^2 |f'''| / 6 (1e-11 for h = 1e-5 and O(1) derivatives) and
  // rounding error about eps |loss| / h (2e-10 for |loss| of order 10). Both are far below
  // the 1e-7 norm-wise relative tolerance.
  const double step = 1e-5;
  uint64_t seed = 200;
  // About 10000 tiny forward passes run on one thread, because on a machine with more
  // runnable threads than cores each parallel region can cost milliseconds. The other tests
  // cover the threaded loop.
  const ThreadCountGuard one_thread(1);
  for (int t : kContexts) {
    for (int tq : query_counts(t)) {
      for (int heads : kHeadCounts) {
        for (int head_dim : kHeadDims) {
          AttentionProblem problem(t, tq, heads, head_dim, ++seed);
          std::vector<double> probs;
          const std::vector<double> out = problem.forward(probs);
          const double nan = std::numeric_limits<double>::quiet_NaN();
          std::vector<double> d_q(problem.q.size(), nan), d_k(problem.k.size(), nan),
              d_v(problem.v.size(), nan);
          AttentionParams<double> p = problem.params();
          p.probs = probs.data();
          p.d_out = problem.w.data();
          p.d_q = d_q.data();
          p.d_k = d_k.data();
          p.d_v = d_v.data();
          cpu::attention_backward(p);

          struct Tensor {
            const char* name;
            std::vector<double>* values;
            const std::vector<double>* gradient;
          };
          const Tensor tensors[] = {
              {"q", &problem.q, &d_q}, {"k", &problem.k, &d_k}, {"v", &problem.v, &d_v}};
          for (const Tensor& tensor : tensors) {
            double diff_sq = 0.0, ref_sq = 0.0;
            for (size_t i = 0; i < tensor.values->size(); ++i) {
              const double saved = (*tensor.values)[i];
              (*tensor.values)[i] = saved + step;
              const double plus = problem.loss();
              (*tensor.values)[i] = saved - step;
              const double minus = problem.loss();
              (*tensor.values)[i] = saved;
              const double numeric = (plus - minus) / (2.0 * step);
              const double analytic = (*tensor.gradient)[i];
              diff_sq += (numeric - analytic) * (numeric - analytic);
              ref_sq += numeric * numeric;
            }
            INFO("t " << t << " tq " << tq << " heads " << heads << " head_dim " << head_dim
                      << ", gradient of " << tensor.name << ": difference norm "
                      << std::sqrt(diff_sq) << ", gradient norm " << std::sqrt(ref_sq));
            // A single visible key makes the softmax constant, so q and k get no gradient:
            // the differences are exactly 0, and so must the kernel's gradient be.
            if (ref_sq == 0.0) {
              CHECK(diff_sq == 0.0);
            } else {
              CHECK(std::sqrt(diff_sq / ref_sq) < 1e-7);
            }
          }
        }
      }
    }
  }
}

}  // namespace glassy
