#include "minidnn/vision/image.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <stb_image_write.h>

#include "reference_file.hpp"
#include "support/files.hpp"
#include "support/paths.hpp"

using namespace minidnn;
using namespace minidnn::vision;

namespace {
int max_abs_difference(const GreyImage& a, const GreyImage& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  int worst = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return worst;
}
}  // namespace

TEST_CASE("load_image reads PNG with its channels", "[vision][image]") {
  Image img = load_image(test::vision_fixture("pattern.png"));
  CHECK(img.width == 37);
  CHECK(img.height == 23);
  CHECK(img.channels == 3);
  CHECK(img.pixels.size() == 37u * 23u * 3u);
}

TEST_CASE("load_image rejects missing and non-image files naming the path", "[vision][image]") {
  CHECK_THROWS_WITH(load_image("/nonexistent/photo.jpg"),
                    Catch::Matchers::Contains("/nonexistent/photo.jpg") && Catch::Matchers::Contains("cannot load image"));
  auto dir = test::scratch_dir("image_test");
  std::string bogus = (dir / "not_an_image.jpg").string();
  std::ofstream(bogus) << "this is text, not a JPEG";
  CHECK_THROWS_WITH(load_image(bogus), Catch::Matchers::Contains(bogus) && Catch::Matchers::Contains("cannot load image"));
}

TEST_CASE("to_grey matches OpenCV's cvtColor BGR2GRAY bytes", "[vision][image]") {
  auto reference = test::read_image_reference(test::vision_fixture("image_reference.txt"));
  GreyImage grey = to_grey(load_image(test::vision_fixture("pattern.png")));
  CHECK(max_abs_difference(grey, reference.at("grey")) == 0);
}

TEST_CASE("to_grey follows 0.299 R + 0.587 G + 0.114 B to within rounding", "[vision][image]") {
  // Every colour on a coarse grid, against the floating-point formula.
  Image img(16, 16 * 16, 3);
  for (int i = 0; i < 16 * 16 * 16; ++i) {
    std::uint8_t* p = img.pixels.data() + 3 * i;
    p[0] = static_cast<std::uint8_t>((i % 16) * 17);
    p[1] = static_cast<std::uint8_t>((i / 16 % 16) * 17);
    p[2] = static_cast<std::uint8_t>((i / 256) * 17);
  }
  GreyImage grey = to_grey(img);
  for (int i = 0; i < 16 * 16 * 16; ++i) {
    const std::uint8_t* p = img.pixels.data() + 3 * i;
    double exact = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    REQUIRE(std::abs(grey.pixels[i] - exact) <= 0.51);
  }
  // Grey and grey+alpha images keep their level; RGBA ignores alpha.
  Image ga(2, 1, 2);
  ga.pixels = {10, 255, 200, 0};
  CHECK(to_grey(ga).pixels == std::vector<std::uint8_t>{10, 200});
  Image rgba(1, 1, 4);
  rgba.pixels = {255, 255, 255, 0};
  CHECK(to_grey(rgba).pixels[0] == 255);
}

TEST_CASE("resize_area matches OpenCV INTER_AREA within one level", "[vision][image]") {
  auto reference = test::read_image_reference(test::vision_fixture("image_reference.txt"));
  GreyImage grey = reference.at("grey");
  for (auto [w, h] : {std::pair{11, 7}, {18, 11}, {12, 23}, {5, 3}}) {
    INFO("target " << w << "x" << h);
    const GreyImage& expected = reference.at("area_" + std::to_string(w) + "x" + std::to_string(h));
    CHECK(max_abs_difference(resize_area(grey, w, h), expected) <= 1);
  }
}

TEST_CASE("resize_area averages whole blocks exactly", "[vision][image]") {
  // Direct loop: 2x3 blocks of a float image.
  GreyImageF img(6, 6);
  for (int i = 0; i < 36; ++i) img.pixels[i] = static_cast<float>(i * i % 17);
  GreyImageF small = resize_area(img, 3, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) {
      double sum = 0;
      for (int dy = 0; dy < 3; ++dy)
        for (int dx = 0; dx < 2; ++dx) sum += img.at(2 * x + dx, 3 * y + dy);
      CHECK(small.at(x, y) == Approx(sum / 6).epsilon(1e-6));
    }
  CHECK_THROWS_AS(resize_area(img, 0, 3), Error);
}

