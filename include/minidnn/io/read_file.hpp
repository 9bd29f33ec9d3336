#pragma once
/// \file
/// read_file: a whole (small) file into memory, with a size cap checked before and while reading,
/// so a directory, /dev/zero or a huge sparse file is an Error naming the file, never an
/// unbounded allocation or a bare std::bad_alloc.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "minidnn/core/error.hpp"

namespace minidnn::io {

/// Reads all of `path`. `kind` names the file in messages ("cascade file"); a file larger than
/// `max_bytes` is refused (by its size when it is a regular file, else once that many bytes have
/// arrived), as is a directory; open and read errors carry the system's reason.
inline std::string read_file(const std::string& path, std::size_t max_bytes, const char* kind) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail(path, ": cannot open ", kind, ": ", std::strerror(errno));
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{file};
  struct stat info {};
  if (::fstat(::fileno(file), &info) == 0) {
    if (S_ISDIR(info.st_mode)) fail(path, ": cannot read ", kind, ": it is a directory, not a file");
    if (S_ISREG(info.st_mode) && static_cast<unsigned long long>(info.st_size) > max_bytes)
      fail(path, ": ", kind, " too large: ", info.st_size, " bytes (at most ", max_bytes, " accepted)");
  }
  std::string bytes;
  char buffer[1 << 16];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    if (bytes.size() + got > max_bytes)
      fail(path, ": ", kind, " too large: more than ", max_bytes, " bytes");
    bytes.append(buffer, got);
  }
  if (std::ferror(file)) fail(path, ": cannot read ", kind, ": ", std::strerror(errno));
  return bytes;
}

}  // namespace minidnn::io
