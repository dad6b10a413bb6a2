// The layout of one replica's parameters: named tensors at fixed offsets in one flat float
// array of P values. A replica-batched parameter buffer is (R, P): replica r's tensor
// `name` starts at r * P + offset(name).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glassy {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;
  int64_t size = 0;
  double init_std = 0.0;  // standard deviation of the normal initialization; 0 for zeros
};

class ParameterLayout {
public:
  // Appends a tensor and returns its offset.
  int64_t add(const std::string& name, std::vector<int64_t> shape, double init_std);
  // Returns the tensor called name; throws glassy::Error when there is none.
  const TensorInfo& find(const std::string& name) const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  int64_t size() const { return size_; }

private:
  std::vector<TensorInfo> tensors_;
  int64_t size_ = 0;
};

}  // namespace glassy
