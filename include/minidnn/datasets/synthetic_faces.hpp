#pragma once
/// \file
/// Synthetic faces: a procedural stand-in for FER2013 (48x48 grey, the same 7 classes) for tests,
/// demos and quick checks that a model can learn at all, with no data download.
///
/// The expression is carried by the shapes a CNN sees, the way it is on real faces:
///
///     class      brows                    eyes          mouth
///     0 Angry    angled in (inner ends down)  narrow    flat, thick (pressed lips)
///     1 Disgust  lowered, flat            narrow        wavy
///     2 Fear     raised, inner ends up    wide          wide open, flat oval
///     3 Happy    flat                     normal        smile
///     4 Sad      inner ends up            normal        frown
///     5 Surprise raised high, arched      wide          round open "O"
///     6 Neutral  flat                     normal        flat, thin
///
/// Everything else is random nuisance: face position, size, tilt and width, skin and background
/// grey, feature darkness, a lighting gradient, contrast, pixel noise and an optional nose. Mean
/// brightness alone says almost nothing about the class (the tests check that).
/// Sample i of a set with seed s is drawn from Rng(Rng::derive(s, i)) and has label i % 7, so a
/// set is the same for a seed whatever its size, and every prefix is class-balanced.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "minidnn/core/error.hpp"
#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/datasets/fer2013.hpp"

