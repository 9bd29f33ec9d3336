// fer serve: the tutorial's "deploy it as a web app". An HTTP/1.1 server (Debian's cpp-httplib)
// with a JSON API for photos and a page for photos and the webcam (assets compiled in).
//
// Connections are handled by httplib's thread pool; the analysis (decode, detect, classify, draw)
// runs on a fixed pool of workers, each with its own FaceAnalyzer, fed by a bounded queue: a full
// queue answers 503 at once instead of piling work up, and a request that waited past its time
// limit is answered 503 and its job skipped. SIGTERM/SIGINT stop accepting, let the requests in
// flight finish, and exit 0. What a client sends is checked by serve_request.hpp.
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <stb_image_write.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include <minidnn/fer/face_analysis.hpp>
#include <minidnn/viz/label.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "serve_assets.hpp"
#include "serve_request.hpp"

namespace fer {
namespace {

namespace vision = minidnn::vision;
using minidnn::fer::FaceResult;
using nlohmann::json;
using serve::RequestError;
using Clock = std::chrono::steady_clock;


std::string lower_name(int emotion) {
  std::string name = kEmotionNames[emotion];
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// ---- the analysis workers -------------------------------------------------------------------

struct Analysis {
  int width = 0, height = 0;
  std::vector<FaceResult> faces;
  std::string png;  // the annotated image, when asked for
  double elapsed_ms = 0;
};

struct Job {
  std::string bytes;
  serve::AnalyzeOptions options;
  bool annotate = false;
  Clock::time_point deadline;
  std::promise<Analysis> result;
};

// Mirrors a grey image left to right (for test-time augmentation).
vision::GreyImage mirrored(const vision::GreyImage& grey) {
  vision::GreyImage out = grey;
  for (int y = 0; y < grey.height; ++y) {
    const auto* row = grey.pixels.data() + static_cast<std::size_t>(y) * grey.width;
    auto* dst = out.pixels.data() + static_cast<std::size_t>(y) * grey.width;
    std::reverse_copy(row, row + grey.width, dst);
  }
  return out;
}

// The photo with numbered boxes ("1 Happy 87%"), as a PNG in memory.
std::string annotate_png(const vision::Image& image, const std::vector<FaceResult>& faces,
                         const minidnn::viz::Font& font) {
  vision::Image annotated = vision::to_rgb(image);
  const minidnn::viz::RgbView view(annotated.pixels.data(), annotated.width, annotated.height);
  const int thickness = std::max(2, std::min(annotated.width, annotated.height) / 250);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const FaceResult& f = faces[i];
    vision::draw_rectangle(annotated, f.box, {40, 220, 60}, thickness);
    minidnn::viz::LabelStyle style;
    style.size = std::clamp(f.box.width / 6.0, 12.0, 28.0);
    style.background = {30, 150, 50};
    minidnn::viz::draw_label(view, font,
                             std::to_string(i + 1) + " " + kEmotionNames[f.emotion()] + " " +
                                 std::to_string(static_cast<int>(100 * f.scores[f.emotion()] + 0.5)) + "%",
                             f.box.x, f.box.y, style);
  }
  std::string png;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &png, annotated.width, annotated.height, 3, annotated.pixels.data(),
                              annotated.width * 3))
    throw minidnn::Error("cannot encode the annotated PNG");
  return png;
}

class AnalyzerPool {
 public:
  AnalyzerPool(const std::string& model_path, const std::string& cascade_path, int threads, std::size_t queue_limit,
               minidnn::TestTimeAugmentation tta = minidnn::TestTimeAugmentation::none)
      : queue_limit_(queue_limit) {
    // One analyzer per worker (an analyzer holds the model's activation buffers); loaded here so
    // that a bad model or cascade fails before the server listens.
    std::vector<std::unique_ptr<minidnn::fer::FaceAnalyzer>> analyzers;
    for (int i = 0; i < threads; ++i)
      analyzers.push_back(std::make_unique<minidnn::fer::FaceAnalyzer>(load_model(model_path),
                                                                      vision::HaarCascade::load(cascade_path)));
    for (auto& analyzer : analyzers) analyzer->set_test_time_augmentation(tta);
    for (auto& analyzer : analyzers)
      workers_.emplace_back([this, a = std::move(analyzer)]() mutable { work(*a); });
  }
  ~AnalyzerPool() { stop(); }

