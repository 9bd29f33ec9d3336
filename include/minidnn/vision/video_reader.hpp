#pragma once
/// \file
/// VideoReader: the frames of a video file (any container and codec FFmpeg reads) as RGB images
/// with their times, through FFmpeg's libraries (libavformat, libavcodec, libswscale). Requires
/// linking `minidnn::ffmpeg` (Debian's libavformat-dev, libavcodec-dev, libswscale-dev).
///
///     VideoReader video("clip.mp4");
///     VideoFrame frame;
///     while (video.read(frame)) use(frame.rgb, frame.time);
///     if (!video.error().empty()) warn(video.error());  // frames before the error were read
///
/// Bad input never crashes: a file FFmpeg cannot open, one without a video stream (audio only),
/// or frames over the pixel limit throw an Error naming the file at construction; a decoding
/// error mid-stream ends `read` and leaves its message, with the frame time, in `error()`. The
/// same reader works on bytes in memory (a custom AVIOContext), which is what the fuzz target
/// calls.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "minidnn/core/error.hpp"
#include "minidnn/vision/image.hpp"

namespace minidnn::vision {

/// FFmpeg's message for an error code.
inline std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

/// What a video stream says about itself before decoding.
struct VideoInfo {
  int width = 0, height = 0;
  double fps = 0;               ///< average frame rate (0 if unknown)
  double duration = 0;          ///< seconds (0 if unknown)
  long long frame_estimate = 0; ///< frames the container declares, else duration x fps (0 if unknown)
  std::string codec, container;
  bool has_audio = false;
  AVRational time_base{1, 1};   ///< of the video stream's timestamps
  AVRational frame_rate{0, 1};
};

/// One decoded frame: its pixels (RGB, 3 channels) and when it is shown.
struct VideoFrame {
  Image rgb;
  long long index = 0;      ///< 0, 1, 2, ... in display order
  double time = 0;          ///< seconds from the stream's start
  std::int64_t pts = 0;     ///< presentation timestamp in info().time_base
  std::int64_t duration = 0;///< in info().time_base (0 if unknown)
};

struct VideoReaderOptions {
  long long max_pixels = 1LL << 26;  ///< the image limit (load_image's): larger frames are refused
  int threads = 0;                   ///< decoder threads (0: FFmpeg chooses)
  bool strict = true;                ///< report bitstream damage instead of concealing it
};

class VideoReader {
 public:
  /// Opens `path`; see the file comment for what throws.
  explicit VideoReader(const std::string& path, const VideoReaderOptions& options = {}) : name_(path), options_(options) {
    quiet_logs();
    open([&](AVFormatContext** format) { return avformat_open_input(format, path.c_str(), nullptr, nullptr); });
  }

  /// Reads a video held in memory (`data` must outlive the reader); `name` names it in messages.
  VideoReader(const void* data, std::size_t size, std::string name, const VideoReaderOptions& options = {})
      : name_(std::move(name)), options_(options), memory_{static_cast<const std::uint8_t*>(data), size, 0} {
    quiet_logs();
    open([&](AVFormatContext** format) {
      constexpr int kBufferSize = 1 << 16;
      auto* buffer = static_cast<unsigned char*>(av_malloc(kBufferSize));
      if (!buffer) return AVERROR(ENOMEM);
      io_ = avio_alloc_context(buffer, kBufferSize, 0, &memory_, &Memory::read, nullptr, &Memory::seek);
      if (!io_) {
        av_free(buffer);
        return AVERROR(ENOMEM);
      }
      *format = avformat_alloc_context();
      if (!*format) return AVERROR(ENOMEM);
      (*format)->pb = io_;
      (*format)->flags |= AVFMT_FLAG_CUSTOM_IO;
      return avformat_open_input(format, name_.c_str(), nullptr, nullptr);
    });
  }

  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;
  ~VideoReader() { close(); }

  const VideoInfo& info() const { return info_; }
  const std::string& name() const { return name_; }
  /// Why reading stopped early ("" after a clean end): the decoding error and the frame time.
  const std::string& error() const { return error_; }
  long long frames_read() const { return next_index_; }

  /// The next frame in display order; false at the end of the stream or after a decoding error.
  bool read(VideoFrame& frame) {
    if (done_) return false;
    for (;;) {
      const int received = avcodec_receive_frame(codec_, decoded_);
      if (received == 0) {
        const bool ok = convert(frame);
        av_frame_unref(decoded_);
        if (!ok) return stop();
        return true;
      }
      if (received == AVERROR_EOF) return stop();
      if (received != AVERROR(EAGAIN)) return stop(decode_failure("decoding", received));
      if (flushing_) return stop();
      // The decoder wants more input: the next packet of the video stream.
      const int read = av_read_frame(format_, packet_);
      if (read == AVERROR_EOF || (read < 0 && avio_feof(format_->pb))) {
        flushing_ = true;
        avcodec_send_packet(codec_, nullptr);
        continue;
      }
      if (read < 0) return stop(decode_failure("reading", read));
      if (packet_->stream_index == stream_index_) {
        const std::int64_t packet_pts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
        const int sent = avcodec_send_packet(codec_, packet_);
        av_packet_unref(packet_);
        if (sent < 0 && sent != AVERROR(EAGAIN)) return stop(decode_failure("decoding", sent, packet_pts));
      } else {
        av_packet_unref(packet_);
      }
    }
  }

