// fer video from the outside: the test makes its videos from the shared photos with Debian's
// ffmpeg command line, runs `fer video` on them and checks the result against independent
// references: `fer predict` on the frames ffmpeg extracts, ffprobe's frame counts, durations and
// timestamps, and the smoothing recomputed here from the raw scores.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <stb_image.h>

#include "support/json_check.hpp"
#include "support/paths.hpp"
#include "support/shell.hpp"

namespace fs = std::filesystem;

namespace {

using Run = minidnn::test::ShellRun;
using minidnn::test::run_shell;

Run fer(const std::string& arguments, const fs::path& cwd) { return run_shell("'" FER_BINARY "' " + arguments, cwd); }

void must(const std::string& command, const fs::path& cwd) {
  const Run r = run_shell(command, cwd);
  INFO(command << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
}

std::string photo(const char* name) { return (minidnn::test::shared_dir() / "data" / "faces" / name).string(); }

// The scratch folder with a trained model and the test videos, made once.
const fs::path& videos() {
  static const fs::path dir = [] {
    const fs::path d = minidnn::test::scratch_dir("fer_video");
    must("'" FER_BINARY "' train --model small --epochs 1 --batch 64 --train-rows 700 --val-rows 140 --out m.mdnn", d);
    const std::string ff = "ffmpeg -nostdin -v error -y ";
    // 2 s panning and zooming over one group photo, then a cut to another one for 1 s; 15 fps.
    must(ff + "-loop 1 -framerate 15 -t 2 -i '" + photo("bbt4.jpg") + "' -loop 1 -framerate 15 -t 1 -i '" +
             photo("bbt1.jpg") +
             "' -filter_complex \"[0:v]scale=710:474,zoompan=z='1.15-0.003*on':x='40+on*2':y='20+on':d=1:s=320x240:"
             "fps=15,setsar=1[a];[1:v]scale=427:240,crop=320:240,setsar=1,fps=15[b];[a][b]concat=n=2:v=1[v]\" "
             "-map '[v]' -c:v libx264 -preset veryfast -pix_fmt yuv420p scene.mp4",
         d);
    // Variable frame rate: 15 fps for a second, then 5 fps.
    must(ff + "-i scene.mp4 -t 2 -vf \"setpts='if(lt(N\\,15)\\,N/15\\,1+(N-15)/5)/TB'\" -fps_mode vfr -c:v libx264 "
              "-preset veryfast vfr.mkv",
         d);
    // With an audio track.
    must(ff + "-i scene.mp4 -f lavfi -i sine=frequency=440:duration=2 -t 2 -c:v copy -c:a aac -shortest audio.mp4", d);
    return d;
  }();
  return dir;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, sep);) out.push_back(field);
  return out;
}

struct Row {
  long long frame;
  double time;
  int id;
  std::array<int, 4> box;
  std::array<double, 7> scores;
  std::string emotion;
};

std::vector<Row> read_csv(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  CHECK(line == "frame,time,face_id,x,y,width,height,Angry,Disgust,Fear,Happy,Sad,Surprise,Neutral,emotion");
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    REQUIRE(f.size() == 15);
    Row r{std::stoll(f[0]), std::stod(f[1]), std::stoi(f[2]), {}, {}, f[14]};
    for (int i = 0; i < 4; ++i) r.box[static_cast<std::size_t>(i)] = std::stoi(f[static_cast<std::size_t>(3 + i)]);
    for (int i = 0; i < 7; ++i) r.scores[static_cast<std::size_t>(i)] = std::stod(f[static_cast<std::size_t>(7 + i)]);
    rows.push_back(r);
  }
  return rows;
}

// ffprobe's count of decoded video frames and the container's duration.
std::pair<long long, double> probe(const fs::path& dir, const std::string& file) {
  const Run frames = run_shell("ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames "
                           "-of default=nw=1:nk=1 " + file, dir);
  const Run duration = run_shell("ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 " + file, dir);
  INFO(frames.output << duration.output);
  REQUIRE(frames.exit_code == 0);
  REQUIRE(duration.exit_code == 0);
  return {std::stoll(frames.output), std::stod(duration.output)};
}

