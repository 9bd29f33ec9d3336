#include "minidnn/io/line_reader.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/files.hpp"
#include "support/memory_limit.hpp"
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

TEST_CASE("LineReader refuses a line past its cap at once, naming the file and line, in bounded memory") {
  const auto dir = scratch_dir("line_reader_long");
  SECTION("a small cap, for the message") {
    write_file(dir / "long.txt", "short\n" + std::string(5000, 'x') + "\nnext\n");
    LineReader reader((dir / "long.txt").string(), 64, 1000);
    std::string_view line;
    REQUIRE(reader.next(line));
    CHECK(line == "short");
    CHECK_THROWS_WITH(reader.next(line), Catch::Contains("long.txt:2:") && Catch::Contains("longer than 1000 bytes"));
  }
  SECTION("a line of exactly the cap is still a line") {
    write_file(dir / "edge.txt", std::string(1000, 'y') + "\r\nz");
    LineReader reader((dir / "edge.txt").string(), 16, 1000);
    std::string_view line;
    REQUIRE(reader.next(line));
    CHECK(line.size() == 1000);
    REQUIRE(reader.next(line));
    CHECK(line == "z");
  }
  // Without the cap each of these grew the buffer to the line's size (and twice that while
  // growing): gigabytes, or /dev/zero until the machine ran out.
  const auto gz = dir / "bomb.csv.gz";
  write_gzip_bomb(gz, "emotion,pixels,Usage\n3,", '1', std::size_t(200) << 20);
  const auto sparse = dir / "sparse.csv";
  write_sparse_file(sparse, std::uintmax_t(2) << 30);
  for (const std::string& path : {gz.string(), sparse.string(), std::string("/dev/zero")}) {
    INFO(path);
    const auto run = run_with_memory_limit(std::size_t(256) << 20, [&] {
      LineReader reader(path);
      std::string_view line;
      while (reader.next(line)) {
      }
    });
    CHECK(run.outcome == LimitedRun::error);
    CHECK_THAT(run.message, Catch::Contains(path) && Catch::Contains("longer than 1048576 bytes"));
  }
  std::filesystem::remove_all(dir);
}
