#pragma once
/// \file
/// 8-bit images and the few image operations the face pipeline needs: loading (JPEG, PNG, BMP via
/// stb_image), grey conversion and resizing that give the same bytes as OpenCV's cvtColor and
/// resize (so a detector built on them matches OpenCV's detections), cropping, rectangle drawing
/// and PNG writing. Requires linking `minidnn::stb` (Debian's libstb).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <stb_image.h>

#include "minidnn/core/error.hpp"
#include "minidnn/io/png_file.hpp"
#include "minidnn/viz/rgb.hpp"

namespace minidnn::vision {

/// An interleaved image: `channels` values per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), rows
/// top to bottom without padding. `T` is std::uint8_t for photos, float for network inputs.
template <typename T>
struct BasicImage {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<T> pixels;  // [height][width][channels]

  BasicImage() = default;
  BasicImage(int width_, int height_, int channels_, T fill = T{})
      : width(width_), height(height_), channels(channels_) {
    if (width_ < 0 || height_ < 0 || channels_ < 1 || channels_ > 4)
      fail("Image: invalid size ", width_, "x", height_, "x", channels_);
    pixels.assign(static_cast<std::size_t>(width_) * height_ * channels_, fill);
  }

  bool empty() const { return width == 0 || height == 0; }
  T* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * width * channels; }
  const T* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width * channels; }
  T& at(int x, int y, int c = 0) { return row(y)[x * channels + c]; }
  const T& at(int x, int y, int c = 0) const { return row(y)[x * channels + c]; }
};

/// A single-channel image; a distinct type so functions that need grey cannot get colour.
template <typename T>
struct BasicGreyImage {
  int width = 0;
  int height = 0;
  std::vector<T> pixels;  // [height][width]

  BasicGreyImage() = default;
  BasicGreyImage(int width_, int height_, T fill = T{}) : width(width_), height(height_) {
    if (width_ < 0 || height_ < 0) fail("GreyImage: invalid size ", width_, "x", height_);
    pixels.assign(static_cast<std::size_t>(width_) * height_, fill);
  }

  bool empty() const { return width == 0 || height == 0; }
  T* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * width; }
  const T* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width; }
  T& at(int x, int y) { return row(y)[x]; }
  const T& at(int x, int y) const { return row(y)[x]; }
};

using Image = BasicImage<std::uint8_t>;
using GreyImage = BasicGreyImage<std::uint8_t>;
using GreyImageF = BasicGreyImage<float>;

/// A pixel rectangle, origin top-left.
struct Box {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend bool operator==(const Box& a, const Box& b) {
    return a.x == b.x && a.y == b.y && a.width == b.width && a.height == b.height;
  }
};

/// An 8-bit RGB colour for drawing (the one colour type of vision and viz).
using viz::Rgb;

