#pragma once
/// \file
/// Viola-Jones Haar cascade detector reading OpenCV's cascade XML files (such as Debian's
/// /usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml), with the same detections as
/// OpenCV 4.6's CascadeClassifier::detectMultiScale: the same image pyramid (the image is shrunk,
/// the window stays fixed), the same window stepping and variance normalisation, the same float
/// arithmetic, and the same grouping of overlapping hits (groupRectangles).
///
///     auto cascade = HaarCascade::load("/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml");
///     std::vector<Box> faces = cascade.detect(load_grey("photo.jpg"));
///
/// Both XML layouts are read: the current one (<cascade type_id="opencv-cascade-classifier">,
/// stumps or trees, upright and tilted features) and the old one
/// (type_id="opencv-haar-classifier"). LBP and HOG cascades are rejected with an Error.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/io/xml.hpp"
#include "minidnn/vision/image.hpp"
#include "minidnn/vision/integral_image.hpp"

namespace minidnn::vision {

/// Where Debian's opencv-data package installs OpenCV's frontal-face cascade, the one the
/// FER tutorial uses: the default of every program here that finds faces.
inline constexpr const char* kDebianFrontalFaceCascade =
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml";

/// A width and height in pixels; 0 means "not set".
struct Size {
  int width = 0;
  int height = 0;
};

/// Parameters of HaarCascade::detect, with OpenCV's meanings and defaults.
struct DetectOptions {
  double scale_factor = 1.1;  ///< > 1: each pyramid level is this much smaller than the last
  int min_neighbors = 3;      ///< a face needs more than this many overlapping hits; 0 keeps all hits
  Size min_size;              ///< smallest box reported (0: the cascade's window)
  Size max_size;              ///< largest box reported (0: the whole image)
};

/// One rectangle of a Haar feature, in window coordinates, with its weight.
struct HaarRect {
  int x = 0, y = 0, width = 0, height = 0;
  float weight = 0;
};

/// A Haar feature: the weighted sum of two or three rectangle sums. Tilted features use
/// rectangles rotated by 45 degrees whose top corner is (x, y).
struct HaarFeature {
  std::array<HaarRect, 3> rects{};
  int rect_count = 0;
  bool tilted = false;
};

/// A decision-tree node: feature value < threshold goes left, else right. A child > 0 is a node
/// index within the tree; a child <= 0 is minus the index of a leaf value within the tree.
struct HaarNode {
  int feature = 0;
  float threshold = 0;
  int left = 0;
  int right = 0;
};

/// A boosted weak classifier: `node_count` nodes and `node_count + 1` leaf values.
struct HaarTree {
  int first_node = 0;
  int node_count = 0;
  int first_leaf = 0;
};

/// A stage: the sum of its trees' leaf values must reach `threshold` for a window to go on.
struct HaarStage {
  float threshold = 0;
  int first_tree = 0;
  int tree_count = 0;
};

/// Groups similar rectangles as OpenCV's groupRectangles(rects, min_neighbors, eps) does:
/// clusters of rectangles whose corners differ by at most eps * mean size, averaged; clusters
/// with min_neighbors or fewer members dropped, and clusters lying inside a bigger, better
/// supported one dropped. min_neighbors <= 0 returns the input unchanged.
inline std::vector<Box> group_rectangles(const std::vector<Box>& rects, int min_neighbors, double eps = 0.2) {
  if (min_neighbors <= 0 || rects.empty()) return rects;
  auto similar = [eps](const Box& a, const Box& b) {
    const double delta = eps * (std::min(a.width, b.width) + std::min(a.height, b.height)) * 0.5;
    return std::abs(a.x - b.x) <= delta && std::abs(a.y - b.y) <= delta &&
           std::abs(a.x + a.width - b.x - b.width) <= delta &&
           std::abs(a.y + a.height - b.y - b.height) <= delta;
  };
  // Connected components of the similarity graph (union-find with path halving).
  const std::size_t n = rects.size();
  std::vector<std::size_t> parent(n);
  for (std::size_t i = 0; i < n; ++i) parent[i] = i;
  auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (similar(rects[i], rects[j])) {
        std::size_t a = root(i), b = root(j);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
  std::vector<int> label(n, -1), class_of_root(n, -1);
  int classes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t r = root(i);
    if (class_of_root[r] < 0) class_of_root[r] = classes++;
    label[i] = class_of_root[r];
  }
  std::vector<std::array<long long, 4>> sums(static_cast<std::size_t>(classes), {0, 0, 0, 0});
  std::vector<int> counts(static_cast<std::size_t>(classes), 0);
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = sums[static_cast<std::size_t>(label[i])];
    s[0] += rects[i].x, s[1] += rects[i].y, s[2] += rects[i].width, s[3] += rects[i].height;
    ++counts[static_cast<std::size_t>(label[i])];
  }
  // The mean is taken in float and rounded to nearest even, as OpenCV does.
  std::vector<Box> means(static_cast<std::size_t>(classes));
  for (int c = 0; c < classes; ++c) {
    const float inv = 1.0f / static_cast<float>(counts[c]);
    const auto& s = sums[static_cast<std::size_t>(c)];
    auto mean = [inv](long long total) { return static_cast<int>(std::lrint(static_cast<float>(total) * inv)); };
    means[static_cast<std::size_t>(c)] = Box{mean(s[0]), mean(s[1]), mean(s[2]), mean(s[3])};
  }
  std::vector<Box> out;
  for (int i = 0; i < classes; ++i) {
    const Box& r1 = means[static_cast<std::size_t>(i)];
    const int n1 = counts[static_cast<std::size_t>(i)];
    if (n1 <= min_neighbors) continue;
    bool inside_other = false;
    for (int j = 0; j < classes && !inside_other; ++j) {
      const int n2 = counts[static_cast<std::size_t>(j)];
      if (j == i || n2 <= min_neighbors) continue;
      const Box& r2 = means[static_cast<std::size_t>(j)];
      const int dx = static_cast<int>(std::lrint(r2.width * eps));
      const int dy = static_cast<int>(std::lrint(r2.height * eps));
      inside_other = r1.x >= r2.x - dx && r1.y >= r2.y - dy && r1.x + r1.width <= r2.x + r2.width + dx &&
                     r1.y + r1.height <= r2.y + r2.height + dy && (n2 > std::max(3, n1) || n1 < 3);
    }
    if (!inside_other) out.push_back(r1);
  }
  return out;
}

