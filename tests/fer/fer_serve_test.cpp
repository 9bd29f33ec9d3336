// fer serve from the outside: a real server on a free loopback port, driven over HTTP (httplib's
// client, and raw sockets for what a well-behaved client never sends).
#include <catch2/catch.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <stb_image.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFaces = minidnn::test::shared_dir() / "data" / "faces";

std::string run(const std::string& command, int* exit_code = nullptr) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

// A server closing a connection must not kill the test with SIGPIPE.
const bool kSigpipeIgnored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

fs::path trained_model() {
  static const fs::path dir = minidnn::test::scratch_dir("fer_serve_model");
  static bool trained = false;
  if (!trained) {
    int code = 0;
    const std::string out = run("cd '" + dir.string() + "' && '" FER_BINARY
                                "' train --model small --epochs 1 --batch 64 --train-rows 300 --val-rows 70 --out m.mdnn",
                                &code);
    INFO(out);
    REQUIRE(code == 0);
    trained = true;
  }
  return dir / "m.mdnn";
}

// A `fer serve` child process on a free port; stopped (SIGTERM, then waited for) on destruction.
class Server {
 public:
  explicit Server(const std::string& options = "") {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      const std::string command = "exec '" FER_BINARY "' serve --model '" + trained_model().string() +
                                  "' --port 0 --threads 2 " + options;
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    char line[512];
    while (std::fgets(line, sizeof line, out_)) {
      const std::string text = line;
      if (const auto at = text.find("http://127.0.0.1:"); at != std::string::npos) {
        port_ = std::stoi(text.substr(at + 17));
        break;
      }
    }
    REQUIRE(port_ > 0);
  }
  ~Server() {
    if (pid_ > 0) stop();
    if (out_) std::fclose(out_);
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }

  /// SIGTERM, then the exit code (-1 if it did not exit within `seconds`; it is then killed).
  int stop(double seconds = 30) {
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
};

// A raw TCP connection, for requests httplib's client would not send.
struct RawConnection {
  explicit RawConnection(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawConnection() { ::close(fd); }
  void send(const std::string& bytes) const { REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())); }
  // Everything the server sends until it closes or `seconds` pass; `closed` tells which.
  std::string receive(double seconds, bool* closed) const {
    std::string got;
    *closed = false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return got;
  }
  int fd;
};

json parse(const std::string& body) {
  INFO(body);
  REQUIRE(json::accept(body));
  return json::parse(body);
}

// The error JSON: {"error":{"code","message"}} with the expected status and code.
void check_error(const httplib::Result& r, int status, const std::string& code) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  const json j = parse(r->body);
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["code"] == code);
  CHECK(!j["error"]["message"].get<std::string>().empty());
}

httplib::Result post_multipart(httplib::Client& c, const std::string& path, const std::string& bytes,
                               const std::string& field = "image") {
  httplib::MultipartFormDataItems items = {{field, bytes, "photo.jpg", "image/jpeg"}};
  return c.Post(path.c_str(), items);
}

double iou(const std::array<int, 4>& a, const std::array<int, 4>& b) {
  const int x0 = std::max(a[0], b[0]), y0 = std::max(a[1], b[1]);
  const int x1 = std::min(a[0] + a[2], b[0] + b[2]), y1 = std::min(a[1] + a[3], b[1] + b[3]);
  const double inter = std::max(0, x1 - x0) * static_cast<double>(std::max(0, y1 - y0));
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

const char* kClasses[] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};

// The faces of `fer predict --json` on one photo: boxes and probabilities.
json predict_json(const fs::path& photo) {
  const auto dir = minidnn::test::scratch_dir("fer_serve_predict");
  int code = 0;
  const std::string out = run("cd '" + dir.string() + "' && '" FER_BINARY "' predict --json --model '" +
                                  trained_model().string() + "' '" + photo.string() + "'",
                              &code);
  INFO(out);
  REQUIRE(code == 0);
  return parse(out.substr(out.find('[')))[0]["faces"];
}

// Same faces, same order, same scores (fer predict prints 6 significant digits).
void check_same_faces(const json& served, const json& predicted) {
  REQUIRE(served.size() == predicted.size());
  for (std::size_t i = 0; i < served.size(); ++i) {
    const json& s = served[i];
    const json& p = predicted[i];
    CHECK(s["box"]["x"] == p["box"][0]);
    CHECK(s["box"]["y"] == p["box"][1]);
    CHECK(s["box"]["w"] == p["box"][2]);
    CHECK(s["box"]["h"] == p["box"][3]);
    int k = 0;
    for (const auto& [name, value] : p["probabilities"].items()) {
      std::string lower = name;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      CHECK(s["scores"][lower].get<double>() == Approx(value.get<double>()).epsilon(1e-5).margin(1e-6));
      ++k;
    }
    CHECK(k == 7);
    CHECK(s["emotion"].get<std::string>() ==
          [&] {
            int best = 0;
            for (int c = 1; c < 7; ++c)
              if (s["scores"][kClasses[c]].get<double>() > s["scores"][kClasses[best]].get<double>()) best = c;
            return std::string(kClasses[best]);
          }());
  }
}

}  // namespace

