// Cache-blocked GEMM: pack an (MC x KC) block of op(A) into 8-row panels and a (KC x NC)


//
// Determinism: the accumulator of C(i, j) starts at beta * C(i, j) (or 0) and adds the
// products in increasing k. Between KC blocks it is stored to C and reloaded, which is exact.
// The float result therefore depends on neither the block sizes nor the thread count.
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <omp.h>

namespace glassy::cpu {
namespace {

constexpr int64_t kTileRows = 8;  // MR
constexpr int64_t kBlockRows = 64;
constexpr int64_t kBlockCols = 256;
constexpr int64_t kBlockDepth = 256;

// One 64-byte SIMD vector of T (16 floats or 8 doubles). A register tile row is two of them,
// so the tile is 8 x 32 for float and 8 x 16 for double.
template <typename T>
struct Simd {
  typedef T Vec __attribute__((vector_size(64), aligned(64)));
  static constexpr int64_t kLanes = 64 / sizeof(T);
  static constexpr int64_t kTileCols = 2 * kLanes;  // NR
};

// Thread-private, 64-byte aligned packing buffers.
template <typename T>
struct PackBuffers {
  T* a = nullptr;
  T* b = nullptr;
  PackBuffers() {
    a = static_cast<T*>(std::aligned_alloc(64, sizeof(T) * kBlockRows * kBlockDepth));
    b = static_cast<T*>(std::aligned_alloc(64, sizeof(T) * kBlockDepth * kBlockCols));
  }
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
};

template <typename T>
PackBuffers<T>& thread_buffers() {
  thread_local PackBuffers<T> buffers;
  return buffers;
}

// Element (i, kk) of op(A) for one replica.
template <typename T>
inline T load_a(const GemmParams<T>& p, const T* a, int64_t i, int64_t kk) {
  return p.trans_a ? a[kk * p.lda + i] : a[i * p.lda + kk];
}

// Packs rows [i0, i0 + rows) and depth [k0, k0 + depth) of op(A) into panels of kTileRows
// rows, k-major inside a panel. Rows past the end are zero.
template <typename T>
void pack_a(const GemmParams<T>& p, const T* a, int64_t i0, int64_t rows, int64_t k0,
            int64_t depth, T* out) {
  for (int64_t panel = 0; panel < rows; panel += kTileRows) {
    const int64_t valid = std::min(kTileRows, rows - panel);
    for (int64_t kk = 0; kk < depth; ++kk) {
      for (int64_t i = 0; i < kTileRows; ++i) {
        out[i] = i < valid ? load_a(p, a, i0 + panel + i, k0 + kk) : T(0);
      }
      out += kTileRows;
    }
  }
}

// Packs depth [k0, k0 + depth) and columns [j0, j0 + cols) of op(B) into panels of
// kTileCols columns, k-major inside a panel. Columns past the end are zero.
template <typename T>
void pack_b(const GemmParams<T>& p, const T* b, int64_t k0, int64_t depth, int64_t j0,
            int64_t cols, T* out) {
  constexpr int64_t kTileCols = Simd<T>::kTileCols;
  for (int64_t panel = 0; panel < cols; panel += kTileCols) {
    const int64_t valid = std::min(kTileCols, cols - panel);
    for (int64_t kk = 0; kk < depth; ++kk) {
      const int64_t row = k0 + kk;
      if (!p.trans_b && valid == kTileCols) {
        std::memcpy(out, b + row * p.ldb + j0 + panel, sizeof(T) * kTileCols);
      } else {
        for (int64_t j = 0; j < kTileCols; ++j) {
          const int64_t col = j0 + panel + j;
          out[j] = j >= valid ? T(0) : (p.trans_b ? b[col * p.ldb + row] : b[row * p.ldb + col]);
        }
      }
      out += kTileCols;
    }
  }
}

// The micro-kernel: acc (8 x NR) += packed A panel (depth x 8) times packed B panel
// (depth x NR). Sixteen vector accumulators stay in registers.
template <typename T>
inline void tile_multiply(int64_t depth, const T* a, const T* b,
                          typename Simd<T>::Vec acc[8][2]) {
  using Vec = typename Simd<T>::Vec;
  constexpr int64_t kTileCols = Simd<T>::kTileCols;
  for (int64_t kk = 0; kk < depth; ++kk) {
    Vec b0, b1;
    std::memcpy(&b0, b + kk * kTileCols, sizeof(Vec));
    std::memcpy(&b1, b + kk * kTileCols + Simd<T>::kLanes, sizeof(Vec));
    const T* a_k = a + kk * kTileRows;
    for (int i = 0; i < 8; ++i) {
      acc[i][0] += a_k[i] * b0;
      acc[i][1] += a_k[i] * b1;
    }
  }
}

// Loads the running sums of one tile: beta * C + residual on the first depth block (C is
// never read when beta is 0), the partial sums stored in C on later blocks.
template <typename T>
void tile_load(const GemmParams<T>& p, const T* c, const T* residual, int64_t rows,
               int64_t cols, bool first_block, typename Simd<T>::Vec acc[8][2]) {
  using Vec = typename Simd<T>::Vec;
  constexpr int64_t kLanes = Simd<T>::kLanes;
  constexpr int64_t kTileCols = Simd<T>::kTileCols;
  const bool read_c = !first_block || p.beta != T(0);
  const T scale = first_block ? p.beta : T(1);
  if (rows == kTileRows && cols == kTileCols) {
    // Whole tile: the same arithmetic as below, one vector at a time.
    for (int64_t i = 0; i < kTileRows; ++i) {
      for (int64_t h = 0; h < 2; ++h) {
        Vec value = {};
        if (read_c) {
          Vec loaded;
          std::memcpy(&loaded, c + i * p.ldc + h * kLanes, sizeof(Vec));
          value = scale * loaded;
        }
        if (first_block && residual) {
          Vec skip;
          std::memcpy(&skip, residual + i * p.ld_residual + h * kLanes, sizeof(Vec));
          value += skip;
        }
        acc[i][h] = value;
      }
    }
    return;
  }
  T* flat = reinterpret_cast<T*>(acc);
  std::memset(flat, 0, sizeof(T) * kTileRows * kTileCols);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      T value = read_c ? scale * c[i * p.ldc + j] : T(0);
      if (first_block && residual) value += residual[i * p.ld_residual + j];
      flat[i * kTileCols + j] = value;
    }
  }
}