namespace detail {

/// Two flaws of stb_image 2.27 (Debian 12's libstb), both found by fuzzing, that a walk over a
/// JPEG's segments can rule out before stb decodes it. Returns why the file is refused, or nullptr.
///  - A DHT segment declaring more than 256 codes makes stb write past its table (fixed upstream
///    in 2.28).
///  - A scan that uses a Huffman table no DHT has defined makes stb decode with uninitialized
///    memory, reading at garbage indexes. libjpeg refuses such a file too.
/// Bytes past the end of the file are read as 0, as stb reads them.
inline const char* jpeg_problem(const unsigned char* p, std::size_t n) {
  auto byte = [&](std::size_t i) -> unsigned { return i < n ? p[i] : 0u; };
  bool defined[2][4] = {};  // [DC/AC][table id]: tables seen so far, as stb keeps them per image
  bool progressive = false;
  std::size_t pos = 2;  // after SOI
  while (pos + 1 < n) {
    if (p[pos] != 0xFF) {  // entropy-coded data (or garbage stb will reject): find the next marker
      ++pos;
      continue;
    }
    const unsigned char marker = p[pos + 1];
    if (marker == 0xD9) break;                                  // EOI
    if (marker == 0x00 || marker == 0xFF || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      ++pos;                                                    // stuffed byte, fill byte, RSTn
      continue;
    }
    if (pos + 3 >= n) break;
    const long length = (long(p[pos + 2]) << 8) | p[pos + 3];
    std::size_t next = pos + 2 + static_cast<std::size_t>(length);
    if (marker == 0xC2) progressive = true;
    if (marker == 0xC4) {
      // DHT: tables of (class/id, 16 counts, symbols), read as stb reads them: while the declared
      // length lasts, trusting each table's counts.
      std::size_t t = pos + 4;
      for (long left = length - 2; left > 0 && t < n;) {
        long codes = 0;
        for (std::size_t i = t + 1; i <= t + 16; ++i) codes += byte(i);
        if (codes > 256) return "corrupt JPEG: a Huffman table (DHT) declares more than 256 codes";
        const unsigned table_class = byte(t) >> 4, id = byte(t) & 15;
        if (table_class <= 1 && id <= 3) defined[table_class][id] = true;  // stb refuses other ids
        left -= 17 + codes;
        t += 17 + static_cast<std::size_t>(codes);
      }
      next = t;
    } else if (marker == 0xDA) {
      // SOS: count, (component, DC table << 4 | AC table) per component, then the spectral
      // selection start and the successive approximation. Which tables a scan decodes with
      // follows stb: baseline scans both; progressive DC scans only the first pass's DC table,
      // progressive AC scans the AC table.
      const unsigned components = byte(pos + 4);
      const std::size_t after = pos + 5 + 2 * std::size_t(components);
      const bool dc_scan = byte(after) == 0, first_pass = (byte(after + 2) >> 4) == 0;
      const bool uses_dc = !progressive || (dc_scan && first_pass), uses_ac = !progressive || !dc_scan;
      for (unsigned c = 0; c < components; ++c) {
        const unsigned tables = byte(pos + 6 + 2 * std::size_t(c)), dc = tables >> 4, ac = tables & 15;
        if ((uses_dc && dc <= 3 && !defined[0][dc]) || (uses_ac && ac <= 3 && !defined[1][ac]))
          return "corrupt JPEG: a scan uses a Huffman table that no DHT segment defines";
      }
    }
    pos = std::max(next, pos + 2);
  }
  return nullptr;
}

/// stb_image grows its buffer to a PNG chunk's declared length before reading the chunk, so a
/// few bytes declaring a 2 GiB IDAT chunk make it allocate 2 GiB (found by fuzzing). Returns why
/// a PNG whose chunks claim more bytes than the file holds is refused, or nullptr.
inline const char* png_problem(const unsigned char* p, std::size_t n) {
  for (std::size_t pos = 8; pos + 8 <= n;) {
    const std::size_t length = (std::size_t(p[pos]) << 24) | (std::size_t(p[pos + 1]) << 16) |
                               (std::size_t(p[pos + 2]) << 8) | std::size_t(p[pos + 3]);
    if (length > n - pos - 8) return "truncated or corrupt PNG: a chunk claims more bytes than the file holds";
    if (std::memcmp(p + pos + 4, "IEND", 4) == 0) break;
    pos += 12 + length;  // length, type, data, CRC
  }
  return nullptr;
}

/// The size a PNG, BMP or JPEG header claims, read directly (0x0 when not found): stb's own header
/// reader refuses sizes it will not decode with a misleading "unknown image type".
inline void claimed_size(const unsigned char* p, std::size_t size, bool png, bool bmp, long long& width,
                         long long& height) {
  width = height = 0;
  auto be32 = [&](std::size_t at) {
    using Wide = long long;
    return (Wide(p[at]) << 24) | (Wide(p[at + 1]) << 16) | (Wide(p[at + 2]) << 8) | Wide(p[at + 3]);
  };
  if (png) {
    if (size >= 24 && std::memcmp(p + 12, "IHDR", 4) == 0) width = be32(16), height = be32(20);
    return;
  }
  if (bmp) {
    if (size >= 26) {
      std::int32_t w, h;
      std::memcpy(&w, p + 18, 4);
      std::memcpy(&h, p + 22, 4);
      width = std::llabs(static_cast<long long>(w)), height = std::llabs(static_cast<long long>(h));
    }
    return;
  }
  // JPEG: the first start-of-frame segment (SOF0-SOF15 but DHT, JPG and DAC), before any scan.
  for (std::size_t pos = 2; pos + 4 <= size && p[pos] == 0xFF;) {
    const unsigned char marker = p[pos + 1];
    if (marker == 0xFF) {
      ++pos;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;
      continue;
    }
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (pos + 9 <= size) height = (p[pos + 5] << 8) | p[pos + 6], width = (p[pos + 7] << 8) | p[pos + 8];
      return;
    }
    pos += 2 + ((std::size_t(p[pos + 2]) << 8) | p[pos + 3]);
  }
}

}  // namespace detail