// The faces `fer predict --json` finds in one photo: boxes and probabilities, in its order.
struct PredictedFace {
  std::array<int, 4> box;
  std::array<double, 7> scores;
};
std::vector<PredictedFace> predict(const fs::path& dir, const std::string& image) {
  const Run r = fer("predict --model m.mdnn --json --out pred " + image, dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::vector<PredictedFace> faces;
  for (std::size_t at = r.output.find("\"box\": ["); at != std::string::npos; at = r.output.find("\"box\": [", at + 1)) {
    PredictedFace face{};
    REQUIRE(std::sscanf(r.output.c_str() + at, "\"box\": [%d, %d, %d, %d]", &face.box[0], &face.box[1], &face.box[2],
                        &face.box[3]) == 4);
    const std::size_t p = r.output.find("\"probabilities\": {", at);
    REQUIRE(p != std::string::npos);
    const char* names[7] = {"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"};
    for (int c = 0; c < 7; ++c) {
      const std::size_t q = r.output.find(std::string("\"") + names[c] + "\": ", p);
      REQUIRE(q != std::string::npos);
      face.scores[static_cast<std::size_t>(c)] = std::strtod(r.output.c_str() + q + std::strlen(names[c]) + 4, nullptr);
    }
    faces.push_back(face);
  }
  return faces;
}

double box_iou(const std::array<int, 4>& a, const std::array<int, 4>& b) {
  const int x0 = std::max(a[0], b[0]), y0 = std::max(a[1], b[1]);
  const int x1 = std::min(a[0] + a[2], b[0] + b[2]), y1 = std::min(a[1] + a[3], b[1] + b[3]);
  if (x1 <= x0 || y1 <= y0) return 0;
  const double inter = double(x1 - x0) * (y1 - y0);
  return inter / (double(a[2]) * a[3] + double(b[2]) * b[3] - inter);
}

}  // namespace

TEST_CASE("fer video: faces, scores and ids through a pan and a cut", "[fer][video]") {
  const fs::path& dir = videos();
  const Run r = fer("video --model m.mdnn --smooth off --threads 2 --json scene.mp4", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(minidnn::test::is_valid_json(r.output.substr(r.output.find("{\"video\""))));
  const std::vector<Row> rows = read_csv(dir / "scene_emotions.csv");
  std::map<long long, std::vector<Row>> by_frame;
  for (const Row& row : rows) by_frame[row.frame].push_back(row);

  {  // the faces of frame k are fer predict's faces on frame k as ffmpeg extracts it
    must("mkdir -p frames && ffmpeg -nostdin -v error -y -i scene.mp4 -fps_mode passthrough frames/f%03d.png", dir);
    int compared = 0;
    for (long long k : {0, 9, 22, 29, 30, 44}) {
      char name[32];
      std::snprintf(name, sizeof name, "frames/f%03lld.png", k + 1);
      const auto expected = predict(dir, name);
      const auto& got = by_frame[k];
      INFO("frame " << k);
      REQUIRE(got.size() == expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].box == expected[i].box);
        for (int c = 0; c < 7; ++c)
          CHECK(got[i].scores[static_cast<std::size_t>(c)] ==
                Approx(expected[i].scores[static_cast<std::size_t>(c)]).margin(2e-6));
        ++compared;
      }
    }
    CHECK(compared >= 20);  // bbt4 and bbt1 each show five faces or more
  }

  {  // ids follow each face through the pan and change at the cut
    // Frames 0..29 pan over bbt4; 30..44 show bbt1.
    std::set<int> before, after;
    for (const auto& [k, faces] : by_frame) {
      for (const Row& f : faces) (k < 30 ? before : after).insert(f.id);
      // A face that overlaps a face of the frame before is the same person: the same id.
      if (k == 0 || k == 30 || !by_frame.count(k - 1)) continue;
      for (const Row& f : faces)
        for (const Row& g : by_frame[k - 1])
          if (box_iou(f.box, g.box) > 0.5) CHECK(f.id == g.id);
    }
    for (int id : after) CHECK(before.count(id) == 0);
    // Faces seen in the whole pan keep one id from its first frame to its last.
    int steady = 0;
    for (int id : before) {
      int frames = 0;
      for (const Row& row : rows) frames += row.id == id && row.frame < 30;
      steady += frames == 30;
    }
    CHECK(steady >= 3);
    CHECK(after.size() >= 4);
  }

  {  // the annotated video has the input's frames and duration; the chart is a picture
    const auto [in_frames, in_duration] = probe(dir, "scene.mp4");
    const auto [out_frames, out_duration] = probe(dir, "scene_annotated.mp4");
    CHECK(in_frames == 45);
    CHECK(out_frames == in_frames);
    CHECK(out_duration == Approx(in_duration).margin(0.002));
    int w = 0, h = 0, c = 0;
    unsigned char* pixels = stbi_load((dir / "scene_timeline.png").c_str(), &w, &h, &c, 3);
    REQUIRE(pixels != nullptr);
    stbi_image_free(pixels);
    CHECK(w > 600);
    CHECK(h > 200);
  }
}

