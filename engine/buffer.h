// Typed owning buffers in a backend's memory.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "engine/backend.h"
#include "engine/error.h"

namespace glassy {

// An array of T in backend memory, released with the buffer. Move-only.
template <typename T>
class Buffer {
public:
  Buffer() = default;
  Buffer(Backend& backend, std::size_t size) : backend_(&backend), size_(size) {
    if (size_ > 0) {
      data_ = static_cast<T*>(backend.allocate(size_ * sizeof(T)));
      backend.fill_zero(data_, size_ * sizeof(T));
    }
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~Buffer() {
    if (data_) backend_->release(data_);
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

  void upload(const std::vector<T>& host) {
    GLASSY_CHECK(host.size() == size_, "upload of {} elements into a buffer of {}",
                 host.size(), size_);
    if (size_ > 0) backend_->copy_from_host(data_, host.data(), bytes());
  }
  std::vector<T> download() const {
    std::vector<T> host(size_);
    if (size_ > 0) backend_->copy_to_host(host.data(), data_, bytes());
    return host;
  }
  void zero() {
    if (size_ > 0) backend_->fill_zero(data_, bytes());
  }

private:
  void swap(Buffer& other) noexcept {
    std::swap(backend_, other.backend_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

  Backend* backend_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace glassy
