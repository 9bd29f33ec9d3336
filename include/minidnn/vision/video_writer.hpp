#pragma once
/// \file
/// VideoWriter: RGB frames to a video file through FFmpeg's libraries, H.264 (libx264) when this
/// FFmpeg has the encoder and MPEG-4 part 2 (always built in) otherwise, each frame at the
/// timestamp it is given (so variable frame rates survive), optionally with the audio track of
/// another file copied in, interleaved as it goes. Requires linking `minidnn::ffmpeg`.
///
/// The file is written under a temporary name beside the target and renamed over it by
/// `finish()`, so the target is never half written; a writer destroyed unfinished removes it.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "minidnn/core/error.hpp"
#include "minidnn/vision/image.hpp"
#include "minidnn/vision/video_reader.hpp"

namespace minidnn::vision {

struct VideoWriterOptions {
  AVRational time_base{1, 25};  ///< of the timestamps given to write()
  AVRational frame_rate{25, 1}; ///< the nominal rate (a hint to the encoder and the container)
  std::string audio_from;       ///< a file whose first audio track is copied ("" for none)
  int crf = 20;                 ///< H.264 quality (lower is better)
  int threads = 0;              ///< encoder threads (0: FFmpeg chooses)
};

class VideoWriter {
 public:
  VideoWriter(const std::string& path, int width, int height, const VideoWriterOptions& options = {})
      : path_(path), temp_(temp_name(path)), width_(width), height_(height), options_(options) {
    if (av_log_get_level() > AV_LOG_FATAL) av_log_set_level(AV_LOG_FATAL);  // errors come back as codes
    try {
      open();
    } catch (...) {
      close();
      std::remove(temp_.c_str());
      throw;
    }
  }
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  ~VideoWriter() {
    close();
    if (!finished_) std::remove(temp_.c_str());
  }

  /// "libx264" or "mpeg4".
  std::string encoder() const { return encoder_name_; }
  bool copies_audio() const { return copies_audio_; }
  /// Why the audio track is not copied ("" when it is, or when none was asked for).
  const std::string& audio_note() const { return audio_note_; }

  /// Encodes one frame shown at `pts` for `duration` (both in options.time_base).
  void write(const Image& rgb, std::int64_t pts, std::int64_t duration) {
    if (rgb.width != width_ || rgb.height != height_ || rgb.channels != 3)
      fail(path_, ": frame of ", rgb.width, "x", rgb.height, "x", rgb.channels, " given to a ", width_, "x", height_,
           " RGB video");
    if (av_frame_make_writable(frame_) < 0) fail(path_, ": out of memory");
    // swscale's SIMD reads whole vectors past a row's end: the rows go through a padded frame.
    if (av_frame_make_writable(rgb_) < 0) fail(path_, ": out of memory");
    for (int y = 0; y < height_; ++y)
      std::memcpy(rgb_->data[0] + static_cast<std::ptrdiff_t>(y) * rgb_->linesize[0], rgb.row(y),
                  static_cast<std::size_t>(3) * width_);
    sws_scale(scaler_, rgb_->data, rgb_->linesize, 0, height_, frame_->data, frame_->linesize);
    const std::int64_t encoder_pts = av_rescale_q(pts, options_.time_base, encoder_->time_base);
    if (encoder_pts <= last_pts_) return;  // two input times that round to one encoder tick: keep the first
    last_pts_ = encoder_pts;
    frame_->pts = encoder_pts;
    durations_[encoder_pts] = av_rescale_q(duration, options_.time_base, encoder_->time_base);
    copy_audio_until(av_rescale_q(pts, options_.time_base, AVRational{1, AV_TIME_BASE}));
    encode(frame_);
  }

  /// Flushes the encoder, writes the rest of the audio and the trailer, and renames the file
  /// into place.
  void finish() {
    encode(nullptr);
    copy_audio_until(INT64_MAX);
    check(av_write_trailer(output_), "writing the trailer");
    close();
    std::error_code ec;
    std::filesystem::rename(temp_, path_, ec);
    if (ec) fail("cannot save to ", path_, ": rename failed: ", ec.message());
    finished_ = true;
  }

 private:
  static std::string temp_name(const std::string& path) {
    // The container comes from the extension, so the temporary name keeps it.
    const std::filesystem::path p(path);
    return (p.parent_path() / (p.stem().string() + ".tmp-" + std::to_string(::getpid()) + p.extension().string()))
        .string();
  }

