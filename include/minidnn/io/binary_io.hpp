#pragma once
/// \file
/// BinaryWriter and BinaryReader: little-endian encoding of the model file's fields, with every
/// read bounds-checked so a truncated or corrupt file becomes a minidnn::Error, never a crash.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "minidnn/core/error.hpp"

namespace minidnn {

/// Appends fields to an in-memory buffer (written to disk in one piece afterwards).
class BinaryWriter {
 public:
  template <typename T>
  void write(T value) {
    static_assert(std::is_arithmetic_v<T>, "write() takes numbers");
    const auto* bytes = reinterpret_cast<const char*>(&value);
    buffer_.append(bytes, sizeof(T));
  }
  void write_string(const std::string& s) {
    write<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    buffer_.append(s);
  }
  template <typename T>
  void write_array(const T* values, std::size_t count) {
    write<std::uint64_t>(count);
    buffer_.append(reinterpret_cast<const char*>(values), count * sizeof(T));
  }
  const std::string& bytes() const { return buffer_; }

 private:
  std::string buffer_;
};

/// Reads fields back from a buffer; `what` names the source (a file path) in error messages.
class BinaryReader {
 public:
  BinaryReader(const char* data, std::size_t size, std::string what)
      : data_(data), size_(size), what_(std::move(what)) {}

  template <typename T>
  T read(const char* field) {
    static_assert(std::is_arithmetic_v<T>, "read() returns numbers");
    require(sizeof(T), field);
    T value;
    std::memcpy(&value, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  std::string read_string(const char* field, std::size_t max_length = 1 << 16) {
    const auto length = read<std::uint32_t>(field);
    if (length > max_length) fail(what_, ": ", field, " has implausible length ", length, " at byte ", offset_);
    require(length, field);
    std::string s(data_ + offset_, length);
    offset_ += length;
    return s;
  }
  /// Reads an array written by write_array, which must hold exactly `expected` elements.
  template <typename T>
  void read_array(T* out, std::size_t expected, const char* field) {
    const auto count = read<std::uint64_t>(field);
    if (count != expected)
      fail(what_, ": ", field, " holds ", count, " values, expected ", expected);
    require(count * sizeof(T), field);
    std::memcpy(out, data_ + offset_, count * sizeof(T));
    offset_ += count * sizeof(T);
  }
  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return size_ - offset_; }
  const std::string& what() const { return what_; }

 private:
  void require(std::size_t bytes, const char* field) const {
    if (bytes > size_ - offset_)
      fail(what_, ": truncated: ", field, " needs ", bytes, " bytes at byte ", offset_, ", only ",
           size_ - offset_, " left");
  }
  const char* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  std::string what_;
};

/// CRC-32 (IEEE 802.3, as zlib computes it) of a byte range.
inline std::uint32_t crc32(const char* data, std::size_t size) {
  static const auto table = [] {
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i)
    crc = table[(crc ^ static_cast<unsigned char>(data[i])) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace minidnn
