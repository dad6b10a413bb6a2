// The glassy command-line tool. Subcommands:
//   glassy train   AdamW or SGD training of many transformer replicas (grokking)
//   glassy sample  Wang-Landau molecular dynamics of many walkers (entropy maps)
//   glassy analyze the numbers, figures and report of a `glassy reproduce` directory
// Exit status: 0 success, 1 internal failure, 2 bad input, 128 + signal when stopped.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/error.h"
#include "tools/analyze_command.h"
#include "tools/sample_command.h"
#include "tools/sample_settings.h"
#include "tools/train_command.h"
#include "tools/train_settings.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char* kUsage =
    "glassy: replica-batched training and sampling of small transformers\n"
    "\n"
    "usage: glassy <command> [flags]\n"
    "\n"
    "commands:\n"
    "  train   train replicas with AdamW or SGD on a modular-arithmetic task\n"
    "  sample  map the entropy S(ln L_train, A_test) with Wang-Landau molecular dynamics\n"
    "  analyze compute the numbers, figures and report of a glassy reproduce directory\n"
    "\n"
    "Run 'glassy <command> --help' for the flags of a command.\n";

int print_train_help() {
  glassy::TrainSettings settings;
  CLI::App app("Train replicas of the reference transformer on a modular-arithmetic task "
               "with AdamW or SGD, full batch.\nExample: glassy train --preset demo --out "
               "runs/demo",
               "glassy train");
  glassy::add_train_options(app, settings);
  std::cout << app.help();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? kExitUsage : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "train") {
      for (const std::string& arg : rest) {
        if (arg == "--help" || arg == "-h") return print_train_help();
      }
      return glassy::run_train_command(rest);
    }
    if (command == "sample") {
      for (const std::string& arg : rest) {
        if (arg == "--help" || arg == "-h") {
          std::cout << glassy::sample_help();
          return 0;
        }
      }
      return glassy::run_sample_command(rest);
    }
    if (command == "analyze") {
      for (const std::string& arg : rest) {
        if (arg == "--help" || arg == "-h") {
          std::cout << glassy::analyze_help();
          return 0;
        }
      }
      return glassy::run_analyze_command(rest);
    }
    std::cerr << "glassy: error: unknown command '" << command
              << "'; the commands are: train, sample, analyze. Run 'glassy --help'.\n";
    return kExitUsage;
  } catch (const glassy::UsageError& error) {
    std::cerr << "glassy " << command << ": error: " << error.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "glassy " << command << ": failed: " << error.what() << "\n";
    return kExitFailure;
  }
}
