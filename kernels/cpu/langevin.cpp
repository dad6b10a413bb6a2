// One Langevin step over all walkers. The arithmetic runs in double per element and rounds
// the position and velocity to float once, so a CUDA kernel that follows the same order gives
// the same floats. Elements are processed in Philox blocks of four, and the work is split into
// chunks of whole blocks, so the noise of an element never depends on the thread count.
#include "kernels/cpu/langevin.h"

#include <algorithm>
#include <cmath>

#include "kernels/philox.h"

namespace glassy::cpu {
namespace {

constexpr int64_t kChunk = 4096;  // a multiple of the Philox block of 4

// Mirrors a position that left [-bound, bound] back inside and flips the velocity. A step
// longer than twice the bound would still land outside after one mirror; it is clamped.
inline void reflect(double& c, double& v, double bound) {
  if (c > bound) {
    c = 2.0 * bound - c;
    v = -v;
  } else if (c < -bound) {
    c = -2.0 * bound - c;
    v = -v;
  }
  c = std::clamp(c, -bound, bound);
}

// One walker's elements [begin, end), begin a multiple of 4.
void langevin_chunk(const LangevinParams& p, int64_t r, int64_t begin, int64_t end) {
  const int64_t offset = r * p.params;
  float* w = p.weights + offset;
  float* vel = p.velocity + offset;
  const float* gx = p.grad_x + offset;
  const float* gy = p.grad_y ? p.grad_y + offset : nullptr;
  const ForceCoefficients force = p.force[r];
  const double sigma = std::sqrt(p.friction * (2.0 - p.friction) * p.kt);
  const double keep = 1.0 - p.friction;
  const double half_dt = 0.5 * p.dt;
  const double kick = p.kick_scale * p.dt;

  double noise[4];
  for (int64_t i = begin; i < end; ++i) {
    if ((i & 3) == 0) {
      random_normal_block(p.seeds[r], 0, RandomPurpose::noise, p.step, uint64_t(i), noise);
    }
    const double a = force.x * double(gx[i]) + (gy ? force.y * double(gy[i]) : 0.0);
    double c = w[i];
    double v = vel[i];
    if (p.integrator == Integrator::paper) {
      // v <- v + a dt - c_f v + sigma xi;  c <- c + v dt
      v = v + a * p.dt - p.friction * v + sigma * noise[i & 3];
      c = c + v * p.dt;
    } else {
      // B: v <- v + kick a;  A: c <- c + v dt/2;  O: v <- (1 - c_f) v + sigma xi;  A
      v = v + kick * a;
      c = c + half_dt * v;
      v = keep * v + sigma * noise[i & 3];
      c = c + half_dt * v;
    }
    if (p.bound) reflect(c, v, double(p.bound[i]));
    w[i] = float(c);
    vel[i] = float(v);
  }
}

}  // namespace

void langevin_step(const LangevinParams& p) {
  const int64_t chunks = std::max<int64_t>(1, (p.params + kChunk - 1) / kChunk);

#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < p.replicas * chunks; ++task) {
    const int64_t r = task / chunks;
    const int64_t begin = (task % chunks) * kChunk;
    langevin_chunk(p, r, begin, std::min(p.params, begin + kChunk));
  }
}

}  // namespace glassy::cpu
