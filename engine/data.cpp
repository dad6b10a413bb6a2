// The modular-arithmetic tasks: operation names, answers mod p and the seeded train/test split.
#include "engine/data.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "engine/error.h"
#include "kernels/philox.h"

namespace glassy {
namespace {

constexpr std::array<std::string_view, 6> kOperationNames = {"x+y", "x-y", "x*y",
                                                             "x/y", "x^2+y", "x^3+xy^2+y"};

// Returns the inverse of y mod p by the extended Euclidean algorithm. Throws UsageError when
// gcd(y, p) != 1, in particular for y = 0.
int64_t modular_inverse(int64_t y, int64_t p) {
  // Invariant: old_remainder = old_coefficient * y (mod p), same for the current pair.
  int64_t old_remainder = y;
  int64_t remainder = p;
  int64_t old_coefficient = 1;
  int64_t coefficient = 0;
  while (remainder != 0) {
    const int64_t quotient = old_remainder / remainder;
    old_remainder = std::exchange(remainder, old_remainder - quotient * remainder);
    old_coefficient = std::exchange(coefficient, old_coefficient - quotient * coefficient);
  }
  GLASSY_REQUIRE(old_remainder == 1,
                 "x/y needs y invertible mod p, but y = {} shares the factor {} with p = {}; "
                 "use a prime p and y != 0",
                 y, old_remainder, p);
  return ((old_coefficient % p) + p) % p;
}

// Returns the number of pairs the task enumerates: p^2, or p (p - 1) for x/y.
int64_t pair_count(Operation op, int64_t p) {
  return op == Operation::divide ? p * (p - 1) : p * p;
}

// Returns the number of training pairs, round(train_fraction * pairs) with ties to even as in
// Python's round(), which gives the 2244 training pairs of 4489 at p = 67 and fraction 0.5
// (llround would give 2245).
int64_t train_pair_count(double train_fraction, int64_t pairs) {
  const double exact = train_fraction * static_cast<double>(pairs);
  const double nearest = std::round(exact);
  const bool tie = std::abs(exact - std::trunc(exact)) == 0.5;
  return static_cast<int64_t>(tie ? 2.0 * std::round(exact / 2.0) : nearest);
}

void check_split_arguments(Operation op, int64_t p, double train_fraction) {
  GLASSY_REQUIRE(p >= 2, "--p must be at least 2, got {}; choose a prime such as 97", p);
  GLASSY_REQUIRE(p <= kMaxModulus,
                 "--p must be at most {} because the split shuffle keys at most 2^34 pairs, "
                 "got {}; choose a smaller modulus",
                 kMaxModulus, p);
  GLASSY_REQUIRE(op != Operation::divide || is_prime(p),
                 "--p must be a prime for x/y (it needs modular inverses), got {}; choose a "
                 "prime such as 97",
                 p);
  // Written so that NaN fails too.
  GLASSY_REQUIRE(train_fraction > 0.0 && train_fraction < 1.0,
                 "--train-frac must be in (0, 1), got {}; choose a value such as 0.5",
                 train_fraction);

  const int64_t pairs = pair_count(op, p);
  const int64_t train_count = train_pair_count(train_fraction, pairs);
  GLASSY_REQUIRE(train_count >= 1 && train_count <= pairs - 1,
                 "--train-frac {} puts {} of the {} pairs in the training set, so one set is "
                 "empty; choose a value between {:.6g} and {:.6g}",
                 train_fraction, train_count, pairs, 1.0 / static_cast<double>(pairs),
                 1.0 - 1.0 / static_cast<double>(pairs));
}

// Lists the pair indices x * p + y in x-major order, without y = 0 for x/y.
std::vector<int64_t> enumerate_pairs(Operation op, int64_t p) {
  std::vector<int64_t> pairs;
  pairs.reserve(static_cast<size_t>(pair_count(op, p)));
  const int64_t first_y = op == Operation::divide ? 1 : 0;
  for (int64_t x = 0; x < p; ++x) {
    for (int64_t y = first_y; y < p; ++y) {
      pairs.push_back(x * p + y);
    }
  }
  return pairs;
}

// Shuffles with Fisher-Yates, drawing j uniformly from [0, i] for i = n - 1 down to 1 with the
// Philox element i as its random number, so the order depends only on the seed and n.
// NOTE: j = floor(u (i + 1)) with a 32-bit u favors some j by up to a relative (i + 1) / 2^32,
// about 1e-6 at p = 67 and 2% at p = 10^4.
void shuffle_pairs(std::vector<int64_t>& pairs, uint64_t split_seed) {
  for (int64_t i = static_cast<int64_t>(pairs.size()) - 1; i > 0; --i) {
    const double u =
        random_uniform(split_seed, 0, RandomPurpose::split, 0, static_cast<uint64_t>(i));
    const int64_t j = std::min(static_cast<int64_t>(u * static_cast<double>(i + 1)), i);
    std::swap(pairs[static_cast<size_t>(i)], pairs[static_cast<size_t>(j)]);
  }
}

Dataset build_dataset(Operation op, int64_t p, const std::vector<int64_t>& pair_indices) {
  Dataset dataset;
  dataset.p = p;
  dataset.op = op;
  dataset.vocab = static_cast<int>(p + 1);
  dataset.tokens.reserve(pair_indices.size() * 3);
  dataset.answers.reserve(pair_indices.size());
  for (int64_t index : pair_indices) {
    const int64_t x = index / p;
    const int64_t y = index % p;
    dataset.tokens.push_back(static_cast<int32_t>(x));
    dataset.tokens.push_back(static_cast<int32_t>(y));
    dataset.tokens.push_back(static_cast<int32_t>(p));
    dataset.answers.push_back(static_cast<int32_t>(task_answer(op, x, y, p)));
  }
  return dataset;
}

// Verifies every x/y example by multiplying back: answer * y == x (mod p).
void verify_division(const Dataset& dataset) {
  for (int64_t i = 0; i < dataset.size(); ++i) {
    const int64_t x = dataset.tokens[static_cast<size_t>(3 * i)];
    const int64_t y = dataset.tokens[static_cast<size_t>(3 * i + 1)];
    const int64_t answer = dataset.answers[static_cast<size_t>(i)];
    GLASSY_CHECK(answer * y % dataset.p == x, "x/y example {}: {} * {} mod {} is not {}", i,
                 answer, y, dataset.p, x);
  }
}

}  // namespace

Operation parse_operation(std::string_view name) {
  for (size_t i = 0; i < kOperations.size(); ++i) {
    if (name == kOperationNames[i]) {
      return kOperations[i];
    }
  }
  throw UsageError(fmt::format("--task must be one of x+y, x-y, x*y, x/y, x^2+y, x^3+xy^2+y, "
                               "got '{}'; quote it in the shell, e.g. --task 'x^2+y'",
                               name));
}

std::string_view operation_name(Operation op) {
  return kOperationNames[static_cast<size_t>(op)];
}

bool is_prime(int64_t n) {
  if (n < 2) {
    return false;
  }
  if (n % 2 == 0) {
    return n == 2;
  }
  for (int64_t divisor = 3; divisor <= n / divisor; divisor += 2) {
    if (n % divisor == 0) {
      return false;
    }
  }
  return true;
}

int64_t task_answer(Operation op, int64_t x, int64_t y, int64_t p) {
  GLASSY_REQUIRE(p >= 2 && p <= kMaxTaskModulus, "the modulus p must be in [2, {}], got {}",
                 kMaxTaskModulus, p);
  GLASSY_REQUIRE(x >= 0 && x < p && y >= 0 && y < p,
                 "x and y must be residues in [0, {}), got x = {}, y = {}", p, x, y);

  // Every operand below is in [0, p), so each product is below p^2 <= 2^62.
  switch (op) {
    case Operation::add:
      return (x + y) % p;
    case Operation::subtract:
      return (x - y + p) % p;
    case Operation::multiply:
      return x * y % p;
    case Operation::divide:
      return x * modular_inverse(y, p) % p;
    case Operation::square_add:
      return (x * x % p + y) % p;
    case Operation::cube_mix: {
      const int64_t x_squared = x * x % p;
      const int64_t x_cubed = x_squared * x % p;
      const int64_t x_y_squared = y * y % p * x % p;
      return (x_cubed + x_y_squared + y) % p;
    }
  }
  throw Error(fmt::format("unknown operation {}", static_cast<int>(op)));
}

int64_t Dataset::size() const {
  return static_cast<int64_t>(answers.size());
}

Split make_split(Operation op, int64_t p, double train_fraction, uint64_t split_seed) {
  check_split_arguments(op, p, train_fraction);

  std::vector<int64_t> pairs = enumerate_pairs(op, p);
  shuffle_pairs(pairs, split_seed);

  const int64_t train_count =
      train_pair_count(train_fraction, static_cast<int64_t>(pairs.size()));
  Split split;
  split.train_index.assign(pairs.begin(), pairs.begin() + train_count);
  split.test_index.assign(pairs.begin() + train_count, pairs.end());
  split.train = build_dataset(op, p, split.train_index);
  split.test = build_dataset(op, p, split.test_index);

  if (op == Operation::divide) {
    verify_division(split.train);
    verify_division(split.test);
  }
  return split;
}

}  // namespace glassy
