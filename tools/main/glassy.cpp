// The glassy command-line tool and its subcommands.
//   glassy train      AdamW or SGD training of many transformer replicas (grokking)
//   glassy sample     Wang-Landau molecular dynamics of many walkers (entropy maps)
//   glassy reproduce  the study's experiment set, its analysis and a report
//   glassy analyze    the numbers, figures and report of a `glassy reproduce` directory
// Exit status: 0 success, 1 internal failure, 2 bad input, 128 + signal when stopped.
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/error.h"
#include "tools/analyze_command.h"
#include "tools/reproduce_command.h"
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
    "  train      train replicas with AdamW or SGD on a modular-arithmetic task\n"
    "  sample     map the entropy S(ln L_train, A_test) with Wang-Landau molecular dynamics\n"
    "  reproduce  run the study's experiments, analyse them and write a report\n"
    "  analyze    compute the numbers, figures and report of a glassy reproduce directory\n"
    "\n"
    "Run 'glassy <command> --help' for the flags of a command.\n";

std::string train_help() {
  glassy::TrainSettings settings;
  CLI::App app("Train replicas of the reference transformer on a modular-arithmetic task "
               "with AdamW or SGD, full batch.\nExample: glassy train --preset demo --out "
               "runs/demo",
               "glassy train");
  glassy::add_train_options(app, settings);
  return app.help();
}

struct Command {
  const char* name;
  std::function<std::string()> help;
  std::function<int(const std::vector<std::string>&)> run;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"train", train_help, glassy::run_train_command},
      {"sample", glassy::sample_help, glassy::run_sample_command},
      {"reproduce", glassy::reproduce_help, glassy::run_reproduce_command},
      {"analyze", glassy::analyze_help, glassy::run_analyze_command},
  };
  return all;
}

bool asks_for_help(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
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
    for (const Command& c : commands()) {
      if (command != c.name) continue;
      if (asks_for_help(rest)) {
        std::cout << c.help();
        return 0;
      }
      return c.run(rest);
    }
    std::cerr << "glassy: error: unknown command '" << command
              << "'; the commands are: train, sample, reproduce, analyze. Run 'glassy "
                 "--help'.\n";
    return kExitUsage;
  } catch (const glassy::UsageError& error) {
    std::cerr << "glassy " << command << ": error: " << error.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "glassy " << command << ": failed: " << error.what() << "\n";
    return kExitFailure;
  }
}