/// A boosted cascade of Haar-feature classifiers loaded from an OpenCV cascade XML file.
class HaarCascade {
 public:
  /// Loads a cascade file; any problem (unreadable, malformed XML, missing or inconsistent
  /// fields, unsupported cascade type) is an Error naming the file, line and field.
  static HaarCascade load(const std::string& path) { return from_xml(io::load_xml(path)); }

  /// Parses cascade XML held in memory; `source` names it in error messages.
  static HaarCascade parse(std::string_view xml, const std::string& source = "<string>") {
    return from_xml(io::parse_xml(xml, source));
  }

  int window_width() const { return window_width_; }
  int window_height() const { return window_height_; }
  const std::vector<HaarStage>& stages() const { return stages_; }
  const std::vector<HaarTree>& trees() const { return trees_; }
  const std::vector<HaarNode>& nodes() const { return nodes_; }
  const std::vector<float>& leaves() const { return leaves_; }
  const std::vector<HaarFeature>& features() const { return features_; }
  bool has_tilted_features() const { return has_tilted_; }

  /// Finds objects in a grey image: boxes grouped, then clipped to the image, as OpenCV's
  /// CascadeClassifier::detectMultiScale returns them.
  std::vector<Box> detect(const GreyImage& image, const DetectOptions& options = {}) const {
    std::vector<Box> boxes = group_rectangles(detect_candidates(image, options), options.min_neighbors, 0.2);
    std::vector<Box> clipped;
    for (const Box& b : boxes) {
      const int x0 = std::max(b.x, 0), y0 = std::max(b.y, 0);
      const int x1 = std::min(b.x + b.width, image.width), y1 = std::min(b.y + b.height, image.height);
      if (x1 > x0 && y1 > y0) clipped.push_back(Box{x0, y0, x1 - x0, y1 - y0});
    }
    return clipped;
  }

