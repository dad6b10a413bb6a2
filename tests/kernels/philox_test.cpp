// Tests of the counter-based generator in kernels/philox.h: Philox-4x32-10 known answers, the
// documented keying, independence from generation order, and the moments of the normals.
#include "kernels/philox.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include <catch2/catch.hpp>

namespace glassy {
namespace {

constexpr uint64_t kSeed = 0x0123456789ABCDEFull;
constexpr uint32_t kReplica = 5;
constexpr uint64_t kStep = 17;
constexpr uint64_t kElementCount = 10007;  // prime, so no chunk size divides it

// Returns the index of the first element whose bits differ, or -1 when all are equal.
int64_t first_mismatch(const std::vector<float>& expected, const std::vector<float>& actual) {
  if (expected.size() != actual.size()) {
    return 0;
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::bit_cast<uint32_t>(expected[i]) != std::bit_cast<uint32_t>(actual[i])) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

std::vector<float> fill_all(uint64_t count) {
  std::vector<float> values(count);
  random_normal_fill(values.data(), count, kSeed, kReplica, RandomPurpose::noise, kStep, 1.0);
  return values;
}

std::vector<float> fill_in_chunks(uint64_t count, uint64_t chunk) {
  std::vector<float> values(count);
  for (uint64_t first = 0; first < count; first += chunk) {
    const uint64_t size = std::min(chunk, count - first);
    random_normal_fill_range(values.data() + first, first, size, kSeed, kReplica,
                             RandomPurpose::noise, kStep, 1.0);
  }
  return values;
}

// Counts the positions at which two streams of random bits agree. Independent streams agree
// at a position with probability 2^-32.
int count_equal_bits(uint64_t seed_a, uint32_t replica_a, RandomPurpose purpose_a, uint64_t step_a,
                     uint64_t seed_b, uint32_t replica_b, RandomPurpose purpose_b,
                     uint64_t step_b) {
  int equal = 0;
  for (uint64_t element = 0; element < 1000; ++element) {
    const uint32_t a = random_bits(seed_a, replica_a, purpose_a, step_a, element);
    const uint32_t b = random_bits(seed_b, replica_b, purpose_b, step_b, element);
    equal += a == b ? 1 : 0;
  }
  return equal;
}

void check_block(const Philox4x32& block, uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3) {
  CHECK(block.v[0] == v0);
  CHECK(block.v[1] == v1);
  CHECK(block.v[2] == v2);
  CHECK(block.v[3] == v3);
}

}  // namespace

TEST_CASE("philox matches known answers", "[rng]") {
  // Known-answer vectors for Philox-4x32-10: counter, key and the expected output block.
  SECTION("zero counter and key") {
    check_block(philox4x32_10(Philox4x32{{0, 0, 0, 0}}, 0, 0), 0x6627e8d5u, 0xe169c58du,
                0xbc57ac4cu, 0x9b00dbd8u);
  }
  SECTION("all-ones counter and key") {
    const Philox4x32 counter{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
    check_block(philox4x32_10(counter, 0xffffffffu, 0xffffffffu), 0x408f276du, 0x41c83b0eu,
                0xa20bc7c6u, 0x6d5451fdu);
  }
  SECTION("digits of pi as counter and key") {
    const Philox4x32 counter{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    check_block(philox4x32_10(counter, 0xa4093822u, 0x299f31d0u), 0xd16cfe09u, 0x94fdccebu,
                0x5001e420u, 0x24126ea1u);
  }
}

TEST_CASE("random bits follow the documented keying", "[rng]") {
  const uint64_t seed = 0x1111222233334444ull;
  const uint64_t step = (uint64_t{0x00ABCDEF} << 32) | 0x55667788u;
  const uint64_t element = (uint64_t{0x12345678} << 2) | 3;  // block 0x12345678, lane 3
  const Philox4x32 counter{{0x12345678u, 9u, 0x55667788u, 3u | (0x00ABCDEFu << 8)}};
  const Philox4x32 block = philox4x32_10(counter, 0x33334444u, 0x11112222u);

  CHECK(random_bits(seed, 9, RandomPurpose::velocity, step, element) == block.v[3]);
  CHECK(random_bits(seed, 9, RandomPurpose::velocity, step, element - 1) == block.v[2]);
  CHECK(random_bits(seed, 9, RandomPurpose::velocity, step, element - 3) == block.v[0]);
}

TEST_CASE("normals use box-muller on lane pairs", "[rng]") {
  // Elements 4..7 share one Philox block: lanes (0, 1) feed elements 4 and 5, lanes (2, 3)
  // feed elements 6 and 7.
  uint32_t bits[4];
  for (uint64_t lane = 0; lane < 4; ++lane) {
    bits[lane] = random_bits(kSeed, kReplica, RandomPurpose::init, kStep, 4 + lane);
  }
  for (uint64_t pair = 0; pair < 2; ++pair) {
    const double u_a = (bits[2 * pair] + 0.5) / 4294967296.0;
    const double u_b = (bits[2 * pair + 1] + 0.5) / 4294967296.0;
    const double radius = std::sqrt(-2.0 * std::log(u_a));
    const double theta = 2.0 * std::numbers::pi * u_b;
    CAPTURE(pair);
    CHECK(random_normal(kSeed, kReplica, RandomPurpose::init, kStep, 4 + 2 * pair) ==
          Approx(radius * std::cos(theta)).epsilon(1e-14));
    CHECK(random_normal(kSeed, kReplica, RandomPurpose::init, kStep, 5 + 2 * pair) ==
          Approx(radius * std::sin(theta)).epsilon(1e-14));
  }
}

TEST_CASE("normal fill equals the per-element function", "[rng]") {
  const double scale = 0.0883883476;  // 1 / sqrt(128), an init scale
  std::vector<float> filled(kElementCount);
  random_normal_fill(filled.data(), kElementCount, kSeed, kReplica, RandomPurpose::init, kStep,
                     scale);

  std::vector<float> single(kElementCount);
  for (uint64_t e = 0; e < kElementCount; ++e) {
    single[e] = static_cast<float>(
        scale * random_normal(kSeed, kReplica, RandomPurpose::init, kStep, e));
  }
  CHECK(first_mismatch(single, filled) == -1);
}

TEST_CASE("random values do not depend on generation order", "[rng]") {
  const std::vector<float> whole = fill_all(kElementCount);

  SECTION("chunks of 1, 3 and 64 elements") {
    for (uint64_t chunk : {1, 3, 64}) {
      CAPTURE(chunk);
      CHECK(first_mismatch(whole, fill_in_chunks(kElementCount, chunk)) == -1);
    }
  }

  SECTION("single elements in reverse order") {
    std::vector<float> reversed(kElementCount);
    for (uint64_t e = kElementCount; e-- > 0;) {
      random_normal_fill_range(&reversed[e], e, 1, kSeed, kReplica, RandomPurpose::noise, kStep,
                               1.0);
    }
    CHECK(first_mismatch(whole, reversed) == -1);
  }

  SECTION("openmp over elements with 1 and 2 threads") {
    for (int threads : {1, 2}) {
      std::vector<float> parallel(kElementCount);
      const int64_t count = static_cast<int64_t>(kElementCount);
#pragma omp parallel for num_threads(threads) schedule(static, 7)
      for (int64_t e = 0; e < count; ++e) {
        parallel[e] = static_cast<float>(
            random_normal(kSeed, kReplica, RandomPurpose::noise, kStep, static_cast<uint64_t>(e)));
      }
      CAPTURE(threads);
      CHECK(first_mismatch(whole, parallel) == -1);
    }
  }
}

TEST_CASE("stream keys give distinct streams", "[rng]") {
  const RandomPurpose noise = RandomPurpose::noise;
  const uint64_t high_step = uint64_t{1} << 32;
  const uint64_t high_seed = uint64_t{1} << 32;

  CHECK(count_equal_bits(kSeed, 0, noise, kStep, kSeed, 1, noise, kStep) <= 1);
  CHECK(count_equal_bits(kSeed, 0, RandomPurpose::init, kStep, kSeed, 0, noise, kStep) <= 1);
  CHECK(count_equal_bits(kSeed, 0, RandomPurpose::split, kStep, kSeed, 0, RandomPurpose::velocity,
                         kStep) <= 1);
  CHECK(count_equal_bits(kSeed, 0, noise, 0, kSeed, 0, noise, 1) <= 1);
  CHECK(count_equal_bits(kSeed, 0, noise, 0, kSeed, 0, noise, high_step) <= 1);
  CHECK(count_equal_bits(1, 0, noise, kStep, 2, 0, noise, kStep) <= 1);
  CHECK(count_equal_bits(1, 0, noise, kStep, 1 + high_seed, 0, noise, kStep) <= 1);
}

TEST_CASE("normals have mean 0 and variance 1", "[rng]") {
  const uint64_t count = 1000000;
  std::vector<float> values(count);
  random_normal_fill(values.data(), count, 42, 0, RandomPurpose::noise, 0, 1.0);

  double sum = 0.0;
  double sum_squares = 0.0;
  for (float value : values) {
    sum += value;
    sum_squares += static_cast<double>(value) * value;
  }
  const double n = static_cast<double>(count);
  const double mean = sum / n;
  const double variance = (sum_squares - n * mean * mean) / (n - 1.0);

  // Standard errors for a standard normal: sqrt(1 / n) for the mean, sqrt(2 / n) for the
  // sample variance.
  const double z_mean = mean / std::sqrt(1.0 / n);
  const double z_variance = (variance - 1.0) / std::sqrt(2.0 / n);
  CAPTURE(mean, variance, z_mean, z_variance);
  INFO("z-scores: mean " << z_mean << ", variance " << z_variance);
  CHECK(std::abs(z_mean) < 5.0);
  CHECK(std::abs(z_variance) < 5.0);
}

TEST_CASE("uniforms are never 0 or 1", "[rng]") {
  CHECK(random_uniform_from_bits(0) == std::ldexp(1.0, -33));
  CHECK(random_uniform_from_bits(0xffffffffu) == 1.0 - std::ldexp(1.0, -33));

  int64_t out_of_range = 0;
  double smallest = 1.0;
  double largest = 0.0;
  for (uint64_t e = 0; e < 1000000; ++e) {
    const double u = random_uniform(7, 3, RandomPurpose::split, 0, e);
    out_of_range += (u <= 0.0 || u >= 1.0) ? 1 : 0;
    smallest = std::min(smallest, u);
    largest = std::max(largest, u);
  }
  CAPTURE(smallest, largest);
  CHECK(out_of_range == 0);
}

}  // namespace glassy