  void check(int code, const char* step) const {
    if (code < 0) fail("cannot save to ", path_, ": ", step, " failed (", av_error_text(code), ")");
  }

  void open() {
    const AVOutputFormat* format = av_guess_format(nullptr, path_.c_str(), nullptr);
    if (!format) fail("cannot save to ", path_, ": no container for its extension (use .mp4, .mkv, .avi)");
    check(avformat_alloc_output_context2(&output_, format, nullptr, temp_.c_str()), "choosing the container");

    const AVCodec* codec = nullptr;
    if (avformat_query_codec(format, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) == 1)
      codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!codec) fail("cannot save to ", path_, ": this FFmpeg has neither libx264 nor an MPEG-4 encoder");
    encoder_name_ = codec->name;
    encoder_ = avcodec_alloc_context3(codec);
    if (!encoder_) fail("cannot save to ", path_, ": out of memory");
    encoder_->width = width_;
    encoder_->height = height_;
    encoder_->pix_fmt = AV_PIX_FMT_YUV420P;
    encoder_->time_base = options_.time_base;
    // MPEG-4 part 2 stores its clock in 16 bits.
    if (codec->id == AV_CODEC_ID_MPEG4 && encoder_->time_base.den > 65535) encoder_->time_base = {1, 65535};
    encoder_->framerate = options_.frame_rate;
    encoder_->thread_count = options_.threads;
    encoder_->gop_size = 250;
    if (codec->id == AV_CODEC_ID_H264) {
      av_opt_set(encoder_->priv_data, "preset", "veryfast", 0);
      av_opt_set_int(encoder_->priv_data, "crf", options_.crf, 0);
    } else {
      encoder_->bit_rate = static_cast<std::int64_t>(width_) * height_ * 4;  // ~4 bits a pixel a second at 25 fps
      encoder_->qmax = 8;
    }
    if (output_->oformat->flags & AVFMT_GLOBALHEADER) encoder_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    check(avcodec_open2(encoder_, codec, nullptr), "opening the video encoder");
    video_ = avformat_new_stream(output_, nullptr);
    if (!video_) fail("cannot save to ", path_, ": out of memory");
    video_->time_base = encoder_->time_base;
    video_->avg_frame_rate = options_.frame_rate;
    check(avcodec_parameters_from_context(video_->codecpar, encoder_), "setting up the video stream");

    if (!options_.audio_from.empty()) open_audio(format);

    if (!(format->flags & AVFMT_NOFILE)) check(avio_open(&output_->pb, temp_.c_str(), AVIO_FLAG_WRITE), "creating the file");
    check(avformat_write_header(output_, nullptr), "writing the header");

    frame_ = av_frame_alloc();
    packet_ = av_packet_alloc();
    if (!frame_ || !packet_) fail("cannot save to ", path_, ": out of memory");
    frame_->format = AV_PIX_FMT_YUV420P;
    frame_->width = width_;
    frame_->height = height_;
    check(av_frame_get_buffer(frame_, 0), "allocating a frame");
    rgb_ = av_frame_alloc();
    if (!rgb_) fail("cannot save to ", path_, ": out of memory");
    rgb_->format = AV_PIX_FMT_RGB24;
    rgb_->width = width_;
    rgb_->height = height_;
    check(av_frame_get_buffer(rgb_, 64), "allocating a frame");
    scaler_ = sws_getContext(width_, height_, AV_PIX_FMT_RGB24, width_, height_, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                             nullptr, nullptr, nullptr);
    if (!scaler_) fail("cannot save to ", path_, ": no RGB to YUV conversion");
  }

