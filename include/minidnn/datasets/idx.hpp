#pragma once
/// \file
/// IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed):
///
///     bytes 0-1  zero          byte 2  element type (0x08 = unsigned byte)   byte 3  rank
///     rank x 4 bytes           big-endian dimension sizes
///     then prod(dims) elements, row-major
///
/// Only unsigned-byte data is read (every MNIST-family file is). A wrong magic, an unexpected
/// rank or a zero dimension, a file shorter than its header promises or with bytes left over
/// is a minidnn::Error naming the file and the offset. Needs zlib at link time (ZLIB::ZLIB).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/io/byte_stream.hpp"

namespace minidnn::idx {

/// A whole IDX file of unsigned bytes.
struct ByteArray {
  std::vector<int> dims;            // e.g. (60000, 28, 28)
  std::vector<std::uint8_t> data;   // prod(dims) bytes, row-major
};

/// Reads an IDX file of unsigned bytes; `expected_rank` > 0 makes any other rank an error.
inline ByteArray read_bytes(const std::string& path, int expected_rank = 0) {
  ByteStream stream(path);
  unsigned char magic[4];
  stream.read_exact(magic, 4, "the IDX magic number");
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, ": not an IDX file (bytes 0-1 are ", int(magic[0]), " ", int(magic[1]), ", expected 0 0)");
  if (magic[2] != 0x08)
    fail(path, ": IDX element type 0x", std::hex, int(magic[2]), std::dec,
         " at byte 2 is not supported (only 0x08, unsigned byte)");
  const int rank = magic[3];
  if (rank < 1) fail(path, ": IDX rank (byte 3) is 0");
  if (expected_rank > 0 && rank != expected_rank)
    fail(path, ": IDX rank (byte 3) is ", rank, ", expected ", expected_rank);
  ByteArray result;
  std::uint64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    unsigned char size_bytes[4];
    stream.read_exact(size_bytes, 4, "the IDX dimension sizes");
    const std::uint32_t size = (std::uint32_t(size_bytes[0]) << 24) | (std::uint32_t(size_bytes[1]) << 16) |
                               (std::uint32_t(size_bytes[2]) << 8) | std::uint32_t(size_bytes[3]);
    if (size == 0 || size > 0x7fffffffu)
      fail(path, ": IDX dimension ", d, " (bytes ", 4 + 4 * d, "-", 7 + 4 * d, ") is ", size,
           ", expected 1 to 2^31-1");
    total *= size;
    if (total > (std::uint64_t(1) << 34)) fail(path, ": IDX dimensions promise more than 16 GiB of data");
    result.dims.push_back(static_cast<int>(size));
  }
  // Grow with the data actually read rather than trusting the header: a corrupt header must be
  // an error about the file, not a huge allocation.
  constexpr std::size_t kChunk = std::size_t(1) << 24;
  while (result.data.size() < total) {
    const std::size_t start = result.data.size();
    result.data.resize(start + static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, total - start)));
    const std::size_t wanted = result.data.size() - start;
    std::size_t got = 0;
    while (got < wanted) {
      const std::size_t n = stream.read(result.data.data() + start + got, wanted - got);
      if (n == 0)
        fail(path, ": file ends at byte ", stream.offset(), " in the IDX data (the header promises ", total,
             " data bytes, found ", start + got, ")");
      got += n;
    }
  }
  unsigned char extra;
  if (stream.read(&extra, 1) != 0)
    fail(path, ": ", "unexpected bytes after the IDX data at offset ", stream.offset() - 1,
         " (the header promises ", total, " data bytes)");
  return result;
}

/// Images file (rank 3: count, height, width) as (N, 1, H, W) floats in [0, 1].
inline Tensor<float> read_images(const std::string& path) {
  const ByteArray raw = read_bytes(path, 3);
  Tensor<float> images(raw.dims[0], Shape{1, raw.dims[1], raw.dims[2]});
  for (std::size_t i = 0; i < raw.data.size(); ++i) images[i] = static_cast<float>(raw.data[i]) / 255.0f;
  return images;
}

/// Labels file (rank 1) as ints; `num_classes` > 0 makes any label >= num_classes an error.
inline std::vector<int> read_labels(const std::string& path, int num_classes = 0) {
  const ByteArray raw = read_bytes(path, 1);
  std::vector<int> labels(raw.data.begin(), raw.data.end());
  if (num_classes > 0)
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] >= num_classes)
        fail(path, ": label ", i, " (byte ", 8 + i, ") is ", labels[i], ", expected 0 to ", num_classes - 1);
  return labels;
}

}  // namespace minidnn::idx
