// The reference transformer: decoder-only, no LayerNorm, learned token and position
// embeddings, causal multi-head attention without biases, a ReLU MLP with biases, and an
// unembedding without bias read at the last position (Nanda et al. 2023, "Progress measures
// for grokking via mechanistic interpretability"). Forward and backward are written out; there
// is no autograd.
//
// Shape legend: R replicas, N examples, T positions, D model width, H heads, E head width,
// F MLP width, V vocabulary, C output classes, P parameters per replica.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/buffer.h"
#include "engine/parameters.h"

namespace glassy {

struct TransformerConfig {
  int vocab = 0;      // V
  int context = 3;    // T
  int classes = 0;    // C
  int d_model = 128;  // D
  int heads = 4;      // H
  int d_mlp = 512;    // F
  int layers = 1;
  // Compute only what reaches the loss in the last layer: K and V at every position; Q, the
  // attention output, the MLP and the unembedding at the last position. Exact.
  bool trim_last_layer = true;

  int head_dim() const { return d_model / heads; }
};

// Checks a configuration and throws UsageError naming the bad value.
void transformer_validate(const TransformerConfig& config);

// The tensors of one replica, in buffer order: embed.W_E (V, D), embed.W_pos (T, D); for each
// layer l: layerl.W_Q, layerl.W_K, layerl.W_V (D, H E), layerl.W_O (H E, D), layerl.W_in
// (D, F), layerl.b_in (F), layerl.W_out (F, D), layerl.b_out (D); unembed.W_U (D, C).
// Weights are N(0, 1 / D) except W_U, which is N(0, 1 / V); biases start at 0.
ParameterLayout transformer_layout(const TransformerConfig& config);

// Multiply-adds of one forward and one backward pass over n examples, times 2 (FLOPs).
double transformer_step_flops(const TransformerConfig& config, int64_t examples);

// T is T for training and sampling, double for the finite-difference checks.
template <typename T>
class Transformer {
public:
  Transformer(Backend& backend, const TransformerConfig& config, int64_t replicas,
              int64_t max_examples);

  const TransformerConfig& config() const { return config_; }
  const ParameterLayout& layout() const { return layout_; }
  int64_t replicas() const { return replicas_; }

  // Draws every replica's initial weights (R, P) from Philox keyed on its own seed, so a
  // replica's initialization does not depend on its index or on the replica count.
  void initialize(Buffer<T>& weights, const std::vector<uint64_t>& seeds) const;

  // Runs the forward pass over examples (N, T) tokens and keeps the activations for
  // backward. Returns the logits (R, N, C), valid until the next forward.
  const T* forward(const T* weights, const int32_t* tokens, int64_t examples);

  // Overwrites grads (R, P) with the gradient of the objective whose logit gradient is
  // d_logits (R, N, C), using the activations of the last forward.
  void backward(const T* weights, const T* d_logits, T* grads);

  // Bytes of activation and scratch memory this model holds.
  std::size_t activation_bytes() const;
  // The same, before constructing a model, for a memory check.
  static std::size_t activation_bytes(const TransformerConfig& config, int64_t replicas,
                                      int64_t max_examples);

private:
  struct LayerOffsets {
    int64_t w_q, w_k, w_v, w_o, w_in, b_in, w_out, b_out;
  };
  struct LayerActivations {
    Buffer<T> q, k, v, probs, attended, mid, hidden;
  };

  int queries(int layer) const;
  AttentionParams<T> attention_params(int layer);
  EmbeddingParams<T> embedding_params() const;
  void layer_forward(int layer, const T* weights);
  void mlp_forward(int layer, const T* weights);
  void layer_backward(int layer, const T* weights, T* grads, const T* d_out, T* d_in);
  void mlp_backward(int layer, const T* weights, T* grads, const T* d_out);

  Backend& backend_;
  TransformerConfig config_;
  ParameterLayout layout_;
  int64_t replicas_;
  int64_t max_examples_;
  int64_t examples_ = 0;
  const int32_t* tokens_ = nullptr;

  int64_t w_embed_, w_pos_, w_unembed_;
  std::vector<LayerOffsets> offsets_;
  std::vector<Buffer<T>> residual_;  // layers + 1 buffers (R, N, T, D)
  std::vector<LayerActivations> activations_;
  Buffer<T> logits_;  // (R, N, C)
  Buffer<T> d_residual_a_, d_residual_b_, d_mid_, d_hidden_, d_attended_, d_q_, d_k_, d_v_;
};

}  // namespace glassy
