// Forward and backward of the reference transformer over all replicas at once. Activations
// are (R, N, rows, width) with replica stride N * rows * width; weights are slices of the
// (R, P) parameter buffer with replica stride P. Every matrix product is one batched GEMM.
//
// Per layer, with x the residual stream entering it (R, N, T, D) and queries at the last tq
// positions (tq = T, or 1 in a trimmed last layer):
//   q = x_q W_Q,  k = x W_K,  v = x W_V,  a = attention(q, k, v)
//   mid = x_q + a W_O,  hidden = relu(mid W_in + b_in),  out = mid + hidden W_out + b_out
// and logits = out_last W_U after the last layer.
#include "models/transformer.h"

#include <cmath>

#include "kernels/philox.h"

namespace glassy {
namespace {

// A matrix operand: replica r's matrix starts at data + r * stride, rows ld floats apart.
template <typename T>
struct MatrixView {
  const T* data;
  int64_t ld;
  int64_t stride;
};

// Builds C = op(A) op(B) for all replicas; callers add epilogues to the returned params.
template <typename T>
GemmParams<T> matmul(int64_t replicas, int64_t m, int64_t n, int64_t k, MatrixView<T> a,
                     bool trans_a, MatrixView<T> b, bool trans_b, T* c, int64_t ldc,
                     int64_t stride_c) {
  GemmParams<T> p;
  p.batch = replicas;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = a.data;
  p.lda = a.ld;
  p.stride_a = a.stride;
  p.trans_a = trans_a;
  p.b = b.data;
  p.ldb = b.ld;
  p.stride_b = b.stride;
  p.trans_b = trans_b;
  p.c = c;
  p.ldc = ldc;
  p.stride_c = stride_c;
  return p;
}

}  // namespace

void transformer_validate(const TransformerConfig& c) {
  GLASSY_REQUIRE(c.vocab >= 2, "the vocabulary must have at least 2 tokens, got {}", c.vocab);
  GLASSY_REQUIRE(c.context >= 1 && c.context <= 64, "the context must be in [1, 64], got {}",
                 c.context);
  GLASSY_REQUIRE(c.classes >= 2, "the number of output classes must be at least 2, got {}",
                 c.classes);
  GLASSY_REQUIRE(c.d_model >= 1, "--d-model must be at least 1, got {}", c.d_model);
  GLASSY_REQUIRE(c.heads >= 1 && c.d_model % c.heads == 0,
                 "--heads must divide --d-model = {}, got {}; choose a divisor such as {}",
                 c.d_model, c.heads, c.d_model >= 4 && c.d_model % 4 == 0 ? 4 : 1);
  GLASSY_REQUIRE(c.d_mlp >= 1, "--d-mlp must be at least 1, got {}", c.d_mlp);
  GLASSY_REQUIRE(c.layers >= 1 && c.layers <= 64, "--layers must be in [1, 64], got {}",
                 c.layers);
}

ParameterLayout transformer_layout(const TransformerConfig& c) {
  const int64_t d = c.d_model, width = int64_t(c.heads) * c.head_dim();
  const double weight_std = 1.0 / std::sqrt(double(d));
  ParameterLayout layout;
  layout.add("embed.W_E", {c.vocab, d}, weight_std);
  layout.add("embed.W_pos", {c.context, d}, weight_std);
  for (int l = 0; l < c.layers; ++l) {
    const std::string prefix = fmt::format("layer{}.", l);
    layout.add(prefix + "W_Q", {d, width}, weight_std);
    layout.add(prefix + "W_K", {d, width}, weight_std);
    layout.add(prefix + "W_V", {d, width}, weight_std);
    layout.add(prefix + "W_O", {width, d}, weight_std);
    layout.add(prefix + "W_in", {d, c.d_mlp}, weight_std);
    layout.add(prefix + "b_in", {c.d_mlp}, 0.0);
    layout.add(prefix + "W_out", {c.d_mlp, d}, weight_std);
    layout.add(prefix + "b_out", {d}, 0.0);
  }
  layout.add("unembed.W_U", {d, c.classes}, 1.0 / std::sqrt(double(c.vocab)));
  return layout;
}

double transformer_step_flops(const TransformerConfig& c, int64_t examples) {
  const double d = c.d_model, f = c.d_mlp, t = c.context, width = c.heads * c.head_dim();
  double forward = 0.0;
  for (int l = 0; l < c.layers; ++l) {
    const bool trimmed = c.trim_last_layer && l == c.layers - 1;
    const double tq = trimmed ? 1.0 : t;
    forward += 2.0 * t * d * width;            // K and V
    forward += tq * d * width;                 // Q
    forward += tq * width * d;                 // W_O
    forward += 2.0 * tq * d * f;               // MLP
    forward += 2.0 * tq * t * width;           // scores and weighted values
  }
  forward += d * c.classes;
  // A backward pass costs two products per forward product (input and weight gradients).
  return 2.0 * 3.0 * forward * double(examples);
}

template <typename T>
Transformer<T>::Transformer(Backend& backend, const TransformerConfig& config, int64_t replicas,
                         int64_t max_examples)
    : backend_(backend),
      config_(config),
      layout_(transformer_layout(config)),
      replicas_(replicas),
      max_examples_(max_examples) {
  transformer_validate(config_);
  w_embed_ = layout_.find("embed.W_E").offset;
  w_pos_ = layout_.find("embed.W_pos").offset;
  w_unembed_ = layout_.find("unembed.W_U").offset;
  for (int l = 0; l < config_.layers; ++l) {
    const std::string prefix = fmt::format("layer{}.", l);
    auto at = [&](const char* name) { return layout_.find(prefix + name).offset; };
    offsets_.push_back({at("W_Q"), at("W_K"), at("W_V"), at("W_O"), at("W_in"), at("b_in"),
                        at("W_out"), at("b_out")});
  }

  // Full-context buffers even for a trimmed layer, so any layer can use any buffer.
  const int64_t rows = replicas_ * max_examples_ * config_.context;
  const int64_t d = config_.d_model, f = config_.d_mlp;
  const int64_t width = int64_t(config_.heads) * config_.head_dim();
  for (int l = 0; l <= config_.layers; ++l) residual_.emplace_back(backend_, rows * d);
  for (int l = 0; l < config_.layers; ++l) {
    activations_.push_back({Buffer<T>(backend_, rows * width),
                            Buffer<T>(backend_, rows * width),
                            Buffer<T>(backend_, rows * width),
                            Buffer<T>(backend_, rows * config_.heads * config_.context),
                            Buffer<T>(backend_, rows * width),
                            Buffer<T>(backend_, rows * d),
                            Buffer<T>(backend_, rows * f)});
  }
  logits_ = Buffer<T>(backend_, replicas_ * max_examples_ * config_.classes);
  d_residual_a_ = Buffer<T>(backend_, rows * d);
  d_residual_b_ = Buffer<T>(backend_, rows * d);
  d_mid_ = Buffer<T>(backend_, rows * d);
  d_hidden_ = Buffer<T>(backend_, rows * f);
  d_attended_ = Buffer<T>(backend_, rows * width);
  d_q_ = Buffer<T>(backend_, rows * width);
  d_k_ = Buffer<T>(backend_, rows * width);
  d_v_ = Buffer<T>(backend_, rows * width);
}

template <typename T>
std::size_t Transformer<T>::activation_bytes(const TransformerConfig& c, int64_t replicas,
                                             int64_t max_examples) {
  // The buffers of the constructor: residual streams, per-layer activations, logits and the
  // backward scratch.
  const double rows = double(replicas) * double(max_examples) * c.context;
  const double width = double(c.heads) * c.head_dim();
  const double per_layer = rows * (4.0 * width + c.heads * c.context + c.d_model + c.d_mlp);
  const double scratch = rows * (3.0 * c.d_model + c.d_mlp + 4.0 * width);
  const double logits = double(replicas) * double(max_examples) * c.classes;
  const double elements =
      (c.layers + 1) * rows * c.d_model + c.layers * per_layer + logits + scratch;
  return std::size_t(elements * sizeof(T));
}

template <typename T>
std::size_t Transformer<T>::activation_bytes() const {
  std::size_t total = logits_.bytes() + d_residual_a_.bytes() + d_residual_b_.bytes() +
                      d_mid_.bytes() + d_hidden_.bytes() + d_attended_.bytes() +
                      d_q_.bytes() + d_k_.bytes() + d_v_.bytes();
  for (const auto& buffer : residual_) total += buffer.bytes();
  for (const auto& a : activations_) {
    total += a.q.bytes() + a.k.bytes() + a.v.bytes() + a.probs.bytes() + a.attended.bytes() +
             a.mid.bytes() + a.hidden.bytes();
  }
  return total;
}

template <typename T>
void Transformer<T>::initialize(Buffer<T>& weights, const std::vector<uint64_t>& seeds) const {
  GLASSY_CHECK(int64_t(seeds.size()) == replicas_, "{} seeds for {} replicas", seeds.size(),
               replicas_);
  const int64_t p = layout_.size();
  // Drawn as float for both element types, so a double model starts from the same weights.
  std::vector<float> drawn(replicas_ * p, 0.0f);
  for (int64_t r = 0; r < replicas_; ++r) {
    for (const TensorInfo& tensor : layout_.tensors()) {
      if (tensor.init_std == 0.0) continue;
      random_normal_fill(drawn.data() + r * p + tensor.offset, tensor.size, seeds[r], 0,
                         RandomPurpose::init, uint64_t(tensor.offset), tensor.init_std);
    }
  }
  weights.upload(std::vector<T>(drawn.begin(), drawn.end()));
}

// The embedding arguments that forward and backward share: shapes and tokens.
template <typename T>
EmbeddingParams<T> Transformer<T>::embedding_params() const {
  EmbeddingParams<T> embed;
  embed.replicas = replicas_;
  embed.examples = examples_;
  embed.t = config_.context;
  embed.width = config_.d_model;
  embed.vocab = config_.vocab;
  embed.tokens = tokens_;
  embed.param_stride = layout_.size();
  return embed;
}

// The attention arguments that forward and backward share: shapes, q, k, v and probs.
template <typename T>
AttentionParams<T> Transformer<T>::attention_params(int layer) {
  LayerActivations& act = activations_[layer];
  AttentionParams<T> attention;
  attention.replicas = replicas_;
  attention.examples = examples_;
  attention.t = config_.context;
  attention.tq = queries(layer);
  attention.heads = config_.heads;
  attention.head_dim = config_.head_dim();
  attention.q = act.q.data();
  attention.k = act.k.data();
  attention.v = act.v.data();
  attention.probs = act.probs.data();
  return attention;
}

template <typename T>
int Transformer<T>::queries(int layer) const {
  const bool trimmed = config_.trim_last_layer && layer == config_.layers - 1;
  return trimmed ? 1 : config_.context;
}

template <typename T>
const T* Transformer<T>::forward(const T* weights, const int32_t* tokens,
                                  int64_t examples) {
  GLASSY_CHECK(examples >= 1 && examples <= max_examples_,
               "forward over {} examples, the model holds buffers for 1..{}", examples,
               max_examples_);
  examples_ = examples;
  tokens_ = tokens;
  const int64_t p = layout_.size(), d = config_.d_model;

  EmbeddingParams<T> embed = embedding_params();
  embed.w_embed = weights + w_embed_;
  embed.w_pos = weights + w_pos_;
  embed.x = residual_[0].data();
  backend_.embedding_forward(embed);

  for (int l = 0; l < config_.layers; ++l) layer_forward(l, weights);

  // logits = out_last W_U; the last layer's output has tq rows per example.
  const int tq = queries(config_.layers - 1);
  const T* last = residual_[config_.layers].data() + (tq - 1) * d;
  const MatrixView<T> x_last{last, tq * d, examples * tq * d};
  const MatrixView<T> w_u{weights + w_unembed_, config_.classes, p};
  backend_.gemm(matmul(replicas_, examples, config_.classes, d, x_last, false, w_u, false,
                       logits_.data(), config_.classes, examples * config_.classes));
  return logits_.data();
}

template <typename T>
void Transformer<T>::layer_forward(int l, const T* weights) {
  const int64_t p = layout_.size(), n = examples_, t = config_.context, d = config_.d_model;
  const int64_t width = int64_t(config_.heads) * config_.head_dim();
  const int tq = queries(l);
  const LayerOffsets& w = offsets_[l];
  LayerActivations& act = activations_[l];
  const T* x = residual_[l].data();
  // Query rows of x: every row, or the last position of each example.
  const MatrixView<T> x_all{x, d, n * t * d};
  const MatrixView<T> x_q{x + (t - tq) * d, tq == t ? d : t * d, n * t * d};
  const int64_t rows_q = n * tq;

  // Projections: q at the query rows, k and v at every row.
  backend_.gemm(matmul(replicas_, rows_q, width, d, x_q, false, {weights + w.w_q, width, p},
                       false, act.q.data(), width, rows_q * width));
  backend_.gemm(matmul(replicas_, n * t, width, d, x_all, false, {weights + w.w_k, width, p},
                       false, act.k.data(), width, n * t * width));
  backend_.gemm(matmul(replicas_, n * t, width, d, x_all, false, {weights + w.w_v, width, p},
                       false, act.v.data(), width, n * t * width));

  AttentionParams<T> attention = attention_params(l);
  attention.out = act.attended.data();
  backend_.attention_forward(attention);

  // mid = x_q + attended W_O
  GemmParams<T> mid = matmul(replicas_, rows_q, d, width, {act.attended.data(), width,
                          rows_q * width}, false, {weights + w.w_o, d, p}, false,
                          act.mid.data(), d, rows_q * d);
  mid.residual = x_q.data;
  mid.ld_residual = x_q.ld;
  mid.stride_residual = x_q.stride;
  backend_.gemm(mid);
  mlp_forward(l, weights);
}

// The MLP block: reads mid (R, N, tq, D), writes hidden and the layer's output.
template <typename T>
void Transformer<T>::mlp_forward(int l, const T* weights) {
  const int64_t p = layout_.size(), d = config_.d_model, f = config_.d_mlp;
  const int64_t rows_q = examples_ * queries(l);
  const LayerOffsets& w = offsets_[l];
  LayerActivations& act = activations_[l];

  // hidden = relu(mid W_in + b_in)
  GemmParams<T> hidden = matmul(replicas_, rows_q, f, d, {act.mid.data(), d, rows_q * d}, false,
                             {weights + w.w_in, f, p}, false, act.hidden.data(), f,
                             rows_q * f);
  hidden.bias = weights + w.b_in;
  hidden.stride_bias = p;
  hidden.relu = true;
  backend_.gemm(hidden);

  // out = mid + hidden W_out + b_out
  GemmParams<T> out = matmul(replicas_, rows_q, d, f, {act.hidden.data(), f, rows_q * f}, false,
                          {weights + w.w_out, d, p}, false, residual_[l + 1].data(), d,
                          rows_q * d);
  out.bias = weights + w.b_out;
  out.stride_bias = p;
  out.residual = act.mid.data();
  out.ld_residual = d;
  out.stride_residual = rows_q * d;
  backend_.gemm(out);
}

template <typename T>
void Transformer<T>::backward(const T* weights, const T* d_logits, T* grads) {
  GLASSY_CHECK(examples_ > 0, "backward called before forward");
  const int64_t p = layout_.size(), n = examples_, d = config_.d_model;
  const int64_t classes = config_.classes;
  const int tq = queries(config_.layers - 1);

  // dW_U = out_last^T d_logits and d_out_last = d_logits W_U^T. In an untrimmed last layer
  // only the last position of each example receives a gradient; the others are zero.
  const T* last = residual_[config_.layers].data() + (tq - 1) * d;
  const MatrixView<T> x_last{last, tq * d, n * tq * d};
  const MatrixView<T> dz{d_logits, classes, n * classes};
  backend_.gemm(matmul(replicas_, d, classes, n, x_last, true, dz, false, grads + w_unembed_,
                       classes, p));
  T* d_out = d_residual_a_.data();
  T* d_in = d_residual_b_.data();
  if (tq > 1) backend_.fill_zero(d_out, sizeof(T) * replicas_ * n * tq * d);
  backend_.gemm(matmul(replicas_, n, d, classes, dz, false, {weights + w_unembed_, classes, p},
                       true, d_out + (tq - 1) * d, tq * d, n * tq * d));

  for (int l = config_.layers - 1; l >= 0; --l) {
    layer_backward(l, weights, grads, d_out, d_in);
    std::swap(d_out, d_in);
  }

  EmbeddingParams<T> embed = embedding_params();
  embed.d_w_embed = grads + w_embed_;
  embed.d_w_pos = grads + w_pos_;
  embed.d_x = d_out;
  backend_.embedding_backward(embed);
}

// Backward of the MLP block: reads d_out (R, N, tq, D), overwrites d_mid_ and the MLP's
// parameter gradients.
template <typename T>
void Transformer<T>::mlp_backward(int l, const T* weights, T* grads, const T* d_out) {
  const int64_t p = layout_.size(), d = config_.d_model, f = config_.d_mlp;
  const int64_t rows_q = examples_ * queries(l);
  const LayerOffsets& w = offsets_[l];
  LayerActivations& act = activations_[l];
  const MatrixView<T> d_out_view{d_out, d, rows_q * d};
  const MatrixView<T> hidden{act.hidden.data(), f, rows_q * f};
  const MatrixView<T> d_hidden{d_hidden_.data(), f, rows_q * f};

  // MLP: d b_out, d W_out, then d hidden masked by the ReLU.
  backend_.column_sum(replicas_, rows_q, d, d_out, d, rows_q * d, grads + w.b_out, p, T(0));
  backend_.gemm(matmul(replicas_, f, d, rows_q, hidden, true, d_out_view, false,
                       grads + w.w_out, d, p));
  GemmParams<T> back_hidden = matmul(replicas_, rows_q, f, d, d_out_view, false,
                                  {weights + w.w_out, d, p}, true, d_hidden_.data(), f,
                                  rows_q * f);
  back_hidden.mask = act.hidden.data();
  back_hidden.ldm = f;
  back_hidden.stride_mask = rows_q * f;
  backend_.gemm(back_hidden);

  // d b_in, d W_in, and d mid = d_out + d hidden W_in^T (the skip connection).
  backend_.column_sum(replicas_, rows_q, f, d_hidden_.data(), f, rows_q * f, grads + w.b_in, p,
                      T(0));
  backend_.gemm(matmul(replicas_, d, f, rows_q, {act.mid.data(), d, rows_q * d}, true,
                       d_hidden, false, grads + w.w_in, f, p));
  GemmParams<T> back_mid = matmul(replicas_, rows_q, d, f, d_hidden, false,
                               {weights + w.w_in, f, p}, true, d_mid_.data(), d, rows_q * d);
  back_mid.residual = d_out;
  back_mid.ld_residual = d;
  back_mid.stride_residual = rows_q * d;
  backend_.gemm(back_mid);
}

// Backward of one layer: reads d_out (R, N, tq, D), overwrites d_in (R, N, T, D) and this
// layer's parameter gradients.
template <typename T>
void Transformer<T>::layer_backward(int l, const T* weights, T* grads, const T* d_out,
                                    T* d_in) {
  mlp_backward(l, weights, grads, d_out);

  const int64_t p = layout_.size(), n = examples_, t = config_.context, d = config_.d_model;
  const int64_t width = int64_t(config_.heads) * config_.head_dim();
  const int tq = queries(l);
  const int64_t rows_q = n * tq;
  const LayerOffsets& w = offsets_[l];
  LayerActivations& act = activations_[l];
  const T* x = residual_[l].data();
  const MatrixView<T> x_all{x, d, n * t * d};
  const MatrixView<T> x_q{x + (t - tq) * d, tq == t ? d : t * d, n * t * d};
  const MatrixView<T> d_mid{d_mid_.data(), d, rows_q * d};

  // Attention output projection.
  backend_.gemm(matmul(replicas_, width, d, rows_q, {act.attended.data(), width,
                       rows_q * width}, true, d_mid, false, grads + w.w_o, d, p));
  backend_.gemm(matmul(replicas_, rows_q, width, d, d_mid, false, {weights + w.w_o, d, p}, true,
                       d_attended_.data(), width, rows_q * width));

  AttentionParams<T> attention = attention_params(l);
  attention.d_out = d_attended_.data();
  attention.d_q = d_q_.data();
  attention.d_k = d_k_.data();
  attention.d_v = d_v_.data();
  backend_.attention_backward(attention);

  // Projection weights: d W_Q from the query rows, d W_K and d W_V from every row.
  const MatrixView<T> d_q{d_q_.data(), width, rows_q * width};
  const MatrixView<T> d_k{d_k_.data(), width, n * t * width};
  const MatrixView<T> d_v{d_v_.data(), width, n * t * width};
  backend_.gemm(matmul(replicas_, d, width, rows_q, x_q, true, d_q, false, grads + w.w_q,
                       width, p));
  backend_.gemm(matmul(replicas_, d, width, n * t, x_all, true, d_k, false, grads + w.w_k,
                       width, p));
  backend_.gemm(matmul(replicas_, d, width, n * t, x_all, true, d_v, false, grads + w.w_v,
                       width, p));

  // d x = d k W_K^T + d v W_V^T at every row, plus d q W_Q^T + d mid at the query rows.
  backend_.gemm(matmul(replicas_, n * t, d, width, d_k, false, {weights + w.w_k, width, p},
                       true, d_in, d, n * t * d));
  GemmParams<T> add_v = matmul(replicas_, n * t, d, width, d_v, false, {weights + w.w_v, width, p},
                            true, d_in, d, n * t * d);
  add_v.beta = T(1);
  backend_.gemm(add_v);
  GemmParams<T> add_q = matmul(replicas_, rows_q, d, width, d_q, false, {weights + w.w_q, width, p},
                            true, d_in + (t - tq) * d, x_q.ld, n * t * d);
  add_q.beta = T(1);
  add_q.residual = d_mid_.data();
  add_q.ld_residual = d;
  add_q.stride_residual = rows_q * d;
  backend_.gemm(add_q);
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace glassy
