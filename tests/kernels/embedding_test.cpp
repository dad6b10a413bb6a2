// Tests of cpu::embedding_forward and cpu::embedding_backward: the gather against a naive
// loop, the scatter-add against a naive sum in double, and bitwise reproducibility of the
// float sums between thread counts.
#include "kernels/cpu/embedding.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::ThreadCountGuard;

// Replicas keep W_E at offset 3 and W_pos right after it inside a parameter vector of
// param_stride values, with spare values at both ends that the kernels must not touch.
template <typename T>
struct EmbeddingProblem {
  int64_t replicas, examples;
  int t, width, vocab;
  int64_t embed_offset = 3, pos_offset, param_stride;
  std::vector<int32_t> tokens;
  std::vector<T> weights;

  EmbeddingProblem(int64_t r, int64_t n, int t_, int width_, int vocab_, uint64_t seed)
      : replicas(r), examples(n), t(t_), width(width_), vocab(vocab_) {
    pos_offset = embed_offset + int64_t(vocab) * width;
    param_stride = pos_offset + int64_t(t) * width + 5;
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::uniform_int_distribution<int32_t> token_dist(0, vocab - 1);
    tokens.resize(n * t);
    for (int32_t& token : tokens) token = token_dist(gen);
    weights.resize(r * param_stride);
    for (T& weight : weights) weight = T(dist(gen));
  }

  EmbeddingParams<T> params() const {
    EmbeddingParams<T> p;
    p.replicas = replicas;
    p.examples = examples;
    p.t = t;
    p.width = width;
    p.vocab = vocab;
    p.tokens = tokens.data();
    p.param_stride = param_stride;
    return p;
  }
};

// Runs the backward pass on d_x and returns the (R, P) gradient buffer. Every entry starts as
// NaN, and the kernel must overwrite the W_E and W_pos gradients and nothing else.
template <typename T>
std::vector<T> run_backward(const EmbeddingProblem<T>& problem, const std::vector<T>& d_x) {
  std::vector<T> grads(problem.weights.size(), std::numeric_limits<T>::quiet_NaN());
  EmbeddingParams<T> p = problem.params();
  p.d_w_embed = grads.data() + problem.embed_offset;
  p.d_w_pos = grads.data() + problem.pos_offset;
  p.d_x = d_x.data();
  cpu::embedding_backward(p);
  return grads;
}

template <typename T>
std::vector<T> random_values(int64_t size, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> x(size);
  for (T& value : x) value = T(dist(gen));
  return x;
}