inline Image decode_image(const std::string& bytes, const std::string& name);

/// Loads a JPEG, PNG or BMP image with its channels as stored (1 to 4), via stb_image.
/// Unreadable, undecodable or other files throw an Error with the path and the reason. Images
/// over 2^26 pixels are refused before decoding. Like OpenCV, 16-bit PNGs are reduced to 8 bits;
/// unlike cv::imread, JPEG EXIF orientation is not applied.
inline Image load_image(const std::string& path) {
  std::string bytes;
  {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) fail(path, ": cannot load image: ", std::strerror(errno));
    char buffer[1 << 16];
    std::size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
      bytes.append(buffer, got);
      if (bytes.size() > (std::size_t(1) << 30)) {
        std::fclose(file);
        fail(path, ": cannot load image: file larger than 1 GiB");
      }
    }
    const bool read_error = std::ferror(file) != 0;
    std::fclose(file);
    if (read_error) fail(path, ": cannot load image: read error");
  }
  return decode_image(bytes, path);
}

/// Decodes a JPEG, PNG or BMP file held in memory, with the checks and limits of load_image;
/// errors name the image as `name` (a path, or e.g. "upload" for bytes received by a server).
inline Image decode_image(const std::string& bytes, const std::string& name) {
  const std::string& path = name;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  if (size > (std::size_t(1) << 30)) fail(path, ": cannot load image: file larger than 1 GiB");
  const bool jpeg = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
  const bool png = size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool bmp = size >= 2 && data[0] == 'B' && data[1] == 'M';
  if (!jpeg && !png && !bmp) fail(path, ": cannot load image: not a JPEG, PNG or BMP file");
  if (const char* problem = jpeg ? detail::jpeg_problem(data, size) : png ? detail::png_problem(data, size) : nullptr)
    fail(path, ": cannot load image: ", problem);

  int width = 0, height = 0, channels = 0;
  // A header can claim a huge image in a few bytes, and stb then decodes the missing data as
  // zeros for seconds (found by fuzzing). Refuse before decoding what no file of this size can
  // hold: BMP stores at least 1 bit per pixel, a JPEG at least ~6 bits per 8x8 block, and PNG's
  // deflate expands at most ~1032:1 (8 pixels per byte for 1-bit images).
  constexpr long long kMaxPixels = 1LL << 26;
  const long long bytes_in_file = static_cast<long long>(size);
  const long long most_pixels = bmp ? 8 * bytes_in_file : jpeg ? 512 * bytes_in_file : 8256 * bytes_in_file;
  const int length = static_cast<int>(size);
  {
    long long claimed_width, claimed_height;
    detail::claimed_size(data, size, png, bmp, claimed_width, claimed_height);
    // Divided rather than multiplied: two 32-bit PNG sides overflow a long long (found by fuzzing).
    if (claimed_width > 0 && claimed_height > kMaxPixels / claimed_width)
      fail(path, ": cannot load image: it is ", claimed_width, "x", claimed_height, ", more than the ", kMaxPixels,
           " pixels this loader accepts");
  }
  if (!stbi_info_from_memory(data, length, &width, &height, &channels)) {
    const char* reason = stbi_failure_reason();
    fail(path, ": cannot load image: ", reason ? reason : "unreadable header");
  }
  // stb accepts a BMP header of width or height 0 and "decodes" it to no pixels (found by
  // fuzzing); no caller can use an empty image, so it is refused here with the rest.
  if (width == 0 || height == 0)
    fail(path, ": cannot load image: the header says ", width, "x", height, ", an image with no pixels");
  {
    // stb reports a top-down BMP's height as negative (found by fuzzing: a 55-byte BMP claiming
    // 1792x-65535 slipped past a signed check and kept the decoder busy).
    const long long pixels = std::llabs(static_cast<long long>(width)) * std::llabs(static_cast<long long>(height));
    if (pixels > kMaxPixels)
      fail(path, ": cannot load image: it is ", width, "x", height, ", more than the ", kMaxPixels,
           " pixels this loader accepts");
    if (pixels > most_pixels)
      fail(path, ": cannot load image: truncated or corrupt: a ", width, "x", height, " image cannot fit in ",
           size, " bytes");
  }
  stbi_uc* pixels = stbi_load_from_memory(data, length, &width, &height, &channels, 0);
  if (!pixels) {
    // The header was fine, so the data is what is wrong; stb's reason ("expected marker") alone
    // does not say so.
    const char* reason = stbi_failure_reason();
    fail(path, ": cannot load image: truncated or corrupt ", jpeg ? "JPEG" : png ? "PNG" : "BMP",
         " data (decoder: ", reason ? reason : "unknown reason", ")");
  }
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.assign(pixels, pixels + static_cast<std::size_t>(width) * height * channels);
  stbi_image_free(pixels);
  return image;
}