namespace minidnn::synthetic_faces {

constexpr int kSide = fer2013::kImageSide;  // 48
constexpr int kNumClasses = fer2013::kNumClasses;

namespace detail {

struct Vec2 {
  double x, y;
};

inline double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

// Signed distance (face units) to an axis-aligned ellipse; the usual normalised approximation,
// exact on the axes and good enough for anti-aliasing small shapes.
inline double ellipse_distance(Vec2 p, Vec2 centre, double rx, double ry) {
  const double dx = (p.x - centre.x) / rx, dy = (p.y - centre.y) / ry;
  const double r = std::sqrt(dx * dx + dy * dy);
  const double gx = dx / (rx * std::max(r, 1e-9)), gy = dy / (ry * std::max(r, 1e-9));
  return (r - 1.0) / std::max(std::sqrt(gx * gx + gy * gy), 1e-9);
}

inline double segment_distance(Vec2 p, Vec2 a, Vec2 b) {
  const double bx = b.x - a.x, by = b.y - a.y, px = p.x - a.x, py = p.y - a.y;
  const double t = std::clamp((px * bx + py * by) / (bx * bx + by * by), 0.0, 1.0);
  const double dx = px - t * bx, dy = py - t * by;
  return std::sqrt(dx * dx + dy * dy);
}

/// A stroke along y = centre.y + f(x - centre.x) for |x - centre.x| <= half_width, f given with
/// its slope; distance by the first-order estimate |y - f| / sqrt(1 + f'^2), capped at the ends.
template <typename Curve>
double curve_distance(Vec2 p, Vec2 centre, double half_width, const Curve& curve) {
  const double x = std::clamp(p.x - centre.x, -half_width, half_width);
  double value, slope;
  curve(x, value, slope);
  const double dy = p.y - centre.y - value;
  const double dx = p.x - centre.x - x;
  if (dx != 0) return std::sqrt(dx * dx + dy * dy);
  return std::abs(dy) / std::sqrt(1 + slope * slope);
}

/// What one face looks like, drawn once from the Rng, then rendered pixel by pixel.
struct FaceSpec {
  // Placement in the image (pixels) and shape of the head (face units: half-width = 1).
  double centre_x, centre_y, scale, cos_tilt, sin_tilt, head_ry;
  double background, background_slope_x, background_slope_y;
  double skin, feature, sclera;
  // Eyes
  double eye_x, eye_y, eye_rx, eye_ry;
  bool wide_eyes;
  // Brows: inner and outer end heights (face units, y down), arch, thickness.
  double brow_inner_x, brow_outer_x, brow_inner_y, brow_outer_y, brow_arch, brow_thickness;
  // Mouth
  enum class Mouth { Curve, Wavy, Oval } mouth;
  double mouth_y, mouth_half_width, mouth_bend, mouth_thickness, mouth_rx, mouth_ry, wave_amplitude;
  // Nose (a nuisance: present or not, any length)
  bool nose;
  double nose_length;
  // Photometric nuisance
  double light_x, light_y, light_amount, contrast, noise;
};

inline FaceSpec draw_spec(int expression, Rng& rng) {
  FaceSpec f{};
  f.scale = rng.uniform(13.5, 17.5);  // pixels per face unit: head 27-35 px wide
  f.centre_x = kSide / 2.0 + rng.uniform(-3.5, 3.5);
  f.centre_y = kSide / 2.0 + 1.5 + rng.uniform(-3.0, 3.0);
  const double tilt = rng.uniform(-0.18, 0.18);  // about +-10 degrees
  f.cos_tilt = std::cos(tilt);
  f.sin_tilt = std::sin(tilt);
  f.head_ry = rng.uniform(1.2, 1.38);

  f.skin = rng.uniform(0.42, 0.88);
  do f.background = rng.uniform(0.05, 0.95);
  while (std::abs(f.background - f.skin) < 0.15);
  f.background_slope_x = rng.uniform(-0.006, 0.006);
  f.background_slope_y = rng.uniform(-0.006, 0.006);
  f.feature = f.skin * rng.uniform(0.05, 0.4);
  f.sclera = std::min(1.0, f.skin + rng.uniform(0.1, 0.3));

  // Per-class shape, each value jittered so no single number identifies the class.
  enum Brow { Flat, AngledIn, InnerUp, Raised, RaisedInnerUp, Lowered };
  enum Eyes { Narrow, Normal, Wide };
  enum MouthShape { Smile, Frown, FlatThin, FlatThick, Wave, OpenRound, OpenWide };
  static constexpr Brow kBrows[kNumClasses] = {AngledIn, Lowered, RaisedInnerUp, Flat, InnerUp, Raised, Flat};
  static constexpr Eyes kEyes[kNumClasses] = {Narrow, Narrow, Wide, Normal, Normal, Wide, Normal};
  static constexpr MouthShape kMouths[kNumClasses] = {FlatThick, Wave, OpenWide, Smile, Frown, OpenRound, FlatThin};

  f.eye_x = rng.uniform(0.33, 0.43);
  f.eye_y = rng.uniform(-0.3, -0.16);
  f.eye_rx = rng.uniform(0.14, 0.19);
  switch (kEyes[expression]) {
    case Narrow: f.eye_ry = rng.uniform(0.035, 0.055); break;
    case Normal: f.eye_ry = rng.uniform(0.075, 0.1); break;
    case Wide: f.eye_ry = rng.uniform(0.14, 0.18); f.eye_rx *= 1.1; break;
  }
  f.wide_eyes = kEyes[expression] == Wide;

  f.brow_inner_x = rng.uniform(0.12, 0.2);
  f.brow_outer_x = f.eye_x + rng.uniform(0.18, 0.26);
  double gap = rng.uniform(0.2, 0.26), inner = 0, arch = rng.uniform(0, 0.03);
  const double slant = rng.uniform(0.1, 0.15);
  switch (kBrows[expression]) {
    case Flat: inner = rng.uniform(-0.02, 0.02); break;
    case AngledIn: inner = slant; gap -= 0.03; break;
    case InnerUp: inner = -slant; break;
    case Raised: gap += rng.uniform(0.12, 0.17); arch = rng.uniform(0.06, 0.1); inner = rng.uniform(-0.02, 0.02); break;
    case RaisedInnerUp: gap += rng.uniform(0.08, 0.12); inner = -slant; break;
    case Lowered: gap -= rng.uniform(0.06, 0.09); inner = rng.uniform(0.0, 0.04); break;
  }
  const double brow_y = f.eye_y - gap;
  f.brow_inner_y = brow_y + inner / 2;
  f.brow_outer_y = brow_y - inner / 2;
  f.brow_arch = arch;
  f.brow_thickness = rng.uniform(0.045, 0.075);

  f.mouth_y = rng.uniform(0.5, 0.66);
  f.mouth_half_width = rng.uniform(0.3, 0.42);
  f.mouth_thickness = rng.uniform(0.035, 0.05);
  f.mouth = FaceSpec::Mouth::Curve;
  switch (kMouths[expression]) {
    case Smile: f.mouth_bend = rng.uniform(0.12, 0.2); break;
    case Frown: f.mouth_bend = -rng.uniform(0.1, 0.17); f.mouth_y += 0.04; break;
    case FlatThin: f.mouth_bend = rng.uniform(-0.02, 0.02); break;
    case FlatThick:
      f.mouth_bend = rng.uniform(-0.04, 0.01);
      f.mouth_thickness = rng.uniform(0.06, 0.08);
      f.mouth_half_width *= 0.85;
      break;
    case Wave:
      f.mouth = FaceSpec::Mouth::Wavy;
      f.wave_amplitude = rng.uniform(0.045, 0.07);
      break;
    case OpenRound:
      f.mouth = FaceSpec::Mouth::Oval;
      f.mouth_rx = rng.uniform(0.12, 0.17);
      f.mouth_ry = rng.uniform(0.17, 0.23);
      f.mouth_y += 0.04;
      break;
    case OpenWide:
      f.mouth = FaceSpec::Mouth::Oval;
      f.mouth_rx = rng.uniform(0.28, 0.36);
      f.mouth_ry = rng.uniform(0.09, 0.13);
      break;
  }

  f.nose = rng.uniform() < 0.6;
  f.nose_length = rng.uniform(0.12, 0.25);
  const double light_angle = rng.uniform(0, 6.283185307179586);
  f.light_x = std::cos(light_angle);
  f.light_y = std::sin(light_angle);
  f.light_amount = rng.uniform(0, 0.25);
  f.contrast = rng.uniform(0.7, 1.15);
  f.noise = rng.uniform(0.01, 0.045);
  return f;
}

}  // namespace detail

/// Renders one 48x48 face of `expression` (0-6) into `out` (48*48 grey levels, row-major),
/// drawing every random choice from `rng`.
inline void render(int expression, Rng& rng, std::uint8_t* out) {
  using detail::Vec2;
  if (expression < 0 || expression >= kNumClasses) fail("synthetic_faces::render: expression ", expression, " outside 0-6");
  const detail::FaceSpec f = detail::draw_spec(expression, rng);
  const double pixel = 1.0 / f.scale;  // one pixel in face units
  auto cover = [pixel](double distance) { return detail::clamp01(0.5 - distance / pixel); };
  auto stroke = [&](double distance, double half_thickness) { return cover(distance - half_thickness); };

  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      const double dx = x + 0.5 - f.centre_x, dy = y + 0.5 - f.centre_y;
      Vec2 p{(dx * f.cos_tilt + dy * f.sin_tilt) * pixel, (-dx * f.sin_tilt + dy * f.cos_tilt) * pixel};
      double value = f.background + f.background_slope_x * (x - 24) + f.background_slope_y * (y - 24);
      const double head = cover(detail::ellipse_distance(p, {0, 0}, 1.0, f.head_ry));
      if (head > 0) {
        double face = f.skin;
        auto paint = [&face](double coverage, double level) { face += coverage * (level - face); };
        // Mirror: both eyes and brows are drawn as the right-hand one.
        const Vec2 m{std::abs(p.x), p.y};
        const Vec2 eye{f.eye_x, f.eye_y};
        if (f.wide_eyes) {
          const double d = detail::ellipse_distance(m, eye, f.eye_rx, f.eye_ry);
          paint(cover(d), f.sclera);
          paint(stroke(std::abs(d), 0.022), f.feature);
          paint(cover(detail::ellipse_distance(m, eye, 0.06, 0.06)), f.feature);
        } else {
          paint(cover(detail::ellipse_distance(m, eye, f.eye_rx, f.eye_ry)), f.feature);
        }
        const double brow_span = f.brow_outer_x - f.brow_inner_x;
        const double brow_mid_x = (f.brow_inner_x + f.brow_outer_x) / 2;
        const double brow_slope = (f.brow_outer_y - f.brow_inner_y) / brow_span;
        const double arch = f.brow_arch, half_span = brow_span / 2;
        paint(stroke(detail::curve_distance(m, {brow_mid_x, (f.brow_inner_y + f.brow_outer_y) / 2}, half_span,
                                            [&](double u, double& v, double& s) {
                                              const double t = u / half_span;
                                              v = brow_slope * u - arch * (1 - t * t);
                                              s = brow_slope + 2 * arch * t / half_span;
                                            }),
                     f.brow_thickness / 2),
              f.feature);
        if (f.nose)
          paint(stroke(detail::segment_distance(p, {0, 0.05}, {0.03, 0.05 + f.nose_length}), 0.02),
                (f.feature + 2 * f.skin) / 3);
        const Vec2 mouth{0, f.mouth_y};
        const double w = f.mouth_half_width;
        switch (f.mouth) {
          case detail::FaceSpec::Mouth::Curve: {
            const double bend = f.mouth_bend;
            paint(stroke(detail::curve_distance(p, mouth, w,
                                                [&](double u, double& v, double& s) {
                                                  v = bend * (1 - u * u / (w * w));
                                                  s = -2 * bend * u / (w * w);
                                                }),
                         f.mouth_thickness),
                  f.feature);
            break;
          }
          case detail::FaceSpec::Mouth::Wavy: {
            const double a = f.wave_amplitude, k = 6.283185307179586 / w;
            paint(stroke(detail::curve_distance(p, mouth, w,
                                                [&](double u, double& v, double& s) {
                                                  v = a * std::sin(k * u);
                                                  s = a * k * std::cos(k * u);
                                                }),
                         f.mouth_thickness),
                  f.feature);
            break;
          }
          case detail::FaceSpec::Mouth::Oval:
            paint(cover(detail::ellipse_distance(p, mouth, f.mouth_rx, f.mouth_ry)), f.feature);
            break;
        }
        value += head * (face - value);
      }
      value *= 1 + f.light_amount * (f.light_x * (x - 24) + f.light_y * (y - 24)) / 24;
      value = 0.5 + f.contrast * (value - 0.5) + f.noise * rng.normal();
      out[y * kSide + x] = static_cast<std::uint8_t>(std::lround(detail::clamp01(value) * 255));
    }
  }
}

