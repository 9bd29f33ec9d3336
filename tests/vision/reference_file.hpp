#pragma once
// Reads the blocks of tests/vision/fixtures/*_reference.txt written by make_reference.py.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/vision/image.hpp"

namespace minidnn::test {

inline std::string vision_fixture(const std::string& name) { return std::string(MINIDNN_VISION_FIXTURES) + "/" + name; }

/// "name width height" followed by width * height grey values, for each image block.
inline std::map<std::string, vision::GreyImage> read_image_reference(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": missing; run tests/vision/fixtures/make_reference.py");
  std::map<std::string, vision::GreyImage> out;
  std::string name;
  int w = 0, h = 0;
  while (in >> name >> w >> h) {
    vision::GreyImage img(w, h);
    for (auto& v : img.pixels) {
      int value = -1;
      if (!(in >> value) || value < 0 || value > 255) fail(path, ": bad value in block ", name);
      v = static_cast<std::uint8_t>(value);
    }
    out.emplace(name, std::move(img));
  }
  return out;
}

}  // namespace minidnn::test
