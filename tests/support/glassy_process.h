// Helpers for running the glassy binary from a test: /bin/sh command lines for std::system,
// and GlassyProcess, a child process that a test can signal while it runs.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/files.h"

namespace glassy::test {

// Quotes text for /bin/sh: single quotes, with each embedded quote written as '\''.
inline std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Appends a space and word, quoted for /bin/sh, to command. Appending in place also avoids
// a false -Wrestrict warning that GCC 12 gives for `" " + std::string`.
inline void append_word(std::string& command, const std::string& word) {
  command += ' ';
  command += shell_quote(word);
}

// Returns the command that runs the glassy binary built with the tests (GLASSY_BINARY, set by
// tests/CMakeLists.txt) with args, each quoted for /bin/sh.
inline std::string glassy_command(const std::vector<std::string>& args) {
  std::string command = shell_quote(GLASSY_BINARY);
  for (const std::string& arg : args) append_word(command, arg);
  return command;
}

// Returns the argument list a followed by b.
inline std::vector<std::string> concat(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What a finished glassy process returned and printed.
struct CommandResult {
  int exit_status = -1;
  std::string standard_output;
  std::string standard_error;
};

// Runs the glassy binary with args to completion, its standard output and error redirected to
// files in scratch, and returns the exit status and both streams.
inline CommandResult run_glassy(const std::vector<std::string>& args,
                                const std::filesystem::path& scratch) {
  const std::filesystem::path output_path = scratch / "stdout.txt";
  const std::filesystem::path error_path = scratch / "stderr.txt";
  std::string command = glassy_command(args);
  command += " >";
  command += shell_quote(output_path.string());
  command += " 2>";
  command += shell_quote(error_path.string());

  const int status = std::system(command.c_str());
  INFO("command: " << command);
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  CommandResult result;
  result.exit_status = WEXITSTATUS(status);
  result.standard_output = read_file(output_path);
  result.standard_error = read_file(error_path);
  return result;
}

// The glassy binary started with args in a child process, its standard output and error
// written to log_path. The destructor kills and reaps a child that is still running, so a
// failed assertion does not leave it behind.
class GlassyProcess {
public:
  GlassyProcess(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<std::string> argv_strings = {GLASSY_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // Only async-signal-safe calls run between fork and exec, because the parent may have
      // threads.
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) ::_exit(127);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~GlassyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  GlassyProcess(const GlassyProcess&) = delete;
  GlassyProcess& operator=(const GlassyProcess&) = delete;

  // Returns whether the child has ended, without waiting.
  bool finished() {
    if (pid_ <= 0) return true;
    const pid_t reaped = ::waitpid(pid_, &status_, WNOHANG);
    if (reaped == pid_) pid_ = -1;
    return pid_ <= 0;
  }

  void send_signal(int signal) {
    REQUIRE(pid_ > 0);
    REQUIRE(::kill(pid_, signal) == 0);
  }

  // Waits for the child to end and returns its wait status, as waitpid gives it.
  int wait() {
    if (pid_ > 0) {
      REQUIRE(::waitpid(pid_, &status_, 0) == pid_);
      pid_ = -1;
    }
    return status_;
  }

private:
  pid_t pid_ = -1;
  int status_ = 0;
};

}  // namespace glassy::test