/// Converts to grey exactly as OpenCV 4's cvtColor(COLOR_RGB2GRAY) does on 8-bit data:
/// 0.299 R + 0.587 G + 0.114 B in 15-bit fixed point, rounded. Grey input is copied; alpha is
/// ignored.
inline GreyImage to_grey(const Image& image) {
  // OpenCV 4's 15-bit coefficients (they sum to 2^15, so white stays 255; blue is rounded down
  // to make that so). The 14-bit ones of older OpenCV differ on about 0.1% of colours.
  constexpr int kShift = 15, kRed = 9798, kGreen = 19235, kBlue = 3735;
  GreyImage grey(image.width, image.height);
  const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
  const std::uint8_t* src = image.pixels.data();
  std::uint8_t* dst = grey.pixels.data();
  if (image.channels == 1 || image.channels == 2) {
    for (std::size_t i = 0; i < count; ++i) dst[i] = src[i * image.channels];
  } else if (image.channels == 3 || image.channels == 4) {
    const int cn = image.channels;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t* p = src + i * cn;
      dst[i] = static_cast<std::uint8_t>(
          (p[0] * kRed + p[1] * kGreen + p[2] * kBlue + (1 << (kShift - 1))) >> kShift);
    }
  } else {
    fail("to_grey: unsupported channel count ", image.channels);
  }
  return grey;
}

/// Loads an image file and converts it to grey (see load_image and to_grey).
inline GreyImage load_grey(const std::string& path) { return to_grey(load_image(path)); }

/// Grey bytes to floats times `scale` (1/255 maps to [0, 1]).
inline GreyImageF to_float(const GreyImage& grey, float scale = 1.0f / 255.0f) {
  GreyImageF out(grey.width, grey.height);
  for (std::size_t i = 0; i < grey.pixels.size(); ++i) out.pixels[i] = grey.pixels[i] * scale;
  return out;
}

