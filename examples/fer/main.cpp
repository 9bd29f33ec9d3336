// fer: the Keras facial-expression-recognition tutorial as a command-line tool.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"

namespace {

void print_usage() {
  std::puts(
      "usage: fer COMMAND [OPTIONS]\n\n"
      "Facial expression recognition on FER2013 (48x48 grey faces, 7 emotions: Angry, Disgust, Fear,\n"
      "Happy, Sad, Surprise, Neutral), as in the Keras tutorial.\n\n"
      "commands:\n"
      "  stats     rows per class and split, and the class-distribution chart\n"
      "  train     train a model (Training rows), validating on PublicTest each epoch\n"
      "  eval      loss, accuracy, per-class report and confusion matrix of a model\n"
      "  predict   find faces in photos and classify their expressions\n"
      "  synth     write the embedded synthetic face set as a FER2013-format CSV\n"
      "  export    an inference copy of a model, optionally with float16 weights (half the file)\n"
#ifdef FER_SERVE
      "  serve     serve the model over HTTP: a JSON API and a page for photos and the webcam\n"
#endif
#ifdef FER_HAS_VIDEO
      "  video     faces and their emotions through a video: annotated video, time series, timeline\n"
#endif
      "\n"
      "`fer help COMMAND` (or `fer COMMAND --help`) describes each command, `fer --version` the build.\n"
      "Data: --data FILE or FER2013_CSV; without either, fer uses a synthetic set of drawn faces (and\n"
      "says so).");
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered even into a pipe or log file, so progress shows up as it happens.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG, so a save cleans up and says
  // why, instead of the process dying of SIGXFSZ with a temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc >= 2 && (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version"))) {
    std::printf("fer %s (minidnn %s)\n", FER_VERSION, FER_VERSION);
    return 0;
  }
  // `fer help COMMAND` is `fer COMMAND --help`.
  std::vector<char*> help_argv;
  if (argc == 3 && !std::strcmp(argv[1], "help")) {
    static char help_flag[] = "--help";
    help_argv = {argv[0], argv[2], help_flag, nullptr};
    argc = 3;
    argv = help_argv.data();
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "stats") return fer::run_stats(argc, argv);
    if (command == "train") return fer::run_train(argc, argv);
    if (command == "eval") return fer::run_eval(argc, argv);
    if (command == "predict") return fer::run_predict(argc, argv);
    if (command == "synth") return fer::run_synth(argc, argv);
    if (command == "export") return fer::run_export(argc, argv);
#ifdef FER_HAS_VIDEO
    if (command == "video") return fer::run_video(argc, argv);
#endif
#ifdef FER_SERVE
    if (command == "serve") return fer::run_serve(argc, argv);
#endif
    std::fprintf(stderr, "fer: unknown command '%s' (try fer --help)\n", command.c_str());
    return 2;
  } catch (const fer::UsageError& e) {
    std::fprintf(stderr, "%s\n  (try fer %s --help)\n", e.what(), command.c_str());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "fer %s: error: out of memory (a file or option asked for more than this machine has)\n",
                 command.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fer %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
