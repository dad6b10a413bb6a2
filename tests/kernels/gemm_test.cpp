// Tests of cpu::gemm and cpu::column_sum against naive loops in double: shapes around the tile
// and block sizes, all transpose combinations, beta 0 and 1, the epilogues, replica strides,
// a shared B, sub-matrix views, and bitwise agreement between thread counts.
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/numbers.h"
#include "tests/support/thread_count_guard.h"

namespace glassy {
namespace {

using test::bitwise_equal;
using test::ThreadCountGuard;

// Every buffer contains this value outside its views, so a write past a view shows.
constexpr double kSentinel = 12345.0;

// One gemm call: the shape and options. Leading dimensions are the width plus pad, and
// consecutive replicas are a further pad elements apart, so views never touch.
struct GemmCase {
  int64_t batch = 1;
  int64_t m = 1, n = 1, k = 1;
  bool trans_a = false, trans_b = false;
  double beta = 0.0;
  bool bias = false, mask = false, relu = false, residual = false;
  bool shared_b = false;  // stride_b = 0: every replica multiplies by the same B
  int64_t pad = 0;
};

// A matrix of rows x cols per replica, row-major with leading dimension ld, replica stride
// stride. Elements outside the view contain kSentinel.
template <typename T>
struct Strided {
  int64_t copies = 1, rows = 0, cols = 0, ld = 0, stride = 0;
  std::vector<T> data;

  Strided(int64_t batch, int64_t r, int64_t c, int64_t pad, bool shared = false)
      : copies(shared ? 1 : batch), rows(r), cols(c), ld(c + pad),
        stride(shared ? 0 : r * (c + pad) + pad) {
    data.assign(std::max<int64_t>(1, copies * r * ld + pad), T(kSentinel));
  }
  T& at(int64_t replica, int64_t i, int64_t j) { return data[replica * stride + i * ld + j]; }
  T at(int64_t replica, int64_t i, int64_t j) const {
    return data[replica * stride + i * ld + j];
  }
  // Returns whether data[offset] lies inside the view of some replica.
  bool inside(int64_t offset) const {
    const int64_t replica = stride == 0 ? 0 : offset / stride;
    const int64_t local = stride == 0 ? offset : offset % stride;
    return replica < copies && local < rows * ld && local % ld < cols;
  }
};

template <typename T>
void fill_uniform(Strided<T>& x, std::mt19937_64& gen, double low, double high) {
  std::uniform_real_distribution<double> dist(low, high);
  for (int64_t r = 0; r < x.copies; ++r) {
    for (int64_t i = 0; i < x.rows; ++i) {
      for (int64_t j = 0; j < x.cols; ++j) x.at(r, i, j) = T(dist(gen));
    }
  }
}

// Result of comparing one gemm call with the reference.
struct GemmReport {
  int64_t beyond_bound = 0;     // elements off by more than the bound, NaN included
  int64_t nonfinite = 0;
  int64_t padding_changed = 0;  // elements outside the C view that the call modified
  double worst_ratio = 0.0;     // max |got - expected| / bound
  double worst_got = 0.0, worst_expected = 0.0;
};

// Runs cpu::gemm<T> on random data for one case and compares every output element with a
// double-precision reference that sums in the same order (beta C, residual, then increasing k,
// then bias). Both sides round at most once per term, so with S the sum of the magnitudes of
// every term, |kernel - exact| <= (k + 4) u_T S and |reference - exact| <= (k + 4) u_double S
// (u = epsilon / 2, and the 4 covers beta C, residual, bias and a separately rounded product).
// The bound (k + 4) (eps_T + eps_double) S leaves a factor of two. Mask and ReLU are exact
// or 1-Lipschitz, so they keep the bound.
template <typename T>
GemmReport run_gemm_case(const GemmCase& c, uint64_t seed, std::vector<T>* output = nullptr) {
  std::mt19937_64 gen(seed);
  const int64_t a_rows = c.trans_a ? c.k : c.m;
  const int64_t a_cols = c.trans_a ? c.m : c.k;
  const int64_t b_rows = c.trans_b ? c.n : c.k;
  const int64_t b_cols = c.trans_b ? c.k : c.n;
  Strided<T> a(c.batch, a_rows, a_cols, c.pad);
  Strided<T> b(c.batch, b_rows, b_cols, c.pad, c.shared_b);
  Strided<T> out(c.batch, c.m, c.n, c.pad);
  Strided<T> bias(c.batch, 1, c.n, c.pad);
  Strided<T> mask(c.batch, c.m, c.n, c.pad + 1);
  Strided<T> residual(c.batch, c.m, c.n, c.pad + 2);
  fill_uniform(a, gen, -1.0, 1.0);
  fill_uniform(b, gen, -1.0, 1.0);
  fill_uniform(bias, gen, -1.0, 1.0);
  fill_uniform(residual, gen, -1.0, 1.0);
  // Mask values -1, 0 and 1: only 1 keeps an element, and 0 checks that the test is > 0.
  std::uniform_int_distribution<int> mask_dist(-1, 1);
  for (int64_t r = 0; r < c.batch; ++r) {
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j) mask.at(r, i, j) = T(mask_dist(gen));
    }
  }
  if (c.beta == 0.0) {
    // beta 0 must overwrite C without reading it, so NaN here must not reach the result.
    for (int64_t r = 0; r < c.batch; ++r) {
      for (int64_t i = 0; i < c.m; ++i) {
        for (int64_t j = 0; j < c.n; ++j) out.at(r, i, j) = std::numeric_limits<T>::quiet_NaN();
      }
    }
  } else {
    fill_uniform(out, gen, -1.0, 1.0);
  }
  const Strided<T> initial = out;