template <typename T>
void check_forward(int64_t replicas, int64_t examples, int t, int width, int vocab,
                   uint64_t seed) {
  const EmbeddingProblem<T> problem(replicas, examples, t, width, vocab, seed);
  std::vector<T> x(replicas * examples * t * width, std::numeric_limits<T>::quiet_NaN());
  EmbeddingParams<T> p = problem.params();
  p.w_embed = problem.weights.data() + problem.embed_offset;
  p.w_pos = problem.weights.data() + problem.pos_offset;
  p.x = x.data();
  cpu::embedding_forward(p);

  // The kernel adds two values of type T once, exactly as here, so the results must be equal.
  int64_t mismatches = 0;
  for (int64_t r = 0; r < replicas; ++r) {
    const T* params = problem.weights.data() + r * problem.param_stride;
    for (int64_t n = 0; n < examples; ++n) {
      for (int position = 0; position < t; ++position) {
        const int64_t token = problem.tokens[n * t + position];
        const T* embed = params + problem.embed_offset + token * width;
        const T* pos = params + problem.pos_offset + int64_t(position) * width;
        const T* row = x.data() + ((r * examples + n) * t + position) * width;
        for (int d = 0; d < width; ++d) {
          const T expected = embed[d] + pos[d];
          if (!(row[d] == expected)) ++mismatches;
        }
      }
    }
  }
  INFO((sizeof(T) == 4 ? "float" : "double") << " replicas " << replicas << " examples "
                                             << examples << " t " << t << " width " << width
                                             << " vocab " << vocab);
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("embedding forward matches a naive gather", "[kernels]") {
  // Widths below, at and across the backward's 32-column chunks.
  uint64_t seed = 20;
  for (int width : {1, 32, 70}) {
    check_forward<float>(2, 7, 3, width, 11, ++seed);
    check_forward<double>(2, 7, 3, width, 11, ++seed);
    check_forward<float>(1, 1, 1, width, 1, ++seed);
  }
}

TEST_CASE("embedding backward matches a naive scatter-add", "[kernels]") {
  // With S the sum of |d_x| over the rows that land on one entry, recursive summation in
  // double is within rows * u * S of the exact sum on both sides, so the kernel and the
  // naive sum differ by at most rows * eps * S.
  uint64_t seed = 40;
  for (int width : {1, 32, 70}) {
    for (int64_t examples : {1, 9, 50}) {
      const int64_t replicas = 2;
      const int t = 4;
      const int vocab = 13;  // some tokens never occur when examples are few
      const EmbeddingProblem<double> problem(replicas, examples, t, width, vocab, ++seed);
      const std::vector<double> d_x =
          random_values<double>(replicas * examples * t * width, ++seed);
      const std::vector<double> grads = run_backward(problem, d_x);

      std::vector<double> expected(grads.size(), 0.0), magnitude(grads.size(), 0.0);
      std::vector<int64_t> rows(grads.size(), 0);
      for (int64_t r = 0; r < replicas; ++r) {
        const int64_t base = r * problem.param_stride;
        for (int64_t n = 0; n < examples; ++n) {
          for (int position = 0; position < t; ++position) {
            const int64_t token = problem.tokens[n * t + position];
            const double* row = d_x.data() + ((r * examples + n) * t + position) * width;
            for (int d = 0; d < width; ++d) {
              const int64_t embed_at = base + problem.embed_offset + token * width + d;
              const int64_t pos_at = base + problem.pos_offset + int64_t(position) * width + d;
              expected[embed_at] += row[d];
              magnitude[embed_at] += std::abs(row[d]);
              ++rows[embed_at];
              expected[pos_at] += row[d];
              magnitude[pos_at] += std::abs(row[d]);
              ++rows[pos_at];
            }
          }
        }
      }

      int64_t beyond_bound = 0, outside_written = 0;
      for (int64_t r = 0; r < replicas; ++r) {
        for (int64_t i = 0; i < problem.param_stride; ++i) {
          const int64_t at = r * problem.param_stride + i;
          const bool inside = i >= problem.embed_offset &&
                              i < problem.pos_offset + int64_t(t) * width;
          if (!inside) {
            if (!std::isnan(grads[at])) ++outside_written;
            continue;
          }
          const double bound =
              double(rows[at]) * std::numeric_limits<double>::epsilon() * magnitude[at];
          if (!(std::abs(grads[at] - expected[at]) <= bound)) ++beyond_bound;
        }
      }
      INFO("width " << width << " examples " << examples);
      CHECK(beyond_bound == 0);
      CHECK(outside_written == 0);
    }
  }
}

TEST_CASE("embedding backward is bitwise equal on 1 and 2 threads", "[kernels]") {
  // 20000 rows land on the last token and on each position, as on the "=" token in training.
  const int t = 3;
  const int vocab = 8;
  const int width = 96;  // three 32-column chunks, so two threads split each replica
  const int64_t examples = 20000;
  for (int64_t replicas : {int64_t(1), int64_t(3)}) {
    EmbeddingProblem<float> problem(replicas, examples, t, width, vocab, 60 + replicas);
    for (int64_t n = 0; n < examples; ++n) problem.tokens[n * t + t - 1] = vocab - 1;
    const std::vector<float> d_x = random_values<float>(replicas * examples * t * width, 61);

    std::vector<float> one_thread, two_threads;
    {
      const ThreadCountGuard guard(1);
      one_thread = run_backward(problem, d_x);
    }
    {
      const ThreadCountGuard guard(2);
      two_threads = run_backward(problem, d_x);
    }

    // NaN outside the gradient views compares unequal, so compare bytes.
    INFO("replicas " << replicas);
    CHECK(std::memcmp(one_thread.data(), two_threads.data(), one_thread.size() * 4) == 0);
    // The sum on the shared token is a real sum of 20000 terms, not zero or NaN.
    const float* last_token = one_thread.data() + problem.embed_offset + (vocab - 1) * width;
    CAPTURE(last_token[0]);
    CHECK(std::isfinite(last_token[0]));
    CHECK(last_token[0] != 0.0f);
  }
}

}  // namespace glassy
