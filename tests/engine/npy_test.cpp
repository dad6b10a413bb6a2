// Tests of engine/npy.h (writing and reading .npy files, checked against numpy where python3 can
// import it) and engine/csv_format.h (round-tripping numbers through text).
#include "engine/npy.h"

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/csv_format.h"
#include "engine/error.h"
#include "tests/support/files.h"

namespace glassy {
namespace {

namespace fs = std::filesystem;
using test::read_file;

// A fresh directory under the system temporary directory, removed with its files at scope end.
class TemporaryDirectory {
public:
  TemporaryDirectory() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("glassy_npy_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  fs::path path_;
};

// Writes a hand-made .npy file: magic, version major.0, a 2-byte header length, the header
// as given and the data bytes.
void write_raw_npy(const std::string& path, char major, const std::string& header,
                   const std::string& data) {
  std::string contents("\x93NUMPY", 6);
  contents += major;
  contents += '\0';
  contents += static_cast<char>(header.size() & 0xFF);
  contents += static_cast<char>(header.size() >> 8);
  contents += header + data;
  std::ofstream(path, std::ios::binary) << contents;
}

constexpr int64_t kGridSide = 2002;

// The grid S[iy, ix] = 1000 iy + ix, exact in float32 because every value is below 2^24.
std::vector<float> make_grid() {
  std::vector<float> grid(kGridSide * kGridSide);
  for (int64_t iy = 0; iy < kGridSide; ++iy) {
    for (int64_t ix = 0; ix < kGridSide; ++ix) {
      grid[iy * kGridSide + ix] = static_cast<float>(1000 * iy + ix);
    }
  }
  return grid;
}

// Writes the three arrays shared by the round-trip and numpy tests.
void write_sample_files(const TemporaryDirectory& directory) {
  const std::vector<int64_t> vector{-2, -1, 0, 1, std::numeric_limits<int64_t>::max()};
  const std::vector<int64_t> vector_shape{5};
  npy_write(directory.file("vector.npy"), vector.data(), vector_shape);

  const std::vector<double> matrix{0.5, -1.25, 1e300, -0.0, 3.0, 1e-310};
  const std::vector<int64_t> matrix_shape{2, 3};
  npy_write(directory.file("matrix.npy"), matrix.data(), matrix_shape);

  const std::vector<float> grid = make_grid();
  const std::vector<int64_t> grid_shape{kGridSide, kGridSide};
  npy_write(directory.file("grid.npy"), grid.data(), grid_shape);
}

}  // namespace

TEST_CASE("npy arrays round-trip through npy_read", "[npy]") {
  TemporaryDirectory directory;
  write_sample_files(directory);

  const NpyArray vector = npy_read(directory.file("vector.npy"));
  CHECK(vector.dtype == "<i8");
  CHECK(vector.shape == std::vector<int64_t>{5});
  CHECK(vector.values<int64_t>() ==
        std::vector<int64_t>{-2, -1, 0, 1, std::numeric_limits<int64_t>::max()});

  const NpyArray matrix = npy_read(directory.file("matrix.npy"));
  CHECK(matrix.dtype == "<f8");
  CHECK(matrix.shape == std::vector<int64_t>{2, 3});
  const std::vector<double> matrix_values = matrix.values<double>();
  REQUIRE(matrix_values.size() == 6);
  CHECK(matrix_values[2] == 1e300);
  CHECK(std::signbit(matrix_values[3]));
  CHECK(matrix_values[5] == 1e-310);

  const NpyArray grid = npy_read(directory.file("grid.npy"));
  CHECK(grid.dtype == "<f4");
  CHECK(grid.shape == std::vector<int64_t>{kGridSide, kGridSide});
  CHECK(grid.size() == kGridSide * kGridSide);
  // One bool, because Catch would print all 4 million elements of a failed vector comparison.
  const bool grid_equal = grid.values<float>() == make_grid();
  CHECK(grid_equal);
}

TEST_CASE("npy grid element [3, 5] reads back as 3005", "[npy]") {
  TemporaryDirectory directory;
  write_sample_files(directory);

  const NpyArray grid = npy_read(directory.file("grid.npy"));
  REQUIRE(grid.shape.size() == 2);
  const std::vector<float> values = grid.values<float>();
  CHECK(values[3 * grid.shape[1] + 5] == 3005.0f);
}

TEST_CASE("npy header spells tuples and aligns the data", "[npy]") {
  TemporaryDirectory directory;
  write_sample_files(directory);

  for (const auto& [name, tuple] : {std::pair{"vector.npy", "'shape': (5,)"},
                                    std::pair{"matrix.npy", "'shape': (2, 3)"},
                                    std::pair{"grid.npy", "'shape': (2002, 2002)"}}) {
    CAPTURE(name);
    const std::string contents = read_file(directory.file(name));
    REQUIRE(contents.size() > 10);
    CHECK(contents.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));

    const size_t header_size = static_cast<unsigned char>(contents[8]) +
                               256 * static_cast<size_t>(static_cast<unsigned char>(contents[9]));
    const std::string header = contents.substr(10, header_size);
    CAPTURE(header);
    CHECK(header.find(tuple) != std::string::npos);
    CHECK(header.find("'fortran_order': False") != std::string::npos);
    CHECK((10 + header_size) % 64 == 0);
    CHECK(header.back() == '\n');
  }
}

TEST_CASE("npy write leaves no temporary file", "[npy]") {
  TemporaryDirectory directory;
  const std::string path = directory.file("vector.npy");
  const std::vector<double> first{1.0, 2.0};
  const std::vector<double> second{3.0};
  const std::vector<int64_t> first_shape{2};
  const std::vector<int64_t> second_shape{1};

  npy_write(path, first.data(), first_shape);
  npy_write(path, second.data(), second_shape);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK(npy_read(path).values<double>() == second);
}

TEST_CASE("npy uint64, 0-d and empty arrays round-trip", "[npy]") {
  TemporaryDirectory directory;

  const std::vector<uint64_t> counters{0, 1, std::numeric_limits<uint64_t>::max()};
  const std::vector<int64_t> counters_shape{3, 1};
  npy_write(directory.file("counters.npy"), counters.data(), counters_shape);
  const NpyArray counters_read = npy_read(directory.file("counters.npy"));
  CHECK(counters_read.dtype == "<u8");
  CHECK(counters_read.shape == counters_shape);
  CHECK(counters_read.values<uint64_t>() == counters);

  const double scalar = 2.5;
  npy_write(directory.file("scalar.npy"), &scalar, std::span<const int64_t>{});
  CHECK(read_file(directory.file("scalar.npy")).find("'shape': ()") != std::string::npos);
  const NpyArray scalar_read = npy_read(directory.file("scalar.npy"));
  CHECK(scalar_read.shape.empty());
  CHECK(scalar_read.size() == 1);
  CHECK(scalar_read.values<double>() == std::vector<double>{2.5});

  const std::vector<int64_t> empty_shape{0, 3};
  npy_write(directory.file("empty.npy"), static_cast<const float*>(nullptr), empty_shape);
  const NpyArray empty_read = npy_read(directory.file("empty.npy"));
  CHECK(empty_read.shape == empty_shape);
  CHECK(empty_read.bytes.empty());
}

TEST_CASE("npy write rejects a negative dimension", "[npy]") {
  TemporaryDirectory directory;
  const std::string path = directory.file("negative.npy");
  const float value = 1.0f;
  const std::vector<int64_t> shape{2, -1};
  CHECK_THROWS_AS(npy_write(path, &value, shape), Error);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("npy read rejects malformed files", "[npy]") {
  using Catch::Matchers::Contains;
  TemporaryDirectory directory;
  const std::string path = directory.file("bad.npy");
  const std::string pad(100, ' ');
  const std::string f4_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  const std::string eight_bytes(8, '\0');

  SECTION("missing file") {
    CHECK_THROWS_WITH(npy_read(directory.file("missing.npy")),
                      Contains("missing.npy") && Contains("failed to open"));
  }
  SECTION("wrong magic") {
    std::ofstream(path, std::ios::binary) << "PK\x03\x04 a zip file, not an array";
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("not a .npy file"));
  }
  SECTION("unknown version") {
    write_raw_npy(path, '\x04', f4_header, eight_bytes);
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("version 4.0"));
  }
  SECTION("truncated data") {
    write_raw_npy(path, '\x01', f4_header, eight_bytes.substr(0, 7));
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("7 data bytes"));
  }
  SECTION("extra data") {
    write_raw_npy(path, '\x01', f4_header, eight_bytes + "x");
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("9 data bytes"));
  }
  SECTION("fortran order") {
    write_raw_npy(path, '\x01', "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n",
                  eight_bytes);
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("Fortran order"));
  }
  SECTION("unsupported dtype") {
    write_raw_npy(path, '\x01', "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n",
                  eight_bytes);
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("unsupported .npy dtype '>f4'"));
  }
  SECTION("header without a shape") {
    write_raw_npy(path, '\x01', "{'descr': '<f4', 'fortran_order': False, }\n", eight_bytes);
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("missing"));
  }
  SECTION("header length past the end") {
    std::string contents("\x93NUMPY\x01\x00\xFF\x00{'descr'", 18);
    std::ofstream(path, std::ios::binary) << contents;
    CHECK_THROWS_WITH(npy_read(path), Contains(path) && Contains("past the end"));
  }
  SECTION("version 2.0 with a 4-byte header length is read") {
    std::string contents("\x93NUMPY\x02\x00", 8);
    const std::string header = f4_header + pad;
    contents += static_cast<char>(header.size());
    contents += std::string(3, '\0');
    std::ofstream(path, std::ios::binary) << contents << header << eight_bytes;
    CHECK(npy_read(path).shape == std::vector<int64_t>{2});
  }
}