  /// Every window the cascade accepts, before grouping and clipping; a window near the right or
  /// bottom edge can reach a pixel past the image because of rounding.
  std::vector<Box> detect_candidates(const GreyImage& image, const DetectOptions& options = {}) const;

 private:
  // A node with its feature's integral-table offsets for the current pyramid level, so the hot
  // loop reads one contiguous record per node.
  struct OptNode {
    std::array<std::int32_t, 12> offsets;  // [3 rects][4 corners], relative to the window origin
    std::array<float, 3> weights;
    float threshold;
    int left, right;                // as HaarNode
    // Leaf values for stumps (single-node trees): [0] when the feature reaches the threshold,
    // [1] when it is below. Indexed by the comparison, so the hot loop has no branch to
    // mispredict (a stump's outcome is close to a coin toss on most windows).
    std::array<float, 2> leaf;
  };

  static HaarCascade from_xml(const io::XmlDocument& doc);
  void read_current_format(const io::XmlElement& root, const std::string& source);
  void read_old_format(const io::XmlElement& root, const std::string& source);
  void finish(const std::string& source);
  void set_offsets(std::vector<OptNode>& opt, int stride, std::int32_t tilted_base) const;
  int evaluate(const OptNode* opt, const std::int32_t* window, const std::uint32_t* squared_window,
               const std::array<std::int32_t, 4>& norm_offsets) const;

  int window_width_ = 0, window_height_ = 0;
  std::vector<HaarStage> stages_;
  std::vector<HaarTree> trees_;
  std::vector<HaarNode> nodes_;
  std::vector<float> leaves_;
  std::vector<HaarFeature> features_;
  bool has_tilted_ = false;
  bool stumps_only_ = true;
};

namespace detail {

// Helpers that read typed values out of the XML tree, failing with file:line and field.
struct CascadeReader {
  const std::string& source;

  template <typename... Parts>
  [[noreturn]] void error(const io::XmlElement& at, const Parts&... parts) const {
    fail(source, ":", at.line, ": invalid cascade: ", parts...);
  }

  const io::XmlElement& child(const io::XmlElement& parent, std::string_view name) const {
    const io::XmlElement* c = parent.child(name);
    if (!c) error(parent, "<", parent.name, "> has no <", name, "> element");
    return *c;
  }

  std::vector<std::string_view> tokens(const io::XmlElement& e) const {
    std::vector<std::string_view> out;
    std::string_view text = e.text;
    std::size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      std::size_t start = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      if (i > start) out.push_back(text.substr(start, i - start));
    }
    return out;
  }