TEST_CASE("fer video: every N-th frame, one row per face; smoothing is the mean of the raw scores", "[fer][video]") {
  const fs::path& dir = videos();
  Run r = fer("video --model m.mdnn --smooth off --every 3 --out none --chart none --csv raw.csv scene.mp4", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(dir / "none"));
  const std::vector<Row> raw = read_csv(dir / "raw.csv");
  std::map<long long, int> faces_per_frame;
  for (const Row& row : raw) {
    CHECK(row.frame % 3 == 0);
    ++faces_per_frame[row.frame];
  }
  // Frames 0 and 30 (multiples of 3) against fer predict on the extracted frames.
  must("mkdir -p frames2 && ffmpeg -nostdin -v error -y -i scene.mp4 -fps_mode passthrough frames2/f%03d.png", dir);
  CHECK(faces_per_frame[0] == static_cast<int>(predict(dir, "frames2/f001.png").size()));
  CHECK(faces_per_frame[30] == static_cast<int>(predict(dir, "frames2/f031.png").size()));
  CHECK(faces_per_frame.size() == 15);

  r = fer("video --model m.mdnn --smooth 3 --every 3 --out none --chart none --csv smooth.csv scene.mp4", dir);
  REQUIRE(r.exit_code == 0);
  const std::vector<Row> smooth = read_csv(dir / "smooth.csv");
  REQUIRE(smooth.size() == raw.size());
  std::map<int, std::vector<const Row*>> history;  // per id, its raw rows so far
  for (std::size_t i = 0; i < raw.size(); ++i) {
    CHECK(smooth[i].id == raw[i].id);
    CHECK(smooth[i].box == raw[i].box);
    auto& h = history[raw[i].id];
    h.push_back(&raw[i]);
    const std::size_t n = std::min<std::size_t>(3, h.size());
    for (int c = 0; c < 7; ++c) {
      double mean = 0;
      for (std::size_t j = h.size() - n; j < h.size(); ++j) mean += h[j]->scores[static_cast<std::size_t>(c)];
      CHECK(smooth[i].scores[static_cast<std::size_t>(c)] == Approx(mean / n).margin(2e-6));
    }
  }
}

