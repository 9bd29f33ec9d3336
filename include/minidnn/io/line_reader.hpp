#pragma once
/// \file
/// LineReader: hands out the lines of a plain or gzip-compressed text file one at a time, with
/// their 1-based line numbers, holding only a buffer of a few hundred kilobytes (plus the
/// longest line) in memory. A line longer than `max_line_bytes` (1 MiB unless told otherwise) is
/// an Error naming the file and line as soon as that many bytes have arrived without a newline,
/// so a hostile file (one 1.5 GB line in a small .gz, /dev/zero) costs constant memory. "\n" and "\r\n" line ends are both accepted; the end-of-line
/// characters are not part of the returned line. A final line without a newline is still a line.
/// Needs zlib at link time (CMake: ZLIB::ZLIB), through ByteStream.
#include <cstddef>
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "minidnn/io/byte_stream.hpp"

namespace minidnn {

class LineReader {
 public:
  static constexpr std::size_t kDefaultMaxLineBytes = std::size_t(1) << 20;

  explicit LineReader(const std::string& path, std::size_t buffer_bytes = 1 << 18,
                      std::size_t max_line_bytes = kDefaultMaxLineBytes)
      : stream_(path), buffer_(buffer_bytes < 16 ? 16 : buffer_bytes), max_line_bytes_(max_line_bytes) {}

  const std::string& path() const { return stream_.path(); }
  bool compressed() const { return stream_.compressed(); }
  /// Line number of the line last returned by next() (1-based; 0 before the first).
  std::size_t line_number() const { return line_number_; }

  /// Reads the next line into `line` (a view into the reader's buffer, valid until the next
  /// call). Returns false at the end of the file. Throws on I/O errors and corrupt gzip data.
  bool next(std::string_view& line) {
    for (;;) {
      const char* start = buffer_.data() + begin_;
      const void* newline = end_ > begin_ ? std::memchr(start, '\n', end_ - begin_) : nullptr;
      if (newline) {
        std::size_t length = static_cast<const char*>(newline) - start;
        begin_ += length + 1;
        if (length > 0 && start[length - 1] == '\r') --length;
        line = std::string_view(start, length);
        ++line_number_;
        return true;
      }
      if (at_end_) {
        if (begin_ == end_) return false;
        std::size_t length = end_ - begin_;
        begin_ = end_;
        if (start[length - 1] == '\r') --length;
        line = std::string_view(start, length);
        ++line_number_;
        return true;
      }
      refill();
    }
  }

 private:
  // Moves the unfinished line to the front, grows the buffer if that line fills it, reads more.
  void refill() {
    const std::size_t pending = end_ - begin_;
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, pending);
      begin_ = 0;
      end_ = pending;
    }
    if (pending > max_line_bytes_)
      fail(path(), ":", line_number_ + 1, ": line longer than ", max_line_bytes_,
           " bytes (no newline found); not a text file of this kind, or corrupt");
    if (end_ == buffer_.size()) buffer_.resize(std::min(buffer_.size() * 2, max_line_bytes_ + 2));
    const std::size_t got = stream_.read(buffer_.data() + end_, buffer_.size() - end_);
    if (got == 0) at_end_ = true;
    end_ += got;
  }

  ByteStream stream_;
  std::vector<char> buffer_;  // decompressed text, lines [begin_, end_) not yet handed out
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool at_end_ = false;
  std::size_t line_number_ = 0;
  std::size_t max_line_bytes_;
};

}  // namespace minidnn