TEST_CASE("fer serve: bbt4.jpg gives OpenCV's six faces and fer predict's scores", "[fer][serve]") {
  Server server;
  auto c = server.client();
  const std::string photo = minidnn::test::read_file(kFaces / "bbt4.jpg");
  const json predicted = predict_json(kFaces / "bbt4.jpg");

  const auto multipart = post_multipart(c, "/api/v1/analyze", photo);
  REQUIRE(multipart);
  INFO(multipart->body);
  REQUIRE(multipart->status == 200);
  const json answer = parse(multipart->body);
  CHECK(answer["width"] == 710);
  CHECK(answer["height"] == 473);
  CHECK(answer["model"] == "m.mdnn");
  CHECK(answer["elapsed_ms"].get<double>() > 0);
  const json& faces = answer["faces"];
  REQUIRE(faces.size() == 6);

  // Every OpenCV box has a served box with IoU >= 0.9.
  const json reference = parse(minidnn::test::read_file(kFaces / "opencv_reference.json"))["detections"]["bbt4.jpg"];
  REQUIRE(reference.size() == 6);
  for (const json& r : reference) {
    double best = 0;
    for (const json& f : faces)
      best = std::max(best, iou({r[0], r[1], r[2], r[3]}, {f["box"]["x"], f["box"]["y"], f["box"]["w"], f["box"]["h"]}));
    CHECK(best >= 0.9);
  }
  check_same_faces(faces, predicted);

  // The raw body gives the same answer.
  const auto raw = c.Post("/api/v1/analyze", photo, "image/jpeg");
  REQUIRE(raw);
  REQUIRE(raw->status == 200);
  CHECK(parse(raw->body)["faces"] == faces);

  // The annotated PNG: the photo's size, six faces.
  const auto png = post_multipart(c, "/api/v1/annotate", photo);
  REQUIRE(png);
  REQUIRE(png->status == 200);
  CHECK(png->get_header_value("Content-Type") == "image/png");
  CHECK(png->get_header_value("X-Faces") == "6");
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png->body.data()),
                                                static_cast<int>(png->body.size()), &w, &h, &channels, 3);
  REQUIRE(pixels != nullptr);
  stbi_image_free(pixels);
  CHECK(w == 710);
  CHECK(h == 473);

  // Options: min_size larger than every face finds none; tta averages with the mirror image.
  const auto big = c.Post("/api/v1/analyze?min_size=300", photo, "image/jpeg");
  REQUIRE(big);
  CHECK(big->status == 200);
  CHECK(parse(big->body)["faces"].empty());
  const auto tta = c.Post("/api/v1/analyze?tta=true&min_neighbors=3&scale_factor=1.1", photo, "image/jpeg");
  REQUIRE(tta);
  REQUIRE(tta->status == 200);
  const json tta_faces = parse(tta->body)["faces"];
  REQUIRE(tta_faces.size() == 6);
  double total = 0;
  for (const char* k : kClasses) total += tta_faces[0]["scores"][k].get<double>();
  CHECK(total == Approx(1.0).epsilon(1e-5));
  CHECK(tta_faces[0]["box"] == faces[0]["box"]);
}

