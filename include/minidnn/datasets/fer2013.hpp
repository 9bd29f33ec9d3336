#pragma once
/// \file
/// FER2013 (Goodfellow et al., 2013) in its published CSV layout, plain or gzip-compressed:
///
///     emotion,pixels,Usage
///     3,117 117 113 ... (2304 space-separated grey levels 0-255, 48x48 row-major),Training
///
/// emotion: 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral.
/// Usage: Training, PublicTest or PrivateTest.
///
/// Also accepted: any field in double quotes, "\r\n" line ends, a UTF-8 byte order mark, blank
/// lines at the very end. Everything else that is off (field count, pixel count, a grey level
/// that is not an integer 0-255, an emotion outside 0-6, an unknown Usage, a missing or wrong
/// header, an empty file, a truncated gzip stream) is a minidnn::Error "FILE:LINE: problem".
/// The whole file streams through a small buffer; only the selected splits are kept, as bytes
/// until the end, so nothing partially loaded is ever returned.
/// Needs zlib at link time (CMake: ZLIB::ZLIB).
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/io/line_reader.hpp"

namespace minidnn::fer2013 {

constexpr int kImageSide = 48;
constexpr int kPixels = kImageSide * kImageSide;  // 2304
constexpr int kNumClasses = 7;
constexpr int kNumUsages = 3;

/// Class names in label order.
inline constexpr std::array<const char*, kNumClasses> kEmotionNames = {
    "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"};

enum class Usage { Training = 0, PublicTest = 1, PrivateTest = 2 };
inline constexpr std::array<const char*, kNumUsages> kUsageNames = {"Training", "PublicTest", "PrivateTest"};
inline const char* usage_name(Usage usage) { return kUsageNames[static_cast<int>(usage)]; }

/// The one conversion from stored grey level to network input, [0, 255] -> [0, 1]; everything
/// that turns FER2013-style bytes into floats goes through it so round trips are exact.
inline float grey_to_unit(std::uint8_t grey) { return static_cast<float>(grey) / 255.0f; }

/// One parsed CSV row.
struct Row {
  int emotion = 0;
  Usage usage = Usage::Training;
  std::array<std::uint8_t, kPixels> pixels{};  // (48, 48) row-major grey levels
};

namespace detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
inline std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}
/// A field shown in an error message: quoted, cut short if long, control bytes (a NUL among them,
/// which would end the message early) written as \xNN.
inline std::string shown(std::string_view s) {
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += s[i];
    }
  }
  return out + (s.size() > 40 ? "...'" : "'");
}

}  // namespace detail

/// Streams the rows of a FER2013 CSV file, validating each one.
class Reader {
 public:
  explicit Reader(const std::string& path) : lines_(path) { read_header(); }

  const std::string& path() const { return lines_.path(); }
  /// Line number of the row last returned by next() (the header is line 1).
  std::size_t line_number() const { return lines_.line_number(); }

  /// Parses the next row into `row`; false at the end of the file. Throws on malformed input.
  bool next(Row& row) {
    std::string_view line;
    while (lines_.next(line)) {
      if (detail::trim(line).empty()) {
        if (first_blank_line_ == 0) first_blank_line_ = lines_.line_number();
        continue;
      }
      if (first_blank_line_ != 0) fail_at(first_blank_line_, "empty line in the middle of the data");
      parse_row(line, row);
      return true;
    }
    return false;
  }

 private:
  [[noreturn]] void fail_at(std::size_t line, const std::string& problem) const {
    fail(path(), ":", line, ": ", problem);
  }
  [[noreturn]] void fail_here(const std::string& problem) const { fail_at(lines_.line_number(), problem); }

