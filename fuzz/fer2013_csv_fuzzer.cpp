// Fuzzes the FER2013 CSV reader (datasets/fer2013.hpp), plain and gzip-compressed.
#include <minidnn/datasets/fer2013.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile file;
  const std::string& path = file.write(fuzz::plain_or_gzip(data, size));
  try {
    const auto dataset = minidnn::fer2013::load(path);
    // What was loaded must be consistent: one label per image, every label a class, pixels in [0, 1].
    for (const auto* split : {&dataset.training, &dataset.public_test, &dataset.private_test}) {
      if (split->labels.size() != static_cast<std::size_t>(split->size())) std::abort();
      for (int label : split->labels)
        if (label < 0 || label >= minidnn::fer2013::kNumClasses) std::abort();
      for (std::size_t i = 0; i < split->images.size(); ++i)
        if (!(split->images[i] >= 0.0f && split->images[i] <= 1.0f)) std::abort();
    }
  } catch (const minidnn::Error&) {
  }
  return 0;
}
