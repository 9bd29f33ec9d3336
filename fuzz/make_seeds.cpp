// Writes the fuzz targets' seed corpora (scripts/fuzz.sh runs it into build-fuzz/seeds/):
//   make_seeds OUT_DIR
// Small but complete inputs of every kind each reader accepts, so fuzzing starts from deep inside
// the formats rather than from empty files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifdef MINIDNN_SEEDS_WITH_VIDEO
#include <minidnn/vision/video_writer.hpp>  // before the stb implementation: it includes stb too
#endif

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include <minidnn/sequential.hpp>

#include "fuzz_input.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string fer_csv(int rows) {
  std::string csv = "emotion,pixels,Usage\n";
  const char* usages[] = {"Training", "PublicTest", "PrivateTest"};
  for (int r = 0; r < rows; ++r) {
    csv += std::to_string(r % 7) + ",\"";
    for (int i = 0; i < 48 * 48; ++i) csv += (i ? " " : "") + std::to_string((i * 7 + r * 31) % 256);
    csv += "\"," + std::string(usages[r % 3]) + "\n";
  }
  return csv;
}

std::string idx(std::vector<int> dims) {
  std::string out{0, 0, 8, static_cast<char>(dims.size())};
  std::size_t count = 1;
  for (int d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xff);
    count *= d;
  }
  for (std::size_t i = 0; i < count; ++i) out += static_cast<char>(dims.size() == 1 ? i % 10 : (i * 13) % 256);
  return out;
}

