// Tests of engine/data.h: operation names, answers against brute-force formulas, input checks,
// and the seeded train/test split.
#include "engine/data.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/error.h"

namespace glassy {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;

// The answer by brute force: the unbounded integer formula reduced once at the end, and for x/y
// a search for the z with z * y == x (mod p). Exact for p < 100, where x^3 + x y^2 + y < 2^21.
int64_t brute_force_answer(Operation op, int64_t x, int64_t y, int64_t p) {
  int64_t value = 0;
  switch (op) {
    case Operation::add:
      value = x + y;
      break;
    case Operation::subtract:
      value = x - y;
      break;
    case Operation::multiply:
      value = x * y;
      break;
    case Operation::divide:
      for (int64_t z = 0; z < p; ++z) {
        if (z * y % p == x) {
          return z;
        }
      }
      return -1;
    case Operation::square_add:
      value = x * x + y;
      break;
    case Operation::cube_mix:
      value = x * x * x + x * y * y + y;
      break;
  }
  return ((value % p) + p) % p;
}

}  // namespace

TEST_CASE("operation names round-trip through the parser", "[data]") {
  const std::vector<std::string> names{"x+y", "x-y", "x*y", "x/y", "x^2+y", "x^3+xy^2+y"};
  REQUIRE(names.size() == kOperations.size());
  for (size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(parse_operation(names[i]) == kOperations[i]);
    CHECK(operation_name(kOperations[i]) == names[i]);
  }
  CHECK_THROWS_MATCHES(parse_operation("x%y"), UsageError,
                       Message("--task must be one of x+y, x-y, x*y, x/y, x^2+y, x^3+xy^2+y, got "
                               "'x%y'; quote it in the shell, e.g. --task 'x^2+y'"));
}

TEST_CASE("primality test matches trial products", "[data]") {
  const std::vector<int64_t> primes{2, 3, 5, 7, 67, 97, 113, 7919, 131071, 2147483647};
  const std::vector<int64_t> composites{-7, 0, 1, 4, 9, 96, 91, 7917, 131073, 2147483649};
  for (int64_t n : primes) {
    CAPTURE(n);
    CHECK(is_prime(n));
  }
  for (int64_t n : composites) {
    CAPTURE(n);
    CHECK_FALSE(is_prime(n));
  }
}

TEST_CASE("division by a non-prime modulus is rejected", "[data]") {
  CHECK_THROWS_MATCHES(make_split(Operation::divide, 96, 0.5, 1), UsageError,
                       Message("--p must be a prime for x/y (it needs modular inverses), got 96; "
                               "choose a prime such as 97"));
  CHECK_THROWS_WITH(make_split(Operation::divide, 96, 0.5, 1),
                    Contains("96") && Contains("prime"));
}

TEST_CASE("division mod 97 gives 5/3 = 34", "[data]") {
  CHECK(task_answer(Operation::divide, 5, 3, 97) == 34);
  CHECK(34 * 3 % 97 == 5);
  CHECK_THROWS_AS(task_answer(Operation::divide, 5, 0, 97), UsageError);
}