TEST_CASE("resize_linear_exact matches OpenCV INTER_LINEAR_EXACT bytes", "[vision][image]") {
  auto reference = test::read_image_reference(test::vision_fixture("image_reference.txt"));
  GreyImage grey = reference.at("grey");
  for (auto [w, h] : {std::pair{29, 17}, {34, 21}, {13, 9}, {50, 31}, {37, 12}}) {
    INFO("target " << w << "x" << h);
    const GreyImage& expected = reference.at("linear_exact_" + std::to_string(w) + "x" + std::to_string(h));
    CHECK(max_abs_difference(resize_linear_exact(grey, w, h), expected) == 0);
  }
}

TEST_CASE("crop copies the box and rejects boxes outside the image", "[vision][image]") {
  GreyImage img(5, 4);
  for (int i = 0; i < 20; ++i) img.pixels[i] = static_cast<std::uint8_t>(i);
  GreyImage part = crop(img, Box{1, 2, 3, 2});
  CHECK(part.pixels == std::vector<std::uint8_t>{11, 12, 13, 16, 17, 18});
  CHECK_THROWS_WITH(crop(img, Box{3, 0, 3, 2}), Catch::Matchers::Contains("not inside"));
  CHECK_THROWS_AS(crop(img, Box{0, 0, 0, 2}), Error);
}

TEST_CASE("draw_rectangle draws a clipped outline of the given thickness", "[vision][image]") {
  Image img(10, 8, 3);
  draw_rectangle(img, Box{2, 1, 6, 5}, Rgb{255, 0, 0}, 2);
  auto red = [&](int x, int y) { return img.at(x, y, 0) == 255 && img.at(x, y, 1) == 0; };
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 10; ++x) {
      bool inside_box = x >= 2 && x < 8 && y >= 1 && y < 6;
      bool inside_hole = x >= 4 && x < 6 && y >= 3 && y < 4;
      INFO(x << "," << y);
      CHECK(red(x, y) == (inside_box && !inside_hole));
    }
  Image edge(4, 4, 3);
  draw_rectangle(edge, Box{-3, -3, 5, 5}, Rgb{0, 255, 0}, 1);  // partly outside: no crash
  CHECK(edge.at(1, 0, 1) == 255);
  CHECK(edge.at(0, 1, 1) == 255);
  CHECK(edge.at(0, 0, 1) == 0);
}

TEST_CASE("save_png writes a file load_image reads back", "[vision][image]") {
  auto dir = test::scratch_dir("image_test_png");
  Image img(7, 5, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 7);
  std::string path = (dir / "out.png").string();
  save_png(path, img);
  Image back = load_image(path);
  CHECK(back.width == 7);
  CHECK(back.channels == 3);
  CHECK(back.pixels == img.pixels);
  CHECK_THROWS_WITH(save_png("/nonexistent/dir/out.png", img), Catch::Matchers::Contains("/nonexistent/dir/out.png"));
}