/// The part of `image` inside `box`, which must lie within the image.
template <typename T>
BasicGreyImage<T> crop(const BasicGreyImage<T>& image, const Box& box) {
  if (box.width <= 0 || box.height <= 0 || box.x < 0 || box.y < 0 ||
      box.x + box.width > image.width || box.y + box.height > image.height)
    fail("crop: box (", box.x, ", ", box.y, ", ", box.width, "x", box.height,
         ") is not inside the ", image.width, "x", image.height, " image");
  BasicGreyImage<T> out(box.width, box.height);
  for (int y = 0; y < box.height; ++y)
    std::copy_n(image.row(box.y + y) + box.x, box.width, out.row(y));
  return out;
}

/// The part of a colour `image` inside `box`, which must lie within the image.
template <typename T>
BasicImage<T> crop(const BasicImage<T>& image, const Box& box) {
  if (box.width <= 0 || box.height <= 0 || box.x < 0 || box.y < 0 ||
      box.x + box.width > image.width || box.y + box.height > image.height)
    fail("crop: box (", box.x, ", ", box.y, ", ", box.width, "x", box.height,
         ") is not inside the ", image.width, "x", image.height, " image");
  BasicImage<T> out(box.width, box.height, image.channels);
  for (int y = 0; y < box.height; ++y)
    std::copy_n(image.row(box.y + y) + box.x * image.channels, box.width * image.channels, out.row(y));
  return out;
}

/// Resizes by area averaging: each output pixel is the mean of the source area it covers, with
/// fractional coverage at the edges (OpenCV's INTER_AREA for shrinking). Bytes are rounded to
/// nearest; OpenCV accumulates in float, so its bytes can differ from these by at most one level.
/// Enlarging works too (each output pixel then averages the one or two source pixels it overlaps).
template <typename T>
BasicGreyImage<T> resize_area(const BasicGreyImage<T>& image, int width, int height) {
  if (image.empty()) fail("resize_area: empty image");
  if (width <= 0 || height <= 0) fail("resize_area: invalid target size ", width, "x", height);
  // Per output column: the source columns it covers and their weights (coverage / scale).
  struct Span {
    int first = 0;
    std::vector<double> weights;
  };
  auto spans = [](int src_size, int dst_size) {
    std::vector<Span> out(static_cast<std::size_t>(dst_size));
    const double scale = static_cast<double>(src_size) / dst_size;
    for (int d = 0; d < dst_size; ++d) {
      double begin = d * scale, end = std::min<double>((d + 1) * scale, src_size);
      int first = static_cast<int>(std::floor(begin));
      int last = std::min(src_size - 1, static_cast<int>(std::ceil(end)) - 1);
      Span& s = out[static_cast<std::size_t>(d)];
      s.first = first;
      for (int i = first; i <= last; ++i) {
        double cover = std::min<double>(end, i + 1) - std::max<double>(begin, i);
        s.weights.push_back(std::max(0.0, cover) / (end - begin));
      }
    }
    return out;
  };
  const std::vector<Span> xs = spans(image.width, width), ys = spans(image.height, height);
  BasicGreyImage<T> out(width, height);
  std::vector<double> row_acc(static_cast<std::size_t>(image.width));  // [source width]
  for (int y = 0; y < height; ++y) {
    const Span& sy = ys[static_cast<std::size_t>(y)];
    std::fill(row_acc.begin(), row_acc.end(), 0.0);
    for (std::size_t k = 0; k < sy.weights.size(); ++k) {
      const T* src = image.row(sy.first + static_cast<int>(k));
      for (int x = 0; x < image.width; ++x) row_acc[x] += sy.weights[k] * src[x];
    }
    T* dst = out.row(y);
    for (int x = 0; x < width; ++x) {
      const Span& sx = xs[static_cast<std::size_t>(x)];
      double value = 0;
      for (std::size_t k = 0; k < sx.weights.size(); ++k) value += sx.weights[k] * row_acc[sx.first + k];
      if constexpr (std::is_integral_v<T>)
        dst[x] = static_cast<T>(std::clamp(std::lround(value), 0L, 255L));
      else
        dst[x] = static_cast<T>(value);
    }
  }
  return out;
}

