// fer predict: finds the faces in photos (Haar cascade), classifies each one's expression, and
// draws the result: an annotated copy of each photo and a probability chart per face.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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


// Output names from each photo's stem, made unique: a/photo.jpg and b/photo.png would otherwise
// overwrite each other's pictures. The second becomes photo-2, and so on.
std::vector<std::string> unique_stems(const std::vector<std::string>& paths) {
  std::vector<std::string> stems;
  std::set<std::string> taken;
  for (const auto& path : paths) {
    const std::string stem = fs::path(path).stem().string();
    std::string name = stem;
    for (int k = 2; taken.count(name); ++k) name = stem + "-" + std::to_string(k);
    if (name != stem)
      std::fprintf(stderr, "fer predict: %s: another photo is named '%s' too: its pictures are %s_*.png\n",
                   path.c_str(), stem.c_str(), name.c_str());
    taken.insert(name);
    stems.push_back(name);
  }
  return stems;
}

}  // namespace

int run_predict(int argc, char** argv) {
  Args args("fer predict", "fer predict [--model MODEL] [--cascade FILE] [--face-crops] [--tta none|flip|ten-crop] [--json] [--out DIR] IMAGE...",
            "Finds every face in each photo (JPEG, PNG, BMP) with a Haar cascade, crops it as the tutorial does\n"
            "(grey, 48x48 by area averaging, [0, 1]) and prints its box, top emotion and the 7 probabilities.\n"
            "Faces are numbered in reading order (top to bottom, left to right) on the pictures, in the table\n"
            "and in the JSON. Writes DIR/<photo>_annotated.png (numbered boxes with their emotion) and\n"
            "DIR/<photo>_face<k>.png (the probability chart of face k); photos sharing a name get -2, -3, ...\n"
            "With --face-crops each image is taken as one face as it is. A model trained on crops (fer train\n"
            "--crop) gets the centre crop of the 48x48 face; --tta averages over more views of it.");
  args.option("model", "FILE", "", "the trained model (default: $FER_MODEL, else the shipped models/fer_default.mdnn)")
      .option("cascade", "FILE", vision::kDebianFrontalFaceCascade, "OpenCV Haar cascade XML")
      .flag("face-crops", "the images are face crops already: classify each whole image")
      .option("tta", "MODE", "none",
              "test-time augmentation: none, flip (the face and its mirror image) or ten-crop (four corners and "
              "the centre, each also mirrored), probabilities averaged")
      .flag("json", "print JSON instead of a table")
      .option("out", "DIR", "predictions", "where to write the pictures")
      .option("scale-factor", "F", "1.1", "detector: pyramid scale step")
      .option("min-neighbors", "N", "3", "detector: overlapping hits a face needs")
      .positionals("IMAGE...", true);
  if (!args.parse(argc, argv, 2)) return 0;
  const std::string model_path = resolve_model_path(args, "fer predict");

  const bool crops = args.flag_set("face-crops");
  minidnn::TestTimeAugmentation tta;
  try {
    tta = minidnn::parse_test_time_augmentation(args.get("tta"));
  } catch (const minidnn::Error& e) {
    throw UsageError(std::string("fer predict: --tta: ") + e.what());
  }
  vision::DetectOptions detect;
  if (!crops) {
    detect.scale_factor = args.get_double("scale-factor", 1.0001, 4.0);
    detect.min_neighbors = args.get_int("min-neighbors", 0, 1000);
  }
  const fs::path out_dir = args.get("out");
  check_writable_folder(out_dir, "--out '" + out_dir.string() + "'");  // before the model and cascade load
  minidnn::fer::FaceAnalyzer analyzer(load_model(model_path),
                                      crops ? vision::HaarCascade() : vision::HaarCascade::load(args.get("cascade")));
  analyzer.set_test_time_augmentation(tta);
  minidnn::viz::Font font;
  const bool json = args.flag_set("json");

  int failures = 0;
  nlohmann::json json_photos = nlohmann::json::array();
  const std::vector<std::string> stems = unique_stems(args.positional());
  for (std::size_t photo = 0; photo < args.positional().size(); ++photo) {
    const std::string& path = args.positional()[photo];
    vision::Image image;
    try {
      image = vision::load_image(path);
    } catch (const minidnn::Error& e) {
      std::fprintf(stderr, "fer predict: %s\n", e.what());
      ++failures;
      continue;
    }
    const vision::GreyImage grey = vision::to_grey(image);
    // Faces in reading order (FaceAnalyzer::analyze sorts them); face k is numbered k everywhere:
    // on the picture, in the table, in the JSON and in the chart's file name.
    const std::vector<FaceResult> faces = crops ? analyzer.classify(grey, {{0, 0, grey.width, grey.height}})
                                                : analyzer.analyze(grey, detect);

    // Pictures: the annotated photo and one chart per face.
    const std::string& stem = stems[photo];
    vision::Image annotated = vision::to_rgb(image);
    const minidnn::viz::RgbView view(annotated.pixels.data(), annotated.width, annotated.height);
    const int thickness = std::max(2, std::min(annotated.width, annotated.height) / 250);
    std::vector<std::string> charts;
    for (std::size_t i = 0; i < faces.size(); ++i) {
      const FaceResult& f = faces[i];
      const std::string label = std::to_string(i + 1) + " " + kEmotionNames[f.emotion()] + " " +
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
      nlohmann::json photo_json = {{"image", path}, {"annotated", annotated_path}, {"faces", nlohmann::json::array()}};
      for (std::size_t i = 0; i < faces.size(); ++i) {
        const FaceResult& f = faces[i];
        nlohmann::json probabilities = nlohmann::json::object();
        for (int c = 0; c < kClasses; ++c) probabilities[kEmotionNames[c]] = f.scores[c];
        photo_json["faces"].push_back({{"face", i + 1},
                                       {"box", {f.box.x, f.box.y, f.box.width, f.box.height}},
                                       {"emotion", kEmotionNames[f.emotion()]},
                                       {"probabilities", probabilities},
                                       {"chart", charts[i]}});
      }
      json_photos.push_back(std::move(photo_json));
    } else {
      std::printf("%s: %zu face%s (annotated: %s)\n", path.c_str(), faces.size(), faces.size() == 1 ? "" : "s",
                  annotated_path.c_str());
      if (faces.empty()) std::printf("  no face found\n");
      else {
        std::printf("  %3s %-20s %-9s", "#", "box (x,y,w,h)", "emotion");
        for (int c = 0; c < kClasses; ++c) std::printf(" %8.8s", kEmotionNames[c]);
        std::printf("\n");
      }
      for (std::size_t i = 0; i < faces.size(); ++i) {
        const FaceResult& f = faces[i];
        char box[64];
        std::snprintf(box, sizeof box, "%d,%d,%d,%d", f.box.x, f.box.y, f.box.width, f.box.height);
        std::printf("  %3zu %-20s %-9s", i + 1, box, kEmotionNames[f.emotion()]);
        for (float p : f.scores) std::printf(" %8.3f", p);
        std::printf("\n");
      }
    }
  }
  // File names are bytes, not always UTF-8: invalid sequences become U+FFFD so the output stays
  // valid JSON (RFC 8259 requires UTF-8).
  if (json) std::printf("%s\n", json_photos.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return failures ? 1 : 0;
}

}  // namespace fer
