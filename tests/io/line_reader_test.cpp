#include "minidnn/io/line_reader.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/files.hpp"
#include "support/paths.hpp"

using minidnn::LineReader;
using namespace minidnn::test;

namespace {

std::vector<std::string> all_lines(const std::string& path, std::size_t buffer_bytes) {
  LineReader reader(path, buffer_bytes);
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) {
    lines.emplace_back(line);
    REQUIRE(reader.line_number() == lines.size());
  }
  return lines;
}

}  // namespace

TEST_CASE("LineReader splits LF and CRLF lines, plain and gzip alike, in any buffer size") {
  const auto dir = scratch_dir("line_reader");
  // Lines longer than the small buffers below, so the buffer must grow and carry partial lines.
  std::vector<std::string> expected;
  std::string text;
  for (int i = 0; i < 200; ++i) {
    std::string line = "line " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i * 37 % 300), 'x');
    if (i % 10 == 3) line.clear();  // empty lines stay lines
    expected.push_back(line);
    text += line + (i % 2 ? "\r\n" : "\n");
  }
  write_file(dir / "a.csv", text);
  write_file(dir / "a.csv.gz", gzip_bytes(text));
  for (std::size_t buffer : {16u, 100u, 1u << 18}) {
    CHECK(all_lines((dir / "a.csv").string(), buffer) == expected);
    CHECK(all_lines((dir / "a.csv.gz").string(), buffer) == expected);
  }
}

TEST_CASE("LineReader: last line without newline, empty file, lone CR kept inside a line") {
  const auto dir = scratch_dir("line_reader_edges");
  write_file(dir / "no_newline", "a\nb");
  CHECK(all_lines((dir / "no_newline").string(), 16) == std::vector<std::string>{"a", "b"});
  write_file(dir / "crlf_end", "a\r\nb\r\n");
  CHECK(all_lines((dir / "crlf_end").string(), 16) == std::vector<std::string>{"a", "b"});
  write_file(dir / "empty", "");
  CHECK(all_lines((dir / "empty").string(), 16).empty());
  write_file(dir / "cr_inside", "a\rb\n");
  CHECK(all_lines((dir / "cr_inside").string(), 16) == std::vector<std::string>{"a\rb"});
}

TEST_CASE("LineReader reports a truncated gzip file instead of ending quietly") {
  const auto dir = scratch_dir("line_reader_truncated");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += std::to_string(i * 7919 % 10007) + ",some text\n";
  const std::string packed = gzip_bytes(text);
  write_file(dir / "cut.csv.gz", packed.substr(0, packed.size() * 2 / 3));
  CHECK_THROWS_WITH(all_lines((dir / "cut.csv.gz").string(), 1 << 12),
                    Catch::Contains("cut.csv.gz") && Catch::Contains("truncated"));
}