  double to_real(const io::XmlElement& e, std::string_view token) const {
    std::string s(token);
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(value))
      error(e, "<", e.name, ">: '", token, "' is not a number");
    return value;
  }

  int to_int(const io::XmlElement& e, std::string_view token) const {
    std::string s(token);
    errno = 0;
    char* end = nullptr;
    long value = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || value < -1000000000L ||
        value > 1000000000L)
      error(e, "<", e.name, ">: '", token, "' is not an integer");
    return static_cast<int>(value);
  }

  std::vector<double> reals(const io::XmlElement& e) const {
    std::vector<double> out;
    for (std::string_view t : tokens(e)) out.push_back(to_real(e, t));
    return out;
  }

  double real(const io::XmlElement& e) const {
    auto t = tokens(e);
    if (t.size() != 1) error(e, "<", e.name, "> must hold one number, found ", t.size(), " values");
    return to_real(e, t[0]);
  }

  int integer(const io::XmlElement& e) const {
    auto t = tokens(e);
    if (t.size() != 1) error(e, "<", e.name, "> must hold one integer, found ", t.size(), " values");
    return to_int(e, t[0]);
  }

  std::string word(const io::XmlElement& e) const {
    auto t = tokens(e);
    if (t.size() != 1) error(e, "<", e.name, "> must hold one word");
    return std::string(t[0]);
  }

  // Children named "_" (FileStorage's sequence items); anything else in a sequence is an error.
  std::vector<const io::XmlElement*> items(const io::XmlElement& seq) const {
    std::vector<const io::XmlElement*> out;
    for (const io::XmlElement& c : seq.children) {
      if (c.name != "_") error(c, "unexpected <", c.name, "> inside <", seq.name, ">");
      out.push_back(&c);
    }
    return out;
  }

  HaarFeature feature(const io::XmlElement& e, int window_width, int window_height) const {
    HaarFeature f;
    const io::XmlElement& rects = child(e, "rects");
    auto list = items(rects);
    if (list.size() < 1 || list.size() > 3)
      error(rects, "a feature needs 1 to 3 rectangles, found ", list.size());
    if (const io::XmlElement* tilted = e.child("tilted")) {
      int t = integer(*tilted);
      if (t != 0 && t != 1) error(*tilted, "<tilted> must be 0 or 1, found ", t);
      f.tilted = t == 1;
    }
    f.rect_count = static_cast<int>(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto t = tokens(*list[i]);
      if (t.size() != 5)
        error(*list[i], "a feature rectangle needs 5 values (x y width height weight), found ", t.size());
      HaarRect r;
      r.x = to_int(*list[i], t[0]);
      r.y = to_int(*list[i], t[1]);
      r.width = to_int(*list[i], t[2]);
      r.height = to_int(*list[i], t[3]);
      r.weight = static_cast<float>(to_real(*list[i], t[4]));
      // A rectangle outside the window would read outside the integral tables.
      const bool inside =
          r.width > 0 && r.height > 0 &&
          (f.tilted ? (r.x - r.height >= 0 && r.y >= 0 && r.x + r.width <= window_width &&
                       r.y + r.width + r.height <= window_height)
                    : (r.x >= 0 && r.y >= 0 && r.x + r.width <= window_width &&
                       r.y + r.height <= window_height));
      if (!inside)
        error(*list[i], "feature rectangle ", r.x, " ", r.y, " ", r.width, " ", r.height,
              f.tilted ? " (tilted)" : "", " lies outside the ", window_width, "x", window_height,
              " window");
      f.rects[i] = r;
    }
    return f;
  }
};

// OpenCV's cvRound: round to nearest, ties to even (the default floating-point rounding mode).
inline int round_even(double v) { return static_cast<int>(std::lrint(v)); }
inline int round_even(float v) { return static_cast<int>(std::lrint(v)); }

}  // namespace detail

inline HaarCascade HaarCascade::from_xml(const io::XmlDocument& doc) {
  const std::string& source = doc.source;
  detail::CascadeReader reader{source};
  if (doc.root.name != "opencv_storage")
    reader.error(doc.root, "root element is <", doc.root.name, ">, expected <opencv_storage>");
  if (doc.root.children.empty()) reader.error(doc.root, "<opencv_storage> is empty");
  // Like OpenCV, the cascade is the first top-level node.
  const io::XmlElement& top = doc.root.children.front();
  HaarCascade cascade;
  const std::string* type = top.attribute("type_id");
  if (type && *type == "opencv-haar-classifier") {
    cascade.read_old_format(top, source);
  } else if (!type || *type == "opencv-cascade-classifier") {
    cascade.read_current_format(top, source);
  } else {
    reader.error(top, "unsupported type_id \"", *type, "\" (expected opencv-cascade-classifier or opencv-haar-classifier)");
  }
  cascade.finish(source);
  return cascade;
}

