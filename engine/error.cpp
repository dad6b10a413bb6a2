// Formatting of failed internal checks.
#include "engine/error.h"

namespace glassy {

void throw_check_failure(const char* expr, const char* file, int line,
                         const std::string& message) {
  throw Error(fmt::format("{}:{}: check failed: {}: {}", file, line, expr, message));
}

}  // namespace glassy