void write_image(const fs::path& dir, const std::string& name, int w, int h, int channels) {
  std::vector<unsigned char> pixels(static_cast<std::size_t>(w) * h * channels);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>((i * 29) % 251);
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  const std::string ext = fs::path(name).extension().string();
  if (ext == ".png") stbi_write_png(path.c_str(), w, h, channels, pixels.data(), w * channels);
  if (ext == ".bmp") stbi_write_bmp(path.c_str(), w, h, channels, pixels.data());
  if (ext == ".jpg") stbi_write_jpg(path.c_str(), w, h, channels, pixels.data(), 80);
  if (ext == ".tga") stbi_write_tga(path.c_str(), w, h, channels, pixels.data());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  using namespace minidnn;

  write(out / "fer2013_csv/three_rows.csv", fer_csv(3));
  write(out / "fer2013_csv/header_only.csv", "emotion,pixels,Usage\n");
  write(out / "fer2013_csv/three_rows.gz-mode", "G" + fer_csv(3));
  write(out / "fer2013_csv/truncated.gz-mode", "T\x80" + fer_csv(2));

  write(out / "idx/images.idx3", idx({2, 3, 4}));
  write(out / "idx/labels.idx1", idx({5}));
  write(out / "idx/images.gz-mode", "G" + idx({2, 3, 4}));

  // Model files: every layer type, with and without optimizer state. The leading byte is the
  // target's mode byte (anything but 'R': checksum fixed up after mutation).
  const fs::path scratch = fs::temp_directory_path() / "minidnn-make-seeds.mdnn";
  auto save_seed = [&](Sequential<float>& model, const std::string& name, bool with_optimizer) {
    model.save(scratch, with_optimizer, "epoch=1\n");
    write(out / "model_file" / name, "F" + read(scratch));
    fs::remove(scratch);
  };
  {
    Sequential<float> model;
    model.add(Dense<float>(3, Activation::relu));
    model.add(Dense<float>(2));
    model.add(Softmax<float>());
    model.build(Shape{4}, 1);
    save_seed(model, "dense", false);
  }
  {
    Sequential<float> model;
    model.add(Conv2D<float>(2, 3, Activation::relu, 1, Padding::same));
    model.add(MaxPool2D<float>(2));
    model.add(Conv2D<float>(2, Size2{2, 1}, Activation::linear, 1, Padding::valid));
    model.add(AvgPool2D<float>(Size2{2, 2}, Size2{1, 1}));
    model.add(ReLU<float>());
    model.add(Flatten<float>());
    model.add(Dropout<float>(0.25));
    model.add(Dense<float>(3));
    model.add(Softmax<float>());
    model.build(Shape{1, 8, 6}, 2);
    model.compile(Adam<float>(1e-3));
    save_seed(model, "conv_adam", true);
    model.compile(SGD<float>(0.1, 0.9));
    save_seed(model, "conv_sgd", true);
  }
  {
    // The layers of format version 2, with BatchNormalization's moving statistics.
    Sequential<float> model;
    model.add(Conv2D<float>(2, 3));
    model.add(BatchNormalization<float>());
    model.add(ActivationLayer<float>("relu"));
    model.add(DepthwiseConv2D<float>(3, 2, Padding::same, 2));
    model.add(SeparableConv2D<float>(3, 3, 1, Padding::same, 1, Activation::relu, false));
    model.add(GlobalAveragePooling2D<float>());
    model.add(BatchNormalization<float>());
    model.add(Dense<float>(2));
    model.add(Softmax<float>());
    model.build(Shape{1, 7, 6}, 3);
    model.compile(Adam<float>(1e-3));
    save_seed(model, "v2_layers_adam", true);
  }
  {
    Sequential<float> model;
    model.add(DepthwiseConv2D<float>(2));
    model.add(GlobalMaxPooling2D<float>());
    model.add(ActivationLayer<float>("sigmoid"));
    model.build(Shape{2, 4, 4}, 4);
    save_seed(model, "v2_global_max", false);
  }
  {
    // A functional graph (format version 3): a branch, a residual add and a concatenation; a
    // bias-free convolution and same-padded max pooling.
    Model<float> model(5);
    Symbol x = model.input(Shape{1, 8, 8});
    Symbol a = model.apply(Conv2D<float>(2, 3, Activation::relu, 1, Padding::same, /*use_bias=*/false), x);
    a = model.apply(MaxPool2D<float>(3, 2, Padding::same), a);
    Symbol b = model.apply(BatchNormalization<float>(), model.apply(DepthwiseConv2D<float>(3, 1, Padding::same), a));
    Symbol c = model.merge(Add<float>(), {a, b});
    Symbol d = model.merge(Concatenate<float>(), {model.apply(GlobalAveragePooling2D<float>(), c),
                                                  model.apply(GlobalMaxPooling2D<float>(), a)});
    model.set_output(model.apply(Softmax<float>(), model.apply(Dense<float>(2), d)));
    model.compile(Adam<float>(1e-3));
    model.save(scratch, true, "epoch=1\n");
    write(out / "model_file" / "v3_graph_adam", "F" + read(scratch));
    // The same graph with float16 weights (scalar size 2), as the shipped default model is stored.
    model.save_float16(scratch, "epoch=1\n");
    write(out / "model_file" / "v3_graph_float16", "F" + read(scratch));
  }

  write_image(out / "image", "grey.png", 5, 4, 1);
  write_image(out / "image", "rgba.png", 4, 3, 4);
  write_image(out / "image", "rgb.bmp", 3, 5, 3);
  write_image(out / "image", "rgb.jpg", 9, 7, 3);
  write_image(out / "image", "grey.jpg", 8, 8, 1);

#ifdef MINIDNN_SEEDS_WITH_VIDEO
  // A few frames of a moving gradient in the containers and codecs fer video meets most.
  for (const char* name : {"h264.mp4", "h264.mkv", "mpeg4.avi"}) {
    fs::create_directories(out / "video_reader");
    minidnn::vision::VideoWriterOptions options;
    options.time_base = {1, 10};
    options.frame_rate = {10, 1};
    minidnn::vision::VideoWriter writer((out / "video_reader" / name).string(), 32, 24, options);
    minidnn::vision::Image frame(32, 24, 3);
    for (int t = 0; t < 4; ++t) {
      for (std::size_t i = 0; i < frame.pixels.size(); ++i) frame.pixels[i] = static_cast<unsigned char>(i * 3 + t * 40);
      writer.write(frame, t, 1);
    }
    writer.finish();
  }
  std::string y4m = "YUV4MPEG2 W8 H6 F10:1 Ip A1:1 C420jpeg\n";
  for (int t = 0; t < 2; ++t) y4m += "FRAME\n" + std::string(8 * 6 * 3 / 2, static_cast<char>(60 + 50 * t));
  write(out / "video_reader/two_frames.y4m", y4m);
#endif

  std::printf("seed corpora written under %s\n", out.c_str());
  return 0;
}
