// fer video: the faces of a video and their emotions over time. One thread decodes, worker threads
// (each with its own FaceAnalyzer) analyse frames in parallel, and the main thread takes the
// results in frame order to track faces, draw them, encode the annotated video and write the
// time series, so decoding, analysis and encoding overlap.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <minidnn/core/parallel.hpp>
#include <minidnn/fer/face_analysis.hpp>
#include <minidnn/fer/face_tracker.hpp>
#include <minidnn/io/atomic_file.hpp>
#include <minidnn/vision/haar_cascade.hpp>
#include <minidnn/vision/video_reader.hpp>
#include <minidnn/vision/video_writer.hpp>
#include <minidnn/viz/label.hpp>
#include <minidnn/viz/png.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace fer {
namespace {

namespace vision = minidnn::vision;
namespace viz = minidnn::viz;
using minidnn::fer::FaceResult;
using minidnn::fer::TrackedFace;
using clock_type = std::chrono::steady_clock;


// One colour per emotion, for boxes and the timeline (Angry ... Neutral).
constexpr std::array<viz::Rgb, kClasses> kEmotionColours = {{{214, 39, 40},
                                                              {140, 86, 75},
                                                              {148, 103, 189},
                                                              {44, 160, 44},
                                                              {31, 119, 180},
                                                              {255, 127, 14},
                                                              {127, 127, 127}}};

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// A frame on its way through the pipeline.
struct Job {
  vision::VideoFrame frame;
  bool analyse = false;
  std::vector<FaceResult> faces;
  vision::GreyImage thumbnail;
};

// The frames between the decoder and the writer, bounded, handed out in frame order.
class Pipeline {
 public:
  explicit Pipeline(std::size_t capacity) : capacity_(capacity) {}

  // Decoder: blocks while `capacity` frames are in flight; false once the pipeline was cancelled.
  bool push(std::unique_ptr<Job> job) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return in_flight_ < capacity_ || cancelled_; });
    if (cancelled_) return false;
    ++in_flight_;
    todo_.push_back(std::move(job));
    work_.notify_one();
    return true;
  }
  void close_input() {
    std::lock_guard lock(mutex_);
    input_closed_ = true;
    work_.notify_all();
    done_.notify_all();
  }
  // Worker: the next frame to analyse, or null when there are no more.
  std::unique_ptr<Job> take() {
    std::unique_lock lock(mutex_);
    work_.wait(lock, [&] { return !todo_.empty() || input_closed_ || cancelled_; });
    if (todo_.empty() || cancelled_) return nullptr;
    auto job = std::move(todo_.front());
    todo_.pop_front();
    return job;
  }
  void finished(std::unique_ptr<Job> job) {
    std::lock_guard lock(mutex_);
    const long long index = job->frame.index;
    ready_[index] = std::move(job);
    done_.notify_all();
  }
  // Writer: frame `index` once analysed, or null after the last frame.
  std::unique_ptr<Job> next(long long index) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return ready_.count(index) || (input_closed_ && in_flight_ == 0) || cancelled_; });
    auto it = ready_.find(index);
    if (it == ready_.end()) return nullptr;
    auto job = std::move(it->second);
    ready_.erase(it);
    --in_flight_;
    space_.notify_one();
    if (in_flight_ == 0) done_.notify_all();
    return job;
  }
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    space_.notify_all();
    work_.notify_all();
    done_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable space_, work_, done_;
  std::size_t capacity_, in_flight_ = 0;
  std::deque<std::unique_ptr<Job>> todo_;
  std::map<long long, std::unique_ptr<Job>> ready_;
  bool input_closed_ = false, cancelled_ = false;
};