inline void HaarCascade::read_current_format(const io::XmlElement& root, const std::string& source) {
  detail::CascadeReader r{source};
  const std::string stage_type = r.word(r.child(root, "stageType"));
  if (stage_type != "BOOST") r.error(root, "unsupported <stageType> ", stage_type, " (only BOOST)");
  const io::XmlElement& feature_type_el = r.child(root, "featureType");
  const std::string feature_type = r.word(feature_type_el);
  if (feature_type != "HAAR")
    r.error(feature_type_el, "unsupported <featureType> ", feature_type,
            " (only HAAR cascades are supported, not LBP or HOG)");
  window_height_ = r.integer(r.child(root, "height"));
  window_width_ = r.integer(r.child(root, "width"));
  if (window_width_ < 3 || window_height_ < 3 || window_width_ > 4096 || window_height_ > 4096)
    r.error(root, "invalid window size ", window_width_, "x", window_height_);
  const io::XmlElement& feature_params = r.child(root, "featureParams");
  if (const io::XmlElement* cats = feature_params.child("maxCatCount"); cats && r.integer(*cats) != 0)
    r.error(*cats, "categorical features (<maxCatCount> ", r.integer(*cats), ") are not supported");

  const io::XmlElement& features_el = r.child(root, "features");
  for (const io::XmlElement* f : r.items(features_el))
    features_.push_back(r.feature(*f, window_width_, window_height_));
  if (features_.empty()) r.error(features_el, "<features> is empty");

  const io::XmlElement& stages_el = r.child(root, "stages");
  auto stage_items = r.items(stages_el);
  if (stage_items.empty()) r.error(stages_el, "<stages> is empty");
  if (const io::XmlElement* n = root.child("stageNum"); n && r.integer(*n) != static_cast<int>(stage_items.size()))
    r.error(*n, "<stageNum> says ", r.integer(*n), " stages but <stages> holds ", stage_items.size());
  for (const io::XmlElement* s : stage_items) {
    HaarStage stage;
    stage.threshold = static_cast<float>(r.real(r.child(*s, "stageThreshold")));
    stage.first_tree = static_cast<int>(trees_.size());
    const io::XmlElement& weak_el = r.child(*s, "weakClassifiers");
    auto weak = r.items(weak_el);
    if (weak.empty()) r.error(weak_el, "<weakClassifiers> is empty");
    if (const io::XmlElement* m = s->child("maxWeakCount"); m && r.integer(*m) != static_cast<int>(weak.size()))
      r.error(*m, "<maxWeakCount> says ", r.integer(*m), " weak classifiers but the stage holds ", weak.size());
    stage.tree_count = static_cast<int>(weak.size());
    for (const io::XmlElement* w : weak) {
      const io::XmlElement& internal = r.child(*w, "internalNodes");
      const io::XmlElement& leaf_el = r.child(*w, "leafValues");
      auto node_tokens = r.tokens(internal);
      if (node_tokens.empty() || node_tokens.size() % 4 != 0)
        r.error(internal, "<internalNodes> must hold 4 values per node (left right feature threshold), found ",
                node_tokens.size());
      std::vector<double> leaf_values = r.reals(leaf_el);
      HaarTree tree;
      tree.first_node = static_cast<int>(nodes_.size());
      tree.node_count = static_cast<int>(node_tokens.size() / 4);
      tree.first_leaf = static_cast<int>(leaves_.size());
      if (static_cast<int>(leaf_values.size()) != tree.node_count + 1)
        r.error(leaf_el, "a tree with ", tree.node_count, " nodes needs ", tree.node_count + 1,
                " <leafValues>, found ", leaf_values.size());
      for (int k = 0; k < tree.node_count; ++k) {
        HaarNode node;
        node.left = r.to_int(internal, node_tokens[4 * k]);
        node.right = r.to_int(internal, node_tokens[4 * k + 1]);
        node.feature = r.to_int(internal, node_tokens[4 * k + 2]);
        node.threshold = static_cast<float>(r.to_real(internal, node_tokens[4 * k + 3]));
        if (node.feature < 0 || node.feature >= static_cast<int>(features_.size()))
          r.error(internal, "feature index ", node.feature, " out of range (", features_.size(), " features)");
        for (int child : {node.left, node.right}) {
          // Children must come after their parent, which also rules out cycles.
          if (child > 0 ? (child <= k || child >= tree.node_count) : (-child > tree.node_count))
            r.error(internal, "node ", k, " has an invalid child ", child);
        }
        nodes_.push_back(node);
      }
      for (double v : leaf_values) leaves_.push_back(static_cast<float>(v));
      trees_.push_back(tree);
    }
    stages_.push_back(stage);
  }
}