// Hostile files found by fuzzing (fuzz/regressions/image/): each is refused with a message
// before stb_image decodes it.
TEST_CASE("load_image refuses other formats, huge claimed sizes and overflowing JPEG tables", "[vision][image]") {
  auto dir = test::scratch_dir("image_hostile");
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return (dir / name).string();
  };
  // A TGA header claiming 27745x13669 pixels in 38 bytes kept stb busy for minutes.
  const std::string tga = write("huge.tga", std::string("\0\0\x0a\0\0NSt6locale5\x18\0\x02" "D'\x0a", 22) + std::string(16, 'x'));
  CHECK_THROWS_WITH(load_image(tga), Catch::Matchers::Contains(tga) && Catch::Matchers::Contains("not a JPEG, PNG or BMP"));

  // BMP headers claiming 30000x30000 pixels, and 2000x2000 in a 54-byte file.
  auto bmp = [](std::uint32_t side) {
    auto le32 = [](std::uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
    return "BM" + std::string(12, '\0') + std::string("\x28\0\0\0", 4) + le32(side) + le32(side) +
           std::string("\x01\0\x18\0", 4) + std::string(24, '\0');
  };
  const std::string big = write("huge.bmp", bmp(30000));
  CHECK_THROWS_WITH(load_image(big), Catch::Matchers::Contains(big) && Catch::Matchers::Contains("30000x30000") &&
                                         Catch::Matchers::Contains("more than the 67108864 pixels"));
  // Top-down (negative height): 1792 x -65535, which stb reports with the sign.
  const std::string top_down = write("top_down.bmp", bmp(1792).replace(22, 4, std::string("\x01\0\xff\xff", 4)));
  CHECK_THROWS_WITH(load_image(top_down), Catch::Matchers::Contains(top_down) && Catch::Matchers::Contains("more than the 67108864"));
  // A 1-bit BMP of height 0, which stb "decodes" to no pixels at all (found by fuzzing the server's
  // upload: this is the fuzzer's input, cut to the body).
  const std::string flat = write("flat.bmp", std::string("\x42\x4d\x26\x73\x3b\xbe\xbe\xbe\xbe\x08\x00\x00\x00\x00\x38\x00\x00\x00\x6d\x75\x01\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00", 31));
  CHECK_THROWS_WITH(load_image(flat), Catch::Matchers::Contains(flat) && Catch::Matchers::Contains("95597x0, an image with no pixels"));
  const std::string cut = write("cut.bmp", bmp(2000));
  CHECK_THROWS_WITH(load_image(cut), Catch::Matchers::Contains(cut) && Catch::Matchers::Contains("2000x2000") &&
                                         Catch::Matchers::Contains("cannot fit in 54 bytes"));

  // A PNG header claiming 4294967295x4294902001: the product of the two sides overflowed.
  const std::string wide = write("wide.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\xff\xff\xff\xff\xff\xff\0\xf1\x08\x06\0\0\0", 29));
  CHECK_THROWS_WITH(load_image(wide), Catch::Matchers::Contains(wide) && Catch::Matchers::Contains("4294967295x4294902001"));

  // A PNG whose IDAT chunk declares 2 GiB: stb_image would allocate that before reading it.
  const std::string idat = write("idat.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x05\0\0\0\x04\x08\0\0\0\0"
                                                         "\xb0\0\0\0\x80\0\0\0IDATx^", 43));
  CHECK_THROWS_WITH(load_image(idat), Catch::Matchers::Contains(idat) && Catch::Matchers::Contains("chunk claims more bytes"));

  // A JPEG whose Huffman table declares 2 x 200 codes: stb_image 2.27 would write past its table.
  std::string jpeg = "\xFF\xD8\xFF\xC4";
  jpeg += std::string("\x00\x13\x00", 3) + std::string(1, char(200)) + std::string(1, char(200)) + std::string(14, '\0');
  const std::string dht = write("dht.jpg", jpeg + std::string(400, '\x01') + "\xFF\xD9");
  CHECK_THROWS_WITH(load_image(dht), Catch::Matchers::Contains(dht) && Catch::Matchers::Contains("Huffman table"));
}

namespace {
std::string encode_jpeg(int width, int height, int channels) {
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * height * channels);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>((i * 37 + i / 97) & 0xFF);
  std::string jpeg;
  auto append = [](void* out, void* data, int size) { static_cast<std::string*>(out)->append(static_cast<char*>(data), size); };
  REQUIRE(stbi_write_jpg_to_func(append, &jpeg, width, height, channels, pixels.data(), 90));
  return jpeg;
}
}  // namespace