TEST_CASE("every division example mod 97 multiplies back", "[data]") {
  const Split split = make_split(Operation::divide, 97, 0.5, 3);
  CHECK(split.train.size() + split.test.size() == 97 * 96);
  int64_t failures = 0;
  for (const Dataset* dataset : {&split.train, &split.test}) {
    for (int64_t i = 0; i < dataset->size(); ++i) {
      const int64_t x = dataset->tokens[3 * i];
      const int64_t y = dataset->tokens[3 * i + 1];
      const int64_t answer = dataset->answers[i];
      failures += (y == 0 || answer * y % 97 != x) ? 1 : 0;
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("answers mod 67 match brute-force formulas", "[data]") {
  const int64_t p = 67;
  for (Operation op : kOperations) {
    CAPTURE(operation_name(op));
    int64_t mismatches = 0;
    for (int64_t x = 0; x < p; ++x) {
      for (int64_t y = op == Operation::divide ? 1 : 0; y < p; ++y) {
        if (task_answer(op, x, y, p) != brute_force_answer(op, x, y, p)) {
          ++mismatches;
          UNSCOPED_INFO("x = " << x << ", y = " << y);
        }
      }
    }
    CHECK(mismatches == 0);

    // The split's answers come from the same function.
    const Split split = make_split(op, p, 0.5, 11);
    int64_t split_mismatches = 0;
    for (int64_t i = 0; i < split.train.size(); ++i) {
      const int64_t x = split.train.tokens[3 * i];
      const int64_t y = split.train.tokens[3 * i + 1];
      split_mismatches += split.train.answers[i] != brute_force_answer(op, x, y, p) ? 1 : 0;
    }
    CHECK(split_mismatches == 0);
  }
}

TEST_CASE("answers stay exact for a modulus near 2^20", "[data]") {
  const int64_t p = 1048573;  // the largest prime below 2^20
  const int64_t x = p - 1;
  const int64_t y = p - 2;
  // With x = -1 and y = -2 (mod p): x^2 + y = -1, x^3 + x y^2 + y = -1 - 4 - 2 = -7.
  CHECK(task_answer(Operation::multiply, x, y, p) == 2);
  CHECK(task_answer(Operation::square_add, x, y, p) == p - 1);
  CHECK(task_answer(Operation::cube_mix, x, y, p) == p - 7);
  CHECK(task_answer(Operation::divide, x, y, p) * y % p == x);
  CHECK(task_answer(Operation::subtract, 0, x, p) == 1);
}

TEST_CASE("split at p 67 and frac 0.5 has 2244 train examples", "[data]") {
  const Split split = make_split(Operation::add, 67, 0.5, 0);
  CHECK(split.train.size() == 2244);
  CHECK(split.test.size() == 2245);
  CHECK(split.train_index.size() == 2244);
  CHECK(split.test_index.size() == 2245);
  CHECK(split.train.vocab == 68);
  CHECK(split.train.n_tokens == 3);
  CHECK(split.train.tokens.size() == 3 * 2244);
}

TEST_CASE("split rounds half-way train counts to even", "[data]") {
  // At p = 2 there are 4 pairs: 0.375 * 4 = 1.5 and 0.625 * 4 = 2.5 both round to 2.
  CHECK(make_split(Operation::add, 2, 0.375, 1).train.size() == 2);
  CHECK(make_split(Operation::add, 2, 0.625, 1).train.size() == 2);
  CHECK(make_split(Operation::add, 2, 0.7, 1).train.size() == 3);
}

TEST_CASE("split is reproducible and differs between seeds", "[data]") {
  const Split first = make_split(Operation::square_add, 67, 0.5, 1234);
  const Split again = make_split(Operation::square_add, 67, 0.5, 1234);
  const Split other = make_split(Operation::square_add, 67, 0.5, 1235);
  CHECK(first.train_index == again.train_index);
  CHECK(first.test_index == again.test_index);
  CHECK(first.train.tokens == again.train.tokens);
  CHECK(first.train.answers == again.train.answers);
  CHECK(first.train_index != other.train_index);

  std::vector<int64_t> first_sorted = first.train_index;
  std::vector<int64_t> other_sorted = other.train_index;
  std::sort(first_sorted.begin(), first_sorted.end());
  std::sort(other_sorted.begin(), other_sorted.end());
  CHECK(first_sorted != other_sorted);
}

TEST_CASE("split sets are disjoint and cover all pairs", "[data]") {
  for (Operation op : {Operation::subtract, Operation::divide}) {
    CAPTURE(operation_name(op));
    const int64_t p = 67;
    const Split split = make_split(op, p, 0.3, 5);
    std::vector<int64_t> all = split.train_index;
    all.insert(all.end(), split.test_index.begin(), split.test_index.end());
    std::sort(all.begin(), all.end());

    std::vector<int64_t> expected;
    for (int64_t x = 0; x < p; ++x) {
      for (int64_t y = op == Operation::divide ? 1 : 0; y < p; ++y) {
        expected.push_back(x * p + y);
      }
    }
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    CHECK(all == expected);
  }
}

TEST_CASE("tokens are x, y and the equals token p", "[data]") {
  const int64_t p = 67;
  const Split split = make_split(Operation::cube_mix, p, 0.5, 9);
  for (const auto& [dataset, indices] :
       {std::pair{&split.train, &split.train_index}, std::pair{&split.test, &split.test_index}}) {
    int64_t mismatches = 0;
    for (int64_t i = 0; i < dataset->size(); ++i) {
      const int64_t index = (*indices)[i];
      mismatches += dataset->tokens[3 * i] != index / p ? 1 : 0;
      mismatches += dataset->tokens[3 * i + 1] != index % p ? 1 : 0;
      mismatches += dataset->tokens[3 * i + 2] != p ? 1 : 0;
    }
    CHECK(mismatches == 0);
    CHECK(dataset->p == p);
    CHECK(dataset->op == Operation::cube_mix);
  }
}

TEST_CASE("invalid split arguments are rejected", "[data]") {
  CHECK_THROWS_AS(make_split(Operation::add, 67, 0.0, 1), UsageError);
  CHECK_THROWS_AS(make_split(Operation::add, 67, 1.0, 1), UsageError);
  CHECK_THROWS_AS(make_split(Operation::add, 67, 1.2, 1), UsageError);
  CHECK_THROWS_AS(make_split(Operation::add, 67, std::nan(""), 1), UsageError);
  CHECK_THROWS_MATCHES(make_split(Operation::add, 1, 0.5, 1), UsageError,
                       Message("--p must be at least 2, got 1; choose a prime such as 97"));
  CHECK_THROWS_WITH(make_split(Operation::add, kMaxModulus + 1, 0.5, 1),
                    Contains("--p must be at most 131072"));
  // At p = 2 there are 4 pairs: 0.1 rounds to 0 training pairs, 0.9 to 4 of 4.
  CHECK_THROWS_WITH(make_split(Operation::add, 2, 0.1, 1), Contains("one set is empty"));
  CHECK_THROWS_WITH(make_split(Operation::add, 2, 0.9, 1), Contains("one set is empty"));
  CHECK(make_split(Operation::add, 2, 0.25, 1).train.size() == 1);
}

}  // namespace glassy