  /// Queues a job; false when the queue is full.
  bool submit(const std::shared_ptr<Job>& job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ || jobs_.size() >= queue_limit_) return false;
      jobs_.push_back(job);
    }
    ready_.notify_one();
    return true;
  }

  /// Finishes the queued jobs, then joins the workers.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  std::size_t queued() {
    std::lock_guard<std::mutex> lock(mutex_);
    return jobs_.size();
  }
  int busy() const { return busy_; }
  std::size_t queue_limit() const { return queue_limit_; }
  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  void work(minidnn::fer::FaceAnalyzer& analyzer) {
    minidnn::viz::Font font;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      // Past its deadline: its client is told 503 (by the handler's wait, or by this answer when it
      // comes first, the two racing at the deadline).
      if (Clock::now() > job->deadline) {
        job->result.set_exception(std::make_exception_ptr(
            RequestError(503, "timeout", "the analysis did not finish within the time limit (--timeout)")));
        continue;
      }
      ++busy_;
      try {
        job->result.set_value(run(analyzer, font, *job));
      } catch (...) {
        job->result.set_exception(std::current_exception());
      }
      --busy_;
    }
  }

  static Analysis run(minidnn::fer::FaceAnalyzer& analyzer, const minidnn::viz::Font& font, Job& job) {
    const auto start = Clock::now();
    const vision::Image image = serve::decode_upload(job.bytes);
    job.bytes = std::string();
    const vision::GreyImage grey = vision::to_grey(image);
    Analysis out;
    out.width = image.width;
    out.height = image.height;
    out.faces = analyzer.analyze(grey, job.options.detect);
    if (job.options.tta && !out.faces.empty()) {
      std::vector<vision::Box> boxes;
      for (const FaceResult& f : out.faces) boxes.push_back({grey.width - f.box.x - f.box.width, f.box.y, f.box.width, f.box.height});
      const std::vector<FaceResult> flipped = analyzer.classify(mirrored(grey), boxes);
      for (std::size_t i = 0; i < out.faces.size(); ++i)
        for (int c = 0; c < kClasses; ++c) out.faces[i].scores[c] = 0.5f * (out.faces[i].scores[c] + flipped[i].scores[c]);
    }
    if (job.annotate) out.png = annotate_png(image, out.faces, font);
    out.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return out;
  }

  std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Job>> jobs_;
  bool stopping_ = false;
  std::atomic<int> busy_{0};
  std::vector<std::thread> workers_;
};