// Stores one tile; after the last depth block also applies bias, mask and ReLU.
template <typename T>
void tile_store(const GemmParams<T>& p, T* c, int64_t rows, int64_t cols, bool last_block,
                const T* bias, const T* mask, typename Simd<T>::Vec acc[8][2]) {
  using Vec = typename Simd<T>::Vec;
  constexpr int64_t kLanes = Simd<T>::kLanes;
  constexpr int64_t kTileCols = Simd<T>::kTileCols;
  if (rows == kTileRows && cols == kTileCols) {
    // Whole tile: the same arithmetic as below, one vector at a time.
    const Vec zero = {};
    for (int64_t h = 0; h < 2; ++h) {
      Vec bias_h = zero;
      if (last_block && bias) std::memcpy(&bias_h, bias + h * kLanes, sizeof(Vec));
      for (int64_t i = 0; i < kTileRows; ++i) {
        Vec value = acc[i][h];
        if (last_block) {
          if (bias) value += bias_h;
          if (mask) {
            Vec gate;
            std::memcpy(&gate, mask + i * p.ldm + h * kLanes, sizeof(Vec));
            value = gate > zero ? value : zero;
          }
          if (p.relu) value = value > zero ? value : zero;
        }
        std::memcpy(c + i * p.ldc + h * kLanes, &value, sizeof(Vec));
      }
    }
    return;
  }
  const T* flat = reinterpret_cast<const T*>(acc);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      T value = flat[i * kTileCols + j];
      if (last_block) {
        if (bias) value += bias[j];
        if (mask && !(mask[i * p.ldm + j] > T(0))) value = T(0);
        if (p.relu && !(value > T(0))) value = T(0);
      }
      c[i * p.ldc + j] = value;
    }
  }
}

