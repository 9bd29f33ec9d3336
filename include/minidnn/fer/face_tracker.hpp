#pragma once
/// \file
/// FaceTracker: follows the faces FaceAnalyzer finds from one analysed video frame to the next,
/// so each person keeps an id, and smooths each face's scores over its last few frames.
///
/// A detection continues the track whose last box overlaps it most (intersection over union at
/// least `min_iou`, matched greedily, best overlap first); a track unseen for more than
/// `max_missed` analysed frames ends; a detection that continues no track starts a new id. A
/// scene cut (the frame's 32x32 thumbnail differs from the last one by more than
/// `cut_threshold` grey levels on average) ends every track, so faces after a cut get new ids
/// even where boxes happen to overlap.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <vector>

#include "minidnn/fer/face_analysis.hpp"
#include "minidnn/vision/image.hpp"

namespace minidnn::fer {

/// Intersection over union of two boxes (0 when either is empty).
inline double iou(const vision::Box& a, const vision::Box& b) {
  const int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const int x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  if (x1 <= x0 || y1 <= y0) return 0;
  const double inter = double(x1 - x0) * (y1 - y0);
  return inter / (double(a.width) * a.height + double(b.width) * b.height - inter);
}

/// The small picture of a frame the tracker compares to tell a cut from motion.
inline vision::GreyImage scene_thumbnail(const vision::GreyImage& grey) {
  return grey.empty() ? vision::GreyImage() : vision::resize_area(grey, 32, 32);
}

/// Mean absolute difference of two thumbnails, in grey levels (255 when they differ in size).
inline double thumbnail_difference(const vision::GreyImage& a, const vision::GreyImage& b) {
  if (a.width != b.width || a.height != b.height || a.empty()) return 255;
  long long sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return double(sum) / double(a.pixels.size());
}

struct TrackerOptions {
  double min_iou = 0.3;        ///< overlap a detection needs to continue a track
  int max_missed = 2;          ///< analysed frames a track may go unseen before it ends
  int smooth = 5;              ///< scores averaged over this many of the face's frames (1: raw)
  double cut_threshold = 40;   ///< thumbnail difference (grey levels) that counts as a scene cut
};

/// A face in one analysed frame, with its id.
struct TrackedFace {
  int id = 0;
  vision::Box box;
  std::array<float, kEmotions> raw{};     ///< this frame's scores (FaceAnalyzer's)
  std::array<float, kEmotions> scores{};  ///< averaged over the face's last `smooth` frames
  int emotion() const { return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin()); }
};

class FaceTracker {
 public:
  explicit FaceTracker(const TrackerOptions& options = {}) : options_(options) {}

  /// Takes the faces of the next analysed frame (in the analyzer's order, which is kept) and
  /// its thumbnail (scene_thumbnail; empty: no cut detection). Returns them with ids.
  std::vector<TrackedFace> update(const std::vector<FaceResult>& faces, const vision::GreyImage& thumbnail = {}) {
    cut_ = !thumbnail.empty() && !last_thumbnail_.empty() &&
           thumbnail_difference(thumbnail, last_thumbnail_) > options_.cut_threshold;
    if (!thumbnail.empty()) last_thumbnail_ = thumbnail;
    if (cut_) tracks_.clear();

    // Greedy matching, best overlap first.
    struct Pair {
      double overlap;
      std::size_t face, track;
    };
    std::vector<Pair> pairs;
    for (std::size_t f = 0; f < faces.size(); ++f)
      for (std::size_t t = 0; t < tracks_.size(); ++t)
        if (const double o = iou(faces[f].box, tracks_[t].box); o >= options_.min_iou) pairs.push_back({o, f, t});
    std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.overlap > b.overlap; });
    std::vector<int> track_of(faces.size(), -1);
    std::vector<bool> taken(tracks_.size(), false);
    for (const Pair& p : pairs)
      if (track_of[p.face] < 0 && !taken[p.track]) {
        track_of[p.face] = static_cast<int>(p.track);
        taken[p.track] = true;
      }

    for (std::size_t t = 0; t < tracks_.size(); ++t) tracks_[t].missed = taken[t] ? 0 : tracks_[t].missed + 1;
    std::vector<TrackedFace> out(faces.size());
    for (std::size_t f = 0; f < faces.size(); ++f) {
      if (track_of[f] < 0) {
        tracks_.push_back(Track{next_id_++, faces[f].box, 0, {}});
        track_of[f] = static_cast<int>(tracks_.size() - 1);
      }
      Track& track = tracks_[static_cast<std::size_t>(track_of[f])];
      track.box = faces[f].box;
      track.history.push_back(faces[f].scores);
      while (static_cast<int>(track.history.size()) > std::max(1, options_.smooth)) track.history.pop_front();
      TrackedFace& face = out[f];
      face.id = track.id;
      face.box = faces[f].box;
      face.raw = faces[f].scores;
      face.scores.fill(0);
      for (const auto& s : track.history)
        for (int c = 0; c < kEmotions; ++c) face.scores[static_cast<std::size_t>(c)] += s[static_cast<std::size_t>(c)];
      for (float& s : face.scores) s /= static_cast<float>(track.history.size());
    }
    tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(),
                                 [&](const Track& t) { return t.missed > options_.max_missed; }),
                  tracks_.end());
    return out;
  }

  /// Whether the last update saw a scene cut.
  bool cut() const { return cut_; }
  /// Ids handed out so far.
  int ids() const { return next_id_ - 1; }

 private:
  struct Track {
    int id;
    vision::Box box;
    int missed;
    std::deque<std::array<float, kEmotions>> history;
  };
  TrackerOptions options_;
  std::vector<Track> tracks_;
  vision::GreyImage last_thumbnail_;
  int next_id_ = 1;
  bool cut_ = false;
};

}  // namespace minidnn::fer
