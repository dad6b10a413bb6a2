// Helpers that build /bin/sh command lines for running the glassy binary from a test.
#pragma once

#include <string>
#include <vector>

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

}  // namespace glassy::test