  GemmParams<T> p;
  p.batch = c.batch;
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.a = a.data.data();
  p.lda = a.ld;
  p.stride_a = a.stride;
  p.trans_a = c.trans_a;
  p.b = b.data.data();
  p.ldb = b.ld;
  p.stride_b = b.stride;
  p.trans_b = c.trans_b;
  p.c = out.data.data();
  p.ldc = out.ld;
  p.stride_c = out.stride;
  p.beta = T(c.beta);
  if (c.bias) {
    p.bias = bias.data.data();
    p.stride_bias = bias.stride;
  }
  if (c.mask) {
    p.mask = mask.data.data();
    p.ldm = mask.ld;
    p.stride_mask = mask.stride;
  }
  if (c.residual) {
    p.residual = residual.data.data();
    p.ld_residual = residual.ld;
    p.stride_residual = residual.stride;
  }
  p.relu = c.relu;
  cpu::gemm(p);

  GemmReport report;
  const double eps_sum = double(std::numeric_limits<T>::epsilon()) +
                         std::numeric_limits<double>::epsilon();
  std::vector<double> sum(c.n), magnitude(c.n);
  std::vector<double> op_b(c.k * c.n);  // op(B) of the replica, row-major (K, N)
  for (int64_t r = 0; r < c.batch; ++r) {
    const int64_t rb = c.shared_b ? 0 : r;
    for (int64_t kk = 0; kk < c.k; ++kk) {
      for (int64_t j = 0; j < c.n; ++j) {
        op_b[kk * c.n + j] = double(c.trans_b ? b.at(rb, j, kk) : b.at(rb, kk, j));
      }
    }
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j) {
        sum[j] = 0.0;
        magnitude[j] = 0.0;
        if (c.beta != 0.0) {
          sum[j] = c.beta * double(initial.at(r, i, j));
          magnitude[j] = std::abs(sum[j]);
        }
        if (c.residual) {
          sum[j] += double(residual.at(r, i, j));
          magnitude[j] += std::abs(double(residual.at(r, i, j)));
        }
      }
      // i-k-j order: each element still sums its products in increasing k.
      for (int64_t kk = 0; kk < c.k; ++kk) {
        const double a_ik = double(c.trans_a ? a.at(r, kk, i) : a.at(r, i, kk));
        const double* b_k = op_b.data() + kk * c.n;
        for (int64_t j = 0; j < c.n; ++j) {
          sum[j] += a_ik * b_k[j];
          magnitude[j] += std::abs(a_ik * b_k[j]);
        }
      }
      for (int64_t j = 0; j < c.n; ++j) {
        double expected = sum[j];
        if (c.bias) {
          expected += double(bias.at(r, 0, j));
          magnitude[j] += std::abs(double(bias.at(r, 0, j)));
        }
        if (c.mask && !(mask.at(r, i, j) > T(0))) expected = 0.0;
        if (c.relu && !(expected > 0.0)) expected = 0.0;
        const double got = double(out.at(r, i, j));
        const double bound = double(c.k + 4) * eps_sum * magnitude[j];
        const double error = std::abs(got - expected);
        if (!std::isfinite(got)) ++report.nonfinite;
        if (!(error <= bound)) ++report.beyond_bound;
        const double ratio = bound > 0.0 ? error / bound : (error == 0.0 ? 0.0 : INFINITY);
        if (!(ratio <= report.worst_ratio)) {
          report.worst_ratio = ratio;
          report.worst_got = got;
          report.worst_expected = expected;
        }
      }
    }
  }
  for (size_t offset = 0; offset < out.data.size(); ++offset) {
    if (!out.inside(int64_t(offset)) && out.data[offset] != T(kSentinel)) {
      ++report.padding_changed;
    }
  }
  if (output) *output = out.data;
  return report;
}

