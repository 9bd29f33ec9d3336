#pragma once
// fer serve's handling of what a client sends, apart from the HTTP library: the query options of
// /api/v1/analyze and /api/v1/annotate, which bodies are images, and the decoding of the image.
// Every failure is a RequestError with the HTTP status and a stable code for the JSON answer;
// fuzz/serve_request_fuzzer.cpp drives these functions with arbitrary input.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <minidnn/core/error.hpp>
#include <minidnn/vision/haar_cascade.hpp>
#include <minidnn/vision/image.hpp>

namespace fer::serve {

/// A request the server refuses: `status` (4xx or 503), `code` (e.g. "bad_parameter") and a
/// message for people.
struct RequestError : std::runtime_error {
  RequestError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status(status), code(std::move(code)) {}
  int status;
  std::string code;
};

/// The options of one analysis, from the query string.
struct AnalyzeOptions {
  minidnn::vision::DetectOptions detect;
  bool tta = false;  // also classify each face mirrored, and average the two
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

namespace detail {

inline double parse_number(const std::string& name, const std::string& value, double low, double high) {
  if (value.empty() || value.size() > 32) throw RequestError(400, "bad_parameter", name + " needs a number");
  char* end = nullptr;
  const double x = std::strtod(value.c_str(), &end);
  if (end != value.c_str() + value.size() || !std::isfinite(x))
    throw RequestError(400, "bad_parameter", name + " must be a number, got '" + value + "'");
  if (x < low || x > high)
    throw RequestError(400, "bad_parameter",
                       name + " must be between " + std::to_string(low) + " and " + std::to_string(high) +
                           ", got " + value);
  return x;
}

inline int parse_integer(const std::string& name, const std::string& value, int low, int high) {
  const double x = parse_number(name, value, low, high);
  if (x != std::floor(x)) throw RequestError(400, "bad_parameter", name + " must be an integer, got '" + value + "'");
  return static_cast<int>(x);
}

inline bool parse_bool(const std::string& name, const std::string& value) {
  if (value == "1" || value == "true" || value.empty()) return true;  // "?tta" alone means on
  if (value == "0" || value == "false") return false;
  throw RequestError(400, "bad_parameter", name + " must be true, false, 1 or 0, got '" + value + "'");
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace detail

/// Validates the query options: min_neighbors (0-100), scale_factor (1.01-4), min_size (pixels,
/// 0-4096) and tta (true/false). An unknown or repeated option is an error, not ignored, so
/// that a typo does not silently give default results.
inline AnalyzeOptions parse_analyze_options(const QueryParams& params) {
  AnalyzeOptions options;
  std::vector<std::string> seen;
  for (const auto& [name, value] : params) {
    for (const std::string& s : seen)
      if (s == name) throw RequestError(400, "bad_parameter", "parameter " + name + " given twice");
    seen.push_back(name);
    if (name == "min_neighbors") options.detect.min_neighbors = detail::parse_integer(name, value, 0, 100);
    else if (name == "scale_factor") options.detect.scale_factor = detail::parse_number(name, value, 1.01, 4.0);
    else if (name == "min_size") {
      const int side = detail::parse_integer(name, value, 0, 4096);
      options.detect.min_size = {side, side};
    } else if (name == "tta") options.tta = detail::parse_bool(name, value);
    else {
      std::string shown = name.substr(0, 40);
      for (char& c : shown) if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
      throw RequestError(400, "bad_parameter",
                         "unknown parameter '" + shown + "' (known: min_neighbors, scale_factor, min_size, tta)");
    }
  }
  return options;
}

/// How a request body carries its image.
enum class BodyKind { kRawImage, kMultipart };

/// The media type of a Content-Type value, lower-cased, without parameters.
inline std::string media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return detail::lower(type);
}

/// Decides from the Content-Type how the image comes: as a multipart/form-data field `image`,
/// or as the raw body (image/*, or application/octet-stream). Anything else is 415.
inline BodyKind body_kind(std::string_view content_type) {
  const std::string type = media_type(content_type);
  if (type == "multipart/form-data") return BodyKind::kMultipart;
  if (type.rfind("image/", 0) == 0 || type == "application/octet-stream") return BodyKind::kRawImage;
  if (type.empty())
    throw RequestError(415, "unsupported_media_type",
                       "no Content-Type: send the image as multipart/form-data field 'image' or as the body with an "
                       "image/* type");
  throw RequestError(415, "unsupported_media_type",
                     "Content-Type " + type.substr(0, 60) +
                         " is not an image: send multipart/form-data with a field 'image', or image/jpeg, "
                         "image/png or image/bmp");
}

/// Checks that `bytes` start as a JPEG, PNG or BMP file would (415 otherwise, 400 when empty).
inline void check_image_signature(std::string_view bytes) {
  if (bytes.empty()) throw RequestError(400, "missing_image", "the request carries no image (empty body or field)");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const bool jpeg = bytes.size() >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF;
  const bool png = bytes.size() >= 8 && std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool bmp = bytes.size() >= 2 && p[0] == 'B' && p[1] == 'M';
  if (!jpeg && !png && !bmp) throw RequestError(415, "not_an_image", "the upload is not a JPEG, PNG or BMP file");
}

/// Decodes an uploaded image (signature checked first; the loader's pixel limit applies):
/// 415 for what is not an image, 400 for a broken or oversized one.
inline minidnn::vision::Image decode_upload(const std::string& bytes) {
  check_image_signature(bytes);
  try {
    return minidnn::vision::decode_image(bytes, "upload");
  } catch (const minidnn::Error& e) {
    throw RequestError(400, "bad_image", e.what());
  }
}

}  // namespace fer::serve