/// Label of sample `index` in every synthetic set: classes cycle 0, 1, ..., 6, 0, ...
inline int label_of(std::size_t index) { return static_cast<int>(index % kNumClasses); }

/// Sample `index` of the set with `seed`, as grey levels (48*48, row-major).
inline void render_sample(std::uint64_t seed, std::size_t index, std::uint8_t* out) {
  Rng rng(Rng::derive(seed, index));
  render(label_of(index), rng, out);
}

/// Samples [first, first + count) of the set with `seed`: images (count, 1, 48, 48) in [0, 1]
/// (converted exactly as the FER2013 loader converts), labels 0-6.
inline fer2013::Split generate(std::size_t count, std::uint64_t seed, std::size_t first = 0) {
  fer2013::Split split;
  split.images.resize(static_cast<int>(count), Shape{1, kSide, kSide});
  split.labels.resize(count);
  std::uint8_t grey[kSide * kSide];
  for (std::size_t i = 0; i < count; ++i) {
    render_sample(seed, first + i, grey);
    split.labels[i] = label_of(first + i);
    float* image = split.images.sample(static_cast<int>(i));
    for (int k = 0; k < kSide * kSide; ++k) image[k] = fer2013::grey_to_unit(grey[k]);
  }
  return split;
}

/// Which FER2013 Usage sample `index` of a `count`-sample file gets: the first
/// (1 - public_fraction - private_fraction) share Training, then PublicTest, then PrivateTest.
inline fer2013::Usage usage_of(std::size_t index, std::size_t count, double public_fraction, double private_fraction) {
  const auto n_private = static_cast<std::size_t>(std::llround(count * private_fraction));
  const auto n_public = static_cast<std::size_t>(std::llround(count * public_fraction));
  const std::size_t n_training = count - std::min(count, n_public + n_private);
  if (index < n_training) return fer2013::Usage::Training;
  if (index < n_training + n_public) return fer2013::Usage::PublicTest;
  return fer2013::Usage::PrivateTest;
}

/// Writes `count` synthetic faces as a FER2013 CSV (gzip when the path ends in ".gz"), atomically.
/// Reading it back with fer2013::load gives generate(count, seed)'s images, split by Usage.
inline void write_csv(const std::string& path, std::size_t count, std::uint64_t seed, double public_fraction = 0.1,
                      double private_fraction = 0.1) {
  if (public_fraction < 0 || private_fraction < 0 || public_fraction + private_fraction > 1)
    fail("synthetic_faces::write_csv: split fractions ", public_fraction, " and ", private_fraction,
         " must be >= 0 and add up to at most 1");
  fer2013::CsvWriter writer(path);
  std::uint8_t grey[kSide * kSide];
  for (std::size_t i = 0; i < count; ++i) {
    render_sample(seed, i, grey);
    writer.write(label_of(i), grey, usage_of(i, count, public_fraction, private_fraction));
  }
  writer.commit();
}

}  // namespace minidnn::synthetic_faces