// Checks one case and prints the case and the worst element on failure.
template <typename T>
void check_gemm_case(const GemmCase& c, uint64_t seed) {
  const GemmReport report = run_gemm_case<T>(c, seed);
  INFO((sizeof(T) == 4 ? "float" : "double")
       << " batch " << c.batch << " m " << c.m << " n " << c.n << " k " << c.k << " trans_a "
       << c.trans_a << " trans_b " << c.trans_b << " beta " << c.beta << " bias " << c.bias
       << " mask " << c.mask << " relu " << c.relu << " residual " << c.residual
       << " shared_b " << c.shared_b << " pad " << c.pad);
  INFO("worst element: got " << report.worst_got << ", expected " << report.worst_expected
                             << ", error / bound " << report.worst_ratio);
  CHECK(report.nonfinite == 0);
  CHECK(report.beyond_bound == 0);
  CHECK(report.padding_changed == 0);
}

constexpr int64_t kOddSizes[] = {1, 7, 33, 65, 257, 300};

// Returns whether the odd-shape test also runs the double kernel at this size.
bool in_double_sizes(int64_t size) { return size != 7 && size != 257; }

}  // namespace

TEST_CASE("gemm matches a naive product on odd shapes", "[kernels]") {
  // Sizes 1, odd, past the 8-row tile, the 16- and 32-column tiles, and the 64 x 256 x 256
  // blocks, with every transpose combination. C starts as NaN and beta is 0. The double
  // kernel shares the code and differs only in its 16-column tile, so it skips the sizes 7
  // and 257 to keep the test fast.
  uint64_t seed = 1;
  for (int64_t m : kOddSizes) {
    for (int64_t n : kOddSizes) {
      for (int64_t k : kOddSizes) {
        for (int trans = 0; trans < 4; ++trans) {
          GemmCase c;
          c.m = m;
          c.n = n;
          c.k = k;
          c.trans_a = (trans & 1) != 0;
          c.trans_b = (trans & 2) != 0;
          check_gemm_case<float>(c, ++seed);
          if (in_double_sizes(m) && in_double_sizes(n) && in_double_sizes(k)) {
            check_gemm_case<double>(c, ++seed);
          }
        }
      }
    }
  }
}

TEST_CASE("gemm accumulates into C with beta 1", "[kernels]") {
  uint64_t seed = 1000;
  for (int64_t m : {1, 7, 65, 300}) {
    for (int64_t n : {1, 33, 257}) {
      for (int64_t k : {1, 33, 300}) {
        for (int trans = 0; trans < 4; ++trans) {
          GemmCase c;
          c.m = m;
          c.n = n;
          c.k = k;
          c.trans_a = (trans & 1) != 0;
          c.trans_b = (trans & 2) != 0;
          c.beta = 1.0;
          check_gemm_case<float>(c, ++seed);
          check_gemm_case<double>(c, ++seed);
        }
      }
    }
  }
}

