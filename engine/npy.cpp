// Writing and reading NumPy .npy files. A file is the magic "\x93NUMPY", a major and a minor
// version byte, the header length (2 bytes little endian in version 1.0, 4 bytes in 2.0 and
// 3.0), and a Python dict literal such as {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } padded with spaces and a final '\n' so the data starts on a 64-byte
// boundary. The raw elements follow.
#include "engine/npy.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include <fcntl.h>
#include <unistd.h>

namespace glassy {
namespace {

static_assert(std::endian::native == std::endian::little,
              "npy files are written from memory as little endian");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kHeaderAlignment = 64;

// Returns the product of the dimensions, rejecting negative ones and overflow.
int64_t element_count(const std::string& path, std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    GLASSY_CHECK(dim >= 0, "{}: array dimension {} is negative", path, dim);
    GLASSY_CHECK(dim == 0 || count <= std::numeric_limits<int64_t>::max() / dim,
                 "{}: the array shape has more than 2^63 elements", path);
    count *= dim;
  }
  return count;
}

// Spells a shape as Python spells a tuple: (), (5,), (2, 3).
std::string shape_tuple(std::span<const int64_t> shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += i > 0 ? ", " : "";
    text += std::to_string(shape[i]);
  }
  text += shape.size() == 1 ? ",)" : ")";
  return text;
}

// Builds magic, version 1.0, header length and the padded header dict.
std::string file_preamble(const std::string& path, std::string_view dtype,
                          std::span<const int64_t> shape) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   dtype, shape_tuple(shape));
  const size_t prefix_size = kMagicSize + 2 + 2;
  const size_t unpadded = prefix_size + header.size() + 1;  // + 1 for the final '\n'
  const size_t padding = (kHeaderAlignment - unpadded % kHeaderAlignment) % kHeaderAlignment;
  header.append(padding, ' ');
  header += '\n';
  GLASSY_CHECK(header.size() <= 0xFFFF,
               "{}: the .npy 1.0 header of {} bytes exceeds 65535; the array rank {} is too high",
               path, header.size(), shape.size());

  std::string preamble(kMagic, kMagicSize);
  preamble += '\x01';
  preamble += '\x00';
  preamble += static_cast<char>(header.size() & 0xFF);
  preamble += static_cast<char>(header.size() >> 8);
  preamble += header;
  return preamble;
}

[[noreturn]] void throw_io_error(const std::string& action, const std::string& path, int error) {
  throw Error(fmt::format("failed to {} {}: {}", action, path, std::strerror(error)));
}

void write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_io_error("write", path, errno);
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
}

// Syncs the directory that contains `path`, so that a rename into it survives a crash.
void sync_parent_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string directory = parent.empty() ? std::string(".") : parent.string();
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw_io_error("open the directory", directory, errno);
  }
  const int status = ::fsync(fd);
  const int sync_error = errno;
  ::close(fd);
  if (status != 0) {
    throw_io_error("sync the directory", directory, sync_error);
  }
}

// Writes preamble and data to path + ".tmp", syncs it and renames it over `path`. The
// temporary file is removed when any step fails.
void write_atomically(const std::string& path, const std::string& preamble, const void* data,
                      size_t data_size) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw_io_error("create", temporary, errno);
  }
  try {
    write_all(fd, preamble.data(), preamble.size(), temporary);
    write_all(fd, static_cast<const char*>(data), data_size, temporary);
    if (::fsync(fd) != 0) {
      throw_io_error("sync", temporary, errno);
    }
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int close_error = errno;
    ::unlink(temporary.c_str());
    throw_io_error("close", temporary, close_error);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int rename_error = errno;
    ::unlink(temporary.c_str());
    throw_io_error("rename " + temporary + " to", path, rename_error);
  }
  sync_parent_directory(path);
}

template <typename T>
void write_array(const std::string& path, const T* data, std::span<const int64_t> shape) {
  const int64_t count = element_count(path, shape);
  GLASSY_CHECK(count == 0 || data != nullptr, "{}: no data for {} elements", path, count);
  const std::string preamble = file_preamble(path, npy_dtype<T>(), shape);
  write_atomically(path, preamble, data, static_cast<size_t>(count) * sizeof(T));
}


// Parses a header dict, the subset of Python literal syntax that numpy writes: quoted keys, a
// quoted dtype, True or False, and a tuple of non-negative integers.
class HeaderParser {
public:
  HeaderParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

  // Fills the dtype and shape of `array` and returns the value of 'fortran_order'.
  bool parse(NpyArray& array) {
    bool has_descr = false;
    bool has_fortran_order = false;
    bool has_shape = false;
    bool fortran_order = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        array.dtype = parse_string();
        has_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = parse_bool();
        has_fortran_order = true;
      } else if (key == "shape") {
        array.shape = parse_shape();
        has_shape = true;
      } else {
        fail(fmt::format("unknown key '{}'", key));
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_spaces();
    if (position_ != text_.size()) {
      fail("text after the closing brace");
    }
    if (!has_descr || !has_fortran_order || !has_shape) {
      fail("a key of 'descr', 'fortran_order' and 'shape' is missing");
    }
    return fortran_order;
  }

private:
  [[noreturn]] void fail(const std::string& problem) const {
    constexpr size_t kQuotedMax = 200;
    const std::string_view quoted = text_.substr(0, kQuotedMax);
    throw Error(fmt::format("{}: invalid .npy header: {} at offset {} of \"{}{}\"", path_,
                            problem, position_, quoted,
                            text_.size() > kQuotedMax ? "..." : ""));
  }

  void skip_spaces() {
    while (position_ < text_.size() &&
           (text_[position_] == ' ' || text_[position_] == '\t' || text_[position_] == '\n')) {
      ++position_;
    }
  }

