// Counter-based random numbers: Philox-4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011) and the keying that makes every random value a pure
// function of (seed, replica, purpose, step, element). No generator state exists, so any
// thread count and any chunking produce the same value for the same element, and CPU and CUDA
// kernels produce the same bits and uniforms.
//
// Keying, for a 64-bit seed and step and a 64-bit element index:
//   key     = (low 32 bits of seed, high 32 bits of seed)
//   counter = (element / 4, replica, low 32 bits of step, purpose | (high 32 bits of step) << 8)
// and lane element % 4 of the Philox output belongs to the element. Preconditions, unchecked
// because this header also compiles as device code without exceptions: element / 4 < 2^32
// (element < 2^34) and step < 2^56, since higher step bits are shifted out of the counter.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace glassy {

// One 128-bit Philox counter or output block, as four 32-bit lanes.
struct Philox4x32 {
  uint32_t v[4];
};

// The use a random stream serves. It is part of the counter, so the streams for different uses
// never share a Philox block even under the same seed, replica, step and element.
enum class RandomPurpose : uint32_t { init = 1, split = 2, velocity = 3, noise = 4 };

constexpr uint32_t kPhiloxMultiplier0 = 0xD2511F53u;
constexpr uint32_t kPhiloxMultiplier1 = 0xCD9E8D57u;
// The key increments per round: (golden ratio - 1) * 2^32 and (sqrt(3) - 1) * 2^32.
constexpr uint32_t kPhiloxWeyl0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxWeyl1 = 0xBB67AE85u;
constexpr int kPhiloxRounds = 10;
constexpr double kBoxMullerTwoPi = 6.283185307179586476925286766559;
constexpr double kUniformCellWidth = 1.0 / 4294967296.0;  // 2^-32

// Applies one Philox S-box round: two 32x32->64 multiplies, whose high halves are mixed with
// the other two lanes and the key.
GLASSY_HOST_DEVICE inline Philox4x32 philox4x32_round(Philox4x32 x, uint32_t key0,
                                                       uint32_t key1) {
  const uint64_t product0 = uint64_t{kPhiloxMultiplier0} * x.v[0];
  const uint64_t product1 = uint64_t{kPhiloxMultiplier1} * x.v[2];
  const uint32_t high0 = static_cast<uint32_t>(product0 >> 32);
  const uint32_t low0 = static_cast<uint32_t>(product0);
  const uint32_t high1 = static_cast<uint32_t>(product1 >> 32);
  const uint32_t low1 = static_cast<uint32_t>(product1);

  Philox4x32 out;
  out.v[0] = high1 ^ x.v[1] ^ key0;
  out.v[1] = low1;
  out.v[2] = high0 ^ x.v[3] ^ key1;
  out.v[3] = low0;
  return out;
}

// Computes Philox-4x32-10 of one counter block under a 64-bit key given as two lanes.
GLASSY_HOST_DEVICE inline Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t key0,
                                                    uint32_t key1) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    // The key is bumped between rounds, not before the first one.
    if (round > 0) {
      key0 += kPhiloxWeyl0;
      key1 += kPhiloxWeyl1;
    }
    counter = philox4x32_round(counter, key0, key1);
  }
  return counter;
}

// Computes the Philox block that holds the four elements 4 * (element / 4) ... + 3.
GLASSY_HOST_DEVICE inline Philox4x32 random_block(uint64_t seed, uint32_t replica,
                                                  RandomPurpose purpose, uint64_t step,
                                                  uint64_t element) {
  Philox4x32 counter;
  counter.v[0] = static_cast<uint32_t>(element / 4);
  counter.v[1] = replica;
  counter.v[2] = static_cast<uint32_t>(step);
  counter.v[3] = static_cast<uint32_t>(purpose) | static_cast<uint32_t>((step >> 32) << 8);
  const uint32_t key0 = static_cast<uint32_t>(seed);
  const uint32_t key1 = static_cast<uint32_t>(seed >> 32);
  return philox4x32_10(counter, key0, key1);
}

// Returns 32 uniformly distributed random bits for one element.
GLASSY_HOST_DEVICE inline uint32_t random_bits(uint64_t seed, uint32_t replica,
                                               RandomPurpose purpose, uint64_t step,
                                               uint64_t element) {
  return random_block(seed, replica, purpose, step, element).v[element % 4];
}

// Maps 32 random bits to the midpoint of one of 2^32 equal cells of [0, 1). The result lies in
// [2^-33, 1 - 2^-33], so it is never 0 (log is finite) and never 1. Both ends are exact doubles.
GLASSY_HOST_DEVICE inline double random_uniform_from_bits(uint32_t bits) {
  return (static_cast<double>(bits) + 0.5) * kUniformCellWidth;
}