TEST_CASE("fer serve: model, health and metrics", "[fer][serve]") {
  Server server;
  auto c = server.client();
  const auto model = c.Get("/api/v1/model");
  REQUIRE(model);
  REQUIRE(model->status == 200);
  const json info = parse(model->body);
  CHECK(info["classes"] == json(std::vector<std::string>(std::begin(kClasses), std::end(kClasses))));
  CHECK(info["parameters"].get<long>() > 1000);
  CHECK(info["input"] == json({1, 48, 48}));
  CHECK(info["layers"].size() > 3);
  // fer train wrote m.history.csv beside the model: its last epoch's validation accuracy.
  std::ifstream history(trained_model().parent_path() / "m.history.csv");
  std::string line, last;
  while (std::getline(history, line)) last = line;
  REQUIRE(info["accuracy"].is_object());
  CHECK(info["accuracy"]["epoch"] == 1);
  std::vector<std::string> fields;  // epoch,loss,accuracy,val_loss,val_accuracy,seconds
  std::stringstream row(last);
  for (std::string cell; std::getline(row, cell, ',');) fields.push_back(cell);
  REQUIRE(fields.size() == 6);
  CHECK(info["accuracy"]["val_accuracy"].get<double>() == Approx(std::stod(fields[4])));

  const auto health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(parse(health->body)["status"] == "ok");

  const auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type").rfind("text/html", 0) == 0);
  CHECK(page->body.find("app.js") != std::string::npos);
  for (const char* asset : {"/app.js", "/style.css"}) {
    const auto r = c.Get(asset);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.size() > 100);
  }

  c.Post("/api/v1/analyze", minidnn::test::read_file(kFaces / "face_rectangular.png"), "image/png");
  c.Get("/nope");
  const auto metrics = c.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  const std::string& m = metrics->body;
  INFO(m);
  CHECK(m.find("# TYPE fer_http_requests_total counter") != std::string::npos);
  CHECK(m.find("fer_http_requests_total{route=\"/api/v1/analyze\",method=\"POST\",status=\"200\"} 1\n") != std::string::npos);
  CHECK(m.find("fer_http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 1\n") != std::string::npos);
  CHECK(m.find("fer_request_duration_seconds_count{route=\"/api/v1/analyze\"} 1\n") != std::string::npos);
  CHECK(m.find("fer_request_duration_seconds_bucket{route=\"/api/v1/analyze\",le=\"+Inf\"} 1\n") != std::string::npos);
  CHECK(m.find("fer_workers 2\n") != std::string::npos);
}

TEST_CASE("fer serve: every bad request gets its status and a JSON error, never 500", "[fer][serve]") {
  Server server("--max-upload-mb 1 --read-timeout 0.5");
  auto c = server.client();
  const std::string photo = minidnn::test::read_file(kFaces / "face_rectangular.png");

  check_error(c.Get("/no/such/page"), 404, "not_found");
  check_error(c.Get("/../../etc/passwd"), 404, "not_found");
  const auto get_analyze = c.Get("/api/v1/analyze");
  check_error(get_analyze, 405, "method_not_allowed");
  CHECK(get_analyze->get_header_value("Allow") == "POST");
  check_error(c.Post("/healthz", "", "text/plain"), 405, "method_not_allowed");
  check_error(c.Delete("/api/v1/model"), 405, "method_not_allowed");

  for (const char* query : {"?min_neighbors=x", "?min_neighbors=-1", "?min_neighbors=2.5", "?scale_factor=1",
                            "?scale_factor=nan", "?min_size=99999", "?tta=maybe", "?colour=red",
                            "?min_neighbors=1&min_neighbors=2"})
    check_error(c.Post((std::string("/api/v1/analyze") + query).c_str(), photo, "image/png"), 400, "bad_parameter");
  check_error(post_multipart(c, "/api/v1/analyze", photo, "picture"), 400, "missing_image");
  check_error(c.Post("/api/v1/analyze", "", "image/png"), 400, "missing_image");
  check_error(c.Post("/api/v1/analyze", photo.substr(0, 200), "image/png"), 400, "bad_image");
  std::string corrupt = minidnn::test::read_file(kFaces / "bbt4.jpg");
  corrupt.resize(corrupt.size() / 3);
  check_error(c.Post("/api/v1/annotate", corrupt, "image/jpeg"), 400, "bad_image");
  check_error(c.Post("/api/v1/analyze", "hello", "text/plain"), 415, "unsupported_media_type");
  check_error(c.Post("/api/v1/analyze", "GIF89a....", "image/gif"), 415, "not_an_image");
  check_error(post_multipart(c, "/api/v1/analyze", "just some text"), 415, "not_an_image");

  // 413 from the declared length, before the body is sent.
  {
    RawConnection raw(server.port());
    raw.send("POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 5000000000\r\n\r\n");
    bool closed = false;
    const std::string answer = raw.receive(5, &closed);
    CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(answer.find("payload_too_large") != std::string::npos);
  }
  // A half-sent request is answered 400 once the read timeout (0.5 s here) passes, and closed
  // (httplib closes it after its 5 s keep-alive wait); others are served meanwhile.
  {
    RawConnection raw(server.port());
    raw.send("POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\nabc");
    const auto ok = c.Post("/api/v1/analyze", photo, "image/png");
    REQUIRE(ok);
    CHECK(ok->status == 200);
    bool closed = false;
    const std::string answer = raw.receive(3, &closed);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(answer.find("bad_request") != std::string::npos);
    raw.receive(10, &closed);
    CHECK(closed);
  }
  // Garbage instead of HTTP.
  {
    RawConnection raw(server.port());
    raw.send("\x01\x02 not http at all\r\n\r\n");
    bool closed = false;
    const std::string answer = raw.receive(5, &closed);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  }
  // After all that, the server still answers.
  const auto health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(server.stop() == 0);
}

