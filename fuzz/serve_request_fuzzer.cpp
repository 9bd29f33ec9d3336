// Fuzzes what fer serve does with a request before the analysis (examples/fer/serve_request.hpp):
// the query options, the Content-Type dispatch, the image signature check and the decoding of the
// upload. The input is "QUERY\nCONTENT-TYPE\nBODY"; the query is split on '&' and '=' as httplib
// splits it. Every refusal must be a RequestError with a 4xx status: anything else (another
// exception, a 5xx, a crash) is a bug.
#include "../examples/fer/serve_request.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

// stb_image compiled into this target, after the library's include of its declarations, so the
// sanitizers and the coverage see inside the decoder (as image_fuzzer does).
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

namespace {

fer::serve::QueryParams split_query(std::string_view query) {
  fer::serve::QueryParams params;
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    const auto eq = pair.find('=');
    params.emplace_back(std::string(pair.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
  }
  return params;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view query = input.substr(0, input.find('\n'));
  input.remove_prefix(std::min(input.size(), query.size() + 1));
  const std::string_view content_type = input.substr(0, input.find('\n'));
  input.remove_prefix(std::min(input.size(), content_type.size() + 1));
  const std::string body(input);
  try {
    const fer::serve::AnalyzeOptions options = fer::serve::parse_analyze_options(split_query(query));
    if (options.detect.scale_factor < 1.01 || options.detect.min_neighbors < 0 || options.detect.min_size.width < 0)
      std::abort();
    fer::serve::body_kind(content_type);
    const minidnn::vision::Image image = fer::serve::decode_upload(body);
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels)
      std::abort();
  } catch (const fer::serve::RequestError& e) {
    if (e.status < 400 || e.status > 499) std::abort();
  }
  return 0;
}
