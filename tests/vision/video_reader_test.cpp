// VideoReader and VideoWriter: a round trip of synthetic frames (count, timestamps, pixels), the
// same frames from memory as from the file, and the MPEG-4 part 2 fallback where a container
// does not take H.264.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>

#include "minidnn/vision/video_reader.hpp"
#include "minidnn/vision/video_writer.hpp"
#include "support/paths.hpp"

namespace vision = minidnn::vision;

namespace {

vision::Image pattern(int width, int height, int t) {
  vision::Image image(width, height, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      image.at(x, y, 0) = static_cast<std::uint8_t>(std::lround(127 + 100 * std::sin((x + 3 * t) / 9.0)));
      image.at(x, y, 1) = static_cast<std::uint8_t>(std::lround(127 + 100 * std::cos((y - 2 * t) / 7.0)));
      image.at(x, y, 2) = static_cast<std::uint8_t>((x + y + 10 * t) / 2 % 256);
    }
  return image;
}

// Mean absolute difference per channel value.
double difference(const vision::Image& a, const vision::Image& b) {
  REQUIRE(a.pixels.size() == b.pixels.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return sum / double(a.pixels.size());
}

// Writes 12 frames of 66x50 (odd multiples, to catch row-end handling) at irregular times.
const std::int64_t kTimes[] = {0, 1, 2, 3, 5, 8, 9, 10, 14, 15, 16, 20};
void write_clip(const std::string& path, std::string* encoder = nullptr) {
  vision::VideoWriterOptions options;
  options.time_base = {1, 25};
  options.frame_rate = {25, 1};
  vision::VideoWriter writer(path, 66, 50, options);
  for (int i = 0; i < 12; ++i) writer.write(pattern(66, 50, i), kTimes[i], i < 11 ? kTimes[i + 1] - kTimes[i] : 1);
  if (encoder) *encoder = writer.encoder();
  writer.finish();
}

}  // namespace

TEST_CASE("VideoWriter then VideoReader: frames, timestamps and pixels survive", "[vision][video]") {
  const auto dir = minidnn::test::scratch_dir("video_round_trip");
  const std::string path = (dir / "clip.mkv").string();
  std::string encoder;
  write_clip(path, &encoder);
  CHECK(encoder == "libx264");
  vision::VideoReader reader(path);
  CHECK(reader.info().width == 66);
  CHECK(reader.info().height == 50);
  CHECK(reader.info().codec == "h264");
  vision::VideoFrame frame;
  int n = 0;
  while (reader.read(frame)) {
    REQUIRE(n < 12);
    CHECK(frame.index == n);
    CHECK(frame.time == Approx(kTimes[n] / 25.0).margin(1e-3));
    CHECK(difference(frame.rgb, pattern(66, 50, n)) < 6);  // lossy, yet close
    ++n;
  }
  CHECK(n == 12);
  CHECK(reader.error().empty());
}

TEST_CASE("VideoReader: the same frames from memory as from the file", "[vision][video]") {
  const auto dir = minidnn::test::scratch_dir("video_memory");
  const std::string path = (dir / "clip.mp4").string();
  write_clip(path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  vision::VideoReader from_file(path), from_memory(bytes.data(), bytes.size(), "clip in memory");
  vision::VideoFrame a, b;
  int n = 0;
  while (from_file.read(a)) {
    REQUIRE(from_memory.read(b));
    CHECK(a.pts == b.pts);
    CHECK(a.rgb.pixels == b.rgb.pixels);
    ++n;
  }
  CHECK_FALSE(from_memory.read(b));
  CHECK(n == 12);
  // Cut short: what was read stays read, and the end is clean or an error naming the input.
  try {
    vision::VideoReader cut(bytes.data(), bytes.size() / 3, "a third of the clip");
    while (cut.read(b)) CHECK(b.index < 12);
    if (!cut.error().empty()) CHECK_THAT(cut.error(), Catch::Contains("a third of the clip"));
  } catch (const minidnn::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("a third of the clip"));
  }
  CHECK_THROWS_WITH(vision::VideoReader(bytes.data(), 10, "ten bytes"), Catch::Contains("ten bytes: not a video"));
}

TEST_CASE("VideoWriter: MPEG-4 part 2 where the container does not take H.264", "[vision][video]") {
  const auto dir = minidnn::test::scratch_dir("video_mpeg4");
  const std::string path = (dir / "clip.mpg").string();
  std::string encoder;
  write_clip(path, &encoder);
  CHECK(encoder == "mpeg4");
  vision::VideoReader reader(path);
  CHECK(reader.info().codec == "mpeg4");
  vision::VideoFrame frame;
  int n = 0;
  while (reader.read(frame)) CHECK(difference(frame.rgb, pattern(66, 50, n++)) < 8);
  CHECK(n == 12);
  // Nothing is left under a temporary name.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file();
  CHECK(files == 1);
}