  void open_audio(const AVOutputFormat* format) {
    if (avformat_open_input(&audio_in_, options_.audio_from.c_str(), nullptr, nullptr) < 0 ||
        avformat_find_stream_info(audio_in_, nullptr) < 0) {
      audio_note_ = "its audio could not be read again";
      avformat_close_input(&audio_in_);
      return;
    }
    audio_index_ = av_find_best_stream(audio_in_, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (audio_index_ < 0) {
      avformat_close_input(&audio_in_);
      return;
    }
    const AVCodecParameters* par = audio_in_->streams[audio_index_]->codecpar;
    if (avformat_query_codec(format, par->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      audio_note_ = std::string("its ") + avcodec_get_name(par->codec_id) + " audio cannot go into " + format->name +
                    " unconverted: the annotated video has no sound";
      avformat_close_input(&audio_in_);
      return;
    }
    audio_ = avformat_new_stream(output_, nullptr);
    if (!audio_) fail("cannot save to ", path_, ": out of memory");
    check(avcodec_parameters_copy(audio_->codecpar, par), "copying the audio stream");
    audio_->codecpar->codec_tag = 0;
    audio_->time_base = audio_in_->streams[audio_index_]->time_base;
    audio_packet_ = av_packet_alloc();
    if (!audio_packet_) fail("cannot save to ", path_, ": out of memory");
    copies_audio_ = true;
  }

  // Copies audio packets up to `until` (AV_TIME_BASE units), keeping the two streams interleaved.
  void copy_audio_until(std::int64_t until) {
    if (!audio_in_) return;
    AVStream* in = audio_in_->streams[audio_index_];
    const std::int64_t start = in->start_time != AV_NOPTS_VALUE ? in->start_time : 0;
    for (;;) {
      if (!audio_pending_) {
        if (av_read_frame(audio_in_, audio_packet_) < 0) {
          avformat_close_input(&audio_in_);  // end (or damage) of the audio: the rest is silence
          return;
        }
        if (audio_packet_->stream_index != audio_index_) {
          av_packet_unref(audio_packet_);
          continue;
        }
        audio_pending_ = true;
      }
      const std::int64_t ts = audio_packet_->dts != AV_NOPTS_VALUE ? audio_packet_->dts : audio_packet_->pts;
      if (ts != AV_NOPTS_VALUE && av_rescale_q(ts - start, in->time_base, AVRational{1, AV_TIME_BASE}) > until) return;
      if (audio_packet_->pts != AV_NOPTS_VALUE) audio_packet_->pts -= start;
      if (audio_packet_->dts != AV_NOPTS_VALUE) audio_packet_->dts -= start;
      av_packet_rescale_ts(audio_packet_, in->time_base, audio_->time_base);
      audio_packet_->stream_index = audio_->index;
      audio_packet_->pos = -1;
      check(av_interleaved_write_frame(output_, audio_packet_), "writing audio");
      audio_pending_ = false;
    }
  }

  void encode(AVFrame* frame) {
    check(avcodec_send_frame(encoder_, frame), "encoding");
    for (;;) {
      const int received = avcodec_receive_packet(encoder_, packet_);
      if (received == AVERROR(EAGAIN) || received == AVERROR_EOF) return;
      check(received, "encoding");
      if (auto it = durations_.find(packet_->pts); it != durations_.end()) {
        packet_->duration = it->second;
        durations_.erase(it);
      }
      av_packet_rescale_ts(packet_, encoder_->time_base, video_->time_base);
      packet_->stream_index = video_->index;
      check(av_interleaved_write_frame(output_, packet_), "writing video");
    }
  }

  void close() {
    sws_freeContext(scaler_);
    scaler_ = nullptr;
    av_frame_free(&frame_);
    av_frame_free(&rgb_);
    av_packet_free(&packet_);
    av_packet_free(&audio_packet_);
    avcodec_free_context(&encoder_);
    avformat_close_input(&audio_in_);
    if (output_) {
      if (output_->pb && !(output_->oformat->flags & AVFMT_NOFILE)) avio_closep(&output_->pb);
      avformat_free_context(output_);
      output_ = nullptr;
    }
  }

  std::string path_, temp_;
  int width_, height_;
  VideoWriterOptions options_;
  std::string encoder_name_, audio_note_;
  AVFormatContext* output_ = nullptr;
  AVCodecContext* encoder_ = nullptr;
  AVStream* video_ = nullptr;
  AVStream* audio_ = nullptr;
  AVFormatContext* audio_in_ = nullptr;
  int audio_index_ = -1;
  AVPacket* audio_packet_ = nullptr;
  bool audio_pending_ = false;
  AVFrame* frame_ = nullptr;
  AVFrame* rgb_ = nullptr;  // padded copy of the input rows
  AVPacket* packet_ = nullptr;
  SwsContext* scaler_ = nullptr;
  std::map<std::int64_t, std::int64_t> durations_;  // encoder pts -> frame duration, until its packet leaves
  std::int64_t last_pts_ = INT64_MIN;
  bool finished_ = false, copies_audio_ = false;
};

}  // namespace minidnn::vision
