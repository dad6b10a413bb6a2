// Per-replica norms through the backend's reduction kernel.
#include "engine/norms.h"

#include <cmath>

#include "engine/buffer.h"

namespace glassy {

std::vector<double> replica_norms(Backend& backend, const float* x, int64_t replicas,
                                  int64_t count) {
  Buffer<double> sums(backend, replicas);
  backend.replica_sum_squares(replicas, count, x, count, sums.data());
  std::vector<double> norms = sums.download();
  for (double& norm : norms) norm = std::sqrt(norm);
  return norms;
}

void replica_rescale_to_norm(Backend& backend, float* x, int64_t replicas, int64_t count,
                             double target) {
  std::vector<double> factors = replica_norms(backend, x, replicas, count);
  for (double& factor : factors) factor = factor > 0.0 ? target / factor : 1.0;
  Buffer<double> device_factors(backend, replicas);
  device_factors.upload(factors);
  backend.replica_scale(replicas, count, x, count, device_factors.data());
}

}  // namespace glassy