TEST_CASE("numpy and npy_read read each other's files", "[npy]") {
  if (std::system(GLASSY_PYTHON " -c 'import numpy' > /dev/null 2>&1") != 0) {
    WARN(GLASSY_PYTHON " cannot import numpy, so the numpy cross-check did not run");
    return;
  }
  TemporaryDirectory directory;
  write_sample_files(directory);

  const std::string output = directory.file("numpy_output.txt");
  const std::string command =
      GLASSY_PYTHON " -c 'import sys, numpy; "
      "a = [numpy.load(f) for f in sys.argv[1:]]; "
      "print(*[str(x.shape) + \" \" + str(x.dtype) for x in a], sep=\";\"); "
      "print(int(a[0][4]), float(a[1][1, 0]), int(a[2][3, 5]))' " +
      directory.file("vector.npy") + " " + directory.file("matrix.npy") + " " +
      directory.file("grid.npy") + " > " + output + " 2>&1";
  const int status = std::system(command.c_str());
  const std::string printed = read_file(output);
  CAPTURE(command, printed);
  REQUIRE(status == 0);
  CHECK(printed ==
        "(5,) int64;(2, 3) float64;(2002, 2002) float32\n"
        "9223372036854775807 -0.0 3005\n");

  // The other direction: files written by numpy.save, including a version 2.0 file.
  const std::string saved = directory.file("from_numpy.npy");
  const std::string saved_v2 = directory.file("from_numpy_v2.npy");
  const std::string save_command =
      GLASSY_PYTHON " -c 'import sys, numpy; "
      "numpy.save(sys.argv[1], numpy.arange(24, dtype=numpy.float32).reshape(2, 3, 4)); "
      "numpy.lib.format.write_array(open(sys.argv[2], \"wb\"), "
      "numpy.array([7, 8], dtype=numpy.uint64), version=(2, 0))' " +
      saved + " " + saved_v2 + " > " + output + " 2>&1";
  const int save_status = std::system(save_command.c_str());
  CAPTURE(save_command, read_file(output));
  REQUIRE(save_status == 0);

  const NpyArray cube = npy_read(saved);
  CHECK(cube.dtype == "<f4");
  CHECK(cube.shape == std::vector<int64_t>{2, 3, 4});
  const std::vector<float> cube_values = cube.values<float>();
  REQUIRE(cube_values.size() == 24);
  CHECK(cube_values[23] == 23.0f);

  const NpyArray pair = npy_read(saved_v2);
  CHECK(pair.dtype == "<u8");
  CHECK(pair.values<uint64_t>() == std::vector<uint64_t>{7, 8});
}

