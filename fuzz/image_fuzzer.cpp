// Fuzzes the image path of `fer predict`: decoding (stb_image: JPEG, PNG, BMP, ...), grey
// conversion, and the tutorial's crop-and-resize to 48x48.
//
// stb_image is compiled into this target (from Debian's libstb-dev header, the same version as
// the library fer links) so that the sanitizers and the fuzzer's coverage see inside the decoder.
#include <minidnn/vision/image.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>

// stb's allocations are filled with pseudo-random bytes seeded by the input, so that a read of
// memory stb never wrote gives garbage the sanitizers can catch, varied from input to input yet
// the same on every replay of one input (a JPEG scan using an undefined Huffman table read stale
// heap memory and failed only after hundreds of thousands of inputs, depending on what earlier
// inputs had left behind).
namespace {
std::uint64_t poison_state = 1;
void poison(void* memory, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(memory);
  for (std::size_t i = 0; i < size; ++i) {
    poison_state = poison_state * 6364136223846793005ULL + 1442695040888963407ULL;
    bytes[i] = static_cast<unsigned char>(poison_state >> 56);
  }
}
void* poisoned_malloc(std::size_t size) {
  void* memory = std::malloc(size);
  if (memory) poison(memory, size);
  return memory;
}
void* poisoned_realloc(void* old, std::size_t old_size, std::size_t new_size) {
  void* memory = poisoned_malloc(new_size);
  if (memory && old) std::memcpy(memory, old, old_size < new_size ? old_size : new_size);
  if (memory) std::free(old);
  return memory;
}
}  // namespace

#define STBI_MALLOC(size) poisoned_malloc(size)
#define STBI_REALLOC_SIZED(p, old_size, new_size) poisoned_realloc(p, old_size, new_size)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace minidnn::vision;
  static fuzz::InputFile file;
  poison_state = 14695981039346656037ULL;  // FNV-1a of the input
  for (std::size_t i = 0; i < size; ++i) poison_state = (poison_state ^ data[i]) * 1099511628211ULL;
  try {
    const GreyImage grey = to_grey(load_image(file.write(data, size)));
    const GreyImage face = resize_area(crop(grey, Box{0, 0, grey.width, grey.height}), 48, 48);
    if (face.width != 48 || face.height != 48 || face.pixels.size() != 48u * 48u) std::abort();
  } catch (const minidnn::Error&) {
  }
  return 0;
}