// Returns a uniform double in the open interval (0, 1) for one element.
GLASSY_HOST_DEVICE inline double random_uniform(uint64_t seed, uint32_t replica,
                                                RandomPurpose purpose, uint64_t step,
                                                uint64_t element) {
  return random_uniform_from_bits(random_bits(seed, replica, purpose, step, element));
}

// Box-Muller on one pair of lanes (a, b) = (2k, 2k + 1) of a Philox block, in double:
//   r = sqrt(-2 ln u_a), theta = 2 pi u_b,
//   the even element gets r cos(theta), the odd element gets r sin(theta).
// Both results are independent standard normals. `odd` selects which of the two to return.
// NOTE: log, sin and cos come from the host libm or the CUDA math library, which may differ in
// the last bit of a double, so a CPU and a GPU normal can differ in rare cases.
GLASSY_HOST_DEVICE inline double box_muller(uint32_t bits_a, uint32_t bits_b, bool odd) {
  const double radius = std::sqrt(-2.0 * std::log(random_uniform_from_bits(bits_a)));
  const double theta = kBoxMullerTwoPi * random_uniform_from_bits(bits_b);
  return odd ? radius * std::sin(theta) : radius * std::cos(theta);
}

// Returns a standard normal double for one element, from the Box-Muller pair of lanes that
// contains its own lane (see box_muller).
GLASSY_HOST_DEVICE inline double random_normal(uint64_t seed, uint32_t replica,
                                               RandomPurpose purpose, uint64_t step,
                                               uint64_t element) {
  const Philox4x32 block = random_block(seed, replica, purpose, step, element);
  const unsigned lane = static_cast<unsigned>(element % 4);
  const unsigned pair_start = lane & ~1u;
  return box_muller(block.v[pair_start], block.v[pair_start + 1], (lane & 1u) != 0);
}

// Writes out[i] = (float)(scale * random_normal(seed, replica, purpose, step, first + i)) for
// i in [0, count). It runs one Philox call per block of four elements and gives exactly the
// values of the per-element function, whatever `first` is. It runs serially, because callers
// parallelize over replicas or over chunks of elements.
GLASSY_HOST_DEVICE inline void random_normal_fill_range(float* out, uint64_t first,
                                                        uint64_t count, uint64_t seed,
                                                        uint32_t replica, RandomPurpose purpose,
                                                        uint64_t step, double scale) {
  const uint64_t end = first + count;
  uint64_t element = first;
  while (element < end) {
    const Philox4x32 block = random_block(seed, replica, purpose, step, element);
    const uint64_t block_end = (element / 4) * 4 + 4;
    const uint64_t stop = block_end < end ? block_end : end;
    for (; element < stop; ++element) {
      const unsigned lane = static_cast<unsigned>(element % 4);
      const unsigned pair_start = lane & ~1u;
      const double normal =
          box_muller(block.v[pair_start], block.v[pair_start + 1], (lane & 1u) != 0);
      out[element - first] = static_cast<float>(scale * normal);
    }
  }
}

// Writes out[e] = (float)(scale * random_normal(seed, replica, purpose, step, e)) for
// e in [0, count), like random_normal_fill_range from element 0.
GLASSY_HOST_DEVICE inline void random_normal_fill(float* out, uint64_t count, uint64_t seed,
                                                  uint32_t replica, RandomPurpose purpose,
                                                  uint64_t step, double scale) {
  random_normal_fill_range(out, 0, count, seed, replica, purpose, step, scale);
}

// Writes the four standard normals of the Philox block that holds element `first` (a multiple
// of 4): out[i] = random_normal(seed, replica, purpose, step, first + i). Each Box-Muller pair
// is computed once, so this costs half of four random_normal calls and gives the same bits.
GLASSY_HOST_DEVICE inline void random_normal_block(uint64_t seed, uint32_t replica,
                                                   RandomPurpose purpose, uint64_t step,
                                                   uint64_t first, double out[4]) {
  const Philox4x32 block = random_block(seed, replica, purpose, step, first);
  for (int pair = 0; pair < 4; pair += 2) {
    const double radius = std::sqrt(-2.0 * std::log(random_uniform_from_bits(block.v[pair])));
    const double theta = kBoxMullerTwoPi * random_uniform_from_bits(block.v[pair + 1]);
    out[pair] = radius * std::cos(theta);
    out[pair + 1] = radius * std::sin(theta);
  }
}

}  // namespace glassy