inline void HaarCascade::read_old_format(const io::XmlElement& root, const std::string& source) {
  detail::CascadeReader r{source};
  const io::XmlElement& size_el = r.child(root, "size");
  auto size = r.tokens(size_el);
  if (size.size() != 2) r.error(size_el, "<size> must hold width and height");
  window_width_ = r.to_int(size_el, size[0]);
  window_height_ = r.to_int(size_el, size[1]);
  if (window_width_ < 3 || window_height_ < 3 || window_width_ > 4096 || window_height_ > 4096)
    r.error(size_el, "invalid window size ", window_width_, "x", window_height_);
  const io::XmlElement& stages_el = r.child(root, "stages");
  auto stage_items = r.items(stages_el);
  if (stage_items.empty()) r.error(stages_el, "<stages> is empty");
  for (std::size_t si = 0; si < stage_items.size(); ++si) {
    const io::XmlElement& s = *stage_items[si];
    // Only a plain chain of stages: the old format could also describe a tree of stages.
    if (const io::XmlElement* p = s.child("parent"); p && r.integer(*p) != static_cast<int>(si) - 1)
      r.error(*p, "stage trees are not supported (<parent> of stage ", si, " is ", r.integer(*p), ")");
    if (const io::XmlElement* n = s.child("next"); n && r.integer(*n) != -1)
      r.error(*n, "stage trees are not supported (<next> is ", r.integer(*n), ")");
    HaarStage stage;
    stage.threshold = static_cast<float>(r.real(r.child(s, "stage_threshold")));
    stage.first_tree = static_cast<int>(trees_.size());
    const io::XmlElement& trees_el = r.child(s, "trees");
    auto tree_items = r.items(trees_el);
    if (tree_items.empty()) r.error(trees_el, "<trees> is empty");
    stage.tree_count = static_cast<int>(tree_items.size());
    for (const io::XmlElement* t : tree_items) {
      auto node_items = r.items(*t);
      if (node_items.empty()) r.error(*t, "a tree has no nodes");
      HaarTree tree;
      tree.first_node = static_cast<int>(nodes_.size());
      tree.node_count = static_cast<int>(node_items.size());
      tree.first_leaf = static_cast<int>(leaves_.size());
      int leaf_count = 0;
      for (int k = 0; k < tree.node_count; ++k) {
        const io::XmlElement& n = *node_items[static_cast<std::size_t>(k)];
        HaarNode node;
        node.feature = static_cast<int>(features_.size());
        features_.push_back(r.feature(r.child(n, "feature"), window_width_, window_height_));
        node.threshold = static_cast<float>(r.real(r.child(n, "threshold")));
        auto side = [&](const char* node_tag, const char* value_tag) {
          if (const io::XmlElement* c = n.child(node_tag)) {
            int child = r.integer(*c);
            if (child <= k || child >= tree.node_count)
              r.error(*c, "<", node_tag, "> ", child, " is not a later node of this tree");
            return child;
          }
          leaves_.push_back(static_cast<float>(r.real(r.child(n, value_tag))));
          return -(leaf_count++);
        };
        node.left = side("left_node", "left_val");
        node.right = side("right_node", "right_val");
        nodes_.push_back(node);
      }
      if (leaf_count != tree.node_count + 1)
        r.error(*t, "a tree with ", tree.node_count, " nodes must have ", tree.node_count + 1,
                " leaf values, found ", leaf_count);
      trees_.push_back(tree);
    }
    stages_.push_back(stage);
  }
}

inline void HaarCascade::finish(const std::string& source) {
  (void)source;
  // OpenCV lowers every stage threshold by a small epsilon (in float) when it loads a cascade.
  for (HaarStage& s : stages_) s.threshold = s.threshold - 1e-5f;
  has_tilted_ = std::any_of(features_.begin(), features_.end(), [](const HaarFeature& f) { return f.tilted; });
  stumps_only_ = std::all_of(trees_.begin(), trees_.end(), [](const HaarTree& t) { return t.node_count == 1; });
}

inline void HaarCascade::set_offsets(std::vector<OptNode>& opt, int stride, std::int32_t tilted_base) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const HaarFeature& f = features_[static_cast<std::size_t>(nodes_[i].feature)];
    OptNode& o = opt[i];
    for (int k = 0; k < 3; ++k) {
      const HaarRect& rc = f.rects[static_cast<std::size_t>(k)];
      std::int32_t* ofs = o.offsets.data() + 4 * k;
      if (k >= f.rect_count) {
        ofs[0] = ofs[1] = ofs[2] = ofs[3] = 0;
      } else if (f.tilted) {
        // Corners of the rotated rectangle in the tilted table.
        ofs[0] = tilted_base + rc.x + stride * rc.y;
        ofs[1] = tilted_base + rc.x - rc.height + stride * (rc.y + rc.height);
        ofs[2] = tilted_base + rc.x + rc.width + stride * (rc.y + rc.width);
        ofs[3] = tilted_base + rc.x + rc.width - rc.height + stride * (rc.y + rc.width + rc.height);
      } else {
        ofs[0] = rc.x + stride * rc.y;
        ofs[1] = rc.x + rc.width + stride * rc.y;
        ofs[2] = rc.x + stride * (rc.y + rc.height);
        ofs[3] = rc.x + rc.width + stride * (rc.y + rc.height);
      }
    }
  }
}

