#include "minidnn/vision/haar_cascade.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "reference_file.hpp"
#include "support/files.hpp"
#include "support/memory_limit.hpp"
#include "support/paths.hpp"

using namespace minidnn;
using namespace minidnn::vision;
using Catch::Matchers::Contains;

namespace {

const std::string kCascadeDir = "/usr/share/opencv4/haarcascades/";

std::string cascade_path(const std::string& name) {
  std::string path = kCascadeDir + name;
  if (!std::filesystem::exists(path))
    FAIL(path << " is missing: install Debian's opencv-data (the project's setup script does)");
  return path;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A minimal JSON reader for opencv_reference.json: objects, arrays, strings, numbers.
struct Json {
  enum Kind { Null, Number, String, Array, Object } kind = Null;
  double number = 0;
  std::string text;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;
  const Json& operator[](const std::string& key) const {
    for (const auto& [k, v] : members)
      if (k == key) return v;
    FAIL("JSON key " << key << " missing");
    return *this;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  Json parse() {
    Json v = value();
    space();
    if (i_ != s_.size()) fail("JSON: trailing content at ", i_);
    return v;
  }

 private:
  void space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char next() {
    space();
    if (i_ >= s_.size()) fail("JSON: truncated");
    return s_[i_];
  }
  void expect(char c) {
    if (next() != c) fail("JSON: expected ", c, " at ", i_);
    ++i_;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') ++i_;
      out += s_[i_++];
    }
    expect('"');
    return out;
  }
  Json value() {
    Json v;
    char c = next();
    if (c == '{') {
      v.kind = Json::Object;
      ++i_;
      if (next() == '}') return ++i_, v;
      for (;;) {
        std::string key = string();
        expect(':');
        v.members.emplace_back(key, value());
        if (next() == ',') { ++i_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++i_;
      if (next() == ']') return ++i_, v;
      for (;;) {
        v.items.push_back(value());
        if (next() == ',') { ++i_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::String;
      v.text = string();
      return v;
    }
    char* end = nullptr;
    v.kind = Json::Number;
    v.number = std::strtod(s_.c_str() + i_, &end);
    if (end == s_.c_str() + i_) fail("JSON: unexpected character at ", i_);
    i_ = static_cast<std::size_t>(end - s_.c_str());
    return v;
  }
  const std::string& s_;
  std::size_t i_ = 0;
};

double iou(const Box& a, const Box& b) {
  int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  int x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  double inter = std::max(0, x1 - x0) * double(std::max(0, y1 - y0));
  return inter / (double(a.width) * a.height + double(b.width) * b.height - inter);
}

std::set<std::tuple<int, int, int, int>> as_set(const std::vector<Box>& boxes) {
  std::set<std::tuple<int, int, int, int>> out;
  for (const Box& b : boxes) out.emplace(b.x, b.y, b.width, b.height);
  return out;
}

}  // namespace

TEST_CASE("frontalface_alt finds OpenCV 4.6's faces in every reference photo", "[vision][haar]") {
  const auto faces = test::shared_dir() / "data" / "faces";
  const Json reference = JsonParser(read_text((faces / "opencv_reference.json").string())).parse();
  REQUIRE(reference["params"]["scaleFactor"].number == 1.1);
  REQUIRE(reference["params"]["minNeighbors"].number == 3);
  const HaarCascade cascade = HaarCascade::load(cascade_path("haarcascade_frontalface_alt.xml"));
  const Json& detections = reference["detections"];
  REQUIRE(detections.members.size() >= 8);
  for (const auto& [photo, boxes] : detections.members) {
    std::vector<Box> expected;
    for (const Json& b : boxes.items)
      expected.push_back(Box{int(b.items.at(0).number), int(b.items.at(1).number), int(b.items.at(2).number),
                             int(b.items.at(3).number)});
    const std::vector<Box> found = cascade.detect(load_grey((faces / photo).string()), DetectOptions{1.1, 3, {}, {}});
    INFO(photo);
    REQUIRE(found.size() == expected.size());
    // One-to-one: every reference box is the best match of exactly one found box.
    std::vector<bool> used(expected.size(), false);
    for (const Box& f : found) {
      std::size_t best = 0;
      double best_iou = -1;
      for (std::size_t i = 0; i < expected.size(); ++i)
        if (!used[i] && iou(f, expected[i]) > best_iou) best_iou = iou(f, expected[i]), best = i;
      INFO("found " << f.x << "," << f.y << " " << f.width << "x" << f.height << " IoU " << best_iou);
      CHECK(best_iou >= 0.9);
      used[best] = true;
    }
    if (photo == "camera.png") CHECK(found.empty());
  }
}

TEST_CASE("other Debian cascades (trees, tilted features) give OpenCV's exact boxes", "[vision][haar]") {
  // cascade_reference.txt: "cascade photo min_neighbors count" then count lines "x y w h".
  std::ifstream in(test::vision_fixture("cascade_reference.txt"));
  REQUIRE(in);
  const auto faces = test::shared_dir() / "data" / "faces";
  std::map<std::string, HaarCascade> cascades;
  std::string cascade_name, photo;
  int neighbours = 0, count = 0, blocks = 0;
  while (in >> cascade_name >> photo >> neighbours >> count) {
    std::vector<Box> expected(static_cast<std::size_t>(count));
    for (Box& b : expected) REQUIRE(in >> b.x >> b.y >> b.width >> b.height);
    if (!cascades.count(cascade_name)) cascades.emplace(cascade_name, HaarCascade::load(cascade_path(cascade_name)));
    const HaarCascade& cascade = cascades.at(cascade_name);
    DetectOptions options;
    options.min_neighbors = neighbours;
    INFO(cascade_name << " on " << photo << " with min_neighbors " << neighbours);
    CHECK(as_set(cascade.detect(load_grey((faces / photo).string()), options)) == as_set(expected));
    ++blocks;
  }
  CHECK(blocks == 12);
  CHECK(cascades.at("haarcascade_eye_tree_eyeglasses.xml").has_tilted_features());
}

TEST_CASE("the hand-written cascade parses into the expected structure", "[vision][haar]") {
  const HaarCascade c = HaarCascade::load(test::vision_fixture("tiny_cascade.xml"));
  CHECK(c.window_width() == 8);
  CHECK(c.window_height() == 8);
  REQUIRE(c.stages().size() == 2);
  CHECK(c.stages()[0].threshold == 0.0f - 1e-5f);  // OpenCV lowers thresholds by 1e-5
  CHECK(c.stages()[1].threshold == 0.2f - 1e-5f);
  REQUIRE(c.trees().size() == 2);
  CHECK(c.trees()[1].node_count == 2);
  REQUIRE(c.nodes().size() == 3);
  CHECK(c.nodes()[0].threshold == -0.05f);
  CHECK(c.nodes()[1].left == 1);
  CHECK(c.nodes()[1].right == 0);
  CHECK(c.nodes()[2].left == -1);
  CHECK(c.nodes()[2].feature == 2);
  CHECK(c.leaves() == std::vector<float>{-1.f, 1.f, 0.5f, -0.5f, 0.8f});
  REQUIRE(c.features().size() == 3);
  CHECK(c.features()[1].tilted);
  CHECK(c.features()[2].rect_count == 3);
  CHECK(c.features()[2].rects[1].weight == 1.5f);
  CHECK(c.features()[2].rects[2].x == 3);
  CHECK(c.has_tilted_features());
}

namespace {
// Naive evaluation of one 8x8 window of the tiny cascade at scale 1: rectangle sums by direct
// loops, tilted sums through the tilted integral's definition.
int naive_tiny_cascade(const HaarCascade& c, const GreyImage& img, int wx, int wy) {
  auto pixel = [&](int x, int y) -> std::int64_t { return img.at(wx + x, wy + y); };
  auto tilted_table = [&](int X, int Y) {  // T(X, Y) of the window's image region
    std::int64_t s = 0;
    for (int y = 0; y < Y; ++y)
      for (int x = 0; x < img.width - wx; ++x)
        if (std::abs(x - X + 1) <= Y - 1 - y) s += pixel(x, y);
    return s;
  };
  auto rect_sum = [&](const HaarRect& r, bool tilted) -> std::int64_t {
    if (!tilted) {
      std::int64_t s = 0;
      for (int y = r.y; y < r.y + r.height; ++y)
        for (int x = r.x; x < r.x + r.width; ++x) s += pixel(x, y);
      return s;
    }
    return tilted_table(r.x, r.y) - tilted_table(r.x - r.height, r.y + r.height) -
           tilted_table(r.x + r.width, r.y + r.width) +
           tilted_table(r.x + r.width - r.height, r.y + r.width + r.height);
  };
  std::int64_t sum = 0, sq = 0;
  for (int y = 1; y < 7; ++y)
    for (int x = 1; x < 7; ++x) sum += pixel(x, y), sq += pixel(x, y) * pixel(x, y);
  double nf = 36.0 * double(sq) - double(sum) * double(sum);
  if (!(nf > 0)) return -1;
  float norm = static_cast<float>(1.0 / std::sqrt(nf));
  if (!(36.0 * norm < 0.1)) return -1;
  auto feature = [&](int index) {
    const HaarFeature& f = c.features()[static_cast<std::size_t>(index)];
    float v = f.rects[0].weight * float(rect_sum(f.rects[0], f.tilted)) +
              f.rects[1].weight * float(rect_sum(f.rects[1], f.tilted));
    if (f.rect_count == 3) v += f.rects[2].weight * float(rect_sum(f.rects[2], f.tilted));
    return v * norm;
  };
  // Stage 0: stump on feature 0.
  double s0 = feature(0) < -0.05f ? -1.0 : 1.0;
  if (s0 < 0.0f - 1e-5f) return 0;
  // Stage 1: node 0 (feature 1, threshold 0) goes left to node 1 or right to leaf 0.5; node 1
  // (feature 2, threshold 0.01) gives -0.5 or 0.8.
  double s1 = feature(1) < 0.0f ? (feature(2) < 0.01f ? -0.5f : 0.8f) : 0.5f;
  return s1 < 0.2f - 1e-5f ? -1 : 1;
}
}  // namespace

TEST_CASE("tree and tilted-feature evaluation agrees with a naive evaluation", "[vision][haar]") {
  const HaarCascade c = HaarCascade::load(test::vision_fixture("tiny_cascade.xml"));
  GreyImage img(41, 33);
  std::uint64_t s = 99;
  for (int y = 0; y < 33; ++y)
    for (int x = 0; x < 41; ++x) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      img.at(x, y) = static_cast<std::uint8_t>(((x * 9) % 200) + (s >> 59) * 3 + (y % 5 == 0 ? 40 : 0));
    }
  DetectOptions only_scale_one;
  only_scale_one.min_neighbors = 0;
  only_scale_one.max_size = {8, 8};
  // Windows step by 2 at scale 1 and skip one position after a first-stage rejection.
  std::vector<Box> expected;
  std::map<int, int> outcomes;  // result -> count
  for (int y = 0; y + 8 <= 33; y += 2)
    for (int x = 0; x + 8 <= 41; x += 2) {
      int result = naive_tiny_cascade(c, img, x, y);
      ++outcomes[result];
      if (result > 0) expected.push_back(Box{x, y, 8, 8});
      if (result == 0) x += 2;
    }
  // The test image exercises acceptance and rejection by each stage.
  CHECK(outcomes[1] > 3);
  CHECK(outcomes[0] > 3);
  CHECK(outcomes[-1] > 3);
  CHECK(as_set(c.detect_candidates(img, only_scale_one)) == as_set(expected));
}

TEST_CASE("group_rectangles clusters, averages and filters like OpenCV", "[vision][haar]") {
  std::vector<Box> rects = {{100, 100, 40, 40}, {102, 101, 40, 40}, {98, 99, 42, 42}, {101, 100, 40, 40},
                            {300, 50, 20, 20},  {302, 50, 20, 20},  // only two: dropped at 3
                            {110, 110, 12, 12}, {111, 110, 12, 12}, {110, 111, 12, 12}, {111, 111, 12, 12}};
  std::vector<Box> grouped = group_rectangles(rects, 3);
  // Cluster 1 averages to (100.25, 100, 40.5, 40.5), rounded half to even; cluster 3 (110.5,
  // 110.5, 12, 12) lies inside cluster 1 but is as well supported (4 > max(3, 4) is false): kept.
  CHECK(as_set(grouped) == as_set({{100, 100, 40, 40}, {110, 110, 12, 12}}));
  rects.push_back({101, 101, 40, 40});  // cluster 1: 5 > 4 members, (100.4, 100.2, 40.4, 40.4); 3 removed
  CHECK(as_set(group_rectangles(rects, 3)) == as_set({{100, 100, 40, 40}}));
  CHECK(group_rectangles(rects, 0).size() == rects.size());
}

TEST_CASE("detect validates its options", "[vision][haar]") {
  const HaarCascade c = HaarCascade::load(test::vision_fixture("tiny_cascade.xml"));
  GreyImage img(20, 20, 100);
  CHECK_THROWS_WITH(c.detect(img, DetectOptions{1.0, 3, {}, {}}), Contains("scale_factor"));
  CHECK_THROWS_WITH(c.detect(img, DetectOptions{1.1, -1, {}, {}}), Contains("min_neighbors"));
  CHECK(c.detect(GreyImage(5, 5, 0)).empty());  // smaller than the window
  CHECK(c.detect(img).empty());                  // flat image: no variance, nothing found
}

TEST_CASE("malformed cascade files are rejected with a clear message", "[vision][haar]") {
  const std::string good = read_text(test::vision_fixture("tiny_cascade.xml"));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  auto rejects = [](const std::string& xml, const std::string& message) {
    INFO("expecting: " << message);
    CHECK_THROWS_WITH(HaarCascade::parse(xml, "bad.xml"), Contains("bad.xml") && Contains(message));
  };
  rejects(good.substr(0, good.size() / 2), "truncated");
  rejects(replaced("<stages>", "<stagez>"), "does not match");
  rejects(replaced("<stageNum>2</stageNum>", "<stageNum>3</stageNum>"), "<stageNum> says 3 stages");
  rejects(replaced("<featureType>HAAR</featureType>", "<featureType>LBP</featureType>"), "LBP");
  rejects(replaced("<stageThreshold>0.</stageThreshold>", "<stageThreshold>zero</stageThreshold>"),
          "'zero' is not a number");
  rejects(replaced("-1. 1.</leafValues>", "-1.</leafValues>"), "needs 2 <leafValues>");
  rejects(replaced("0 -1 0 -5.0000000000000003e-02", "0 -1 7 -5.0000000000000003e-02"), "feature index 7 out of range");
  rejects(replaced("0 -1 0 -5.0000000000000003e-02", "0 -1 0"), "4 values per node");
  rejects(replaced("4 1 4 6 2.", "6 1 4 6 2."), "outside the 8x8 window");
  rejects(replaced("1 0 1 0. -1 -2 2", "1 0 1 0. 1 -2 2"), "node 1 has an invalid child 1");  // a loop
  rejects(replaced("1 0 1 0. -1 -2 2", "1 0 1 0. -1 -3 2"), "node 1 has an invalid child -3");
  {
    std::string no_stages = good;
    auto begin = no_stages.find("<stages>"), end = no_stages.find("</stages>") + 9;
    rejects(no_stages.erase(begin, end - begin), "has no <stages>");
  }
  rejects("<opencv_storage><cascade type_id=\"something-else\"/></opencv_storage>", "unsupported type_id");
  rejects("", "no root element");
  CHECK_THROWS_WITH(HaarCascade::load("/nonexistent/cascade.xml"), Contains("/nonexistent/cascade.xml"));
}

TEST_CASE("the old opencv-haar-classifier format is read", "[vision][haar]") {
  const HaarCascade old_format = HaarCascade::load(cascade_path("haarcascade_licence_plate_rus_16stages.xml"));
  CHECK(old_format.window_width() == 64);
  CHECK(old_format.window_height() == 16);
  CHECK(old_format.stages().size() == 16);
  // Every node has its own feature in the old format, and every tree its leaves.
  CHECK(old_format.features().size() == old_format.nodes().size());
  CHECK(old_format.leaves().size() == old_format.nodes().size() + old_format.trees().size());
}

// Without a cap the cascade loader read any file whole: /dev/zero ended in std::bad_alloc.
TEST_CASE("huge, endless and directory cascade files are refused in bounded memory", "[vision][haar]") {
  const auto dir = test::scratch_dir("haar_hostile");
  test::write_sparse_file(dir / "sparse.xml", std::uintmax_t(2) << 30);
  std::filesystem::create_directory(dir / "folder.xml");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {(dir / "sparse.xml").string(), "too large: 2147483648 bytes"},
      {"/dev/zero", "too large: more than 67108864 bytes"},
      {(dir / "folder.xml").string(), "it is a directory"},
  };
  for (const auto& [path, expected] : cases) {
    INFO(path);
    const auto run = test::run_with_memory_limit(std::size_t(256) << 20, [&] { HaarCascade::load(path); });
    CHECK(run.outcome == test::LimitedRun::error);
    CHECK_THAT(run.message, Contains(path) && Contains(expected));
  }
  std::filesystem::remove_all(dir);
}
