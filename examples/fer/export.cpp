// fer export: an inference copy of a model (no optimizer state), optionally with float16 weights:
// half the file, for a model that ships (models/fer_default.mdnn).
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "common.hpp"

namespace fer {

int run_export(int argc, char** argv) {
  Args args("fer export", "fer export --model MODEL --out FILE [--float16]",
            "Writes an inference copy of a model: its layers, weights and moving statistics, without the\n"
            "optimizer state a checkpoint carries, keeping its metadata (the training history). With\n"
            "--float16 every weight is rounded to the nearest IEEE half, halving the file; loading\n"
            "converts back to float. Check the accuracy of the copy with fer eval.");
  args.option("model", "FILE", "", "the model or checkpoint to export (required)")
      .option("out", "FILE", "", "where to write the copy (required)")
      .flag("float16", "store the weights as float16");
  if (!args.parse(argc, argv, 2)) return 0;
  if (!args.has("model")) throw UsageError("fer export: --model is required");
  if (!args.has("out")) throw UsageError("fer export: --out is required");
  const std::string in = args.get("model"), out = args.get("out");
  check_output_file(out, "fer export", "--out");
  if (fs::exists(out) && fs::equivalent(in, out))
    throw UsageError("fer export: --out names the --model file itself: write the copy elsewhere");
  std::string metadata;
  auto model = load_model(in, &metadata);
  ensure_parent(out);
  const bool half = args.flag_set("float16");
  if (half) model.save_float16(out, metadata);
  else model.save(out, false, metadata);
  std::printf("%s: %zu parameters (%zu trainable), %s weights, %ju bytes (from %s, %ju bytes)\n", out.c_str(),
              model.parameter_count() + model.non_trainable_parameter_count(), model.parameter_count(),
              half ? "float16" : "float32", static_cast<std::uintmax_t>(fs::file_size(out)), in.c_str(),
              static_cast<std::uintmax_t>(fs::file_size(in)));
  return 0;
}

}  // namespace fer