// Runs the cascade on one window. Returns 1 when every stage accepts, -1 when the window has too
// little contrast to be normalised, and -k when stage k rejects (0 for the first stage).
inline int HaarCascade::evaluate(const OptNode* opt, const std::int32_t* window,
                                 const std::uint32_t* squared_window,
                                 const std::array<std::int32_t, 4>& norm) const {
  // Variance normalisation over the window less a one-pixel border, in OpenCV's arithmetic.
  const int sum = window[norm[0]] - window[norm[1]] - window[norm[2]] + window[norm[3]];
  const std::uint32_t squared =
      squared_window[norm[0]] - squared_window[norm[1]] - squared_window[norm[2]] + squared_window[norm[3]];
  const double area = double(window_width_ - 2) * double(window_height_ - 2);
  double nf = area * squared - double(sum) * sum;
  if (!(nf > 0.0)) return -1;
  nf = std::sqrt(nf);
  const float norm_factor = static_cast<float>(1.0 / nf);
  if (!(area * norm_factor < 1e-1)) return -1;

  auto feature_value = [&](const OptNode& n) {
    const std::int32_t* o = n.offsets.data();
    // Two-rectangle features have a zero third weight and offsets: adding 0 * 0 leaves the
    // value exact and costs less than the unpredictable branch OpenCV has here.
    const float value = n.weights[0] * float(window[o[0]] - window[o[1]] - window[o[2]] + window[o[3]]) +
                        n.weights[1] * float(window[o[4]] - window[o[5]] - window[o[6]] + window[o[7]]) +
                        n.weights[2] * float(window[o[8]] - window[o[9]] - window[o[10]] + window[o[11]]);
    return value * norm_factor;
  };

  const int stage_count = static_cast<int>(stages_.size());
  if (stumps_only_) {
    const OptNode* node = opt;
    for (int s = 0; s < stage_count; ++s) {
      const HaarStage& stage = stages_[static_cast<std::size_t>(s)];
      double stage_sum = 0;
      for (const OptNode* end = node + stage.tree_count; node != end; ++node)
        stage_sum += node->leaf[feature_value(*node) < node->threshold];
      if (stage_sum < stage.threshold) return -s;
    }
    return 1;
  }
  for (int s = 0; s < stage_count; ++s) {
    const HaarStage& stage = stages_[static_cast<std::size_t>(s)];
    double stage_sum = 0;
    for (int t = stage.first_tree; t < stage.first_tree + stage.tree_count; ++t) {
      const HaarTree& tree = trees_[static_cast<std::size_t>(t)];
      const OptNode* root = opt + tree.first_node;
      int index = 0;
      do {
        const OptNode& n = root[index];
        index = feature_value(n) < n.threshold ? n.left : n.right;
      } while (index > 0);
      stage_sum += leaves_[static_cast<std::size_t>(tree.first_leaf - index)];
    }
    if (stage_sum < stage.threshold) return -s;
  }
  return 1;
}

