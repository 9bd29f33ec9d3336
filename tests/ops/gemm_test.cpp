// minidnn::gemm (and the CPU kernel behind it) against a naive triple loop in double.
#include "minidnn/ops/gemm.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using minidnn::Transpose;

/// A row-major matrix stored with a leading dimension >= its width; the padding holds NaN (in A
/// and B, so reading it would poison the result) or a sentinel (in C, checked afterwards).
template <typename T>
struct Stored {
  int rows = 0, cols = 0, ld = 0;
  std::vector<T> data;
  T& at(int i, int j) { return data[static_cast<std::size_t>(i) * ld + j]; }
  T at(int i, int j) const { return data[static_cast<std::size_t>(i) * ld + j]; }
};

template <typename T>
Stored<T> random_matrix(int rows, int cols, int ld, std::mt19937& rng, T padding) {
  Stored<T> m{rows, cols, ld, std::vector<T>(static_cast<std::size_t>(std::max(rows, 1)) * ld, padding)};
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m.at(i, j) = static_cast<T>(dist(rng));
  return m;
}

struct Case {
  Transpose ta, tb;
  int m, n, k;
  double alpha, beta;
  int pad = 0;             // extra columns in every leading dimension
  bool nan_c = false;      // fill C with NaN first (only meaningful with beta == 0)
};

std::string describe(const Case& c) {
  return std::string("ta=") + (c.ta == Transpose::yes ? "T" : "N") +
         " tb=" + (c.tb == Transpose::yes ? "T" : "N") + " m=" + std::to_string(c.m) +
         " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta) +
         " pad=" + std::to_string(c.pad) + (c.nan_c ? " nanC" : "");
}

/// Runs one product through minidnn::gemm and compares every element (and C's padding) with
/// the double-precision reference. Returns the number of mismatches (0 on success).
template <typename T>
int check_case(const Case& cs, unsigned seed, bool report = true) {
  std::mt19937 rng(seed);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const int a_rows = cs.ta == Transpose::yes ? cs.k : cs.m;
  const int a_cols = cs.ta == Transpose::yes ? cs.m : cs.k;
  const int b_rows = cs.tb == Transpose::yes ? cs.n : cs.k;
  const int b_cols = cs.tb == Transpose::yes ? cs.k : cs.n;
  auto A = random_matrix<T>(a_rows, a_cols, std::max(a_cols, 1) + cs.pad, rng, nan);
  auto B = random_matrix<T>(b_rows, b_cols, std::max(b_cols, 1) + cs.pad, rng, nan);
  const T sentinel = T(12345);
  auto C = random_matrix<T>(cs.m, cs.n, std::max(cs.n, 1) + cs.pad, rng, sentinel);
  if (cs.nan_c)
    for (int i = 0; i < cs.m; ++i)
      for (int j = 0; j < cs.n; ++j) C.at(i, j) = nan;
  const Stored<T> C0 = C;

  minidnn::gemm<T>(cs.ta, cs.tb, cs.m, cs.n, cs.k, static_cast<T>(cs.alpha), A.data.data(), A.ld,
                   B.data.data(), B.ld, static_cast<T>(cs.beta), C.data.data(), C.ld);

  const double eps = std::numeric_limits<T>::epsilon();
  int bad = 0;
  for (int i = 0; i < cs.m; ++i) {
    for (int j = 0; j < cs.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int p = 0; p < cs.k; ++p) {
        const double x = cs.ta == Transpose::yes ? A.at(p, i) : A.at(i, p);
        const double y = cs.tb == Transpose::yes ? B.at(j, p) : B.at(p, j);
        sum += x * y;
        magnitude += std::abs(x * y);
      }
      double expected = cs.alpha * sum;
      double scale = std::abs(cs.alpha) * magnitude;
      if (cs.beta != 0) {
        expected += cs.beta * static_cast<double>(C0.at(i, j));
        scale += std::abs(cs.beta * C0.at(i, j));
      }
      const double got = C.at(i, j);
      const double tolerance = 4 * eps * (cs.k + 2) * (scale + 1e-30);
      if (!(std::abs(got - expected) <= tolerance)) {
        if (report && bad < 3)
          UNSCOPED_INFO(describe(cs) << ": C(" << i << "," << j << ") = " << got << ", expected "
                                     << expected);
        ++bad;
      }
    }
    for (int j = cs.n; j < C.ld; ++j)
      if (C.at(i, j) != sentinel) {
        if (report && bad < 3) UNSCOPED_INFO(describe(cs) << ": wrote C padding at row " << i);
        ++bad;
      }
  }
  return bad;
}

