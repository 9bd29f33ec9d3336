// Fuzzes the cascade-XML parser (io/xml.hpp, vision/haar_cascade.hpp) and, for cascades it
// accepts, detection on a small image: feature rectangles come from the file and must never
// reach outside the detection window.
#include <minidnn/vision/haar_cascade.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace minidnn::vision;
  try {
    const auto cascade = HaarCascade::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.xml");
    static const GreyImage image = [] {
      GreyImage g(40, 36);
      for (int y = 0; y < g.height; ++y)
        for (int x = 0; x < g.width; ++x) g.pixels[static_cast<std::size_t>(y) * g.width + x] = static_cast<std::uint8_t>((x * 37 + y * 91) % 256);
      return g;
    }();
    DetectOptions options;
    options.min_neighbors = 1;
    (void)cascade.detect(image, options);
  } catch (const minidnn::Error&) {
  }
  return 0;
}
