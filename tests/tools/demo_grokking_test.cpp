// The demo preset end to end: every replica memorizes, then generalizes much later. Runs the
// real binary for about 35 seconds on 2 cores, so it is a slow test (ctest -L slow).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace glassy {
namespace {

namespace fs = std::filesystem;

}  // namespace

TEST_CASE("demo preset groks for every seed", "[.slow][tools]") {
  const fs::path out = fs::temp_directory_path() / "glassy_demo_grokking_test";
  fs::remove_all(out);
  const std::string command = std::string(GLASSY_BINARY) + " train --preset demo --out " +
                              out.string() + " > /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);

  std::ifstream file(out / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(file);
  const nlohmann::json& replicas = summary.at("replicas");
  CHECK(replicas.size() >= 4);
  for (const nlohmann::json& replica : replicas) {
    INFO("replica " << replica.dump());
    REQUIRE_FALSE(replica.at("first_step_train_acc_99").is_null());
    REQUIRE_FALSE(replica.at("first_step_test_acc_95").is_null());
    const double train_step = replica.at("first_step_train_acc_99").get<double>();
    const double test_step = replica.at("first_step_test_acc_95").get<double>();
    // Grokking: generalization comes at least 3 times later than memorization.
    CHECK(test_step >= 3.0 * train_step);
    CHECK(replica.at("final_test_acc").get<double>() >= 0.95);
  }
  fs::remove_all(out);
}

}  // namespace glassy
