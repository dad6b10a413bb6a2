// Errors: glassy throws instead of aborting so that tools can report a failure in one line and
// choose the exit status. A UsageError is a problem with the user's input (exit status 2); an
// Error is anything else (exit status 1).
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace glassy {

// A failure inside glassy: a broken invariant, an I/O error, a device error.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Invalid input from the user: a flag, a config key or a value out of range. The message states
// what was wrong, the allowed values and what to do.
class UsageError : public Error {
public:
  using Error::Error;
};

[[noreturn]] void throw_check_failure(const char* expr, const char* file, int line,
                                      const std::string& message);

}  // namespace glassy

// Throws glassy::Error with the failed expression, the file and the line, plus a formatted
// message that states the actual values.
#define GLASSY_CHECK(cond, ...)                                                         \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      ::glassy::throw_check_failure(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
    }                                                                                   \
  } while (0)

// Throws glassy::UsageError with a formatted message.
#define GLASSY_REQUIRE(cond, ...)                                       \
  do {                                                                  \
    if (!(cond)) {                                                      \
      throw ::glassy::UsageError(fmt::format(__VA_ARGS__));            \
    }                                                                   \
  } while (0)