namespace detail {

// Bilinear coefficients of one axis for OpenCV's bit-exact INTER_LINEAR_EXACT on 8-bit images:
// source index and weight of the next source pixel in 8-bit fixed point (0..256), or a clamped
// edge pixel (weight -1 marks "copy source[index]").
struct LinearTap {
  int index = 0;
  int weight_next = -1;
};

inline std::vector<LinearTap> linear_exact_taps(int src_size, int dst_size) {
  std::vector<LinearTap> taps(static_cast<std::size_t>(dst_size));
  // OpenCV derives the scale from the sizes as 1 / (dst / src), in double.
  volatile double inv_scale = static_cast<double>(dst_size) / src_size;
  const double scale = 1.0 / inv_scale;
  for (int d = 0; d < dst_size; ++d) {
    // Kept as two separately rounded operations (no fused multiply-add), like OpenCV's softfloat.
    volatile double product = scale * (d + 0.5);
    const double position = product - 0.5;
    const int index = static_cast<int>(std::floor(position));
    LinearTap& tap = taps[static_cast<std::size_t>(d)];
    if (index < 0) {
      tap.index = 0;  // left/top border: replicate the first pixel
    } else if (index >= src_size - 1 || src_size == 1) {
      tap.index = src_size - 1;  // right/bottom border: replicate the last pixel
    } else {
      tap.index = index;
      tap.weight_next = static_cast<int>(std::nearbyint((position - index) * 256.0));
    }
  }
  // OpenCV clamps every position after the first one that reaches the last pixel.
  bool clamped = false;
  for (LinearTap& tap : taps) {
    if (tap.weight_next < 0 && tap.index == src_size - 1) clamped = true;
    if (clamped) tap = LinearTap{src_size - 1, -1};
  }
  return taps;
}

}  // namespace detail

/// Bilinear resize giving the same bytes as OpenCV's resize(..., INTER_LINEAR_EXACT) on 8-bit
/// grey images (8-bit fixed-point weights, pixel centres aligned, edges replicated). OpenCV's
/// CascadeClassifier builds its image pyramid with it.
inline GreyImage resize_linear_exact(const GreyImage& image, int width, int height) {
  if (image.empty()) fail("resize_linear_exact: empty image");
  if (width <= 0 || height <= 0) fail("resize_linear_exact: invalid target size ", width, "x", height);
  GreyImage out(width, height);
  if (width == image.width && height == image.height) {
    out.pixels = image.pixels;
    return out;
  }
  const std::vector<detail::LinearTap> xs = detail::linear_exact_taps(image.width, width);
  const std::vector<detail::LinearTap> ys = detail::linear_exact_taps(image.height, height);
  // Horizontally resized source rows in 8.8 fixed point (exact), two rows cached.
  std::vector<std::uint32_t> rows(2 * static_cast<std::size_t>(width));  // [2][width]
  int cached[2] = {-1, -1};
  auto horizontal = [&](int src_y) -> const std::uint32_t* {
    for (int slot = 0; slot < 2; ++slot)
      if (cached[slot] == src_y) return rows.data() + slot * static_cast<std::size_t>(width);
    const int slot = (cached[0] == src_y - 1) ? 1 : 0;  // keep the row above when stepping down
    cached[slot] = src_y;
    std::uint32_t* dst = rows.data() + slot * static_cast<std::size_t>(width);
    const std::uint8_t* src = image.row(src_y);
    for (int x = 0; x < width; ++x) {
      const detail::LinearTap& t = xs[static_cast<std::size_t>(x)];
      dst[x] = t.weight_next < 0
                   ? std::uint32_t(src[t.index]) << 8
                   : std::uint32_t(src[t.index]) * std::uint32_t(256 - t.weight_next) +
                         std::uint32_t(src[t.index + 1]) * std::uint32_t(t.weight_next);
    }
    return dst;
  };
  for (int y = 0; y < height; ++y) {
    const detail::LinearTap& t = ys[static_cast<std::size_t>(y)];
    std::uint8_t* dst = out.row(y);
    if (t.weight_next < 0) {
      const std::uint32_t* r = horizontal(t.index);
      for (int x = 0; x < width; ++x) dst[x] = static_cast<std::uint8_t>((r[x] + 128) >> 8);
    } else {
      const std::uint32_t* r0 = horizontal(t.index);
      const std::uint32_t* r1 = horizontal(t.index + 1);
      const std::uint32_t w0 = std::uint32_t(256 - t.weight_next), w1 = std::uint32_t(t.weight_next);
      for (int x = 0; x < width; ++x)
        dst[x] = static_cast<std::uint8_t>((r0[x] * w0 + r1[x] * w1 + (1u << 15)) >> 16);
    }
  }
  return out;
}

