#pragma once
/// \file
/// Size2: a (height, width) pair for kernel, pool and stride sizes; an int means a square.
#include <string>

namespace minidnn {

struct Size2 {
  int h, w;
  Size2(int square) : h(square), w(square) {}  // NOLINT: implicit on purpose, as Keras's 5 == (5, 5)
  Size2(int height, int width) : h(height), w(width) {}
  std::string to_string() const { return std::to_string(h) + "x" + std::to_string(w); }

  /// The largest kernel, pool or stride side a layer accepts: keeps shape arithmetic far from
  /// int overflow whatever a (possibly corrupt) model file says.
  static constexpr int kMaxSide = 1 << 16;
  /// Both sides in [1, kMaxSide].
  bool valid() const { return h >= 1 && w >= 1 && h <= kMaxSide && w <= kMaxSide; }

  friend bool operator==(Size2 a, Size2 b) { return a.h == b.h && a.w == b.w; }
  friend bool operator!=(Size2 a, Size2 b) { return !(a == b); }
};

/// Keras's padding modes: `valid` uses only full windows; `same` pads so that
/// output = ceil(input / stride).
enum class Padding { valid, same };

inline std::string to_string(Padding p) { return p == Padding::same ? "same" : "valid"; }

}  // namespace minidnn
