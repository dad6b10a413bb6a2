// The transformer-on-a-task system.
#include "models/task_system.h"

#include <algorithm>

namespace glassy {
namespace {

template <typename T>
Buffer<T> upload(Backend& backend, const std::vector<T>& host) {
  Buffer<T> buffer(backend, host.size());
  buffer.upload(host);
  return buffer;
}

}  // namespace

TaskSystem::TaskSystem(Backend& backend, const TransformerConfig& config, const Split& split,
                       int64_t replicas, double slope)
    : backend_(backend),
      replicas_(replicas),
      slope_(slope),
      train_{split.train.size(), upload(backend, split.train.tokens),
             upload(backend, split.train.answers)},
      test_{split.test.size(), upload(backend, split.test.tokens),
            upload(backend, split.test.answers)},
      model_(backend, config, replicas, std::max(split.train.size(), split.test.size())) {
  const int64_t max_examples = std::max(train_.size, test_.size);
  d_logits_ = Buffer<float>(backend_, replicas_ * max_examples * config.classes);
  example_loss_ = Buffer<double>(backend_, replicas_ * max_examples);
  example_margin_ = Buffer<double>(backend_, replicas_ * max_examples);
  objectives_ = Buffer<LossObjective>(backend_, replicas_);
  stats_ = Buffer<LossStats>(backend_, replicas_);
}

std::size_t TaskSystem::memory_bytes(const TransformerConfig& config, const Split& split,
                                     int64_t replicas) {
  const int64_t max_examples = std::max(split.train.size(), split.test.size());
  const double examples = double(replicas) * double(max_examples);
  const double loss_scratch = examples * (config.classes * sizeof(float) + 2 * sizeof(double));
  const double data = double(split.train.size() + split.test.size()) * 4 * sizeof(int32_t);
  return Transformer<float>::activation_bytes(config, replicas, max_examples) +
         std::size_t(loss_scratch + data);
}

void TaskSystem::initialize(Buffer<float>& weights, const std::vector<uint64_t>& seeds) {
  model_.initialize(weights, seeds);
}

void TaskSystem::evaluate(DataSplit split, const float* weights,
                          const std::vector<LossObjective>* objectives, float* gradient,
                          std::vector<LossStats>& stats) {
  const DeviceSet& set = split == DataSplit::train ? train_ : test_;
  const int64_t classes = model_.config().classes;
  logits_ = model_.forward(weights, set.tokens.data(), set.size);

  LossParams<float> loss;
  loss.replicas = replicas_;
  loss.examples = set.size;
  loss.classes = int(classes);
  loss.slope = slope_;
  loss.logits = logits_;
  loss.ld_logits = classes;
  loss.stride_logits = set.size * classes;
  loss.answers = set.answers.data();
  loss.d_logits = d_logits_.data();
  loss.example_loss = example_loss_.data();
  loss.example_margin = example_margin_.data();
  loss.stats = stats_.data();
  if (objectives) {
    GLASSY_CHECK(gradient != nullptr, "objectives given without a gradient buffer");
    objectives_.upload(*objectives);
    loss.objective = objectives_.data();
  }
  backend_.cross_entropy(loss);
  stats = stats_.download();
  if (objectives) {
    model_.backward(weights, d_logits_.data(), gradient);
  }
}

double TaskSystem::gradient_flops(DataSplit split) const {
  const int64_t examples = split == DataSplit::train ? train_.size : test_.size;
  return transformer_step_flops(model_.config(), examples) * double(replicas_);
}

}  // namespace glassy
