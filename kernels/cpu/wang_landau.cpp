// Wang-Landau grid kernels. Walkers are few (tens to thousands) and the per-walker work is a
// stencil, so lookup runs walker-parallel and the deposit into a shared grid runs walker by
// walker, parallel over stencil rows, which keeps the sum order fixed.
#include "kernels/cpu/wang_landau.h"

#include <cmath>

#include "kernels/grid_index.h"

namespace glassy::cpu {
namespace {

constexpr int64_t kParallelStencilCells = 4096;

// dS/dv along one axis at bin i, where neighbours are `step` cells apart: a central
// difference inside, one-sided at the first and last bin, 0 on a one-bin axis.
double axis_derivative(const double* cell, int64_t i, const GridAxis& axis, int64_t step) {
  if (axis.bins < 2) return 0.0;
  if (i == 0) return (cell[step] - cell[0]) / axis.width;
  if (i == axis.bins - 1) return (cell[0] - cell[-step]) / axis.width;
  return (cell[step] - cell[-step]) / (2.0 * axis.width);
}

// Adds the stencil around one walker's bin; rows of the stencil are disjoint cells.
void deposit_walker(const WangLandauParams& p, int64_t r) {
  const int64_t ny = p.y_axis.bins;
  double* grid = p.grids + r * p.grid_stride;
  const int64_t ix = p.bin[r] / ny;
  const int64_t iy = p.bin[r] % ny;
  const int radius_y = p.stencil_y ? p.radius_y : 0;
  const int64_t stencil_cells = int64_t(2 * p.radius_x + 1) * (2 * radius_y + 1);

  // A thread team costs microseconds; only the large 2-D stencils are worth one.
#pragma omp parallel for schedule(static) if (stencil_cells >= kParallelStencilCells)
  for (int di = -p.radius_x; di <= p.radius_x; ++di) {
    const int64_t gx = ix + di;
    if (gx < 0 || gx >= p.x_axis.bins) continue;
    const double weight_x = p.stencil_x[di + p.radius_x];
    for (int dj = -radius_y; dj <= radius_y; ++dj) {
      const int64_t gy = iy + dj;
      if (gy < 0 || gy >= ny) continue;
      const double weight_y = p.stencil_y ? p.stencil_y[dj + radius_y] : 1.0;
      grid[gx * ny + gy] += p.amount * (weight_x * weight_y);
    }
  }
  p.histogram[p.bin[r]] += 1;
}

}  // namespace

void wl_lookup(const WangLandauParams& p) {
  const int64_t ny = p.y_axis.bins;

#pragma omp parallel for schedule(static) if (p.walkers >= 64)
  for (int64_t r = 0; r < p.walkers; ++r) {
    int32_t flags = 0;
    const int64_t ix = grid_bin(p.x_axis, p.x[r], kGridXLow, kGridXHigh, flags);
    const int64_t iy =
        p.y ? grid_bin(p.y_axis, p.y_scale * p.y[r], kGridYLow, kGridYHigh, flags) : 0;
    const double* cell = p.grids + r * p.grid_stride + ix * ny + iy;
    p.bin[r] = ix * ny + iy;
    p.flags[r] = flags;
    p.force[r].x = -axis_derivative(cell, ix, p.x_axis, ny);
    p.force[r].y = p.y ? -p.y_scale * axis_derivative(cell, iy, p.y_axis, 1) : 0.0;
  }
}

void wl_deposit(const WangLandauParams& p) {
  for (int64_t r = 0; r < p.walkers; ++r) deposit_walker(p, r);
}

void wl_average(int64_t grids, int64_t cells, double* values) {
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < cells; ++c) {
    const double base = values[c];
    double sum = 0.0;
    for (int64_t g = 0; g < grids; ++g) sum += values[g * cells + c] - base;
    // Identical grids give sum = 0: keep base itself, so averaging again is bitwise a no-op.
    const double mean = sum == 0.0 ? base : base + sum / double(grids);
    for (int64_t g = 0; g < grids; ++g) values[g * cells + c] = mean;
  }
}

}  // namespace glassy::cpu