TEST_CASE("fer video: a variable frame rate keeps its timestamps; audio is copied", "[fer][video]") {
  const fs::path& dir = videos();
  Run r = fer("video --model m.mdnn --chart none vfr.mkv", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const Run times = run_shell("ffprobe -v error -select_streams v:0 -show_entries frame=best_effort_timestamp_time "
                          "-of default=nw=1:nk=1 vfr.mkv", dir);
  std::vector<double> expected;
  for (const auto& line : split(times.output, '\n'))
    if (!line.empty()) expected.push_back(std::stod(line));
  REQUIRE(expected.size() == 20);
  std::map<long long, double> time_of;
  for (const Row& row : read_csv(dir / "vfr_emotions.csv")) time_of[row.frame] = row.time;
  REQUIRE(time_of.size() >= 15);
  for (const auto& [k, t] : time_of) CHECK(t == Approx(expected[static_cast<std::size_t>(k)] - expected[0]).margin(1e-3));
  const auto [in_frames, in_duration] = probe(dir, "vfr.mkv");
  const auto [out_frames, out_duration] = probe(dir, "vfr_annotated.mp4");
  CHECK(out_frames == in_frames);
  CHECK(out_duration == Approx(in_duration).margin(0.002));
  const Run stamps = run_shell("ffprobe -v error -select_streams v:0 -show_entries frame=best_effort_timestamp_time "
                           "-of default=nw=1:nk=1 vfr_annotated.mp4", dir);
  CHECK(split(stamps.output, '\n').size() == expected.size());
  std::size_t i = 0;
  for (const auto& line : split(stamps.output, '\n'))
    if (!line.empty() && i < expected.size()) CHECK(std::stod(line) == Approx(expected[i++]).margin(1e-3));

  r = fer("video --model m.mdnn --every 4 --chart none audio.mp4", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("audio copied"));
  const Run streams = run_shell("ffprobe -v error -show_entries stream=codec_type,codec_name -of csv audio_annotated.mp4", dir);
  CHECK_THAT(streams.output, Catch::Contains("aac,audio"));
  CHECK_THAT(streams.output, Catch::Contains("video"));
}

TEST_CASE("fer video: bad input gets a message naming the file, and no half-written output", "[fer][video]") {
  const fs::path& dir = videos();
  const fs::path bad = minidnn::test::scratch_dir("fer_video_bad");
  fs::copy_file(dir / "m.mdnn", bad / "m.mdnn");
  std::ofstream(bad / "notes.mp4") << "hello, this is not a video\n";
  std::ofstream(bad / "huge.y4m") << "YUV4MPEG2 W9000 H9000 F25:1 C420jpeg\nFRAME\nabc";
  std::ofstream(bad / "zero.y4m") << "YUV4MPEG2 W64 H64 F25:1 C420jpeg\n";
  must("ffmpeg -nostdin -v error -y -f lavfi -i sine=duration=1 -c:a aac sine.m4a", bad);
  const struct {
    const char* file;
    const char* message;
  } cases[] = {
      {"missing.mp4", "missing.mp4: not a video FFmpeg can read (No such file or directory)"},
      {"notes.mp4", "notes.mp4: not a video FFmpeg can read"},
      {"sine.m4a", "sine.m4a: has no video stream (audio only)"},
      {"zero.y4m", "zero.y4m: its video stream has no frames"},
      {"huge.y4m", "huge.y4m: its 9000x9000 frames are over the 67108864-pixel image limit"},
  };
  for (const auto& c : cases) {
    const Run r = fer(std::string("video --model m.mdnn ") + c.file, bad);
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains(c.message));
  }
  // Nothing was written, not even a temporary file.
  for (const auto& entry : fs::directory_iterator(bad)) {
    const std::string name = entry.path().filename().string();
    CHECK((name == "m.mdnn" || name == "notes.mp4" || name == "huge.y4m" || name == "zero.y4m" || name == "sine.m4a"));
  }

  // Damage in the middle of the stream: the frames before it are kept, the error gives its time.
  must("ffmpeg -nostdin -v error -y -i '" + (dir / "scene.mp4").string() + "' -c copy scene.mkv", bad);
  {
    std::fstream f(bad / "scene.mkv", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<long long>(f.tellg());
    f.seekp(size * 6 / 10);
    for (int i = 0; i < 3000; ++i) f.put(static_cast<char>((i * 7919) & 255));
  }
  const Run r = fer("video --model m.mdnn --every 4 scene.mkv", bad);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("scene.mkv: decoding error at ") && Catch::Contains(" s: ") &&
                           Catch::Contains("frames before it were read"));
  const auto [kept, duration] = probe(bad, "scene_annotated.mp4");
  CHECK(kept > 5);
  CHECK(kept < 45);
  long long last = -1;
  for (const Row& row : read_csv(bad / "scene_emotions.csv")) last = std::max(last, row.frame);
  CHECK(last % 4 == 0);  // analysed frames only,
  CHECK(last <= kept - 1);  // and none after the damage
  CHECK(last > kept - 5);
  CHECK_THAT(r.output, Catch::Contains("the " + std::to_string(kept) + " frames before it were read"));
}

TEST_CASE("fer video: --help and usage errors", "[fer][video]") {
  const fs::path dir = minidnn::test::scratch_dir("fer_video_cli");
  Run r = fer("video --help", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("usage: fer video") && Catch::Contains("--every") && Catch::Contains("--smooth"));
  r = fer("--help", dir);
  CHECK_THAT(r.output, Catch::Contains("video"));
  // Without --model fer takes $FER_MODEL, else the shipped default model, and names a missing one.
  r = fer("video --model '' clip.mp4", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--model is empty"));
  r = fer("video --model m.mdnn --every 0 clip.mp4", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--every must be an integer in [1, 100000], got '0'"));
  r = fer("video --model m.mdnn --smooth sometimes clip.mp4", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--smooth"));
}
