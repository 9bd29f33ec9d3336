#pragma once
/// \file
/// The one exception type minidnn throws, and a helper to build its messages.
#include <sstream>
#include <stdexcept>
#include <string>

namespace minidnn {

/// Thrown for every user-facing error: bad shapes, bad arguments, unreadable or corrupt files.
/// The message names the layer, file, line or field involved.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// Concatenates anything printable with operator<< into one string.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

/// Throws minidnn::Error with the concatenated message parts.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

}  // namespace minidnn