// ---- metrics (Prometheus text format) -------------------------------------------------------

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  void count(const std::string& route, const std::string& method, int status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, method, status}];
  }
  void observe(const std::string& route, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    Histogram& h = latency_[route];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) h.buckets[i] += seconds <= kBuckets[i];
    ++h.count;
    h.sum += seconds;
  }
  void face(int emotion) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++faces_[static_cast<std::size_t>(emotion)];
  }

  std::string render(AnalyzerPool& pool) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream out;
    out << "# HELP fer_http_requests_total HTTP requests answered, by route, method and status.\n"
           "# TYPE fer_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out << "fer_http_requests_total{route=\"" << std::get<0>(key) << "\",method=\"" << std::get<1>(key)
          << "\",status=\"" << std::get<2>(key) << "\"} " << n << "\n";
    out << "# HELP fer_request_duration_seconds Time to answer an analyze or annotate request.\n"
           "# TYPE fer_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
      for (std::size_t i = 0; i < kBuckets.size(); ++i)
        out << "fer_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << kBuckets[i] << "\"} "
            << h.buckets[i] << "\n";
      out << "fer_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count << "\n"
          << "fer_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n"
          << "fer_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
    }
    out << "# HELP fer_faces_total Faces found, by top emotion.\n# TYPE fer_faces_total counter\n";
    for (int c = 0; c < kClasses; ++c)
      out << "fer_faces_total{emotion=\"" << lower_name(c) << "\"} " << faces_[static_cast<std::size_t>(c)] << "\n";
    out << "# HELP fer_queue_jobs Analysis jobs waiting for a worker.\n# TYPE fer_queue_jobs gauge\n"
        << "fer_queue_jobs " << pool.queued() << "\n"
        << "# HELP fer_queue_capacity Most jobs that may wait; more are answered 503.\n"
           "# TYPE fer_queue_capacity gauge\nfer_queue_capacity "
        << pool.queue_limit() << "\n"
        << "# HELP fer_workers_busy Workers analyzing now.\n# TYPE fer_workers_busy gauge\nfer_workers_busy "
        << pool.busy() << "\n"
        << "# HELP fer_workers Analysis workers.\n# TYPE fer_workers gauge\nfer_workers " << pool.threads() << "\n";
    return out.str();
  }

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::array<std::uint64_t, kClasses> faces_{};
};

// ---- HTTP -----------------------------------------------------------------------------------

const char* status_code_name(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 429: return "too_many_requests";
    case 503: return "unavailable";
    default: return status < 500 ? "client_error" : "server_error";
  }
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  if (status == 503 && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");  // busy or late: retry
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n", "application/json");
}

const std::vector<std::string> kGetRoutes = {"/", "/app.js", "/style.css", "/api/v1/model", "/healthz", "/metrics"};
const std::vector<std::string> kPostRoutes = {"/api/v1/analyze", "/api/v1/annotate"};

std::string route_label(const std::string& path) {
  for (const auto& r : kGetRoutes)
    if (r == path) return r;
  for (const auto& r : kPostRoutes)
    if (r == path) return r;
  return "other";
}

json model_info(const std::string& model_path, const std::string& cascade_path) {
  std::string metadata;
  auto model = minidnn::Model<float>::load(model_path, &metadata);
  json layers = json::array();
  for (std::size_t k = 1; k < model.size(); ++k) layers.push_back(model.describe(k));
  json classes = json::array();
  for (int c = 0; c < kClasses; ++c) classes.push_back(lower_name(c));
  // The validation accuracy of the last epoch trained: a checkpoint carries its history; a final
  // model has it in the history CSV that fer train wrote beside it.
  json accuracy = nullptr;
  auto take_history_row = [&](const std::string& row) {
    std::vector<std::string> f;
    std::stringstream in(row);
    for (std::string cell; std::getline(in, cell, ',');) f.push_back(cell);
    if (f.size() >= 5 && !f[0].empty() && std::isdigit(static_cast<unsigned char>(f[0][0])))
      accuracy = {{"epoch", std::atoi(f[0].c_str())}, {"val_accuracy", std::atof(f[4].c_str())},
                  {"accuracy", std::atof(f[2].c_str())}};
  };
  std::istringstream meta(metadata);
  for (std::string line; std::getline(meta, line);)
    if (line.rfind("history=", 0) == 0) take_history_row(line.substr(8));
  if (accuracy.is_null()) {
    fs::path history = fs::path(model_path);
    history.replace_extension(".history.csv");
    std::ifstream in(history);
    for (std::string line; std::getline(in, line);) take_history_row(line);
  }
  return {{"file", fs::path(model_path).filename().string()},
          {"input", model.input_shape().dims()},  // (1, 48, 48), or a --crop model's (1, 44, 44)
          {"layers", layers},
          {"parameters", model.parameter_count()},
          {"classes", classes},
          {"accuracy", accuracy},
          {"cascade", fs::path(cascade_path).filename().string()},
          {"summary", model.summary()}};
}

}  // namespace