inline std::vector<Box> HaarCascade::detect_candidates(const GreyImage& image, const DetectOptions& options) const {
  if (!(options.scale_factor > 1.0) || !std::isfinite(options.scale_factor))
    fail("HaarCascade::detect: scale_factor must be > 1, got ", options.scale_factor);
  if (options.min_neighbors < 0) fail("HaarCascade::detect: min_neighbors must be >= 0, got ", options.min_neighbors);
  if (options.min_size.width < 0 || options.min_size.height < 0 || options.max_size.width < 0 ||
      options.max_size.height < 0)
    fail("HaarCascade::detect: negative min_size or max_size");
  std::vector<Box> found;
  const int width = image.width, height = image.height;
  const int win_w = window_width_, win_h = window_height_;
  if (width < win_w || height < win_h) return found;
  Size max_size = options.max_size;
  if (max_size.width == 0 || max_size.height == 0) max_size = {width, height};

  // The pyramid's scales, as OpenCV picks them: factors accumulate in double, are stored as
  // float, and a scale is kept when its (rounded) window fits the size limits.
  std::vector<float> scales;
  for (double factor = 1;; factor *= options.scale_factor) {
    if (detail::round_even(win_w * factor) > width || detail::round_even(win_h * factor) > height) break;
    const float f = static_cast<float>(factor);
    const int w = detail::round_even(win_w * f), h = detail::round_even(win_h * f);
    if (w > max_size.width || h > max_size.height) break;
    if (w < options.min_size.width || h < options.min_size.height) continue;
    scales.push_back(f);
  }

  std::vector<OptNode> opt(nodes_.size());  // per node, offsets rewritten per level
  for (const HaarTree& tree : trees_) {
    for (int k = tree.first_node; k < tree.first_node + tree.node_count; ++k) {
      const HaarNode& n = nodes_[static_cast<std::size_t>(k)];
      const HaarFeature& f = features_[static_cast<std::size_t>(n.feature)];
      OptNode& o = opt[static_cast<std::size_t>(k)];
      for (std::size_t r = 0; r < 3; ++r)
        o.weights[r] = static_cast<int>(r) < f.rect_count ? f.rects[r].weight : 0.0f;
      o.threshold = n.threshold;
      o.left = n.left;
      o.right = n.right;
      // Only read for stumps, whose two children are both leaves.
      o.leaf[1] = leaves_[static_cast<std::size_t>(tree.first_leaf - std::min(n.left, 0))];
      o.leaf[0] = leaves_[static_cast<std::size_t>(tree.first_leaf - std::min(n.right, 0))];
    }
  }

  GreyImage level;
  std::vector<std::int32_t> sums;       // [rows][stride] upright table, then the tilted one
  std::vector<std::uint32_t> squares;   // [rows][stride]
  std::vector<std::int32_t> tilted_scratch;
  for (const float scale : scales) {
    const int level_w = detail::round_even(static_cast<float>(width) / scale);
    const int level_h = detail::round_even(static_cast<float>(height) / scale);
    const int step = scale >= 2.0f ? 1 : 2;
    const int box_w = detail::round_even(win_w * scale), box_h = detail::round_even(win_h * scale);
    // Windows whose top-left corner leaves the window inside the level (OpenCV's working size).
    const int x_end = level_w + 1 - win_w, y_end = level_h + 1 - win_h;
    if (x_end <= 0 || y_end <= 0) continue;
    level = resize_linear_exact(image, level_w, level_h);
    const int stride = level_w + 1;
    const std::size_t table = static_cast<std::size_t>(stride) * (level_h + 1);
    sums.resize(has_tilted_ ? 2 * table : table);
    squares.resize(table);
    integral_into(level, sums.data(), squares.data(), stride);
    if (has_tilted_) tilted_integral_into(level, sums.data() + table, stride, tilted_scratch);
    set_offsets(opt, stride, static_cast<std::int32_t>(has_tilted_ ? table : 0));
    const std::array<std::int32_t, 4> norm = {1 + stride, (win_w - 1) + stride, 1 + stride * (win_h - 1),
                                              (win_w - 1) + stride * (win_h - 1)};
    for (int y = 0; y < y_end; y += step) {
      const std::int32_t* row = sums.data() + static_cast<std::size_t>(y) * stride;
      const std::uint32_t* sq_row = squares.data() + static_cast<std::size_t>(y) * stride;
      for (int x = 0; x < x_end; x += step) {
        const int result = evaluate(opt.data(), row + x, sq_row + x, norm);
        if (result > 0)
          found.push_back(Box{detail::round_even(static_cast<float>(x) * scale),
                              detail::round_even(static_cast<float>(y) * scale), box_w, box_h});
        if (result == 0) x += step;  // rejected by the first stage: skip the next position too
      }
    }
  }
  return found;
}

}  // namespace minidnn::vision