/// Draws a rectangle outline `thickness` pixels wide inside `box` (clipped to the image) on an
/// RGB or RGBA image; on a grey image it draws the colour's grey level.
inline void draw_rectangle(Image& image, const Box& box, Rgb colour, int thickness = 2) {
  if (thickness < 1) fail("draw_rectangle: thickness must be at least 1, got ", thickness);
  if (box.width <= 0 || box.height <= 0) return;
  const std::uint8_t grey =
      static_cast<std::uint8_t>((colour.r * 9798 + colour.g * 19235 + colour.b * 3735 + 16384) >> 15);
  auto fill = [&](int x0, int y0, int x1, int y1) {  // half-open, clipped
    x0 = std::max(x0, 0), y0 = std::max(y0, 0);
    x1 = std::min(x1, image.width), y1 = std::min(y1, image.height);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        std::uint8_t* p = &image.at(x, y);
        if (image.channels >= 3) {
          p[0] = colour.r, p[1] = colour.g, p[2] = colour.b;
        } else {
          p[0] = grey;
        }
      }
  };
  const int t = std::min({thickness, (box.width + 1) / 2, (box.height + 1) / 2});
  const int right = box.x + box.width, bottom = box.y + box.height;
  fill(box.x, box.y, right, box.y + t);            // top
  fill(box.x, bottom - t, right, bottom);          // bottom
  fill(box.x, box.y + t, box.x + t, bottom - t);   // left
  fill(right - t, box.y + t, right, bottom - t);   // right
}

/// A grey image as a one-channel Image (for drawing or saving).
inline Image to_image(const GreyImage& grey) {
  Image out(grey.width, grey.height, 1);
  out.pixels = grey.pixels;
  return out;
}

/// Grey to RGB by replicating the grey level (for drawing coloured boxes on a grey photo).
inline Image to_rgb(const Image& image) {
  if (image.channels == 3) return image;
  Image out(image.width, image.height, 3);
  const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* s = image.pixels.data() + i * image.channels;
    std::uint8_t* d = out.pixels.data() + i * 3;
    if (image.channels <= 2) d[0] = d[1] = d[2] = s[0];
    else d[0] = s[0], d[1] = s[1], d[2] = s[2];
  }
  return out;
}

/// Writes `image` as a PNG, atomically; failure (bad directory, full disk) is an Error naming the path.
inline void save_png(const std::string& path, const Image& image) {
  write_png(path, image.pixels.data(), image.width, image.height, image.channels, image.width * image.channels);
}

/// Writes a grey image as a one-channel PNG.
inline void save_png(const std::string& path, const GreyImage& image) { save_png(path, to_image(image)); }

}  // namespace minidnn::vision
