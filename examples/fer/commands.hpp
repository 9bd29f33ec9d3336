#pragma once
// fer's subcommands; each parses its own arguments (argv[2...]) and returns the exit code.
namespace fer {
int run_stats(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_predict(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_export(int argc, char** argv);
int run_video(int argc, char** argv);  // only with FER_HAS_VIDEO (FFmpeg found)
int run_serve(int argc, char** argv);  // built with cpp-httplib and nlohmann-json (FER_SERVE)
}  // namespace fer