const Transpose kBoth[] = {Transpose::no, Transpose::yes};

template <typename T>
void check_all(const std::vector<Case>& cases) {
  unsigned seed = 1;
  for (const Case& cs : cases) {
    const int bad = check_case<T>(cs, seed++);
    if (bad != 0) FAIL_CHECK(describe(cs) << ": " << bad << " wrong elements");
  }
  SUCCEED(cases.size() << " products checked");
}

/// Every transposition, ragged sizes around the register tile, several alpha/beta, padded lds.
std::vector<Case> ragged_cases() {
  const int sizes[] = {1, 3, 8, 15, 17, 31, 33, 49, 100};
  const double alphas_betas[][2] = {{1, 0}, {1, 1}, {-0.5, 2}, {2.5, 0}};
  std::vector<Case> cases;
  int variant = 0;
  for (Transpose ta : kBoth)
    for (Transpose tb : kBoth)
      for (int m : sizes)
        for (int n : sizes) {
          const int k = sizes[(m + 3 * n + variant) % 9];
          const auto& ab = alphas_betas[variant % 4];
          cases.push_back({ta, tb, m, n, k, ab[0], ab[1], variant % 3 == 0 ? 5 : 0,
                           ab[1] == 0});
          ++variant;
        }
  return cases;
}

/// The shapes of the seed model (conv forward / weight gradient / input gradient per sample,
/// dense layers on a batch of 256) plus k slices longer than one block.
std::vector<Case> seed_model_cases() {
  std::vector<Case> cases;
  const int convs[][3] = {{64, 25, 1936}, {64, 576, 324}, {64, 576, 256}, {128, 576, 25},
                          {128, 1152, 9}};
  for (const auto& fkp : convs) {
    const int f = fkp[0], ckk = fkp[1], p = fkp[2];
    cases.push_back({Transpose::no, Transpose::no, f, p, ckk, 1, 0, 0, true});
    cases.push_back({Transpose::no, Transpose::yes, f, ckk, p, 1, 1});
    cases.push_back({Transpose::yes, Transpose::no, ckk, p, f, 1, 0, 0, true});
  }
  const int denses[][2] = {{128, 1024}, {1024, 1024}, {1024, 7}};
  for (const auto& io : denses) {
    const int batch = 256, in = io[0], out = io[1];
    cases.push_back({Transpose::no, Transpose::no, batch, out, in, 1, 0, 0, true});
    cases.push_back({Transpose::yes, Transpose::no, in, out, batch, 1, 0});
    cases.push_back({Transpose::no, Transpose::yes, batch, in, out, 1, 0});
  }
  return cases;
}

}  // namespace

TEST_CASE("gemm float matches the reference on ragged shapes, all transpositions") {
  check_all<float>(ragged_cases());
}

TEST_CASE("gemm double matches the reference on ragged shapes, all transpositions") {
  check_all<double>(ragged_cases());
}

TEST_CASE("gemm float matches the reference on the seed model's shapes") {
  check_all<float>(seed_model_cases());
}

TEST_CASE("gemm double matches the reference on a few seed model shapes") {
  check_all<double>({{Transpose::no, Transpose::no, 64, 324, 576, 1, 0, 0, true},
                     {Transpose::no, Transpose::yes, 128, 1152, 9, 1, 1},
                     {Transpose::yes, Transpose::no, 1152, 9, 128, 1, 0, 0, true}});
}