// Found by fuzzing: a scan naming a Huffman table that no DHT defined made stb_image 2.27 decode
// with uninitialized memory (UBSan: index -33 into a 256-entry table).
TEST_CASE("load_image refuses a JPEG scan that uses an undefined Huffman table", "[vision][image]") {
  auto dir = test::scratch_dir("image_undefined_table");
  const std::string jpeg = encode_jpeg(16, 16, 3);
  const std::size_t sos = jpeg.find("\xFF\xDA");
  REQUIRE(sos != std::string::npos);
  REQUIRE(jpeg[sos + 4] == 3);  // three components, tables (0,0), (1,1), (1,1): all defined
  const std::string good = (dir / "good.jpg").string();
  test::write_file(good, jpeg);
  CHECK(load_image(good).width == 16);

  for (const char tables : {'\x22', '\x02', '\x30'}) {  // DC 2 and AC 2; AC 2; DC 3
    std::string bad_bytes = jpeg;
    bad_bytes[sos + 8] = tables;  // the second component's selectors
    const std::string bad = (dir / "undefined_table.jpg").string();
    test::write_file(bad, bad_bytes);
    CHECK_THROWS_WITH(load_image(bad), Catch::Matchers::Contains(bad) &&
                                           Catch::Matchers::Contains("a scan uses a Huffman table that no DHT segment defines"));
  }
}

// The table check follows progressive JPEGs through their scans (DC scans use DC tables only,
// refinement scans none, AC scans AC tables, defined between scans). jpegtran transcodes losslessly,
// so the progressive file must decode to the very pixels of the baseline one.
TEST_CASE("load_image reads progressive JPEGs as their baseline originals", "[vision][image]") {
  if (std::system("jpegtran -version >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: jpegtran (Debian's libjpeg-turbo-progs) is not installed; progressive JPEGs were not tried");
    return;
  }
  auto dir = test::scratch_dir("image_progressive");
  const std::string baseline = (dir / "baseline.jpg").string();
  test::write_file(baseline, encode_jpeg(61, 45, 3));
  const Image expected = load_image(baseline);
  for (const std::string options : {"-progressive", "-progressive -optimize -restart 1", "-progressive -grayscale"}) {
    const std::string progressive = (dir / "progressive.jpg").string();
    REQUIRE(std::system(("jpegtran " + options + " -outfile '" + progressive + "' '" + baseline + "'").c_str()) == 0);
    CAPTURE(options);
    REQUIRE(test::read_file(progressive).find("\xFF\xC2") != std::string::npos);  // SOF2: progressive
    const Image image = load_image(progressive);
    if (options.find("grayscale") != std::string::npos) {
      CHECK(image.channels == 1);
      CHECK(image.width == 61);
    } else {
      CHECK(image.pixels == expected.pixels);
    }
  }
}

// A 100000x100000 PNG header was "unknown image type" (stb's header reader refuses the size and
// then tries every other format) while 20000x20000 got the size message; a truncated JPEG was
// just "expected marker".
TEST_CASE("load_image names a huge PNG's size and a truncated JPEG's problem", "[vision][image]") {
  auto dir = test::scratch_dir("image_messages");
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return (dir / name).string();
  };
  auto be32 = [](std::uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  for (const std::uint32_t side : {20000u, 100000u}) {
    const std::string png = write("huge" + std::to_string(side) + ".png",
                                  std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16) + be32(side) + be32(side) +
                                      std::string("\x08\x02\0\0\0", 5) + std::string(4, '\0') + std::string(64, '\0'));
    CHECK_THROWS_WITH(load_image(png), Catch::Matchers::Contains(png) &&
                                           Catch::Matchers::Contains(std::to_string(side) + "x" + std::to_string(side)) &&
                                           Catch::Matchers::Contains("more than the 67108864 pixels"));
  }
  const std::string jpeg = encode_jpeg(64, 64, 3);
  const std::string cut = write("cut.jpg", jpeg.substr(0, jpeg.size() * 2 / 3));
  CHECK_THROWS_WITH(load_image(cut), Catch::Matchers::Contains(cut) &&
                                         Catch::Matchers::Contains("truncated or corrupt JPEG data"));
}
