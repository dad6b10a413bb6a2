// Launch parameters of the replica-batched kernels, shared by the CPU and CUDA backends. The
// model kernels take the element type T: float for training and sampling, double for the
// finite-difference checks of every backward pass.
// Every kernel advances all R replicas in one call; a tensor of replica r starts at
// base + r * stride. Shape legend: R replicas, N examples, T positions, D model width,
// H heads, E head width (D = H * E), F MLP width, C output classes, P parameters.
#pragma once

#include <cstdint>

namespace glassy {

// C[r] = beta * C[r] + residual[r] + op(A[r]) * op(B[r]), then the epilogue in this order:
// add bias[r] to every row, multiply by (mask[r] > 0) elementwise, apply ReLU. The residual
// (a skip connection) may not alias C. op(X) is X or its transpose.
// A is (M, K) after op, B is (K, N) after op, C is (M, N); all row-major with the given
// leading dimensions. The sum over K runs in increasing k for every element, whatever the
// tiling or thread count, so results are bitwise reproducible.
template <typename T>
struct GemmParams {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  const T* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  bool trans_a = false;
  const T* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  bool trans_b = false;
  T* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  T beta = 0;            // 0 overwrites C (never reads it), 1 accumulates
  const T* bias = nullptr;  // (N) per replica, or null
  int64_t stride_bias = 0;
  const T* mask = nullptr;  // laid out like C (ldm, stride_mask), or null
  int64_t ldm = 0, stride_mask = 0;
  const T* residual = nullptr;  // laid out like C (ld_residual, stride_residual), or null
  int64_t ld_residual = 0, stride_residual = 0;
  bool relu = false;
};

// Causal softmax attention over a short context, all heads at once. Queries exist at the last
// tq of the t positions (tq = t, or tq = 1 for the trimmed last layer); the query at position
// (t - tq + i) attends to keys 0..(t - tq + i).
template <typename T>
struct AttentionParams {
  int64_t replicas = 1, examples = 0;
  int t = 0, tq = 0, heads = 0, head_dim = 0;
  const T* q = nullptr;  // (R, N, tq, H * E), row stride H * E
  const T* k = nullptr;  // (R, N, t, H * E)
  const T* v = nullptr;  // (R, N, t, H * E)
  T* probs = nullptr;    // (R, N, H, tq, t): forward writes, backward reads
  T* out = nullptr;      // (R, N, tq, H * E): forward writes
  const T* d_out = nullptr;  // (R, N, tq, H * E): backward reads
  T* d_q = nullptr;          // (R, N, tq, H * E): backward overwrites
  T* d_k = nullptr;          // (R, N, t, H * E): backward overwrites
  T* d_v = nullptr;          // (R, N, t, H * E): backward overwrites
};

// x[r, n, t, :] = W_E[r, tokens[n, t], :] + W_pos[r, t, :] and its backward.
template <typename T>
struct EmbeddingParams {
  int64_t replicas = 1, examples = 0;
  int t = 0, width = 0, vocab = 0;
  const int32_t* tokens = nullptr;  // (N, T), shared by all replicas
  const T* w_embed = nullptr;   // (V, D) at replica stride param_stride
  const T* w_pos = nullptr;     // (T, D) at replica stride param_stride
  T* d_w_embed = nullptr;       // (V, D): backward overwrites
  T* d_w_pos = nullptr;         // (T, D): backward overwrites
  int64_t param_stride = 0;         // P
  T* x = nullptr;               // (R, N, T, D): forward overwrites
  const T* d_x = nullptr;       // (R, N, T, D): backward reads
};

// Per-replica coefficients of the objective whose gradient the loss kernel returns:
// J = coef_loss * L + coef_log_loss * ln L + coef_smooth_acc * A_smooth, where L is the mean
// cross-entropy and A_smooth the mean of sigmoid(slope * margin) over the examples.
struct LossObjective {
  double coef_loss = 0.0;
  double coef_log_loss = 0.0;
  double coef_smooth_acc = 0.0;
};

// Per-replica results of the loss kernel.
struct LossStats {
  double loss = 0.0;          // mean cross-entropy L
  double log_loss = 0.0;      // ln L, accurate where L underflows float32
  double accuracy = 0.0;      // fraction with argmax == answer (ties count as wrong)
  double smooth_accuracy = 0.0;
  double saturated = 0.0;     // fraction whose float32 softmax gives the answer probability 1
};

template <typename T>
struct LossParams {
  int64_t replicas = 1, examples = 0;
  int classes = 0;
  double slope = 7.0;                   // s in sigmoid(s * margin)
  const T* logits = nullptr;        // (R, N, C), row stride ld_logits
  int64_t ld_logits = 0, stride_logits = 0;
  const int32_t* answers = nullptr;     // (N)
  const LossObjective* objective = nullptr;  // (R), or null for no gradient
  T* d_logits = nullptr;            // (R, N, C) like logits: overwritten when objective set
  double* example_loss = nullptr;       // (R, N) scratch
  double* example_margin = nullptr;     // (R, N) scratch
  LossStats* stats = nullptr;           // (R) overwritten
};

}  // namespace glassy

