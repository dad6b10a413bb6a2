// Helpers that read files written by a test or by the glassy binary, as bytes or as JSON.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace glassy::test {

// Returns the bytes of the file at path, or "" when it cannot be opened.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Returns the bytes of the file at path. Opening it is a REQUIRE assertion, so a missing file
// stops the test with its path.
inline std::string read_existing_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  INFO("reading " << path);
  REQUIRE(file.good());
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Parses the JSON file at path. Opening it is a REQUIRE assertion, as in read_existing_file.
inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream file(path);
  INFO("reading " << path);
  REQUIRE(file.good());
  return nlohmann::json::parse(file);
}

}  // namespace glassy::test