TEST_CASE("fer serve: a full queue answers 503 at once, a late answer 503 timeout", "[fer][serve]") {
  const std::string photo = minidnn::test::read_file(kFaces / "bbt4.jpg");
  {
    Server server("--threads 1 --queue 1");
    std::vector<int> statuses(8, 0);
    std::vector<std::string> codes(8);
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
      clients.emplace_back([&, i] {
        auto c = server.client();
        const auto r = c.Post("/api/v1/analyze", photo, "image/jpeg");
        if (!r) return;
        statuses[static_cast<std::size_t>(i)] = r->status;
        if (r->status != 200 && json::accept(r->body)) codes[static_cast<std::size_t>(i)] = json::parse(r->body)["error"]["code"];
      });
    for (auto& t : clients) t.join();
    int ok = 0, busy = 0;
    for (int i = 0; i < 8; ++i) {
      ok += statuses[static_cast<std::size_t>(i)] == 200;
      busy += statuses[static_cast<std::size_t>(i)] == 503 && codes[static_cast<std::size_t>(i)] == "busy";
    }
    CHECK(ok >= 1);
    CHECK(busy >= 1);
    CHECK(ok + busy == 8);
  }
  {
    Server server("--timeout 0.001");
    auto c = server.client();
    const auto r = c.Post("/api/v1/analyze", photo, "image/jpeg");
    check_error(r, 503, "timeout");
    CHECK(r->get_header_value("Retry-After") == "1");
  }
}

TEST_CASE("fer serve: 8 clients x 20 requests at once all get the right answer", "[fer][serve]") {
  Server server;
  const std::string photo = minidnn::test::read_file(kFaces / "face_rectangular.png");
  auto c0 = server.client();
  const auto first = c0.Post("/api/v1/analyze", photo, "image/png");
  REQUIRE(first);
  REQUIRE(first->status == 200);
  const json expected = parse(first->body)["faces"];
  REQUIRE(expected.size() == 1);

  std::atomic<int> right{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&] {
      auto c = server.client();
      for (int k = 0; k < 20; ++k) {
        const auto r = k % 2 ? c.Post("/api/v1/analyze", photo, "image/png")
                             : c.Post("/api/v1/analyze", httplib::MultipartFormDataItems{{"image", photo, "f.png", "image/png"}});
        const bool good = r && r->status == 200 && json::accept(r->body) && json::parse(r->body)["faces"] == expected;
        (good ? right : wrong)++;
      }
    });
  for (auto& t : clients) t.join();
  CHECK(right == 160);
  CHECK(wrong == 0);
  const auto metrics = c0.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("fer_http_requests_total{route=\"/api/v1/analyze\",method=\"POST\",status=\"200\"} 161\n") !=
        std::string::npos);
}

TEST_CASE("fer serve: SIGTERM lets the requests in flight finish, then exits 0", "[fer][serve]") {
  Server server;
  const std::string photo = minidnn::test::read_file(kFaces / "bbt4.jpg");
  std::vector<int> statuses(4, 0);
  std::vector<std::size_t> faces(4, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      auto c = server.client();
      const auto r = c.Post("/api/v1/analyze", photo, "image/jpeg");
      if (!r) return;
      statuses[static_cast<std::size_t>(i)] = r->status;
      if (r->status == 200) faces[static_cast<std::size_t>(i)] = json::parse(r->body)["faces"].size();
    });
  // Wait until all four are in the server (two analyzing, two queued), then stop it.
  auto c = server.client();
  for (int tries = 0; tries < 500; ++tries) {
    const auto m = c.Get("/metrics");
    if (m && m->body.find("fer_workers_busy 2\n") != std::string::npos &&
        m->body.find("fer_queue_jobs 2\n") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int port = server.port();
  const int exit_code = server.stop();
  for (auto& t : clients) t.join();
  CHECK(exit_code == 0);
  for (int i = 0; i < 4; ++i) {
    CHECK(statuses[static_cast<std::size_t>(i)] == 200);
    CHECK(faces[static_cast<std::size_t>(i)] == 6);
  }
  // Nothing listens any more.
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  CHECK(!after.Get("/healthz"));
}