  bool consume(char c) {
    skip_spaces();
    if (position_ < text_.size() && text_[position_] == c) {
      ++position_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!consume(c)) {
      fail(fmt::format("expected '{}'", c));
    }
  }

  std::string parse_string() {
    skip_spaces();
    if (position_ >= text_.size() || (text_[position_] != '\'' && text_[position_] != '"')) {
      fail("expected a quoted string");
    }
    const char quote = text_[position_++];
    const size_t end = text_.find(quote, position_);
    if (end == std::string_view::npos) {
      fail("unterminated string");
    }
    std::string value(text_.substr(position_, end - position_));
    position_ = end + 1;
    return value;
  }

  bool parse_bool() {
    skip_spaces();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const std::string_view spelling(word);
      if (text_.substr(position_, spelling.size()) == spelling) {
        position_ += spelling.size();
        return value;
      }
    }
    fail("expected True or False");
  }

  int64_t parse_dimension() {
    skip_spaces();
    int64_t value = 0;
    const size_t start = position_;
    while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
      const int digit = text_[position_] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        fail("a dimension does not fit in 64 bits");
      }
      value = value * 10 + digit;
      ++position_;
    }
    if (position_ == start) {
      fail("expected a non-negative integer dimension");
    }
    consume('L');  // Python 2 wrote long integers with a suffix
    return value;
  }

  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    while (!consume(')')) {
      shape.push_back(parse_dimension());
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  const std::string& path_;
  std::string_view text_;
  size_t position_ = 0;
};

std::vector<char> read_whole_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) {
    throw_io_error("open", path, errno);
  }
  const std::streamoff size = file.tellg();
  std::vector<char> contents(static_cast<size_t>(size));
  file.seekg(0);
  if (!file.read(contents.data(), size)) {
    throw Error(fmt::format("failed to read {} bytes from {}", size, path));
  }
  return contents;
}

size_t dtype_item_size(const std::string& path, const std::string& dtype) {
  if (dtype == npy_dtype<float>()) {
    return 4;
  }
  if (dtype == npy_dtype<double>() || dtype == npy_dtype<int64_t>() ||
      dtype == npy_dtype<uint64_t>()) {
    return 8;
  }
  throw Error(fmt::format("{}: unsupported .npy dtype '{}'; glassy reads <f4, <f8, <i8 and <u8",
                          path, dtype));
}

// Reads the little-endian unsigned integer of `size` bytes at `offset`.
size_t read_little_endian(const std::vector<char>& contents, size_t offset, size_t size) {
  size_t value = 0;
  for (size_t i = 0; i < size; ++i) {
    value |= static_cast<size_t>(static_cast<unsigned char>(contents[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t count = 1;
  for (int64_t dim : shape) {
    count *= dim;
  }
  return count;
}

void npy_write(const std::string& path, const float* data, std::span<const int64_t> shape) {
  write_array(path, data, shape);
}

void npy_write(const std::string& path, const double* data, std::span<const int64_t> shape) {
  write_array(path, data, shape);
}

void npy_write(const std::string& path, const int64_t* data, std::span<const int64_t> shape) {
  write_array(path, data, shape);
}

void npy_write(const std::string& path, const uint64_t* data, std::span<const int64_t> shape) {
  write_array(path, data, shape);
}

NpyArray npy_read(const std::string& path) {
  const std::vector<char> contents = read_whole_file(path);
  const size_t version_offset = kMagicSize;
  if (contents.size() < kMagicSize + 4 ||
      std::memcmp(contents.data(), kMagic, kMagicSize) != 0) {
    throw Error(fmt::format("{} is not a .npy file: it does not start with \\x93NUMPY", path));
  }

  const int major = static_cast<unsigned char>(contents[version_offset]);
  const int minor = static_cast<unsigned char>(contents[version_offset + 1]);
  if (major < 1 || major > 3 || minor != 0) {
    throw Error(fmt::format("{}: unsupported .npy format version {}.{}; glassy reads 1.0, 2.0 "
                            "and 3.0",
                            path, major, minor));
  }
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4 bytes.
  const size_t length_size = major == 1 ? 2 : 4;
  const size_t header_offset = version_offset + 2 + length_size;
  if (contents.size() < header_offset) {
    throw Error(fmt::format("{}: truncated .npy file of {} bytes", path, contents.size()));
  }
  const size_t header_size = read_little_endian(contents, version_offset + 2, length_size);
  if (contents.size() - header_offset < header_size) {
    throw Error(fmt::format("{}: the .npy header of {} bytes runs past the end of the file",
                            path, header_size));
  }

  NpyArray array;
  const std::string_view header(contents.data() + header_offset, header_size);
  const bool fortran_order = HeaderParser(path, header).parse(array);
  if (fortran_order) {
    throw Error(fmt::format("{}: the array is stored in Fortran order, but glassy reads C order "
                            "only; save it with numpy.ascontiguousarray",
                            path));
  }
  const size_t item_size = dtype_item_size(path, array.dtype);

  const size_t data_offset = header_offset + header_size;
  const size_t data_size = contents.size() - data_offset;
  const int64_t count = element_count(path, array.shape);
  const bool size_matches = static_cast<uint64_t>(count) <= data_size / item_size &&
                            static_cast<size_t>(count) * item_size == data_size;
  if (!size_matches) {
    throw Error(fmt::format("{}: the file contains {} data bytes, but dtype {} and shape {} need "
                            "{} elements of {} bytes",
                            path, data_size, array.dtype, shape_tuple(array.shape), count,
                            item_size));
  }
  array.bytes.assign(contents.begin() + static_cast<std::ptrdiff_t>(data_offset),
                     contents.end());
  return array;
}

}  // namespace glassy
