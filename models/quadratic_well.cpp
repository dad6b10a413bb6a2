// The quadratic well on the backend: sums of squares per block and gradients by copy and
// per-walker scaling, so it runs wherever the sampler kernels run.
#include "models/quadratic_well.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "kernels/philox.h"

namespace glassy {

QuadraticWell::QuadraticWell(Backend& backend, const QuadraticWellConfig& config,
                             int64_t walkers)
    : backend_(backend), config_(config), walkers_(walkers) {
  GLASSY_REQUIRE(config_.blocks.size() == 1 || config_.blocks.size() == 2,
                 "a quadratic well has 1 or 2 blocks, got {}", config_.blocks.size());
  GLASSY_REQUIRE(config_.stiffness > 0.0, "the well stiffness must be positive, got {}",
                 config_.stiffness);
  for (std::size_t b = 0; b < config_.blocks.size(); ++b) {
    GLASSY_REQUIRE(config_.blocks[b] >= 1, "block {} needs at least 1 coordinate", b);
    layout_.add("block" + std::to_string(b), {config_.blocks[b]}, config_.init_std);
  }
  sums_ = Buffer<double>(backend, walkers);
  factors_ = Buffer<double>(backend, walkers);
}

void QuadraticWell::initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) {
  const int64_t p = layout_.size();
  std::vector<float> host(walkers_ * p);
  for (int64_t r = 0; r < walkers_; ++r) {
    random_normal_fill(host.data() + r * p, uint64_t(p), seeds[r], 0, RandomPurpose::init, 0,
                       config_.init_std);
  }
  weights.upload(host);
}

std::string QuadraticWell::x_name() const {
  return config_.observable == WellObservable::energy ? "energy0" : "ln_energy0";
}

std::string QuadraticWell::y_name() const {
  return config_.observable == WellObservable::energy ? "energy1" : "ln_energy1";
}

std::vector<double> QuadraticWell::block_energy(const float* weights, int block, float* grad) {
  const int64_t p = layout_.size();
  const TensorInfo& tensor = layout_.tensors()[block];
  backend_.replica_sum_squares(walkers_, tensor.size, weights + tensor.offset, p, sums_.data());
  std::vector<double> energy = sums_.download();
  for (double& u : energy) u *= 0.5 * config_.stiffness;
  if (!grad) return energy;

  // dU/dc = k c on the block; d ln U / dc = k c / U. Other blocks get a zero gradient.
  std::vector<double> factors(walkers_);
  for (int64_t r = 0; r < walkers_; ++r) {
    const bool log = config_.observable == WellObservable::log_energy;
    factors[r] = log ? config_.stiffness / energy[r] : config_.stiffness;
  }
  factors_.upload(factors);
  backend_.copy(grad, weights, std::size_t(walkers_ * p) * sizeof(float));
  backend_.replica_scale(walkers_, tensor.size, grad + tensor.offset, p, factors_.data());
  std::vector<double> zeros(walkers_, 0.0);
  factors_.upload(zeros);
  for (const TensorInfo& other : layout_.tensors()) {
    if (other.offset == tensor.offset) continue;
    backend_.replica_scale(walkers_, other.size, grad + other.offset, p, factors_.data());
  }
  return energy;
}

void QuadraticWell::observe(const float* weights, bool with_y, float* grad_x, float* grad_y,
                            std::vector<Observation>& out) {
  const bool log = config_.observable == WellObservable::log_energy;
  const std::vector<double> u0 = block_energy(weights, 0, grad_x);
  std::vector<double> u1;
  if (with_y) {
    GLASSY_CHECK(config_.blocks.size() == 2, "y needs a well with two blocks");
    u1 = block_energy(weights, 1, grad_y);
  }
  out.resize(walkers_);
  for (int64_t r = 0; r < walkers_; ++r) {
    out[r].x = log ? std::log(u0[r]) : u0[r];
    out[r].y = 0.0;
    if (with_y) out[r].y = log ? std::log(u1[r]) : u1[r];
  }
}

}  // namespace glassy
