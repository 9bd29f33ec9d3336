#pragma once
// Where tests find the project's shared data and where they may write scratch files.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace minidnn::test {

/// The `shared/` folder beside the checkout (FER2013, photos); `MINIDNN_SHARED_DIR` overrides it.
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("MINIDNN_SHARED_DIR"); env && *env) return env;
  return MINIDNN_DEFAULT_SHARED_DIR;
}

/// A fresh, empty scratch directory for one test, under the build tree.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(MINIDNN_TEST_BINARY_DIR) / "scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Exit code that ctest reports as "skipped" (SKIP_RETURN_CODE).
constexpr int kSkipExitCode = 77;

}  // namespace minidnn::test