int run_serve(int argc, char** argv) {
  Args args("fer serve",
            "fer serve [--model MODEL] [--host 127.0.0.1] [--port 8080] [--threads N] [--max-upload-mb 10] [--cascade FILE] [--tta none|flip|ten-crop]",
            "Serves the model over HTTP: a page for photos and the webcam at /, and the API\n"
            "POST /api/v1/analyze (JSON), POST /api/v1/annotate (PNG), GET /api/v1/model, /healthz, /metrics\n"
            "(docs/serving.md). Listens on loopback unless --host says otherwise; --port 0 picks a free\n"
            "port. The URL is printed once it listens. SIGTERM or Ctrl-C finish the requests in flight, then exit.");
  args.option("model", "FILE", "", "the trained model (default: $FER_MODEL, else the shipped models/fer_default.mdnn)")
      .option("cascade", "FILE", vision::kDebianFrontalFaceCascade, "OpenCV Haar cascade XML")
      .option("tta", "MODE", "none",
              "test-time augmentation: none, flip or ten-crop (as fer predict), probabilities averaged")
      .option("host", "ADDR", "127.0.0.1", "address to listen on (0.0.0.0: every interface)")
      .option("port", "N", "8080", "TCP port (0: any free port)")
      .option("threads", "N", "", "analysis workers (default: the cores, at most 8)")
      .option("queue", "N", "", "analysis jobs that may wait for a worker (default 4 per worker); more get 503")
      .option("max-upload-mb", "MB", "10", "largest request body accepted; larger ones get 413")
      .option("timeout", "SECONDS", "20", "time limit of one analysis request, queue included; then 503")
      .option("read-timeout", "SECONDS", "10", "a client that sends nothing for this long is disconnected");
  if (!args.parse(argc, argv, 2)) return 0;
  const std::string model_path = resolve_model_path(args, "fer serve");
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = args.has("threads") ? args.get_int("threads", 1, 256) : std::min(hardware, 8);
  const int queue = args.has("queue") ? args.get_int("queue", 1, 100000) : 4 * threads;
  const int port = args.get_int("port", 0, 65535);
  const double max_upload_mb = args.get_double("max-upload-mb", 0.001, 1024);
  const std::size_t max_upload = static_cast<std::size_t>(max_upload_mb * 1024 * 1024);
  const auto time_limit = std::chrono::milliseconds(static_cast<long>(1000 * args.get_double("timeout", 0.001, 3600)));
  const double read_timeout = args.get_double("read-timeout", 0.05, 3600);
  const std::string host = args.get("host");
  const std::string cascade_path = args.get("cascade");
  minidnn::TestTimeAugmentation tta;
  try {
    tta = minidnn::parse_test_time_augmentation(args.get("tta"));
  } catch (const minidnn::Error& e) {
    throw UsageError(std::string("fer serve: --tta: ") + e.what());
  }

  // SIGTERM and SIGINT go to one thread (blocked here, before any thread starts, so every
  // thread inherits the mask), which stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the server

  const json info = model_info(model_path, cascade_path);
  AnalyzerPool pool(model_path, cascade_path, threads, static_cast<std::size_t>(queue), tta);
  Metrics metrics;
  std::atomic<bool> stopping{false};

  httplib::Server server;
  const int connection_threads = std::max(16, 4 * threads);
  server.new_task_queue = [connection_threads] { return new httplib::ThreadPool(static_cast<std::size_t>(connection_threads)); };
  const auto read_s = static_cast<time_t>(read_timeout);
  const auto read_us = static_cast<time_t>((read_timeout - static_cast<double>(read_s)) * 1e6);
  server.set_read_timeout(read_s, read_us);
  server.set_write_timeout(10, 0);
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(1000);
  server.set_payload_max_length(max_upload);
  server.set_tcp_nodelay(true);

  // Counted just before the answer is written (httplib's logger runs after it, so a client could
  // read /metrics before its own last request was counted).
  server.set_post_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    metrics.count(route_label(req.path), req.method, res.status);
  });
  // Errors httplib answers itself (404, a malformed request, ...) get the same JSON shape.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const std::string message = res.status == 404   ? "no such page or endpoint (see docs/serving.md)"
                                    : res.status == 413 ? "the body is larger than this server accepts (--max-upload-mb)"
                                    : res.status == 414 ? "the request line is too long"
                                                        : "the request could not be read as HTTP/1.1";
        send_error(res, res.status, status_code_name(res.status), message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
    std::fprintf(stderr, "fer serve: internal error: %s\n", what.c_str());
    send_error(res, 500, "internal", "internal error: " + what);
  });

  // The page.
  for (const auto& asset : serve_assets()) {
    server.Get(asset.path, [asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_content(asset.content.data(), asset.content.size(), asset.content_type);
    });
  }
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    res.status = stopping ? 503 : 200;
    res.set_content(json{{"status", stopping ? "stopping" : "ok"}, {"workers", pool.threads()},
                         {"queued", pool.queued()}}.dump() + "\n",
                    "application/json");
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(pool), "text/plain; version=0.0.4");
  });
  server.Get("/api/v1/model", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(info.dump(1) + "\n", "application/json");
  });

  auto analyze = [&](bool annotate) {
    return [&, annotate](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
      const auto start = Clock::now();
      const char* route = annotate ? "/api/v1/annotate" : "/api/v1/analyze";
      try {
        if (stopping) throw RequestError(503, "stopping", "the server is shutting down");
        // 413 from the declared length, before a byte of the body is read.
        if (req.has_header("Content-Length")) {
          const std::string length = req.get_header_value("Content-Length");
          if (length.size() > 15 || std::strtoull(length.c_str(), nullptr, 10) > max_upload) {
            res.set_header("Connection", "close");
            throw RequestError(413, "payload_too_large",
                               "the body is " + length + " bytes; this server accepts at most " +
                                   std::to_string(max_upload) + " (--max-upload-mb)");
          }
        }
        std::string bytes;
        bool too_large = false;
        auto collect = [&](const char* data, std::size_t n) {
          if (bytes.size() + n > max_upload) {
            too_large = true;
            return false;
          }
          bytes.append(data, n);
          return true;
        };
        serve::BodyKind kind;
        try {
          kind = serve::body_kind(req.get_header_value("Content-Type"));
        } catch (const RequestError&) {
          reader([](const char*, std::size_t) { return true; });  // drain, so the connection stays usable
          throw;
        }
        bool read_ok;
        if (kind == serve::BodyKind::kRawImage) {
          read_ok = reader(collect);
        } else {
          int image_fields = 0;
          bool in_image = false;
          read_ok = reader(
              [&](const httplib::MultipartFormData& field) {
                in_image = field.name == "image";
                image_fields += in_image;
                return true;
              },
              [&](const char* data, std::size_t n) { return !in_image || image_fields > 1 || collect(data, n); });
          if (read_ok && image_fields == 0)
            throw RequestError(400, "missing_image", "the form has no field 'image' (send the photo as image=@photo.jpg)");
          if (read_ok && image_fields > 1)
            throw RequestError(400, "bad_request", "the form has more than one field 'image'; send one photo a request");
        }
        if (!read_ok) {
          res.set_header("Connection", "close");
          if (too_large || res.status == 413)
            throw RequestError(413, "payload_too_large",
                               "the body is larger than " + std::to_string(max_upload) + " bytes (--max-upload-mb)");
          throw RequestError(400, "bad_request", "the body could not be read (malformed multipart form or cut short)");
        }
        serve::QueryParams params(req.params.begin(), req.params.end());
        auto job = std::make_shared<Job>();
        job->options = serve::parse_analyze_options(params);
        serve::check_image_signature(bytes);
        job->bytes = std::move(bytes);
        job->annotate = annotate;
        job->deadline = start + time_limit;
        std::future<Analysis> result = job->result.get_future();
        if (!pool.submit(job)) {
          throw RequestError(503, "busy", "every worker is busy and the queue is full; retry shortly");
        }
        if (result.wait_until(job->deadline) != std::future_status::ready) {
          throw RequestError(503, "timeout", "the analysis did not finish within the time limit (--timeout)");
        }
        const Analysis analysis = result.get();
        for (const FaceResult& f : analysis.faces) metrics.face(f.emotion());
        if (annotate) {
          res.set_header("X-Faces", std::to_string(analysis.faces.size()));
          res.set_content(analysis.png, "image/png");
        } else {
          json faces = json::array();
          for (const FaceResult& f : analysis.faces) {
            json scores = json::object();
            for (int c = 0; c < kClasses; ++c) scores[lower_name(c)] = f.scores[c];
            faces.push_back({{"box", {{"x", f.box.x}, {"y", f.box.y}, {"w", f.box.width}, {"h", f.box.height}}},
                             {"emotion", lower_name(f.emotion())},
                             {"scores", scores}});
          }
          res.set_content(json{{"width", analysis.width},
                               {"height", analysis.height},
                               {"faces", faces},
                               {"model", info["file"]},
                               {"elapsed_ms", analysis.elapsed_ms}}.dump() + "\n",
                          "application/json");
        }
      } catch (const RequestError& e) {
        send_error(res, e.status, e.code, e.what());
      }
      metrics.observe(route, std::chrono::duration<double>(Clock::now() - start).count());
    };
  };
  server.Post("/api/v1/analyze", analyze(false));
  server.Post("/api/v1/annotate", analyze(true));

  // 405 with Allow for the wrong method on a known path.
  auto not_allowed = [](const char* allow) {
    return [allow](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allow);
      send_error(res, 405, "method_not_allowed", req.method + " is not allowed here; use " + allow);
    };
  };
  for (const auto& path : kGetRoutes) {
    server.Post(path, not_allowed("GET"));
    server.Put(path, not_allowed("GET"));
    server.Delete(path, not_allowed("GET"));
    server.Patch(path, not_allowed("GET"));
  }
  for (const auto& path : kPostRoutes) {
    server.Get(path, not_allowed("POST"));
    server.Put(path, not_allowed("POST"));
    server.Delete(path, not_allowed("POST"));
    server.Patch(path, not_allowed("POST"));
  }

  int bound_port = port;
  if (port == 0) bound_port = server.bind_to_any_port(host);
  else if (!server.bind_to_port(host, port)) bound_port = -1;
  if (bound_port <= 0)
    throw minidnn::Error("cannot listen on " + host + ":" + std::to_string(port) +
                         " (in use, or not an address of this machine)");

  std::atomic<bool> exiting{false};
  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (exiting) return;  // woken by the exit path below
    stopping = true;
    std::fprintf(stderr, "fer serve: %s: finishing the requests in flight, then exiting\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGINT");
    // listen_after_bind may not have started yet; stop() only acts once it runs.
    while (!server.is_running() && !exiting) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
  });

  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::printf("fer serve: %d worker%s, model %s\nfer serve: listening on http://%s:%d/\n", threads,
              threads == 1 ? "" : "s", model_path.c_str(), shown_host.c_str(), bound_port);
  std::fflush(stdout);
  const bool listened = server.listen_after_bind();
  if (!stopping) {  // listen ended by itself: wake the waiter so it can be joined
    exiting = true;
    pthread_kill(signal_waiter.native_handle(), SIGTERM);
  }
  signal_waiter.join();
  pool.stop();
  std::printf("fer serve: stopped\n");
  return listened || stopping ? 0 : 1;
}

}  // namespace fer
