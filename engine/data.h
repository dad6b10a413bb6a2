// The modular-arithmetic tasks: binary operations on pairs 0 <= x, y < p, computed mod p, and
// the seeded split of all pairs into a training and a test set. Each example is the three
// tokens x, y and "=" (token id p), and its label is the answer in [0, p).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glassy {

enum class Operation { add, subtract, multiply, divide, square_add, cube_mix };

// Every operation, in declaration order.
constexpr std::array<Operation, 6> kOperations = {Operation::add,      Operation::subtract,
                                                  Operation::multiply, Operation::divide,
                                                  Operation::square_add, Operation::cube_mix};

// The largest modulus make_split accepts. The shuffle draws one Philox element per pair, and an
// element index must stay below 2^34, so p^2 <= 2^34.
constexpr int64_t kMaxModulus = int64_t{1} << 17;

// The largest modulus task_answer accepts: products of two residues stay below 2^62.
constexpr int64_t kMaxTaskModulus = int64_t{1} << 31;

// Parses an operation name: "x+y", "x-y", "x*y", "x/y", "x^2+y" or "x^3+xy^2+y". Throws
// glassy::UsageError listing the allowed names for any other text.
Operation parse_operation(std::string_view name);

// Returns the name that parse_operation accepts, e.g. "x^2+y" for Operation::square_add.
std::string_view operation_name(Operation op);

// Returns whether n is prime, by trial division up to sqrt(n).
bool is_prime(int64_t n);

// Computes op(x, y) mod p in [0, p), reducing every intermediate product. x/y is x times the
// modular inverse of y. Throws glassy::UsageError unless 2 <= p <= kMaxTaskModulus and
// 0 <= x, y < p, and for x/y unless y is invertible mod p (nonzero when p is prime).
int64_t task_answer(Operation op, int64_t x, int64_t y, int64_t p);

// One set of examples. N is the number of examples.
struct Dataset {
  int64_t p = 0;
  Operation op = Operation::add;
  int n_tokens = 3;              // x, y, "="
  int vocab = 0;                 // p + 1: the residues and the "=" token
  std::vector<int32_t> tokens;   // (N, 3), row-major: x, y, p
  std::vector<int32_t> answers;  // (N)

  // Returns the number of examples N.
  int64_t size() const;
};

// The training and test sets of one task, and where their examples come from. A pair's index
// is x * p + y, its position in the x-major enumeration of all p^2 pairs. x/y skips y = 0 but
// keeps this numbering.
struct Split {
  Dataset train;
  Dataset test;
  std::vector<int64_t> train_index;  // (N_train), in training-set order
  std::vector<int64_t> test_index;   // (N_test), in test-set order
};

// Builds the task's examples and splits them. All pairs with 0 <= x, y < p (y != 0 for x/y)
// are shuffled by a Fisher-Yates shuffle keyed on split_seed, and the first
// round(train_fraction * n) go to training, in shuffled order, with ties rounded to even.
// Throws glassy::UsageError unless 2 <= p <= kMaxModulus, p is prime for x/y, and
// train_fraction in (0, 1) leaves both sets non-empty. Throws glassy::Error if a built x/y
// example fails answer * y == x (mod p).
Split make_split(Operation op, int64_t p, double train_fraction, uint64_t split_seed);

}  // namespace glassy
