#pragma once
// Runs a shell command for the tests that drive the fer binary, and collects what it printed.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace minidnn::test {

struct ShellRun {
  int exit_code;       // -1 when the command was killed by a signal
  std::string output;  // stdout and stderr together
};

/// Runs `command` through /bin/sh in `cwd`, with stderr joined to stdout.
inline ShellRun run_shell(const std::string& command, const std::filesystem::path& cwd) {
  const std::string full = "cd '" + cwd.string() + "' && " + command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + full);
  std::string output;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace minidnn::test