TEST_CASE("gemm applies bias, mask, ReLU and residual epilogues", "[kernels]") {
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1, 1, 1}, {7, 33, 65}, {65, 257, 300}, {300, 7, 257}, {33, 300, 1}};
  struct Epilogue {
    bool bias, mask, relu, residual;
  };
  const Epilogue epilogues[] = {{true, false, false, false}, {false, true, false, false},
                                {false, false, true, false}, {false, false, false, true},
                                {true, true, true, true},    {true, false, true, true}};
  uint64_t seed = 2000;
  for (const Shape& shape : shapes) {
    for (const Epilogue& epilogue : epilogues) {
      for (double beta : {0.0, 1.0}) {
        for (int trans = 0; trans < 4; ++trans) {
          GemmCase c;
          c.m = shape.m;
          c.n = shape.n;
          c.k = shape.k;
          c.trans_a = (trans & 1) != 0;
          c.trans_b = (trans & 2) != 0;
          c.beta = beta;
          c.bias = epilogue.bias;
          c.mask = epilogue.mask;
          c.relu = epilogue.relu;
          c.residual = epilogue.residual;
          check_gemm_case<float>(c, ++seed);
          check_gemm_case<double>(c, ++seed);
        }
      }
    }
  }
}

TEST_CASE("gemm with k 0 writes only beta C and the epilogue", "[kernels]") {
  uint64_t seed = 3000;
  for (double beta : {0.0, 1.0}) {
    GemmCase c;
    c.batch = 2;
    c.m = 9;
    c.n = 35;
    c.k = 0;
    c.beta = beta;
    c.bias = true;
    c.residual = true;
    c.pad = 3;
    check_gemm_case<float>(c, ++seed);
    check_gemm_case<double>(c, ++seed);
    c.mask = true;
    c.relu = true;
    check_gemm_case<float>(c, ++seed);
    check_gemm_case<double>(c, ++seed);
  }
}

TEST_CASE("gemm handles replica strides and a shared B", "[kernels]") {
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1, 1, 1}, {7, 33, 65}, {65, 300, 257}, {257, 7, 300}};
  uint64_t seed = 4000;
  for (const Shape& shape : shapes) {
    for (bool shared_b : {false, true}) {
      for (int trans = 0; trans < 4; ++trans) {
        GemmCase c;
        c.batch = 3;
        c.m = shape.m;
        c.n = shape.n;
        c.k = shape.k;
        c.trans_a = (trans & 1) != 0;
        c.trans_b = (trans & 2) != 0;
        c.shared_b = shared_b;
        c.pad = 1;
        c.bias = true;
        c.residual = true;
        c.mask = trans == 3;
        c.beta = trans == 1 ? 1.0 : 0.0;
        check_gemm_case<float>(c, ++seed);
        check_gemm_case<double>(c, ++seed);
      }
    }
  }
}

TEST_CASE("gemm reads and writes only inside sub-matrix views", "[kernels]") {
  // Every leading dimension exceeds its width, and the padding keeps its sentinel value.
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1, 1, 1}, {7, 33, 65}, {65, 257, 33}, {300, 65, 257}};
  uint64_t seed = 5000;
  for (const Shape& shape : shapes) {
    for (int64_t pad : {1, 5, 40}) {
      for (int trans = 0; trans < 4; ++trans) {
        GemmCase c;
        c.batch = 2;
        c.m = shape.m;
        c.n = shape.n;
        c.k = shape.k;
        c.trans_a = (trans & 1) != 0;
        c.trans_b = (trans & 2) != 0;
        c.pad = pad;
        c.beta = trans == 2 ? 1.0 : 0.0;
        c.bias = true;
        c.mask = true;
        c.residual = true;
        c.relu = true;
        check_gemm_case<float>(c, ++seed);
        check_gemm_case<double>(c, ++seed);
      }
    }
  }
}

