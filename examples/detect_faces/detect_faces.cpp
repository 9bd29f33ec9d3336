// detect_faces PHOTO [--cascade FILE] [--out annotated.png] [--scale-factor F] [--min-neighbors N]
//              [--min-size PIXELS]
// Prints one line "x y width height" per face found, and optionally writes a copy of the photo
// with the faces outlined.
#include <cstdlib>
#include <iostream>
#include <string>

#include "minidnn/vision/haar_cascade.hpp"

namespace {

namespace vision = minidnn::vision;

void print_usage(std::ostream& out) {
  out << "usage: detect_faces PHOTO [options]\n"
         "\n"
         "Finds faces in PHOTO (JPEG, PNG or BMP) with a Haar cascade and prints one line\n"
         "\"x y width height\" per face (pixels, origin top-left).\n"
         "\n"
         "options:\n"
         "  --cascade FILE       OpenCV cascade XML (default " << vision::kDebianFrontalFaceCascade << ")\n"
         "  --out FILE.png       also write the photo with the faces outlined in green\n"
         "  --scale-factor F     pyramid step, > 1 (default 1.1)\n"
         "  --min-neighbors N    hits needed per face, >= 0 (default 3)\n"
         "  --min-size PIXELS    ignore faces smaller than this (default: the cascade window)\n"
         "  -h, --help           show this help\n";
}

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "detect_faces: " << message << "\n(run detect_faces --help for usage)\n";
  std::exit(2);
}

double parse_number(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) usage_error(option + " expects a number, got '" + text + "'");
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace minidnn::vision;
  std::string photo, cascade_path = kDebianFrontalFaceCascade, out_path;
  DetectOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      print_usage(std::cout);
      return 0;
    } else if (arg == "--cascade") {
      cascade_path = value();
    } else if (arg == "--out") {
      out_path = value();
    } else if (arg == "--scale-factor") {
      options.scale_factor = parse_number(arg, value());
      if (!(options.scale_factor > 1.0)) usage_error("--scale-factor must be greater than 1");
    } else if (arg == "--min-neighbors") {
      double n = parse_number(arg, value());
      if (n < 0 || n != static_cast<int>(n)) usage_error("--min-neighbors must be a whole number >= 0");
      options.min_neighbors = static_cast<int>(n);
    } else if (arg == "--min-size") {
      double n = parse_number(arg, value());
      if (n < 0 || n != static_cast<int>(n)) usage_error("--min-size must be a whole number of pixels >= 0");
      options.min_size = {static_cast<int>(n), static_cast<int>(n)};
    } else if (!arg.empty() && arg[0] == '-') {
      usage_error("unknown option " + arg);
    } else if (photo.empty()) {
      photo = arg;
    } else {
      usage_error("more than one photo given ('" + photo + "' and '" + arg + "')");
    }
  }
  if (photo.empty()) usage_error("no photo given");

  try {
    const HaarCascade cascade = HaarCascade::load(cascade_path);
    Image image = load_image(photo);
    const std::vector<Box> faces = cascade.detect(to_grey(image), options);
    for (const Box& f : faces) std::cout << f.x << ' ' << f.y << ' ' << f.width << ' ' << f.height << '\n';
    if (!out_path.empty()) {
      Image annotated = to_rgb(image);
      const int thickness = std::max(2, std::min(image.width, image.height) / 300);
      for (const Box& f : faces) draw_rectangle(annotated, f, Rgb{0, 220, 0}, thickness);
      save_png(out_path, annotated);
    }
    std::cerr << faces.size() << (faces.size() == 1 ? " face" : " faces") << " in " << photo << '\n';
  } catch (const minidnn::Error& e) {
    std::cerr << "detect_faces: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