  void read_header() {
    std::string_view line;
    if (!lines_.next(line)) fail(path(), ": empty file (expected the header 'emotion,pixels,Usage')");
    if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    const std::array<std::string_view, 3> expected = {"emotion", "pixels", "Usage"};
    std::size_t field = 0;
    bool ok = true;
    std::string_view rest = line;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::string_view name = detail::unquote(rest.substr(0, comma));
      if (field >= expected.size() || name != expected[field]) ok = false;
      ++field;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!ok || field != expected.size()) {
      if (detail::trim(line).empty()) {
        std::string_view more;
        while (lines_.next(more))
          if (!detail::trim(more).empty()) fail_at(1, "expected the header 'emotion,pixels,Usage', found an empty line");
        fail(path(), ": empty file (expected the header 'emotion,pixels,Usage')");
      }
      fail_here("expected the header 'emotion,pixels,Usage', found " + detail::shown(line));
    }
  }

  void parse_row(std::string_view line, Row& row) const {
    const std::size_t first_comma = line.find(',');
    const std::size_t last_comma = line.rfind(',');
    std::size_t fields = 1;
    for (char c : line) fields += c == ',';
    if (fields != 3)
      fail_here("expected 3 comma-separated fields (emotion,pixels,Usage), found " + std::to_string(fields));
    row.emotion = parse_emotion(detail::unquote(line.substr(0, first_comma)));
    row.usage = parse_usage(detail::unquote(line.substr(last_comma + 1)));
    parse_pixels(detail::unquote(line.substr(first_comma + 1, last_comma - first_comma - 1)), row.pixels);
  }

  int parse_emotion(std::string_view field) const {
    if (field.empty()) fail_here("missing emotion (field 1 is empty)");
    int value = 0;
    for (char c : field) {
      if (c < '0' || c > '9') fail_here("emotion " + detail::shown(field) + " is not an integer 0-6");
      value = value * 10 + (c - '0');
      if (value > 1000) break;
    }
    if (value >= kNumClasses) fail_here("emotion " + std::string(field) + " is outside 0-6");
    return value;
  }

  Usage parse_usage(std::string_view field) const {
    if (field.empty()) fail_here("missing Usage (field 3 is empty)");
    for (int u = 0; u < kNumUsages; ++u)
      if (field == kUsageNames[u]) return static_cast<Usage>(u);
    fail_here("unknown Usage " + detail::shown(field) + " (expected Training, PublicTest or PrivateTest)");
  }

  // Hand-written: ~74 million grey levels in the full file, iostreams would dominate the load.
  void parse_pixels(std::string_view field, std::array<std::uint8_t, kPixels>& out) const {
    const char* p = field.data();
    const char* const end = p + field.size();
    int count = 0;
    for (;;) {
      while (p != end && (*p == ' ' || *p == '\t')) ++p;
      if (p == end) break;
      const char* token = p;
      unsigned value = 0;
      while (p != end && static_cast<unsigned>(*p - '0') <= 9u) {
        value = value * 10 + static_cast<unsigned>(*p - '0');
        if (value > 255) value = 256;  // keeps counting digits without overflow
        ++p;
      }
      if (p == token || (p != end && *p != ' ' && *p != '\t')) {
        while (p != end && *p != ' ' && *p != '\t') ++p;
        fail_here("pixels field: grey level " + std::to_string(count + 1) + " is " +
                  detail::shown(std::string_view(token, p - token)) + ", not an integer 0-255");
      }
      if (value > 255)
        fail_here("pixels field: grey level " + std::to_string(count + 1) + " is " +
                  std::string(token, p - token) + ", outside 0-255");
      if (count < kPixels) out[count] = static_cast<std::uint8_t>(value);
      ++count;
    }
    if (count == 0) fail_here("missing pixels (field 2 is empty)");
    if (count != kPixels)
      fail_here("pixels field has " + std::to_string(count) + " grey levels, expected 2304 (48x48)");
  }

  LineReader lines_;
  std::size_t first_blank_line_ = 0;
};

/// One split: images (N, 1, 48, 48) in [0, 1] and their labels 0-6.
struct Split {
  Tensor<float> images;
  std::vector<int> labels;
  int size() const { return static_cast<int>(labels.size()); }
};

/// Which splits to keep and how many rows of each.
struct LoadOptions {
  bool training = true;
  bool public_test = true;
  bool private_test = true;
  /// Keep at most this many rows per split; reading stops once every kept split is full (rows
  /// after that point are not checked).
  std::size_t max_rows_per_split = std::numeric_limits<std::size_t>::max();

  bool keeps(Usage usage) const {
    return usage == Usage::Training ? training : usage == Usage::PublicTest ? public_test : private_test;
  }
};

struct Dataset {
  Split training, public_test, private_test;
  /// Rows read per (Usage, emotion), counting every row read, kept or not.
  std::array<std::array<std::size_t, kNumClasses>, kNumUsages> class_counts{};
  std::size_t rows_read = 0;

  Split& split(Usage usage) {
    return usage == Usage::Training ? training : usage == Usage::PublicTest ? public_test : private_test;
  }
  const Split& split(Usage usage) const { return const_cast<Dataset*>(this)->split(usage); }
  std::size_t rows_in(Usage usage) const {
    std::size_t n = 0;
    for (std::size_t c : class_counts[static_cast<int>(usage)]) n += c;
    return n;
  }
};

