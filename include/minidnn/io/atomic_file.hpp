#pragma once
/// \file
/// write_file_atomically: a file is either its old self or completely its new self, never half
/// written, even if the process dies mid-save.
///
/// The bytes go to a temporary file in the same directory, which is flushed to disk and then
/// renamed over the target (rename is atomic within a file system).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "minidnn/core/error.hpp"

namespace minidnn {

inline void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  static std::atomic<unsigned> counter{0};
  if (fs::is_directory(path)) fail("cannot save to ", path.string(), ": it is a directory");
  const fs::path temp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                        std::to_string(counter.fetch_add(1));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot save to ", path.string(), ": ", std::strerror(errno));
  auto abandon = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    fail("cannot save to ", path.string(), ": ", step, " failed: ", std::strerror(err));
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail("cannot save to ", path.string(), ": close failed: ", std::strerror(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail("cannot save to ", path.string(), ": rename failed: ", std::strerror(err));
  }
  // Make the rename itself durable.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace minidnn