TEST_CASE("gemm is bitwise identical on one and two threads", "[kernels]") {
  ThreadCountGuard guard;
  // Several row blocks, two column blocks and three depth blocks per replica, so two threads
  // split the tiles differently from one.
  GemmCase c;
  c.batch = 2;
  c.m = 130;
  c.n = 300;
  c.k = 600;
  c.trans_b = true;
  c.beta = 1.0;
  c.bias = true;
  c.residual = true;
  c.pad = 3;

  std::vector<float> one_thread, two_threads;
  omp_set_num_threads(1);
  const GemmReport report_one = run_gemm_case<float>(c, 77, &one_thread);
  omp_set_num_threads(2);
  const GemmReport report_two = run_gemm_case<float>(c, 77, &two_threads);
  CHECK(report_one.beyond_bound == 0);
  CHECK(report_two.beyond_bound == 0);
  CHECK(bitwise_equal(one_thread, two_threads));

  // Without mask and ReLU, random inputs give finite, non-zero outputs.
  Strided<float> view(c.batch, c.m, c.n, c.pad);
  int64_t nonfinite = 0, zeros = 0;
  for (size_t offset = 0; offset < two_threads.size(); ++offset) {
    if (!view.inside(int64_t(offset))) continue;
    if (!std::isfinite(two_threads[offset])) ++nonfinite;
    if (two_threads[offset] == 0.0f) ++zeros;
  }
  CAPTURE(two_threads.size());
  CHECK(nonfinite == 0);
  CHECK(zeros == 0);

  // The double kernel splits work the same way.
  std::vector<double> one_double, two_double;
  omp_set_num_threads(1);
  run_gemm_case<double>(c, 78, &one_double);
  omp_set_num_threads(2);
  run_gemm_case<double>(c, 78, &two_double);
  CHECK(bitwise_equal(one_double, two_double));
}

namespace {

// Runs cpu::column_sum<T> and compares it with a double sum. The kernel rounds once per row
// and once for beta * out, so its error is at most (m + 1) u_T S with S the sum of |terms|;
// the bound (m + 2) (eps_T + eps_double) S also covers the reference and leaves a factor 2.
template <typename T>
void check_column_sum(int64_t replicas, int64_t m, int64_t n, double beta, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  const int64_t ldx = n + 3;
  const int64_t stride_x = m * ldx + 5;
  const int64_t stride_out = n + 2;
  std::vector<T> x(replicas * stride_x, T(kSentinel));
  std::vector<T> out(replicas * stride_out, T(kSentinel));
  for (int64_t r = 0; r < replicas; ++r) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) x[r * stride_x + i * ldx + j] = T(dist(gen));
    }
    for (int64_t j = 0; j < n; ++j) {
      out[r * stride_out + j] = beta == 0.0 ? std::numeric_limits<T>::quiet_NaN() : T(dist(gen));
    }
  }
  const std::vector<T> initial = out;
  cpu::column_sum(replicas, m, n, x.data(), ldx, stride_x, out.data(), stride_out, T(beta));

  const double eps_sum = double(std::numeric_limits<T>::epsilon()) +
                         std::numeric_limits<double>::epsilon();
  int64_t beyond_bound = 0, padding_changed = 0;
  double worst_ratio = 0.0;
  for (int64_t r = 0; r < replicas; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double expected = beta == 0.0 ? 0.0 : beta * double(initial[r * stride_out + j]);
      double magnitude = std::abs(expected);
      for (int64_t i = 0; i < m; ++i) {
        expected += double(x[r * stride_x + i * ldx + j]);
        magnitude += std::abs(double(x[r * stride_x + i * ldx + j]));
      }
      const double error = std::abs(double(out[r * stride_out + j]) - expected);
      const double bound = double(m + 2) * eps_sum * magnitude;
      if (!(error <= bound)) ++beyond_bound;
      if (bound > 0.0 && error / bound > worst_ratio) worst_ratio = error / bound;
    }
    for (int64_t j = n; j < stride_out; ++j) {
      if (out[r * stride_out + j] != T(kSentinel)) ++padding_changed;
    }
  }
  INFO((sizeof(T) == 4 ? "float" : "double") << " replicas " << replicas << " m " << m
                                             << " n " << n << " beta " << beta);
  CAPTURE(worst_ratio);
  CHECK(beyond_bound == 0);
  CHECK(padding_changed == 0);
}

}  // namespace

TEST_CASE("column_sum matches a naive sum", "[kernels]") {
  // n crosses the kernel's 64-column chunks; beta 0 starts from NaN that must not be read.
  uint64_t seed = 6000;
  for (int64_t m : {1, 7, 300}) {
    for (int64_t n : {1, 33, 65, 130}) {
      for (double beta : {0.0, 1.0}) {
        check_column_sum<float>(3, m, n, beta, ++seed);
        check_column_sum<double>(3, m, n, beta, ++seed);
      }
    }
  }
}

}  // namespace glassy