/// Reads a FER2013 CSV (plain or .gz). With every split turned off it only validates and counts
/// (what `fer stats` needs) in a few megabytes of memory.
inline Dataset load(const std::string& path, const LoadOptions& options = {}) {
  // Per split, the kept rows' bytes in blocks of kBlockRows x (48*48): growing one big vector
  // would copy it over and over (and page faults are what this load mostly costs).
  constexpr std::size_t kBlockRows = 1024;
  std::array<std::vector<std::vector<std::uint8_t>>, kNumUsages> pixels;
  std::array<std::vector<int>, kNumUsages> labels;
  Dataset result;
  Reader reader(path);
  Row row;
  auto all_full = [&] {
    if (options.max_rows_per_split == std::numeric_limits<std::size_t>::max()) return false;
    for (int u = 0; u < kNumUsages; ++u)
      if (options.keeps(static_cast<Usage>(u)) && labels[u].size() < options.max_rows_per_split) return false;
    return true;
  };
  while (!all_full() && reader.next(row)) {
    const int u = static_cast<int>(row.usage);
    ++result.class_counts[u][row.emotion];
    ++result.rows_read;
    if (!options.keeps(row.usage) || labels[u].size() >= options.max_rows_per_split) continue;
    if (labels[u].size() % kBlockRows == 0) pixels[u].emplace_back().reserve(kBlockRows * kPixels);
    labels[u].push_back(row.emotion);
    pixels[u].back().insert(pixels[u].back().end(), row.pixels.begin(), row.pixels.end());
  }
  for (int u = 0; u < kNumUsages; ++u) {
    Split& split = result.split(static_cast<Usage>(u));
    split.labels = std::move(labels[u]);
    split.images.resize(split.size(), Shape{1, kImageSide, kImageSide});
    float* out = split.images.data();
    for (std::vector<std::uint8_t>& block : pixels[u]) {
      for (std::uint8_t grey : block) *out++ = grey_to_unit(grey);
      std::vector<std::uint8_t>().swap(block);
    }
  }
  return result;
}

/// Writes FER2013 CSV rows, exactly in the published layout (unquoted, "\n" line ends), gzip
/// compressed when the path ends in ".gz". The file appears only at commit(), atomically (a
/// temporary beside it, then a rename); a writer destroyed without commit() leaves nothing.
class CsvWriter {
 public:
  explicit CsvWriter(const std::string& path) : path_(path), temp_path_(path + ".tmp") {
    const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    if (gz) {
      gz_ = gzopen(temp_path_.c_str(), "wb6");
      if (!gz_) fail(path, ": cannot open for writing: ", std::strerror(errno));
    } else {
      file_ = std::fopen(temp_path_.c_str(), "wb");
      if (!file_) fail(path, ": cannot open for writing: ", std::strerror(errno));
    }
    put("emotion,pixels,Usage\n");
  }
  ~CsvWriter() {
    close();
    if (!committed_) std::remove(temp_path_.c_str());
  }
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  void write(int emotion, const std::uint8_t* pixels /* (48*48,) */, Usage usage) {
    if (emotion < 0 || emotion >= kNumClasses) fail(path_, ": cannot write emotion ", emotion, ", outside 0-6");
    line_.clear();
    line_ += static_cast<char>('0' + emotion);
    line_ += ',';
    for (int i = 0; i < kPixels; ++i) {
      if (i) line_ += ' ';
      const unsigned grey = pixels[i];
      if (grey >= 100) line_ += static_cast<char>('0' + grey / 100);
      if (grey >= 10) line_ += static_cast<char>('0' + grey / 10 % 10);
      line_ += static_cast<char>('0' + grey % 10);
    }
    line_ += ',';
    line_ += usage_name(usage);
    line_ += '\n';
    put(line_);
    ++rows_;
  }
  void write(const Row& row) { write(row.emotion, row.pixels.data(), row.usage); }

  std::size_t rows() const { return rows_; }

  /// Flushes, closes and moves the finished file into place.
  void commit() {
    if (!close()) fail(path_, ": write error while closing");
    std::error_code error;
    std::filesystem::rename(temp_path_, path_, error);
    if (error) fail(path_, ": cannot rename the temporary file into place: ", error.message());
    committed_ = true;
  }

 private:
  void put(const std::string& text) {
    const bool ok = gz_ ? gzwrite(gz_, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size())
                        : std::fwrite(text.data(), 1, text.size(), file_) == text.size();
    if (!ok) fail(path_, ": write error (disk full?)");
  }
  bool close() {
    bool ok = true;
    if (gz_) ok = gzclose(gz_) == Z_OK;
    if (file_) ok = std::fclose(file_) == 0;
    gz_ = nullptr;
    file_ = nullptr;
    return ok;
  }

  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
  std::string line_;
  std::size_t rows_ = 0;
  bool committed_ = false;
};

}  // namespace minidnn::fer2013
