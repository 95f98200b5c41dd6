// GlamError: the one exception type native code throws. Its code crosses the N-API boundary as the
// message prefix "Code: " and becomes lib/errors.ts's GlamError.code. Codes are the same strings.
#pragma once
#include <stdexcept>
#include <string>

namespace glam {

struct GlamError : std::runtime_error {
  std::string code;
  GlamError(std::string c, const std::string& msg) : std::runtime_error(c + ": " + msg), code(std::move(c)) {}
};

[[noreturn]] inline void fail(const std::string& code, const std::string& msg) { throw GlamError(code, msg); }

#define GLAM_CHECK(cond, code, msg) \
  do {                              \
    if (!(cond)) ::glam::fail(code, msg); \
  } while (0)

}  // namespace glam
