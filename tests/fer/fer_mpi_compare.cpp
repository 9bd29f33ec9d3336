// fer_mpi_compare A.mdnn B.mdnn TOLERANCE: the largest difference between two model files'
// weights (trainable and non-trainable, parameter by parameter), for fer_mpi_train_test.sh.
// Exits 0 when the models have the same parameters and every value agrees within TOLERANCE.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <minidnn/model/functional.hpp>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: fer_mpi_compare A.mdnn B.mdnn TOLERANCE\n");
    return 2;
  }
  try {
    auto a = minidnn::Model<float>::load(argv[1]);
    auto b = minidnn::Model<float>::load(argv[2]);
    const double tolerance = std::strtod(argv[3], nullptr);
    auto pa = a.parameters(), pb = b.parameters();
    for (auto* p : a.non_trainable_parameters()) pa.push_back(p);
    for (auto* p : b.non_trainable_parameters()) pb.push_back(p);
    if (pa.size() != pb.size()) {
      std::fprintf(stderr, "%s has %zu parameters, %s %zu\n", argv[1], pa.size(), argv[2], pb.size());
      return 1;
    }
    double largest = 0.0, scale = 0.0;
    std::size_t where = 0;  // the parameter holding the largest difference
    for (std::size_t k = 0; k < pa.size(); ++k) {
      if (pa[k]->value.size() != pb[k]->value.size()) {
        std::fprintf(stderr, "parameter %zu: %zu against %zu values\n", k, pa[k]->value.size(), pb[k]->value.size());
        return 1;
      }
      for (std::size_t i = 0; i < pa[k]->value.size(); ++i) {
        const double x = pa[k]->value[i], y = pb[k]->value[i];
        if (!std::isfinite(x) || !std::isfinite(y)) {
          std::fprintf(stderr, "parameter %zu value %zu is not finite\n", k, i);
          return 1;
        }
        if (std::fabs(x - y) > largest) largest = std::fabs(x - y), where = k;
        scale = std::fmax(scale, std::fabs(x));
      }
    }
    std::printf("largest weight difference %.3g in parameter %zu of %zu (largest weight %.3g, tolerance %.3g)\n",
                largest, where, pa.size(), scale, tolerance);
    return largest <= tolerance ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fer_mpi_compare: %s\n", e.what());
    return 1;
  }
}
