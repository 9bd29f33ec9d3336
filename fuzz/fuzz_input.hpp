#pragma once
// Helpers shared by the fuzz targets: the library's readers take file paths, so each input is
// written to an in-memory file (memfd) and read back through /proc/self/fd, exercising exactly
// the code a user's file goes through without touching the disk.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <zlib.h>

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

/// gzip-compresses `data` (a complete .gz stream, as gzip(1) writes it).
inline std::string gzip(const std::uint8_t* data, std::size_t size) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&z, size) + 32, '\0');
  z.next_in = const_cast<std::uint8_t*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// The readers accept plain and gzip-compressed files. The first input byte picks what is
/// written, so the fuzzer explores the text behind the decompressor as well as broken streams:
///   'G' the rest, gzip-compressed;  'T' the rest, gzip-compressed and cut short at a point the
///   second byte chooses;  anything else: the input as it is.
inline std::string plain_or_gzip(const std::uint8_t* data, std::size_t size) {
  if (size >= 1 && data[0] == 'G') return gzip(data + 1, size - 1);
  if (size >= 2 && data[0] == 'T') {
    std::string z = gzip(data + 2, size - 2);
    z.resize(z.size() * data[1] / 256);
    return z;
  }
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace fuzz
