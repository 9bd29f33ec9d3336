// FaceTracker: ids by box overlap, tracks ending after missed frames, scene cuts, smoothing.
#include <catch2/catch.hpp>

#include "minidnn/fer/face_tracker.hpp"

using minidnn::fer::FaceResult;
using minidnn::fer::FaceTracker;
using minidnn::vision::Box;
using minidnn::vision::GreyImage;

namespace {
FaceResult face(int x, int y, int side, float happy = 0.5f) {
  FaceResult f;
  f.box = {x, y, side, side};
  f.scores.fill((1 - happy) / 6);
  f.scores[3] = happy;
  return f;
}
std::vector<int> ids(const std::vector<minidnn::fer::TrackedFace>& faces) {
  std::vector<int> out;
  for (const auto& f : faces) out.push_back(f.id);
  return out;
}
}  // namespace

TEST_CASE("iou: intersection over union by hand", "[fer][tracker]") {
  CHECK(minidnn::fer::iou({0, 0, 10, 10}, {0, 0, 10, 10}) == Approx(1));
  CHECK(minidnn::fer::iou({0, 0, 10, 10}, {5, 0, 10, 10}) == Approx(50.0 / 150.0));
  CHECK(minidnn::fer::iou({0, 0, 10, 10}, {10, 0, 10, 10}) == 0);
  CHECK(minidnn::fer::iou({0, 0, 0, 0}, {0, 0, 10, 10}) == 0);
}

TEST_CASE("FaceTracker: moving faces keep their ids, new faces get new ones, in the given order", "[fer][tracker]") {
  FaceTracker tracker;
  CHECK(ids(tracker.update({face(10, 10, 40), face(100, 10, 40)})) == std::vector<int>{1, 2});
  CHECK(ids(tracker.update({face(14, 12, 40), face(104, 11, 42)})) == std::vector<int>{1, 2});
  // Order given by the analyzer is kept; ids follow the boxes.
  CHECK(ids(tracker.update({face(108, 12, 42), face(200, 50, 30), face(18, 13, 40)})) == std::vector<int>{2, 3, 1});
  CHECK(tracker.ids() == 3);
  // The best overlap wins when two detections overlap one track.
  CHECK(ids(tracker.update({face(30, 13, 40), face(19, 13, 40)})) == std::vector<int>{4, 1});
}

TEST_CASE("FaceTracker: a face unseen for more than max_missed frames comes back with a new id", "[fer][tracker]") {
  minidnn::fer::TrackerOptions options;
  options.max_missed = 2;
  FaceTracker tracker(options);
  tracker.update({face(10, 10, 40)});
  tracker.update({});
  tracker.update({});
  CHECK(ids(tracker.update({face(10, 10, 40)})) == std::vector<int>{1});  // missed 2: kept
  tracker.update({});
  tracker.update({});
  tracker.update({});
  CHECK(ids(tracker.update({face(10, 10, 40)})) == std::vector<int>{2});  // missed 3: a new id
}

TEST_CASE("FaceTracker: a scene cut ends every track even where boxes overlap", "[fer][tracker]") {
  FaceTracker tracker;
  GreyImage dark(32, 32, 20), dark2(32, 32, 30), bright(32, 32, 200);
  tracker.update({face(10, 10, 40)}, dark);
  CHECK(ids(tracker.update({face(10, 10, 40)}, dark2)) == std::vector<int>{1});  // differs by 10 levels: motion
  CHECK_FALSE(tracker.cut());
  CHECK(ids(tracker.update({face(10, 10, 40)}, bright)) == std::vector<int>{2});  // by 170: a cut
  CHECK(tracker.cut());
  CHECK(minidnn::fer::thumbnail_difference(dark, bright) == Approx(180));
}

TEST_CASE("FaceTracker: scores are the mean of the face's last K raw scores", "[fer][tracker]") {
  minidnn::fer::TrackerOptions options;
  options.smooth = 2;
  FaceTracker tracker(options);
  auto a = tracker.update({face(10, 10, 40, 0.9f)});
  CHECK(a[0].scores[3] == Approx(0.9));
  auto b = tracker.update({face(10, 10, 40, 0.3f)});
  CHECK(b[0].raw[3] == Approx(0.3));
  CHECK(b[0].scores[3] == Approx(0.6));
  CHECK(b[0].scores[0] == Approx((0.1 / 6 + 0.7 / 6) / 2));
  auto c = tracker.update({face(10, 10, 40, 0.1f)});
  CHECK(c[0].scores[3] == Approx(0.2));  // 0.9 has left the window
  CHECK(c[0].emotion() == 3);  // Happy 0.2 against (0.7/6 + 0.9/6) / 2 = 0.133 for the others
}