TEST_CASE("gemm with k slices and column blocks longer than one cache block") {
  std::vector<Case> cases;
  for (Transpose ta : kBoth)
    for (Transpose tb : kBoth) {
      cases.push_back({ta, tb, 37, 900, 700, 0.75, -1.5, 3});
      cases.push_back({ta, tb, 300, 61, 530, 1, 0, 1, true});
    }
  check_all<float>(cases);
  check_all<double>(cases);
}

TEST_CASE("gemm with k == 0 or alpha == 0 only scales C and never reads A or B") {
  for (Transpose ta : kBoth)
    for (Transpose tb : kBoth) {
      for (double beta : {0.0, 1.0, -2.0}) {
        for (int m : {1, 17}) {
          std::vector<float> c(static_cast<std::size_t>(m) * 20, beta == 0 ? NAN : 3.0f);
          minidnn::gemm<float>(ta, tb, m, 20, 0, 1.0f, nullptr, 1, nullptr, 20, float(beta),
                               c.data(), 20);
          for (float x : c) REQUIRE(x == float(beta == 0 ? 0.0 : 3.0 * beta));
        }
      }
      // alpha == 0 with NaN-filled A and B: BLAS semantics say A and B are not referenced.
      std::vector<double> a(64, NAN), b(64, NAN), c(64, 2.0);
      minidnn::gemm<double>(ta, tb, 8, 8, 8, 0.0, a.data(), 8, b.data(), 8, 0.5, c.data(), 8);
      for (double x : c) REQUIRE(x == 1.0);
    }
}

TEST_CASE("gemm rejects negative sizes and ignores empty outputs") {
  float x = 1;
  REQUIRE_THROWS_AS(minidnn::gemm<float>(Transpose::no, Transpose::no, -1, 2, 2, 1.f, &x, 1, &x,
                                         1, 0.f, &x, 1),
                    minidnn::Error);
  minidnn::gemm<float>(Transpose::no, Transpose::no, 0, 5, 5, 1.f, nullptr, 5, nullptr, 5, 0.f,
                       nullptr, 5);
  minidnn::gemm<float>(Transpose::no, Transpose::no, 5, 0, 5, 1.f, nullptr, 5, nullptr, 5, 0.f,
                       nullptr, 5);
}

TEST_CASE("gemm called from several threads inside a parallel region at once") {
  // Each thread runs its own products (different shapes, so the per-thread packing buffers are
  // resized while others use theirs), as a convolution's per-sample loop does.
  std::vector<Case> cases;
  for (int s = 0; s < 24; ++s) {
    const Transpose ta = kBoth[s % 2], tb = kBoth[(s / 2) % 2];
    cases.push_back({ta, tb, 17 + 13 * s, 9 + 41 * (s % 7), 5 + 97 * (s % 5), 1, s % 3 ? 0.5 : 0,
                     s % 2, s % 3 == 0});
  }
  std::vector<int> bad(cases.size(), -1);
  int threads_seen = 1;
#pragma omp parallel num_threads(4)
  {
#ifdef _OPENMP
#pragma omp single
    threads_seen = omp_get_num_threads();
#endif
#pragma omp for schedule(dynamic, 1)
    for (int s = 0; s < static_cast<int>(cases.size()); ++s)
      bad[s] = s % 4 == 3 ? check_case<double>(cases[s], 100 + s, false)
                          : check_case<float>(cases[s], 100 + s, false);
  }
  INFO("threads in the region: " << threads_seen);
  for (std::size_t s = 0; s < cases.size(); ++s) {
    INFO(describe(cases[s]));
    CHECK(bad[s] == 0);
  }
}

TEST_CASE("gemm outside a parallel region splits big products over the threads correctly") {
  // Big enough to be split; wide (split by columns) and narrow (split by rows) outputs.
  check_all<float>({{Transpose::no, Transpose::no, 300, 500, 200, 1, 0, 2, true},
                    {Transpose::yes, Transpose::yes, 500, 7, 700, 1, 1},
                    {Transpose::no, Transpose::yes, 1000, 20, 300, -1, 0.5, 1}});
}