// Frames, fps and ETA: redrawn in place on a terminal, a plain line every few seconds otherwise.
class VideoProgress {
 public:
  explicit VideoProgress(long long total) : total_(total), tty_(::isatty(2)), start_(clock_type::now()), last_(start_) {}
  void frame_done(long long done) {
    const auto now = clock_type::now();
    const double since_last = std::chrono::duration<double>(now - last_).count();
    if (since_last < (tty_ ? 0.25 : 5.0)) return;
    last_ = now;
    const double elapsed = seconds_since(start_), fps = done / std::max(elapsed, 1e-9);
    char eta[32] = "?";
    if (total_ > done && fps > 0) std::snprintf(eta, sizeof eta, "%s", format_duration((total_ - done) / fps).c_str());
    char of[32] = "";
    if (total_ > 0) std::snprintf(of, sizeof of, "/%lld", std::max(total_, done));
    std::fprintf(stderr, tty_ ? "\rframe %lld%s  %.1f fps  ETA %s \033[K" : "frame %lld%s  %.1f fps  ETA %s\n", done, of,
                 fps, eta);
  }
  void end() {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  long long total_;
  bool tty_;
  clock_type::time_point start_, last_;
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

void draw_faces(vision::Image& frame, const std::vector<TrackedFace>& faces, const viz::Font& font) {
  const viz::RgbView view(frame.pixels.data(), frame.width, frame.height);
  const int thickness = std::max(2, std::min(frame.width, frame.height) / 250);
  for (const TrackedFace& f : faces) {
    const int e = f.emotion();
    vision::draw_rectangle(frame, f.box, kEmotionColours[static_cast<std::size_t>(e)], thickness);
    viz::LabelStyle style;
    style.size = std::clamp(f.box.width / 6.0, 12.0, 28.0);
    style.background = kEmotionColours[static_cast<std::size_t>(e)];
    viz::draw_label(view, font, "#" + std::to_string(f.id) + " " + kEmotionNames[e] + " " +
                                    std::to_string(static_cast<int>(100 * f.scores[static_cast<std::size_t>(e)] + 0.5)) + "%",
                    f.box.x, f.box.y, style);
  }
}

// Per face id: its dominant emotion at each analysed frame (a coloured band over time) and the
// share of its frames per emotion (a stacked bar), with a legend.
struct Sighting {
  double time;
  int emotion;
};

void write_timeline(const std::string& path, const std::string& title, const std::map<int, std::vector<Sighting>>& seen,
                    double duration, double frame_step) {
  viz::Font font;
  const int rows = std::max<int>(1, static_cast<int>(seen.size()));
  const int left = 80, band_width = 640, gap = 40, share_width = 260, row_height = 34, top = 60;
  const int width = left + band_width + gap + share_width + 30;
  const int height = top + rows * row_height + 90;
  viz::Canvas canvas(width, height);
  const viz::RgbView view = canvas.view();
  viz::TextStyle text;
  text.size = 18;
  viz::draw_text(view, font, title, width / 2.0, 14, {18, {0, 0, 0}, viz::Align::Centre, viz::Align::Start, false});
  text.size = 13;
  viz::draw_text(view, font, "dominant emotion over time", left + band_width / 2.0, top - 20,
                 {13, {60, 60, 60}, viz::Align::Centre, viz::Align::Start, false});
  viz::draw_text(view, font, "share of the face's frames", left + band_width + gap + share_width / 2.0, top - 20,
                 {13, {60, 60, 60}, viz::Align::Centre, viz::Align::Start, false});
  const double span = std::max(duration, 1e-6);
  int row = 0;
  for (const auto& [id, sightings] : seen) {
    const int y0 = top + row * row_height + 4, y1 = y0 + row_height - 8;
    viz::draw_text(view, font, "face " + std::to_string(id), left - 8, (y0 + y1) / 2.0,
                   {14, {0, 0, 0}, viz::Align::End, viz::Align::Centre, false});
    viz::fill_rect(view, left, y0, left + band_width, y1, {240, 240, 240});
    std::array<int, kClasses> counts{};
    for (const Sighting& s : sightings) {
      const int x0 = left + static_cast<int>(band_width * s.time / span);
      const int x1 = std::max(x0 + 1, left + static_cast<int>(std::ceil(band_width * (s.time + frame_step) / span)));
      viz::fill_rect(view, x0, y0, std::min(x1, left + band_width), y1, kEmotionColours[static_cast<std::size_t>(s.emotion)]);
      ++counts[static_cast<std::size_t>(s.emotion)];
    }
    int x = left + band_width + gap;
    const int share_left = x;
    for (int e = 0; e < kClasses; ++e) {
      if (!counts[static_cast<std::size_t>(e)]) continue;
      const int w = static_cast<int>(std::lround(share_width * double(counts[static_cast<std::size_t>(e)]) / sightings.size()));
      viz::fill_rect(view, x, y0, std::min(x + w, share_left + share_width), y1, kEmotionColours[static_cast<std::size_t>(e)]);
      if (w > 34)
        viz::draw_text(view, font, std::to_string(static_cast<int>(100.0 * counts[static_cast<std::size_t>(e)] / sightings.size() + 0.5)) + "%",
                       x + w / 2.0, (y0 + y1) / 2.0, {12, {255, 255, 255}, viz::Align::Centre, viz::Align::Centre, false});
      x += w;
    }
    ++row;
  }
  if (seen.empty())
    viz::draw_text(view, font, "no face found", left + band_width / 2.0, top + row_height / 2.0,
                   {14, {120, 120, 120}, viz::Align::Centre, viz::Align::Centre, false});
  // Time axis.
  const int axis_y = top + rows * row_height + 2;
  viz::fill_rect(view, left, axis_y, left + band_width, axis_y + 1, {0, 0, 0});
  for (int t = 0; t <= 5; ++t) {
    const int x = left + band_width * t / 5;
    viz::fill_rect(view, x, axis_y, x + 1, axis_y + 5, {0, 0, 0});
    char label[32];
    std::snprintf(label, sizeof label, "%.1f s", span * t / 5);
    viz::draw_text(view, font, label, x, axis_y + 7, {12, {0, 0, 0}, viz::Align::Centre, viz::Align::Start, false});
  }
  // Legend.
  int lx = left;
  const int ly = axis_y + 38;
  for (int e = 0; e < kClasses; ++e) {
    viz::fill_rect(view, lx, ly, lx + 14, ly + 14, kEmotionColours[static_cast<std::size_t>(e)]);
    const auto box = viz::draw_text(view, font, kEmotionNames[e], lx + 19, ly + 7, {13, {0, 0, 0}, viz::Align::Start, viz::Align::Centre, false});
    lx = box[2] + 18;
  }
  ensure_parent(path);
  viz::save_png(path, canvas);
}

}  // namespace

int run_video(int argc, char** argv) {
  Args args("fer video",
            "fer video [--model MODEL] [--out annotated.mp4] [--csv emotions.csv] [--chart timeline.png] [--json]\n"
            "                 [--every N] [--min-size PX] [--smooth K|off] [--threads N] VIDEO",
            "Finds the faces in a video (any format FFmpeg reads) on every N-th frame, classifies each face's\n"
            "expression as `fer predict` does, and follows each face from frame to frame so that it keeps an id\n"
            "(box overlap; a scene cut starts new ids). Writes the annotated video (boxes, id, emotion; H.264\n"
            "in MP4 where available, the audio copied), a CSV time series (frame, time, face id, box, the 7\n"
            "scores, emotion) and a timeline chart (each face's dominant emotion over time and its share of\n"
            "time per emotion). With --json the time series is printed as JSON as well.");
  args.option("model", "FILE", "", "the trained model (default: $FER_MODEL, else the shipped models/fer_default.mdnn)")
      .option("cascade", "FILE", vision::kDebianFrontalFaceCascade, "OpenCV Haar cascade XML")
      .option("out", "FILE", "", "the annotated video, or 'none' (default VIDEO's name + _annotated.mp4)")
      .option("csv", "FILE", "", "the time series (default VIDEO's name + _emotions.csv)")
      .option("chart", "FILE", "", "the timeline chart, or 'none' (default VIDEO's name + _timeline.png)")
      .flag("json", "also print the time series as JSON on stdout")
      .option("every", "N", "1", "analyse every N-th frame (the others show the last boxes)")
      .option("min-size", "PX", "0", "detector: smallest face side in pixels (0: the cascade's window)")
      .option("scale-factor", "F", "1.1", "detector: pyramid scale step")
      .option("min-neighbors", "N", "3", "detector: overlapping hits a face needs")
      .option("smooth", "K|off", "5", "average each face's scores over its last K analysed frames")
      .option("threads", "N", "0", "analysis threads (0: one per core)")
      .positionals("VIDEO", true);
  if (!args.parse(argc, argv, 2)) return 0;
  const std::string model_path = resolve_model_path(args, "fer video");
  if (args.positional().size() != 1) throw UsageError("fer video: give one VIDEO");
  const std::string input = args.positional()[0];
  const int every = args.get_int("every", 1, 100000);
  vision::DetectOptions detect;
  detect.scale_factor = args.get_double("scale-factor", 1.0001, 4.0);
  detect.min_neighbors = args.get_int("min-neighbors", 0, 1000);
  const int min_size = args.get_int("min-size", 0, 100000);
  detect.min_size = {min_size, min_size};
  minidnn::fer::TrackerOptions tracking;
  tracking.smooth = args.get("smooth") == "off" ? 1 : args.get_int("smooth", 1, 1000);
  int threads = args.get_int("threads", 0, 256);
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  const std::string stem = fs::path(input).stem().string();
  const std::string out_path = args.has("out") ? args.get("out") : stem + "_annotated.mp4";
  const std::string csv_path = args.has("csv") ? args.get("csv") : stem + "_emotions.csv";
  const std::string chart_path = args.has("chart") ? args.get("chart") : stem + "_timeline.png";
  const bool write_video = out_path != "none", write_chart = chart_path != "none";
  const bool json = args.flag_set("json");

  // One analyzer per worker: each holds its own model buffers.
  std::vector<minidnn::fer::FaceAnalyzer> analyzers;
  for (int t = 0; t < threads; ++t)
    analyzers.emplace_back(load_model(model_path), vision::HaarCascade::load(args.get("cascade")));

  vision::VideoReader reader(input);
  const vision::VideoInfo info = reader.info();
  std::fprintf(stderr, "%s: %dx%d %s (%s), %.3g fps, %.2f s, ~%lld frames%s\n", input.c_str(), info.width, info.height,
               info.codec.c_str(), info.container.c_str(), info.fps, info.duration, info.frame_estimate,
               info.has_audio ? ", with audio" : "");

  std::unique_ptr<vision::VideoWriter> writer;
  if (write_video) {
    ensure_parent(out_path);
    vision::VideoWriterOptions options;
    options.time_base = info.time_base;
    options.frame_rate = info.frame_rate.num > 0 ? info.frame_rate : AVRational{25, 1};
    if (info.has_audio) options.audio_from = input;
    writer = std::make_unique<vision::VideoWriter>(out_path, info.width, info.height, options);
    if (!writer->audio_note().empty()) std::fprintf(stderr, "fer video: note: %s\n", writer->audio_note().c_str());
  }

  // Decoder thread -> analysis workers -> this thread, in frame order.
  Pipeline pipeline(static_cast<std::size_t>(4 * threads + 4));
  double decode_seconds = 0;
  std::string decoder_error;
  std::thread decoder([&] {
    try {
      for (;;) {
        auto job = std::make_unique<Job>();
        const auto t0 = clock_type::now();
        const bool got = reader.read(job->frame);
        decode_seconds += seconds_since(t0);
        if (!got) break;
        job->analyse = job->frame.index % every == 0;
        if (!pipeline.push(std::move(job))) break;
      }
    } catch (const std::exception& e) {
      decoder_error = e.what();
    }
    pipeline.close_input();
  });
  std::vector<double> analysis_seconds(static_cast<std::size_t>(threads), 0.0);
  std::vector<std::string> worker_errors(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      minidnn::set_num_threads(1);  // the frames are the parallelism: no nested OpenMP teams
      try {
        while (auto job = pipeline.take()) {
          if (job->analyse) {
            const auto t0 = clock_type::now();
            const vision::GreyImage grey = vision::to_grey(job->frame.rgb);
            job->faces = analyzers[static_cast<std::size_t>(t)].analyze(grey, detect);
            job->thumbnail = minidnn::fer::scene_thumbnail(grey);
            analysis_seconds[static_cast<std::size_t>(t)] += seconds_since(t0);
          }
          pipeline.finished(std::move(job));
        }
      } catch (const std::exception& e) {
        worker_errors[static_cast<std::size_t>(t)] = e.what();
        pipeline.cancel();
      }
    });

