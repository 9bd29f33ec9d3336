// Fuzzes the video reader of `fer video` (vision/video_reader.hpp): FFmpeg's demuxers and
// decoders behind it, fed from memory through the reader's custom AVIOContext, and the reader's
// own checks (no video stream, frame sizes over the limit, errors mid-stream).
//
// FFmpeg is Debian's build, not instrumented: the sanitizers see the reader and what it does
// with FFmpeg's frames (the RGB conversion into our Image), and crashes or hangs anywhere.
#include <minidnn/vision/video_reader.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  minidnn::vision::VideoReaderOptions options;
  options.max_pixels = 1 << 20;  // keeps each input's memory small; the limit logic is the same
  options.threads = 1;
  try {
    minidnn::vision::VideoReader video(data, size, "fuzz input", options);
    minidnn::vision::VideoFrame frame;
    for (int i = 0; i < 32 && video.read(frame); ++i) {
      if (frame.rgb.width != video.info().width || frame.rgb.height != video.info().height) __builtin_trap();
    }
  } catch (const minidnn::Error&) {
  }
  return 0;
}
