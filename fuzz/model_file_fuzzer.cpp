// Fuzzes the model-file loader (model/model_file.hpp via Model::load, which reads every format
// version, graphs included, and Sequential::load) and, for files they accept, one forward pass of
// the loaded model.
//
// A mutated file almost always fails the CRC-32, which would keep the fuzzer at the door; so
// unless the input starts with 'R' (raw: the rest is the file as it is), the target rewrites the
// header's payload size and the checksum to match the mutated payload, letting mutations reach
// every field behind them.
#include <cstring>

#include <minidnn/sequential.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile file;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] != 'R' && bytes.size() >= minidnn::model_file::kHeaderSize + 4) {
    const std::uint64_t payload = bytes.size() - minidnn::model_file::kHeaderSize - 4;
    std::memcpy(&bytes[12], &payload, sizeof payload);
    const std::uint32_t crc = minidnn::crc32(bytes.data() + minidnn::model_file::kHeaderSize, payload);
    std::memcpy(&bytes[bytes.size() - 4], &crc, sizeof crc);
  }
  const auto path = file.write(bytes);
  auto run = [](auto&& model) {
    if (model.input_shape().size() <= 4096) {
      minidnn::Tensor<float> input(2, model.input_shape());
      for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 7) * 0.1f;
      (void)model.predict(input);
    }
  };
  try {
    run(minidnn::Model<float>::load(path));
  } catch (const minidnn::Error&) {
  }
  try {
    run(minidnn::Sequential<float>::load(path));
  } catch (const minidnn::Error&) {
  }
  return 0;
}
