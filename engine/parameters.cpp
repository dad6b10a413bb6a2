// Named tensors in a flat parameter array.
#include "engine/parameters.h"

#include "engine/error.h"

namespace glassy {

int64_t ParameterLayout::add(const std::string& name, std::vector<int64_t> shape,
                             double init_std) {
  int64_t size = 1;
  for (int64_t extent : shape) size *= extent;
  TensorInfo info{name, std::move(shape), size_, size, init_std};
  tensors_.push_back(info);
  size_ += size;
  return info.offset;
}

const TensorInfo& ParameterLayout::find(const std::string& name) const {
  for (const TensorInfo& tensor : tensors_) {
    if (tensor.name == name) return tensor;
  }
  throw Error(fmt::format("no parameter tensor named '{}'", name));
}

}  // namespace glassy