namespace glassy {

// Per-replica AdamW scalars for one step, computed on the host in double and rounded once,
// as PyTorch's AdamW does:
//   p <- p (1 - lr_t wd),   m <- m + (1 - b1) (g - m),   v <- b2 v + (1 - b2) g^2,
//   p <- p - (lr_t / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
struct AdamWScalars {
  float lr = 0.0f;           // lr_t, after warm-up
  // 1 - lr_t wd in double: float(0.999) is 1.3e-8 off, which compounds to 1.3e-5 over 1000
  // steps, so the kernel multiplies in double and rounds the product once.
  double decay = 1.0;
  float beta1 = 0.9f;
  float one_minus_beta1 = 0.1f;  // 1 - b1 rounded from double: 1.0f - 0.999f is 1.3e-5 off
  float beta2 = 0.98f;
  float one_minus_beta2 = 0.02f;
  float eps = 1e-8f;
  float step_size = 0.0f;         // lr_t / (1 - b1^t)
  float bias_correction2_sqrt = 1.0f;  // sqrt(1 - b2^t)
};

// Per-replica SGD scalars (PyTorch's SGD with coupled L2 weight decay):
//   g' = g + wd p;  buf <- mu buf + g';  p <- p - lr buf.
struct SgdScalars {
  float lr = 0.0f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;
};

// One optimizer step over all replicas; per-replica tensors are (R, P) at stride P.
struct OptimizerParams {
  int64_t replicas = 1, params = 0;
  float* weights = nullptr;        // (R, P)
  const float* grads = nullptr;    // (R, P)
  float* state1 = nullptr;         // AdamW m, SGD momentum buffer: (R, P)
  float* state2 = nullptr;         // AdamW v: (R, P)
  const AdamWScalars* adamw = nullptr;  // (R)
  const SgdScalars* sgd = nullptr;      // (R)
};

// The Langevin integrators of the samplers (docs/method.md). `paper` is the rule
//   v <- v + a dt - c_f v + sqrt(c_f (2 - c_f) kT) xi,   c <- c + v dt,
// whose positions sample kT (1 - c_f / 2). `baoab` splits the step into a kick, a half drift,
// the Ornstein-Uhlenbeck step v <- (1 - c_f) v + sqrt(c_f (2 - c_f) kT) xi, and a half drift.
// The closing half kick of one step and the opening half kick of the next use the same force,
// so they are applied together as one kick at the start of the next call.
enum class Integrator : int32_t { paper = 0, baoab = 1 };

// Per-walker force coefficients: the acceleration is a = x * grad_x + y * grad_y.
struct ForceCoefficients {
  double x = 0.0;
  double y = 0.0;
};

// One Langevin step of every walker, followed by the reflection at +-bound (position mirrored
// into the box, velocity sign flipped). The noise of element i of walker r at step `step` is
// random_normal(seeds[r], 0, noise, step, i), so a walker's path does not depend on how many
// walkers run beside it.
struct LangevinParams {
  int64_t replicas = 1, params = 0;
  Integrator integrator = Integrator::baoab;
  float* weights = nullptr;          // (R, P) updated in place
  float* velocity = nullptr;         // (R, P) updated in place
  const float* grad_x = nullptr;     // (R, P)
  const float* grad_y = nullptr;     // (R, P), or null in 1-D
  const ForceCoefficients* force = nullptr;  // (R)
  const float* bound = nullptr;      // (P) positive reflective bounds, or null for none
  const uint64_t* seeds = nullptr;   // (R)
  double dt = 1e-3;
  double friction = 0.1;             // c_f in (0, 1]
  double kt = 1.0;
  // BAOAB only: the kick is kick_scale * dt * a. 1 on every step but the first, which has no
  // pending closing half kick and uses 0.5.
  double kick_scale = 1.0;
  uint64_t step = 0;                 // noise counter; the caller's global step index
};

// One axis of a Wang-Landau grid: bin i covers [lo + i width, lo + (i + 1) width), and a value
// v falls in bin floor((v - lo) / width), computed this one way everywhere.
struct GridAxis {
  double lo = 0.0;
  double width = 1.0;
  int64_t bins = 1;
};

// Flags of a lookup, per walker: which side of which axis the value fell outside, or that it
// was not a number. A flagged value is clamped to the nearest edge bin (NaN to bin 0).
enum GridRangeFlag : int32_t {
  kGridXLow = 1,
  kGridXHigh = 2,
  kGridYLow = 4,
  kGridYHigh = 8,
  kGridNotANumber = 16,
};

// The Wang-Landau grid kernels. Grids are (G, NX, NY) doubles, row-major with y fastest; the
// walker r reads and writes grid r * grid_stride, so grid_stride = NX * NY gives every walker
// its own grid and grid_stride = 0 makes all walkers share grid 0. In 1-D, NY = 1.
struct WangLandauParams {
  int64_t walkers = 1;
  GridAxis x_axis, y_axis;
  double* grids = nullptr;           // (G, NX, NY)
  int64_t grid_stride = 0;
  int64_t* histogram = nullptr;      // (NX, NY), one for all walkers
  const double* x = nullptr;         // (R) first observable
  const double* y = nullptr;         // (R) second observable, or null in 1-D
  double y_scale = 1.0;              // the y axis is in units of y_scale * y
  int64_t* bin = nullptr;            // (R) lookup writes ix * NY + iy; deposit reads
  int32_t* flags = nullptr;          // (R) lookup writes GridRangeFlag bits
  // Lookup writes the coefficients of the force -grad S: -dS/dx and -y_scale dS/d(y_scale y),
  // by central differences at the bin, one-sided at the first and last bin of an axis, 0
  // along an axis with one bin.
  ForceCoefficients* force = nullptr;  // (R)
  // Deposit stencils, normalized so that the full 2-D stencil sums to 1: the weight at offset
  // (i, j) is stencil_x[i + radius_x] * stencil_y[j + radius_y]; the part that falls outside
  // the grid is dropped.
  const double* stencil_x = nullptr;   // (2 radius_x + 1)
  int radius_x = 0;
  const double* stencil_y = nullptr;   // (2 radius_y + 1), or null in 1-D
  int radius_y = 0;
  double amount = 0.0;                 // f_WL of this step
};

}  // namespace glassy