// One (replica, row block, column block) task: all depth blocks of that C block in order.
template <typename T>
void gemm_block(const GemmParams<T>& p, int64_t r, int64_t i0, int64_t j0) {
  constexpr int64_t kTileCols = Simd<T>::kTileCols;
  PackBuffers<T>& buffers = thread_buffers<T>();
  const T* a = p.a + r * p.stride_a;
  const T* b = p.b + r * p.stride_b;
  T* c = p.c + r * p.stride_c;
  const T* bias = p.bias ? p.bias + r * p.stride_bias : nullptr;
  const T* mask = p.mask ? p.mask + r * p.stride_mask : nullptr;
  const T* residual = p.residual ? p.residual + r * p.stride_residual : nullptr;
  const int64_t rows = std::min(kBlockRows, p.m - i0);
  const int64_t cols = std::min(kBlockCols, p.n - j0);
  const int64_t depth_total = std::max<int64_t>(p.k, 1);

  for (int64_t k0 = 0; k0 < depth_total; k0 += kBlockDepth) {
    const int64_t depth = std::min(kBlockDepth, p.k - k0);
    const bool first = k0 == 0;
    const bool last = k0 + kBlockDepth >= depth_total;
    if (depth > 0) {
      pack_a(p, a, i0, rows, k0, depth, buffers.a);
      pack_b(p, b, k0, depth, j0, cols, buffers.b);
    }
    for (int64_t jt = 0; jt < cols; jt += kTileCols) {
      for (int64_t it = 0; it < rows; it += kTileRows) {
        const int64_t tile_rows = std::min(kTileRows, rows - it);
        const int64_t tile_cols = std::min(kTileCols, cols - jt);
        T* c_tile = c + (i0 + it) * p.ldc + j0 + jt;
        const T* residual_tile =
            residual ? residual + (i0 + it) * p.ld_residual + j0 + jt : nullptr;
        typename Simd<T>::Vec acc[8][2];
        tile_load(p, c_tile, residual_tile, tile_rows, tile_cols, first, acc);
        if (depth > 0) {
          tile_multiply(depth, buffers.a + it * depth, buffers.b + jt * depth, acc);
        }
        const T* mask_tile = mask ? mask + (i0 + it) * p.ldm + j0 + jt : nullptr;
        const T* bias_tile = bias ? bias + j0 + jt : nullptr;
        tile_store(p, c_tile, tile_rows, tile_cols, last, bias_tile, mask_tile, acc);
      }
    }
  }
}

}  // namespace

template <typename T>
void gemm(const GemmParams<T>& p) {
  if (p.batch <= 0 || p.m <= 0 || p.n <= 0) {
    return;
  }
  const int64_t row_blocks = (p.m + kBlockRows - 1) / kBlockRows;
  const int64_t col_blocks = (p.n + kBlockCols - 1) / kBlockCols;
  const int64_t tasks = p.batch * row_blocks * col_blocks;

#pragma omp parallel for schedule(static) if (tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t r = task / (row_blocks * col_blocks);
    const int64_t rest = task % (row_blocks * col_blocks);
    gemm_block(p, r, (rest / col_blocks) * kBlockRows, (rest % col_blocks) * kBlockCols);
  }
}

template <typename T>
void column_sum(int64_t replicas, int64_t m, int64_t n, const T* x, int64_t ldx,
                int64_t stride_x, T* out, int64_t stride_out, T beta) {
  constexpr int64_t kChunk = 64;
  const int64_t chunks = (n + kChunk - 1) / kChunk;

#pragma omp parallel for schedule(static) if (replicas * chunks > 1)
  for (int64_t task = 0; task < replicas * chunks; ++task) {
    const int64_t r = task / chunks;
    const int64_t j0 = (task % chunks) * kChunk;
    const int64_t width = std::min(kChunk, n - j0);
    T sum[kChunk];
    T* dst = out + r * stride_out + j0;
    for (int64_t j = 0; j < width; ++j) {
      sum[j] = beta == T(0) ? T(0) : beta * dst[j];
    }
    const T* src = x + r * stride_x + j0;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < width; ++j) {
        sum[j] += src[i * ldx + j];
      }
    }
    std::memcpy(dst, sum, sizeof(T) * width);
  }
}

template void gemm(const GemmParams<float>&);
template void gemm(const GemmParams<double>&);
template void column_sum(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, float*,
                         int64_t, float);
template void column_sum(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, double*,
                         int64_t, double);

}  // namespace glassy::cpu
