// Fuzzes the IDX reader (datasets/idx.hpp) behind examples/fashion_mnist, plain and gzip-compressed.
#include <minidnn/datasets/idx.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile file;
  const std::string& path = file.write(fuzz::plain_or_gzip(data, size));
  try {
    const auto images = minidnn::idx::read_images(path);
    for (std::size_t i = 0; i < images.size(); ++i)
      if (!(images[i] >= 0.0f && images[i] <= 1.0f)) std::abort();
  } catch (const minidnn::Error&) {
  }
  try {
    for (int label : minidnn::idx::read_labels(path, 10))
      if (label < 0 || label >= 10) std::abort();
  } catch (const minidnn::Error&) {
  }
  return 0;
}