TEST_CASE("csv number formats round-trip bit for bit", "[npy]") {
  std::mt19937_64 generator(12345);
  std::vector<float> floats{0.0f,
                            -0.0f,
                            1e-45f,
                            std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::infinity(),
                            0.1f,
                            1.0f / 3.0f};
  std::vector<double> doubles{0.0,
                              -0.0,
                              std::numeric_limits<double>::denorm_min(),
                              std::numeric_limits<double>::min(),
                              std::numeric_limits<double>::max(),
                              -std::numeric_limits<double>::max(),
                              -std::numeric_limits<double>::infinity(),
                              0.1,
                              1.0 / 3.0};

  // Random bit patterns cover every exponent, subnormals included. NaNs are skipped because
  // their payload is not kept.
  while (floats.size() < 10000) {
    const float value = std::bit_cast<float>(static_cast<uint32_t>(generator()));
    if (!std::isnan(value)) {
      floats.push_back(value);
    }
  }
  while (doubles.size() < 10000) {
    const double value = std::bit_cast<double>(generator());
    if (!std::isnan(value)) {
      doubles.push_back(value);
    }
  }

  int float_mismatches = 0;
  for (float value : floats) {
    const std::string text = format_float(value);
    const float parsed = std::strtof(text.c_str(), nullptr);
    if (std::bit_cast<uint32_t>(parsed) != std::bit_cast<uint32_t>(value)) {
      ++float_mismatches;
      UNSCOPED_INFO("float " << text << " parsed back with other bits");
    }
  }
  CHECK(float_mismatches == 0);

  int double_mismatches = 0;
  for (double value : doubles) {
    const std::string text = format_double(value);
    const double parsed = std::strtod(text.c_str(), nullptr);
    if (std::bit_cast<uint64_t>(parsed) != std::bit_cast<uint64_t>(value)) {
      ++double_mismatches;
      UNSCOPED_INFO("double " << text << " parsed back with other bits");
    }
  }
  CHECK(double_mismatches == 0);

  CHECK(format_float(-0.0f) == "-0");
  CHECK(format_float(0.1f) == "0.100000001");
  CHECK(format_double(0.1) == "0.10000000000000001");
  CHECK(std::isnan(std::strtod(format_double(std::nan("")).c_str(), nullptr)));
}

}  // namespace glassy
