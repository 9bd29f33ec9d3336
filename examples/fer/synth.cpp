// fer synth: writes the embedded synthetic face set in FER2013's CSV format.
#include <cstdio>

#include "commands.hpp"
#include "common.hpp"

namespace fer {

int run_synth(int argc, char** argv) {
  Args args("fer synth", "fer synth --out FILE [--count N] [--seed S]",
            "Writes procedurally drawn 48x48 faces (7 expressions) as a FER2013-format CSV: 80% Training,\n"
            "10% PublicTest, 10% PrivateTest rows, gzip-compressed when FILE ends in .gz.");
  args.option("out", "FILE", "", "the CSV to write (required)")
      .option("count", "N", "10000", "rows to write")
      .option("seed", "S", "2013", "generator seed");
  if (!args.parse(argc, argv, 2)) return 0;
  if (!args.has("out")) throw UsageError("fer synth: --out is required");
  const int count = args.get_int("count", 1, 10000000);
  const auto seed = static_cast<std::uint64_t>(args.get_int("seed", 0, 2147483647));
  check_output_file(args.get("out"), "fer synth", "--out");
  minidnn::synthetic_faces::write_csv(args.get("out"), static_cast<std::size_t>(count), seed);
  std::printf("wrote %d synthetic faces to %s\n", count, args.get("out").c_str());
  return 0;
}

}  // namespace fer
