#include "minidnn/datasets/fer2013.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "support/files.hpp"
#include "support/paths.hpp"

namespace fer = minidnn::fer2013;
using namespace minidnn::test;

namespace {

// Grey level of pixel i in fixture row r: a formula the test knows independently of the loader.
int fixture_grey(int r, int i) { return (r * 31 + i * 7) % 256; }

std::string fixture_pixels(int r) {
  std::string s;
  for (int i = 0; i < 2304; ++i) s += (i ? " " : "") + std::to_string(fixture_grey(r, i));
  return s;
}

const char* kUsages[] = {"Training", "PublicTest", "PrivateTest"};

// Row r: emotion r % 7, usage cycling Training, Training, PublicTest, PrivateTest.
int fixture_emotion(int r) { return r % 7; }
int fixture_usage(int r) { return r % 4 == 0 || r % 4 == 1 ? 0 : r % 4 == 2 ? 1 : 2; }
std::string fixture_row(int r) {
  return std::to_string(fixture_emotion(r)) + "," + fixture_pixels(r) + "," + kUsages[fixture_usage(r)];
}

std::string fixture_csv(int rows, const std::string& eol = "\n") {
  std::string text = "emotion,pixels,Usage" + eol;
  for (int r = 0; r < rows; ++r) text += fixture_row(r) + eol;
  return text;
}

// Checks that `split` holds exactly the fixture rows with the given usage, in file order.
void check_split(const fer::Split& split, int usage, int rows, std::size_t max_rows = 1u << 30) {
  std::vector<int> expected_rows;
  for (int r = 0; r < rows; ++r)
    if (fixture_usage(r) == usage && expected_rows.size() < max_rows) expected_rows.push_back(r);
  REQUIRE(split.size() == static_cast<int>(expected_rows.size()));
  REQUIRE(split.images.batch() == split.size());
  REQUIRE(split.images.shape() == minidnn::Shape{1, 48, 48});
  for (std::size_t k = 0; k < expected_rows.size(); ++k) {
    const int r = expected_rows[k];
    CHECK(split.labels[k] == fixture_emotion(r));
    const float* image = split.images.sample(static_cast<int>(k));
    int mismatches = 0;
    for (int i = 0; i < 2304; ++i) mismatches += image[i] != static_cast<float>(fixture_grey(r, i)) / 255.0f;
    CHECK(mismatches == 0);
  }
}

std::string error_of(const std::string& path) {
  try {
    fer::load(path);
  } catch (const minidnn::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("fer2013::load reads every split of a small CSV, plain and gzip identically") {
  const auto dir = scratch_dir("fer2013_small");
  const std::string text = fixture_csv(23);
  write_file(dir / "small.csv", text);
  write_file(dir / "small.csv.gz", gzip_bytes(text));
  for (const char* name : {"small.csv", "small.csv.gz"}) {
    const fer::Dataset data = fer::load((dir / name).string());
    check_split(data.training, 0, 23);
    check_split(data.public_test, 1, 23);
    check_split(data.private_test, 2, 23);
    CHECK(data.rows_read == 23);
    std::array<std::array<std::size_t, 7>, 3> counts{};
    for (int r = 0; r < 23; ++r) ++counts[fixture_usage(r)][fixture_emotion(r)];
    CHECK(data.class_counts == counts);
  }
}

TEST_CASE("fer2013::load accepts CRLF, quoted fields, a BOM, extra spaces and trailing blank lines") {
  const auto dir = scratch_dir("fer2013_tolerant");
  std::string text = "\xEF\xBB\xBF\"emotion\",\"pixels\",\"Usage\"\r\n";
  for (int r = 0; r < 9; ++r) {
    std::string pixels = fixture_pixels(r);
    if (r == 4) pixels = "  " + pixels + " ";
    text += "\"" + std::to_string(fixture_emotion(r)) + "\",\"" + pixels + "\"," + kUsages[fixture_usage(r)] + "\r\n";
  }
  text += "\r\n\n";
  write_file(dir / "tolerant.csv", text);
  const fer::Dataset data = fer::load((dir / "tolerant.csv").string());
  check_split(data.training, 0, 9);
  check_split(data.public_test, 1, 9);
  check_split(data.private_test, 2, 9);
}

TEST_CASE("fer2013::load keeps only the chosen splits and at most max_rows_per_split rows") {
  const auto dir = scratch_dir("fer2013_options");
  write_file(dir / "f.csv", fixture_csv(40));
  fer::LoadOptions options;
  options.public_test = false;
  options.max_rows_per_split = 5;
  const fer::Dataset data = fer::load((dir / "f.csv").string(), options);
  check_split(data.training, 0, 40, 5);
  check_split(data.private_test, 2, 40, 5);
  CHECK(data.public_test.size() == 0);
  // Rows 0..19 hold the 5th PrivateTest row (row 19); reading stops right there.
  CHECK(data.rows_read == 20);

  fer::LoadOptions count_only;
  count_only.training = count_only.public_test = count_only.private_test = false;
  const fer::Dataset counted = fer::load((dir / "f.csv").string(), count_only);
  CHECK(counted.rows_read == 40);
  CHECK(counted.rows_in(fer::Usage::Training) == 20);
  CHECK(counted.training.size() == 0);
}

TEST_CASE("fer2013::load names the file, the line and the problem for malformed input") {
  const auto dir = scratch_dir("fer2013_malformed");
  const std::string good1 = fixture_row(0), good2 = fixture_row(1);
  std::string pixels_2303 = fixture_pixels(2).substr(0, fixture_pixels(2).rfind(' '));
  std::string pixels_bad_token = fixture_pixels(2), pixels_256 = fixture_pixels(2);
  // Replace the 3rd grey level ("62" for row 2: (62 + 14) % 256 = 76... computed generically).
  auto replace_token = [](std::string pixels, int index, const std::string& value) {
    std::size_t start = 0;
    for (int i = 0; i < index; ++i) start = pixels.find(' ', start) + 1;
    const std::size_t end = pixels.find(' ', start);
    return pixels.replace(start, end - start, value);
  };
  struct Case {
    const char* name;
    std::string text;
    std::vector<std::string> message_parts;
  };
  const std::string header = "emotion,pixels,Usage\n";
  const std::vector<Case> cases = {
      {"empty.csv", "", {"empty.csv", "empty file"}},
      {"blank.csv", "\n\n", {"blank.csv", "empty file"}},
      {"no_header.csv", good1 + "\n", {"no_header.csv:1:", "expected the header"}},
      {"wrong_header.csv", "emotion,pixel,Usage\n" + good1 + "\n", {"wrong_header.csv:1:", "'emotion,pixel,Usage'"}},
      {"short_pixels.csv", header + good1 + "\n3," + pixels_2303 + ",Training\n",
       {"short_pixels.csv:3:", "2303 grey levels", "expected 2304"}},
      {"long_pixels.csv", header + "3," + fixture_pixels(2) + " 9,Training\n", {"long_pixels.csv:2:", "2305 grey levels"}},
      {"bad_token.csv", header + good1 + "\n" + good2 + "\n3," + replace_token(fixture_pixels(2), 2, "1x2") + ",Training\n",
       {"bad_token.csv:4:", "grey level 3 ", "'1x2'", "not an integer"}},
      {"negative.csv", header + "3," + replace_token(fixture_pixels(2), 99, "-4") + ",Training\n",
       {"negative.csv:2:", "grey level 100 ", "'-4'"}},
      {"big.csv", header + "3," + replace_token(fixture_pixels(2), 2303, "256") + ",Training\n",
       {"big.csv:2:", "grey level 2304 ", "256", "outside 0-255"}},
      {"emotion7.csv", header + good1 + "\n7," + fixture_pixels(2) + ",Training\n", {"emotion7.csv:3:", "emotion 7", "outside 0-6"}},
      {"emotion_text.csv", header + "happy," + fixture_pixels(2) + ",Training\n",
       {"emotion_text.csv:2:", "emotion 'happy'", "not an integer"}},
      {"no_emotion.csv", header + "," + fixture_pixels(2) + ",Training\n", {"no_emotion.csv:2:", "missing emotion"}},
      {"usage.csv", header + good1 + "\n3," + fixture_pixels(2) + ",Validation\n",
       {"usage.csv:3:", "unknown Usage 'Validation'"}},
      {"no_usage.csv", header + "3," + fixture_pixels(2) + ",\n", {"no_usage.csv:2:", "missing Usage"}},
      {"two_fields.csv", header + "3," + fixture_pixels(2) + "\n", {"two_fields.csv:2:", "expected 3", "found 2"}},
      {"four_fields.csv", header + "3," + fixture_pixels(2) + ",Training,x\n", {"four_fields.csv:2:", "found 4"}},
      {"no_pixels.csv", header + "3,,Training\n", {"no_pixels.csv:2:", "missing pixels"}},
      {"blank_middle.csv", header + good1 + "\n\n" + good2 + "\n", {"blank_middle.csv:3:", "empty line"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const auto path = dir / c.name;
    write_file(path, c.text);
    const std::string message = error_of(path.string());
    for (const std::string& part : c.message_parts) CHECK_THAT(message, Catch::Contains(part));
  }
}

TEST_CASE("fer2013::load rejects a truncated gzip file and returns nothing") {
  const auto dir = scratch_dir("fer2013_truncated");
  const std::string packed = gzip_bytes(fixture_csv(30));
  write_file(dir / "cut.csv.gz", packed.substr(0, packed.size() - 20));
  CHECK_THROWS_WITH(fer::load((dir / "cut.csv.gz").string()),
                    Catch::Contains("cut.csv.gz") && Catch::Contains("truncated gzip"));
  CHECK_THROWS_WITH(fer::load((dir / "absent.csv").string()), Catch::Contains("absent.csv"));
}

TEST_CASE("fer2013::CsvWriter writes the published layout, plain and gzip, read back identically") {
  const auto dir = scratch_dir("fer2013_writer");
  for (const char* name : {"out.csv", "out.csv.gz"}) {
    const std::string path = (dir / name).string();
    {
      fer::CsvWriter writer(path);
      fer::Row row;
      for (int r = 0; r < 11; ++r) {
        row.emotion = fixture_emotion(r);
        row.usage = static_cast<fer::Usage>(fixture_usage(r));
        for (int i = 0; i < 2304; ++i) row.pixels[i] = static_cast<std::uint8_t>(fixture_grey(r, i));
        writer.write(row);
      }
      CHECK_FALSE(std::filesystem::exists(path));  // nothing visible before commit
      writer.commit();
    }
    CHECK(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    const fer::Dataset data = fer::load(path);
    check_split(data.training, 0, 11);
    check_split(data.public_test, 1, 11);
    check_split(data.private_test, 2, 11);
  }
  CHECK(read_file(dir / "out.csv") == fixture_csv(11));  // byte for byte the original layout
  {
    fer::CsvWriter abandoned((dir / "abandoned.csv").string());
  }
  CHECK_FALSE(std::filesystem::exists(dir / "abandoned.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "abandoned.csv.tmp"));
}

TEST_CASE("fer2013::load reads the shared FER2013 file with its published counts") {
  const auto path = shared_dir() / "data" / "fer2013" / "fer2013.csv.gz";
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " not found");
    return;
  }
  const fer::Dataset data = fer::load(path.string());
  CHECK(data.rows_read == 32298);
  CHECK(data.training.size() == 28709);
  CHECK(data.public_test.size() == 3589);
  CHECK(data.private_test.size() == 0);
  // From the data set's README (Goodfellow et al. 2013 counts).
  const std::array<std::size_t, 7> training = {3995, 436, 4097, 7215, 4830, 3171, 4965};
  const std::array<std::size_t, 7> public_test = {467, 56, 496, 895, 653, 415, 607};
  CHECK(data.class_counts[0] == training);
  CHECK(data.class_counts[1] == public_test);
  std::array<std::size_t, 7> from_labels{};
  for (int label : data.training.labels) ++from_labels[label];
  CHECK(from_labels == training);
  // First and last rows, read off the file with zcat | head / tail.
  CHECK(data.training.labels[0] == 3);
  CHECK(data.training.images[0] == 236.0f / 255.0f);
  CHECK(data.training.images[1] == 228.0f / 255.0f);
  CHECK(data.training.images[2303] == 25.0f / 255.0f);
  CHECK(data.training.labels[1] == 4);
  CHECK(data.training.images.sample(1)[0] == 223.0f / 255.0f);
  CHECK(data.public_test.labels[0] == 3);
  CHECK(data.public_test.labels.back() == 6);
  CHECK(data.public_test.images.sample(3588)[0] == 98.0f / 255.0f);
  CHECK(data.public_test.images.sample(3588)[2303] == 176.0f / 255.0f);

  fer::LoadOptions first_8000;
  first_8000.public_test = first_8000.private_test = false;
  first_8000.max_rows_per_split = 8000;
  const fer::Dataset part = fer::load(path.string(), first_8000);
  REQUIRE(part.training.size() == 8000);
  CHECK(std::equal(part.training.labels.begin(), part.training.labels.end(), data.training.labels.begin()));
  CHECK(std::equal(part.training.images.begin(), part.training.images.end(), data.training.images.begin()));
}

// A NUL byte in a field used to end the error message there (what() is a C string).
TEST_CASE("fer2013::load shows control bytes in a field as \\xNN, so the message is whole") {
  const auto dir = scratch_dir("fer2013_nul");
  write_file(dir / "nul.csv", std::string("emo\0tion,pixels,Usage\n", 22));
  CHECK_THROWS_WITH(minidnn::fer2013::load((dir / "nul.csv").string()),
                    Catch::Contains("nul.csv:1") && Catch::Contains("found 'emo\\x00tion,pixels,Usage'"));
}
