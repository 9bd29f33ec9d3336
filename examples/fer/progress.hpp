#pragma once
// Training progress: on a terminal a bar per epoch, redrawn in place, with ETA, images/s and the
// running loss and accuracy; otherwise (a pipe, a log file) one plain line per epoch, and a plain
// progress line every `line_seconds` (10 s) within a long epoch, so a log never goes quiet.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <minidnn/model/training.hpp>

namespace fer {

inline std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buffer, sizeof buffer, "%ld:%02ld", s / 60, s % 60);
  return buffer;
}

class Progress {
 public:
  /// Construct right before training starts: the first epoch's clock starts here.
  explicit Progress(int epochs, int batch_size, double line_seconds = 10.0)
      : epochs_(epochs),
        batch_size_(batch_size),
        tty_(::isatty(1)),
        line_seconds_(line_seconds),
        epoch_start_(std::chrono::steady_clock::now()),
        last_line_(epoch_start_) {}

  void batch_done(const minidnn::BatchLogs& logs) {
    using clock = std::chrono::steady_clock;
    if (logs.epoch != current_epoch_) {
      current_epoch_ = logs.epoch;
      first_batch_ = logs.batch;  // not 0 when a resumed run starts mid-epoch
      started_ = true;
    }
    const auto now = clock::now();
    const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
    const int done = logs.batch - first_batch_ + 1;
    const int left = logs.batches - logs.batch - 1;
    const double per_batch = elapsed / done;
    const double images_per_second = done * batch_size_ / std::max(elapsed, 1e-9);
    if (!tty_) {
      if (std::chrono::duration<double>(now - last_line_).count() < line_seconds_ || left == 0) return;
      last_line_ = now;
      std::printf("Epoch %d/%d  batch %d/%d  ETA %s  %.0f img/s  loss %.4f  acc %.4f\n", logs.epoch + 1, epochs_,
                  logs.batch + 1, logs.batches, format_duration(left * per_batch).c_str(), images_per_second, logs.loss,
                  logs.accuracy);
      std::fflush(stdout);
      return;
    }
    constexpr int width = 28;
    const int filled = static_cast<int>(width * double(logs.batch + 1) / logs.batches);
    std::string bar(filled, '=');
    if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
    std::printf("\rEpoch %d/%d [%s] %d/%d  ETA %s  %.0f img/s  loss %.4f  acc %.4f \033[K", logs.epoch + 1, epochs_,
                bar.c_str(), logs.batch + 1, logs.batches, format_duration(left * per_batch).c_str(),
                images_per_second, logs.loss, logs.accuracy);
    std::fflush(stdout);
  }

  void epoch_done(const minidnn::EpochLogs& e, int samples) {
    if (tty_) std::printf("\r\033[K");
    std::printf("Epoch %d/%d  %s  %.0f img/s  loss %.4f  acc %.4f", e.epoch + 1, epochs_,
                format_duration(e.seconds).c_str(), samples / std::max(e.seconds, 1e-9), e.loss, e.accuracy);
    if (e.has_validation) std::printf("  val_loss %.4f  val_acc %.4f", e.val_loss, e.val_accuracy);
    std::printf("\n");
    std::fflush(stdout);
    started_ = false;
    epoch_start_ = last_line_ = std::chrono::steady_clock::now();
  }

  /// Ends a bar left open by an interrupted epoch.
  void interrupted() {
    if (tty_ && started_) std::printf("\n");
  }

 private:
  int epochs_, batch_size_;
  bool tty_;
  double line_seconds_;
  bool started_ = false;
  int current_epoch_ = -1, first_batch_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, last_line_;
};

}  // namespace fer