  minidnn::fer::FaceTracker tracker(tracking);
  viz::Font font;
  std::string csv = "frame,time,face_id,x,y,width,height";
  for (const char* name : kEmotionNames) csv += std::string(",") + name;
  csv += ",emotion\n";
  std::ostringstream series;
  std::map<int, std::vector<Sighting>> seen;
  std::vector<TrackedFace> shown;
  long long frames = 0, analysed = 0, rows = 0;
  double last_time = 0, encode_seconds = 0;
  const auto start = clock_type::now();
  VideoProgress progress(info.frame_estimate);
  std::string failure;
  try {
    for (long long index = 0;; ++index) {
      auto job = pipeline.next(index);
      if (!job) break;
      const vision::VideoFrame& frame = job->frame;
      if (job->analyse) {
        shown = tracker.update(job->faces, job->thumbnail);
        ++analysed;
        for (const TrackedFace& f : shown) {
          char line[512];
          int n = std::snprintf(line, sizeof line, "%lld,%.6f,%d,%d,%d,%d,%d", frame.index, frame.time, f.id, f.box.x,
                                f.box.y, f.box.width, f.box.height);
          for (float s : f.scores) n += std::snprintf(line + n, sizeof line - n, ",%.9g", s);
          std::snprintf(line + n, sizeof line - n, ",%s\n", kEmotionNames[f.emotion()]);
          csv += line;
          ++rows;
          seen[f.id].push_back({frame.time, f.emotion()});
          if (json) {
            series << (rows > 1 ? ",\n    " : "\n    ") << "{\"frame\": " << frame.index << ", \"time\": " << frame.time
                   << ", \"id\": " << f.id << ", \"box\": [" << f.box.x << ", " << f.box.y << ", " << f.box.width
                   << ", " << f.box.height << "], \"scores\": {";
            for (int c = 0; c < kClasses; ++c)
              series << (c ? ", " : "") << "\"" << kEmotionNames[c] << "\": " << f.scores[static_cast<std::size_t>(c)];
            series << "}, \"emotion\": \"" << kEmotionNames[f.emotion()] << "\"}";
          }
        }
      }
      if (writer) {
        const auto t0 = clock_type::now();
        draw_faces(job->frame.rgb, shown, font);
        writer->write(job->frame.rgb, frame.pts, frame.duration);
        encode_seconds += seconds_since(t0);
      }
      last_time = frame.time + (frame.duration > 0 ? frame.duration * av_q2d(info.time_base) : 0);
      frames = index + 1;
      progress.frame_done(frames);
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  pipeline.cancel();
  decoder.join();
  for (auto& w : workers) w.join();
  progress.end();
  if (failure.empty()) failure = decoder_error;
  for (const std::string& e : worker_errors)
    if (failure.empty() && !e.empty()) failure = e;
  if (!failure.empty()) throw minidnn::Error(failure);
  const double wall = seconds_since(start);

  // A decoding error mid-stream keeps the frames before it; no frame at all is an error alone.
  const std::string decode_error = reader.error();
  if (frames == 0) throw minidnn::Error(decode_error.empty() ? input + ": its video stream has no frames" : decode_error);

  if (writer) writer->finish();
  ensure_parent(csv_path);
  minidnn::write_file_atomically(csv_path, csv);
  if (write_chart)
    write_timeline(chart_path, fs::path(input).filename().string() + ": emotions per face", seen,
                   std::max(last_time, info.duration), every / std::max(info.fps, 1e-3));

  double analysis_total = 0;
  for (double s : analysis_seconds) analysis_total += s;
  std::fprintf(stderr,
               "%lld frames (%lld analysed, %zu face%s, %lld rows) in %.2f s: %.1f fps; decoding %.2f s, analysis %.2f "
               "thread-s on %d threads, drawing+encoding %.2f s%s\n",
               frames, analysed, seen.size(), seen.size() == 1 ? "" : "s", rows, wall, frames / std::max(wall, 1e-9),
               decode_seconds, analysis_total, threads, encode_seconds,
               writer ? (" (" + writer->encoder() + (writer->copies_audio() ? ", audio copied)" : ")")).c_str() : "");
  if (json) {
    std::printf("{\"video\": \"%s\", \"frames\": %lld, \"analysed\": %lld, \"annotated\": %s, \"csv\": \"%s\", "
                "\"chart\": %s, \"faces\": %zu, \"series\": [%s%s]}\n",
                json_escape(input).c_str(), frames, analysed,
                write_video ? ("\"" + json_escape(out_path) + "\"").c_str() : "null", json_escape(csv_path).c_str(),
                write_chart ? ("\"" + json_escape(chart_path) + "\"").c_str() : "null", seen.size(),
                series.str().c_str(), rows ? "\n  " : "");
  } else {
    for (const auto& [id, sightings] : seen) {
      std::array<int, kClasses> counts{};
      for (const Sighting& s : sightings) ++counts[static_cast<std::size_t>(s.emotion)];
      const int top = static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
      std::printf("face %d: %.2f-%.2f s, %zu analysed frames, mostly %s (%.0f%%)\n", id, sightings.front().time,
                  sightings.back().time, sightings.size(), kEmotionNames[top], 100.0 * counts[static_cast<std::size_t>(top)] / sightings.size());
    }
    std::printf("wrote %s%s%s%s%s\n", write_video ? (out_path + ", ").c_str() : "", csv_path.c_str(),
                write_chart ? ", " : "", write_chart ? chart_path.c_str() : "", "");
  }
  if (!decode_error.empty()) {
    std::fprintf(stderr, "fer video: error: %s; outputs written for those frames\n", decode_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace fer
