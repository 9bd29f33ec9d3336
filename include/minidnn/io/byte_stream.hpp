#pragma once
/// \file
/// ByteStream: reads a file that is either plain or gzip-compressed (detected by its magic bytes,
/// not its name), a chunk at a time, so a 300 MB CSV never sits in memory whole.
///
/// zlib's inflate is driven directly (not gzread) because gzread reports a truncated stream as a
/// plain end of file; here a stream that ends before its gzip trailer, or whose CRC/length does
/// not match, is a minidnn::Error naming the file. Concatenated gzip members are read in turn.
/// Needs zlib at link time (CMake: ZLIB::ZLIB).
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"

namespace minidnn {

class ByteStream {
 public:
  explicit ByteStream(const std::string& path, std::size_t chunk_bytes = 1 << 18) : path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) fail(path, ": cannot open file for reading: ", std::strerror(errno));
    struct stat info {};
    if (::fstat(::fileno(file_), &info) == 0 && S_ISDIR(info.st_mode)) {
      std::fclose(file_);
      file_ = nullptr;
      fail(path, ": cannot read: it is a directory, not a file");
    }
    compressed_input_.resize(chunk_bytes);
    fill_input();
    gzip_ = input_available_ >= 2 && compressed_input_[0] == 0x1f && compressed_input_[1] == 0x8b;
    if (gzip_) {
      std::memset(&inflater_, 0, sizeof inflater_);
      if (inflateInit2(&inflater_, 16 + MAX_WBITS) != Z_OK) {
        std::fclose(file_);
        fail(path, ": zlib could not start decompressing");
      }
      inflater_ready_ = true;
    }
  }
  ~ByteStream() {
    if (inflater_ready_) inflateEnd(&inflater_);
    if (file_) std::fclose(file_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  const std::string& path() const { return path_; }
  bool compressed() const { return gzip_; }
  /// Decompressed bytes handed out so far (the offset used in error messages).
  std::uint64_t offset() const { return offset_; }

  /// Reads up to `count` bytes into `out`; returns how many were read, 0 only at the true end of
  /// the data. Throws on read errors and on a truncated or corrupt gzip stream.
  std::size_t read(void* out, std::size_t count) {
    const std::size_t got = gzip_ ? read_gzip(static_cast<unsigned char*>(out), count)
                                  : read_plain(static_cast<unsigned char*>(out), count);
    offset_ += got;
    return got;
  }

  /// Reads exactly `count` bytes or throws, naming `what` was being read and the offset.
  void read_exact(void* out, std::size_t count, const char* what) {
    auto* bytes = static_cast<unsigned char*>(out);
    std::size_t done = 0;
    const std::uint64_t start = offset_;
    while (done < count) {
      const std::size_t got = read(bytes + done, count - done);
      if (got == 0)
        fail(path_, ": file ends at byte ", start + done, " in the middle of ", what, " (needed ", count,
             " bytes from offset ", start, ", got ", done, ")");
      done += got;
    }
  }

 private:
  void fill_input() {
    input_available_ = std::fread(compressed_input_.data(), 1, compressed_input_.size(), file_);
    input_position_ = 0;
    if (input_available_ < compressed_input_.size() && std::ferror(file_))
      fail(path_, ": read error: ", std::strerror(errno));
  }

  std::size_t read_plain(unsigned char* out, std::size_t count) {
    std::size_t done = 0;
    while (done < count) {
      if (input_position_ == input_available_) {
        fill_input();
        if (input_available_ == 0) break;
      }
      const std::size_t n = std::min(count - done, input_available_ - input_position_);
      std::memcpy(out + done, compressed_input_.data() + input_position_, n);
      input_position_ += n;
      done += n;
    }
    return done;
  }

  std::size_t read_gzip(unsigned char* out, std::size_t count) {
    std::size_t done = 0;
    while (done < count && !finished_) {
      if (input_position_ == input_available_) {
        fill_input();
        if (input_available_ == 0) {
          if (member_ended_) {  // clean end: the last member's trailer was read
            finished_ = true;
            break;
          }
          fail(path_, ": truncated gzip stream (the compressed data ends before the gzip trailer, after ",
               offset_ + done, " decompressed bytes)");
        }
      }
      if (member_ended_) {
        // More bytes after a complete member: another gzip member follows (as `cat a.gz b.gz`).
        if (inflateReset(&inflater_) != Z_OK) fail(path_, ": zlib could not restart decompressing");
        member_ended_ = false;
      }
      inflater_.next_in = compressed_input_.data() + input_position_;
      inflater_.avail_in = static_cast<uInt>(input_available_ - input_position_);
      inflater_.next_out = out + done;
      const std::size_t want = std::min<std::size_t>(count - done, 1u << 30);
      inflater_.avail_out = static_cast<uInt>(want);
      const int status = inflate(&inflater_, Z_NO_FLUSH);
      input_position_ = input_available_ - inflater_.avail_in;
      done += want - inflater_.avail_out;
      if (status == Z_STREAM_END) {
        member_ended_ = true;
      } else if (status == Z_DATA_ERROR || status == Z_NEED_DICT) {
        fail(path_, ": corrupt gzip stream after ", offset_ + done, " decompressed bytes (zlib: ",
             inflater_.msg ? inflater_.msg : "data error", ")");
      } else if (status == Z_MEM_ERROR) {
        fail(path_, ": out of memory while decompressing");
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        fail(path_, ": zlib error ", status, " while decompressing");
      }
    }
    return done;
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<unsigned char> compressed_input_;  // raw file bytes, (chunk_bytes,)
  std::size_t input_available_ = 0;
  std::size_t input_position_ = 0;
  bool gzip_ = false;
  bool inflater_ready_ = false;
  bool member_ended_ = false;
  bool finished_ = false;
  std::uint64_t offset_ = 0;
  z_stream inflater_{};
};

}  // namespace minidnn
