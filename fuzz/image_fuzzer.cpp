// Fuzzes the image path of `fer predict`: decoding (stb_image: JPEG, PNG, BMP, ...), grey
// conversion, and the tutorial's crop-and-resize to 48x48.
//
// stb_image is compiled into this target (from Debian's libstb-dev header, the same version as
// the library fer links) so that the sanitizers and the fuzzer's coverage see inside the decoder.
#include <minidnn/vision/image.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace minidnn::vision;
  static fuzz::InputFile file;
  try {
    const GreyImage grey = to_grey(load_image(file.write(data, size)));
    const GreyImage face = resize_area(crop(grey, Box{0, 0, grey.width, grey.height}), 48, 48);
    if (face.width != 48 || face.height != 48 || face.pixels.size() != 48u * 48u) std::abort();
  } catch (const minidnn::Error&) {
  }
  return 0;
}
