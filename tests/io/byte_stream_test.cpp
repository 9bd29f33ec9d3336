#include "minidnn/io/byte_stream.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "support/files.hpp"
#include "support/paths.hpp"

using minidnn::ByteStream;
using namespace minidnn::test;

namespace {

// A few hundred kilobytes of bytes that do not repeat in a short period, so deflate has work.
std::string pseudo_random_bytes(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>((x >> 16) & 0x3f);  // compressible but not trivially
  }
  return s;
}

std::string read_all(ByteStream& stream, std::size_t piece) {
  std::string out, buffer(piece, '\0');
  for (std::size_t got; (got = stream.read(buffer.data(), piece)) > 0;) out.append(buffer.data(), got);
  return out;
}

}  // namespace

TEST_CASE("ByteStream reads plain and gzip files to the same bytes, in any piece size") {
  const auto dir = scratch_dir("byte_stream_roundtrip");
  const std::string data = pseudo_random_bytes(700000);
  write_file(dir / "plain.bin", data);
  write_file(dir / "packed.bin", gzip_bytes(data));  // no .gz suffix: detection is by content
  for (std::size_t piece : {1u, 7u, 4096u, 1000000u}) {
    ByteStream plain((dir / "plain.bin").string(), 1000);
    ByteStream packed((dir / "packed.bin").string(), 1000);
    CHECK_FALSE(plain.compressed());
    CHECK(packed.compressed());
    if (piece == 1 || piece == 7) {  // byte by byte through a short prefix only, to stay quick
      std::string a(5000, '\0'), b(5000, '\0');
      for (std::size_t i = 0; i < a.size(); i += piece) {
        REQUIRE(plain.read(&a[i], std::min(piece, a.size() - i)) == std::min(piece, a.size() - i));
        REQUIRE(packed.read(&b[i], std::min(piece, b.size() - i)) == std::min(piece, b.size() - i));
      }
      CHECK(a == data.substr(0, 5000));
      CHECK(b == data.substr(0, 5000));
    } else {
      CHECK(read_all(plain, piece) == data);
      CHECK(read_all(packed, piece) == data);
      CHECK(packed.offset() == data.size());
    }
  }
}

TEST_CASE("ByteStream reads concatenated gzip members and empty files") {
  const auto dir = scratch_dir("byte_stream_members");
  write_file(dir / "two.gz", gzip_bytes("first part\n") + gzip_bytes("second part\n"));
  ByteStream two((dir / "two.gz").string());
  CHECK(read_all(two, 100) == "first part\nsecond part\n");
  write_file(dir / "empty", "");
  ByteStream empty((dir / "empty").string());
  char c;
  CHECK(empty.read(&c, 1) == 0);
  write_file(dir / "empty.gz", gzip_bytes(""));
  ByteStream empty_gz((dir / "empty.gz").string());
  CHECK(empty_gz.read(&c, 1) == 0);
}

TEST_CASE("ByteStream rejects truncated and corrupt gzip streams, naming the file") {
  const auto dir = scratch_dir("byte_stream_bad");
  const std::string data = pseudo_random_bytes(300000);
  const std::string packed = gzip_bytes(data);
  const std::string path = (dir / "cut.gz").string();

  SECTION("cut in the middle of the deflate data") {
    write_file(path, packed.substr(0, packed.size() / 2));
    ByteStream stream(path);
    CHECK_THROWS_WITH(read_all(stream, 65536), Catch::Contains(path) && Catch::Contains("truncated gzip"));
  }
  SECTION("only the 8-byte trailer (CRC, length) missing") {
    write_file(path, packed.substr(0, packed.size() - 8));
    ByteStream stream(path);
    CHECK_THROWS_WITH(read_all(stream, 65536), Catch::Contains(path) && Catch::Contains("truncated gzip"));
  }
  SECTION("one byte of the trailer missing") {
    write_file(path, packed.substr(0, packed.size() - 1));
    ByteStream stream(path);
    CHECK_THROWS_WITH(read_all(stream, 65536), Catch::Contains(path) && Catch::Contains("truncated gzip"));
  }
  SECTION("a wrong CRC") {
    std::string bad = packed;
    bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 0x55);
    write_file(path, bad);
    ByteStream stream(path);
    CHECK_THROWS_WITH(read_all(stream, 65536), Catch::Contains(path) && Catch::Contains("corrupt gzip"));
  }
  SECTION("garbage after a complete member") {
    write_file(path, packed + "not gzip");
    ByteStream stream(path);
    CHECK_THROWS_WITH(read_all(stream, 65536), Catch::Contains(path) && Catch::Contains("corrupt gzip"));
  }
}

TEST_CASE("ByteStream: read_exact names what was cut short; a missing file is an error") {
  const auto dir = scratch_dir("byte_stream_exact");
  write_file(dir / "short", "abc");
  ByteStream stream((dir / "short").string());
  char buffer[8];
  CHECK_THROWS_WITH(stream.read_exact(buffer, 8, "the header"),
                    Catch::Contains("short") && Catch::Contains("the header") && Catch::Contains("got 3"));
  CHECK_THROWS_WITH(ByteStream((dir / "absent").string()),
                    Catch::Contains("absent") && Catch::Contains("cannot open"));
}
