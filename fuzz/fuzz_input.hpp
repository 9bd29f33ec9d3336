#pragma once
// Helpers shared by the fuzz targets: the library's readers take file paths, so each input is
// written to an in-memory file (memfd) and read back through /proc/self/fd, exercising exactly
// the code a user's file goes through without touching the disk.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "support/files.hpp"  // tests/support: gzip_bytes

namespace fuzz {

class InputFile {
 public:
  InputFile() : fd_(::memfd_create("fuzz-input", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~InputFile() { ::close(fd_); }

  /// Replaces the file's contents; returns its path.
  const std::string& write(const void* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
    return path_;
  }
  const std::string& write(const std::string& bytes) { return write(bytes.data(), bytes.size()); }

 private:
  int fd_;
  std::string path_;
};

/// The readers accept plain and gzip-compressed files. The first input byte picks what is
/// written, so the fuzzer explores the text behind the decompressor as well as broken streams:
///   'G' the rest, gzip-compressed;  'T' the rest, gzip-compressed and cut short at a point the
///   second byte chooses;  anything else: the input as it is.
inline std::string plain_or_gzip(const std::uint8_t* data, std::size_t size) {
  auto gzip = [&](std::size_t skip) {
    return minidnn::test::gzip_bytes(std::string(reinterpret_cast<const char*>(data) + skip, size - skip), 1);
  };
  if (size >= 1 && data[0] == 'G') return gzip(1);
  if (size >= 2 && data[0] == 'T') {
    std::string z = gzip(2);
    z.resize(z.size() * data[1] / 256);
    return z;
  }
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace fuzz
