// fer predict: finds the faces in photos (Haar cascade), classifies each one's expression, and
// draws the result: an annotated copy of each photo and a probability chart per face.
#include <cstdio>
#include <sstream>

#include <minidnn/fer/face_analysis.hpp>
#include <minidnn/vision/haar_cascade.hpp>
#include <minidnn/vision/image.hpp>
#include <minidnn/viz/label.hpp>

#include "charts.hpp"
#include "commands.hpp"

namespace fer {
namespace {

namespace vision = minidnn::vision;
using minidnn::fer::FaceResult;

constexpr const char* kDefaultCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml";

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

int run_predict(int argc, char** argv) {
  Args args("fer predict", "fer predict --model MODEL [--cascade FILE] [--face-crops] [--json] [--out DIR] IMAGE...",
            "Finds every face in each photo (JPEG, PNG, BMP) with a Haar cascade, crops it as the tutorial does\n"
            "(grey, 48x48 by area averaging, [0, 1]) and prints its box, top emotion and the 7 probabilities.\n"
            "Writes DIR/<photo>_annotated.png (boxes with their emotion) and DIR/<photo>_face<k>.png (the\n"
            "probability chart of each face). With --face-crops each image is taken as one face as it is.");
  args.option("model", "FILE", "", "the trained model (required)")
      .option("cascade", "FILE", kDefaultCascade, "OpenCV Haar cascade XML")
      .flag("face-crops", "the images are face crops already: classify each whole image")
      .flag("json", "print JSON instead of a table")
      .option("out", "DIR", "predictions", "where to write the pictures")
      .option("scale-factor", "F", "1.1", "detector: pyramid scale step")
      .option("min-neighbors", "N", "3", "detector: overlapping hits a face needs")
      .positionals("IMAGE...", true);
  if (!args.parse(argc, argv, 2)) return 0;
  if (!args.has("model")) throw UsageError("fer predict: --model is required");

  const bool crops = args.flag_set("face-crops");
  vision::DetectOptions detect;
  if (!crops) {
    detect.scale_factor = args.get_double("scale-factor", 1.0001, 4.0);
    detect.min_neighbors = args.get_int("min-neighbors", 0, 1000);
  }
  minidnn::fer::FaceAnalyzer analyzer(load_model(args.get("model")),
                                      crops ? vision::HaarCascade() : vision::HaarCascade::load(args.get("cascade")));
  const fs::path out_dir = args.get("out");
  fs::create_directories(out_dir);
  minidnn::viz::Font font;
  const bool json = args.flag_set("json");

  int failures = 0;
  std::ostringstream json_out;
  json_out << "[";
  bool first_photo = true;
  for (const std::string& path : args.positional()) {
    vision::Image image;
    try {
      image = vision::load_image(path);
    } catch (const minidnn::Error& e) {
      std::fprintf(stderr, "fer predict: %s\n", e.what());
      ++failures;
      continue;
    }
    const vision::GreyImage grey = vision::to_grey(image);
    const std::vector<FaceResult> faces = crops ? analyzer.classify(grey, {{0, 0, grey.width, grey.height}})
                                                : analyzer.analyze(grey, detect);

    // Pictures: the annotated photo and one chart per face.
    const std::string stem = fs::path(path).stem().string();
    vision::Image annotated = vision::to_rgb(image);
    const minidnn::viz::RgbView view(annotated.pixels.data(), annotated.width, annotated.height);
    const int thickness = std::max(2, std::min(annotated.width, annotated.height) / 250);
    std::vector<std::string> charts;
    for (std::size_t i = 0; i < faces.size(); ++i) {
      const FaceResult& f = faces[i];
      const std::string label = std::string(kEmotionNames[f.emotion()]) + " " +
                                std::to_string(static_cast<int>(100 * f.scores[f.emotion()] + 0.5)) + "%";
      if (!crops) vision::draw_rectangle(annotated, f.box, {40, 220, 60}, thickness);
      minidnn::viz::LabelStyle style;
      style.size = std::clamp(f.box.width / 6.0, 12.0, 28.0);
      style.background = {30, 150, 50};
      minidnn::viz::draw_label(view, font, label, f.box.x, f.box.y, style);
      const std::string chart = (out_dir / (stem + "_face" + std::to_string(i + 1) + ".png")).string();
      write_probability_chart(chart, fs::path(path).filename().string() + ", face " + std::to_string(i + 1) + ": " +
                                         kEmotionNames[f.emotion()], f.scores.data());
      charts.push_back(chart);
    }
    const std::string annotated_path = (out_dir / (stem + "_annotated.png")).string();
    minidnn::viz::save_png(annotated_path, view);

    if (json) {
      json_out << (first_photo ? "" : ",") << "\n  {\"image\": \"" << json_escape(path) << "\", \"annotated\": \""
               << json_escape(annotated_path) << "\", \"faces\": [";
      for (std::size_t i = 0; i < faces.size(); ++i) {
        const FaceResult& f = faces[i];
        json_out << (i ? ", " : "") << "\n    {\"box\": [" << f.box.x << ", " << f.box.y << ", " << f.box.width << ", "
                 << f.box.height << "], \"emotion\": \"" << kEmotionNames[f.emotion()] << "\", \"probabilities\": {";
        for (int c = 0; c < kClasses; ++c)
          json_out << (c ? ", " : "") << "\"" << kEmotionNames[c] << "\": " << f.scores[c];
        json_out << "}, \"chart\": \"" << json_escape(charts[i]) << "\"}";
      }
      json_out << (faces.empty() ? "" : "\n  ") << "]}";
      first_photo = false;
    } else {
      std::printf("%s: %zu face%s (annotated: %s)\n", path.c_str(), faces.size(), faces.size() == 1 ? "" : "s",
                  annotated_path.c_str());
      if (faces.empty()) std::printf("  no face found\n");
      else {
        std::printf("  %-20s %-9s", "box (x,y,w,h)", "emotion");
        for (int c = 0; c < kClasses; ++c) std::printf(" %8.8s", kEmotionNames[c]);
        std::printf("\n");
      }
      for (const FaceResult& f : faces) {
        char box[64];
        std::snprintf(box, sizeof box, "%d,%d,%d,%d", f.box.x, f.box.y, f.box.width, f.box.height);
        std::printf("  %-20s %-9s", box, kEmotionNames[f.emotion()]);
        for (float p : f.scores) std::printf(" %8.3f", p);
        std::printf("\n");
      }
    }
  }
  if (json) std::printf("%s\n]\n", json_out.str().c_str());
  return failures ? 1 : 0;
}

}  // namespace fer
