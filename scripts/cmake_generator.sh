# Sourced by the scripts that configure a build folder of their own (test_aarch64.sh, fuzz.sh).
# generator_for DIR prints "-G Ninja" for a folder not configured yet when Ninja is installed:
# Ninja builds the targets named on one command line side by side, where make builds them one
# after the other (each a single file: one core). A folder configured earlier keeps its generator.
generator_for() {
  [[ -f $1/CMakeCache.txt ]] || ! command -v ninja >/dev/null || echo "-G Ninja"
}