 private:
  struct Memory {
    const std::uint8_t* data;
    std::size_t size, position;
    static int read(void* opaque, std::uint8_t* buffer, int capacity) {
      auto* m = static_cast<Memory*>(opaque);
      const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(capacity), m->size - m->position);
      if (n == 0) return AVERROR_EOF;
      std::memcpy(buffer, m->data + m->position, n);
      m->position += n;
      return static_cast<int>(n);
    }
    static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
      auto* m = static_cast<Memory*>(opaque);
      if (whence & AVSEEK_SIZE) return static_cast<std::int64_t>(m->size);
      std::int64_t base = 0;
      switch (whence & ~AVSEEK_FORCE) {
        case SEEK_SET: base = 0; break;
        case SEEK_CUR: base = static_cast<std::int64_t>(m->position); break;
        case SEEK_END: base = static_cast<std::int64_t>(m->size); break;
        default: return -1;
      }
      if (offset > static_cast<std::int64_t>(m->size) - base || offset < -base) return -1;
      m->position = static_cast<std::size_t>(base + offset);
      return static_cast<std::int64_t>(m->position);
    }
  };

  static void quiet_logs() {
    // FFmpeg's own lines would mix with fer's output; its errors come back as codes, reported here.
    if (av_log_get_level() > AV_LOG_FATAL) av_log_set_level(AV_LOG_FATAL);
  }

  template <typename OpenInput>
  void open(OpenInput open_input) {
    try {
      const int opened = open_input(&format_);
      if (opened < 0) {
        format_ = nullptr;  // avformat_open_input frees the context it fails on
        fail(name_, ": not a video FFmpeg can read (", av_error_text(opened), ")");
      }
      if (const int found = avformat_find_stream_info(format_, nullptr); found < 0)
        fail(name_, ": not a video FFmpeg can read (", av_error_text(found), ")");
      const AVCodec* decoder = nullptr;
      stream_index_ = av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
      for (unsigned i = 0; i < format_->nb_streams; ++i)
        info_.has_audio |= format_->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
      if (stream_index_ == AVERROR_STREAM_NOT_FOUND)
        fail(name_, info_.has_audio ? ": has no video stream (audio only)" : ": has no video stream");
      if (stream_index_ < 0 || !decoder)
        fail(name_, ": no decoder for its video stream (", avcodec_get_name(format_->streams[std::max(stream_index_, 0)]->codecpar->codec_id), ")");
      AVStream* stream = format_->streams[stream_index_];
      const AVCodecParameters* par = stream->codecpar;
      info_.container = format_->iformat->name;
      info_.codec = avcodec_get_name(par->codec_id);
      if (par->codec_id == AV_CODEC_ID_ANSI || par->codec_id == AV_CODEC_ID_TEXT || info_.container == "tty")
        fail(name_, ": not a video (FFmpeg reads it as text)");
      check_size(par->width, par->height);
      info_.width = par->width;
      info_.height = par->height;
      info_.time_base = stream->time_base;
      info_.frame_rate = stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
      info_.fps = info_.frame_rate.num > 0 && info_.frame_rate.den > 0 ? av_q2d(info_.frame_rate) : 0;
      if (stream->duration != AV_NOPTS_VALUE) info_.duration = stream->duration * av_q2d(stream->time_base);
      else if (format_->duration != AV_NOPTS_VALUE) info_.duration = format_->duration / double(AV_TIME_BASE);
      info_.frame_estimate = stream->nb_frames > 0 ? stream->nb_frames : static_cast<long long>(info_.duration * info_.fps + 0.5);
      start_pts_ = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;

      codec_ = avcodec_alloc_context3(decoder);
      if (!codec_) fail(name_, ": out of memory");
      if (avcodec_parameters_to_context(codec_, par) < 0) fail(name_, ": bad video stream parameters");
      codec_->thread_count = options_.threads;
      if (options_.strict) codec_->err_recognition |= AV_EF_EXPLODE | AV_EF_CRCCHECK;
      codec_->pkt_timebase = stream->time_base;
      if (const int opened_codec = avcodec_open2(codec_, decoder, nullptr); opened_codec < 0)
        fail(name_, ": cannot decode its ", info_.codec, " video (", av_error_text(opened_codec), ")");
      packet_ = av_packet_alloc();
      decoded_ = av_frame_alloc();
      if (!packet_ || !decoded_) fail(name_, ": out of memory");
    } catch (...) {
      close();
      throw;
    }
  }

  void check_size(int width, int height) const {
    if (width <= 0 || height <= 0) fail(name_, ": its video stream has no frame size (", width, "x", height, ")");
    if (static_cast<long long>(width) * height > options_.max_pixels)
      fail(name_, ": its ", width, "x", height, " frames are over the ", options_.max_pixels, "-pixel image limit");
  }

  std::string time_text(std::int64_t pts) const {
    char text[64];
    const double seconds = pts == AV_NOPTS_VALUE ? last_time_ : (pts - start_pts_) * av_q2d(info_.time_base);
    std::snprintf(text, sizeof text, "%.3f s", seconds);
    return text;
  }

  std::string decode_failure(const char* what, int code, std::int64_t pts = AV_NOPTS_VALUE) const {
    return name_ + ": " + what + " error at " + time_text(pts) + ": " + av_error_text(code) + "; the " +
           std::to_string(next_index_) + " frames before it were read";
  }

  bool stop(std::string error = "") {
    done_ = true;
    if (error_.empty()) error_ = std::move(error);
    if (error_.empty() && next_index_ == 0) error_ = name_ + ": its video stream has no frames";
    return false;
  }

  bool convert(VideoFrame& frame) {
    const int width = decoded_->width, height = decoded_->height;
    if (static_cast<long long>(width) * height > options_.max_pixels || width <= 0 || height <= 0) {
      error_ = decode_failure("decoding", AVERROR_INVALIDDATA, decoded_->best_effort_timestamp) +
               " (a frame of " + std::to_string(width) + "x" + std::to_string(height) + ")";
      return false;
    }
    // Every frame comes out at the stream's declared size, as FFmpeg's command line does.
    scaler_ = sws_getCachedContext(scaler_, width, height, static_cast<AVPixelFormat>(decoded_->format), info_.width,
                                   info_.height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
    if (!scaler_) {
      error_ = decode_failure("converting", AVERROR(EINVAL), decoded_->best_effort_timestamp);
      return false;
    }
    // swscale's SIMD writes whole vectors, past the end of a row: it converts into FFmpeg's own
    // padded frame, and the rows are copied out (found by fuzzing: heap corruption at odd widths).
    if (!rgb_) {
      rgb_ = av_frame_alloc();
      if (!rgb_) return false;
      rgb_->format = AV_PIX_FMT_RGB24;
      rgb_->width = info_.width;
      rgb_->height = info_.height;
      if (av_frame_get_buffer(rgb_, 64) < 0) {
        error_ = name_ + ": out of memory for " + std::to_string(info_.width) + "x" + std::to_string(info_.height) + " frames";
        return false;
      }
    }
    sws_scale(scaler_, decoded_->data, decoded_->linesize, 0, height, rgb_->data, rgb_->linesize);
    if (frame.rgb.width != info_.width || frame.rgb.height != info_.height || frame.rgb.channels != 3)
      frame.rgb = Image(info_.width, info_.height, 3);
    for (int y = 0; y < info_.height; ++y)
      std::memcpy(frame.rgb.row(y), rgb_->data[0] + static_cast<std::ptrdiff_t>(y) * rgb_->linesize[0],
                  static_cast<std::size_t>(3) * info_.width);
    std::int64_t pts = decoded_->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = last_pts_ + std::max<std::int64_t>(last_duration_, 1);
    frame.index = next_index_++;
    frame.pts = pts;
    frame.duration = decoded_->pkt_duration;
    if (frame.duration <= 0 && info_.fps > 0)
      frame.duration = av_rescale_q(1, av_inv_q(info_.frame_rate), info_.time_base);
    frame.time = (pts - start_pts_) * av_q2d(info_.time_base);
    last_pts_ = pts;
    last_duration_ = frame.duration;
    last_time_ = frame.time;
    return true;
  }

  void close() {
    sws_freeContext(scaler_);
    scaler_ = nullptr;
    av_frame_free(&rgb_);
    av_frame_free(&decoded_);
    av_packet_free(&packet_);
    avcodec_free_context(&codec_);
    avformat_close_input(&format_);
    if (io_) {
      av_freep(&io_->buffer);
      avio_context_free(&io_);
    }
  }

  std::string name_;
  VideoReaderOptions options_;
  Memory memory_{nullptr, 0, 0};
  AVIOContext* io_ = nullptr;
  AVFormatContext* format_ = nullptr;
  AVCodecContext* codec_ = nullptr;
  AVPacket* packet_ = nullptr;
  AVFrame* decoded_ = nullptr;
  AVFrame* rgb_ = nullptr;  // the conversion's padded output
  SwsContext* scaler_ = nullptr;
  VideoInfo info_;
  int stream_index_ = -1;
  std::int64_t start_pts_ = 0, last_pts_ = 0, last_duration_ = 0;
  double last_time_ = 0;
  long long next_index_ = 0;
  bool flushing_ = false, done_ = false;
  std::string error_;
};

}  // namespace minidnn::vision
