// The CUDA GEMM backend (backend/cuda_gemm.hpp) against a naive double-precision loop written
// here and against minidnn::cpu::gemm. Without the add-on or without a usable GPU, the program
// prints why and exits 77, which ctest reports as skipped.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#ifndef MINIDNN_HAVE_CUDA

TEST_CASE("CUDA GEMM backend") {
  std::cout << "SKIPPED: built without CUDA (configure with nvcc available, "
               "-DMINIDNN_WITH_CUDA=ON)"
            << std::endl;
  std::exit(77);
}

#else

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "minidnn/ops/gemm/cpu_gemm.hpp"
#include "minidnn/backend/cuda_gemm.hpp"
#include "minidnn/ops/gemm.hpp"
#include "minidnn/core/error.hpp"
#include "minidnn/core/random.hpp"
#include "minidnn/models/fer_tutorial.hpp"

namespace {

using minidnn::Transpose;
using minidnn::cuda::CudaGemmBackend;

// One backend for the whole program, sending every product to the GPU (min_work = 0). Exits 77
// when there is no device, so every test case starts with it.
CudaGemmBackend& gpu() {
  static std::unique_ptr<CudaGemmBackend> backend = [] {
    std::string why;
    if (!minidnn::cuda::device_available(&why)) {
      std::cout << "SKIPPED: no CUDA device (" << why << ")" << std::endl;
      std::exit(77);
    }
    CudaGemmBackend::Options options;
    options.min_work = 0;
    return std::make_unique<CudaGemmBackend>(options);
  }();
  return *backend;
}

// A row-major matrix in a host buffer, with optional row padding (ld > cols) and an optional
// offset of the first element (to defeat 16-byte alignment and take the kernel's scalar path).
struct HostMatrix {
  int rows = 0;
  int cols = 0;
  int ld = 1;
  int offset = 0;
  std::vector<float> storage;  // offset + rows * ld floats

  HostMatrix(int rows_, int cols_, int pad, int offset_)
      : rows(rows_), cols(cols_), ld(std::max(1, cols_ + pad)), offset(offset_),
        storage(static_cast<std::size_t>(offset_) + static_cast<std::size_t>(rows_) * ld,
                kSentinel) {}
  float* data() { return storage.data() + offset; }
  const float* data() const { return storage.data() + offset; }
  float& at(int r, int c) { return data()[static_cast<std::size_t>(r) * ld + c]; }
  float at(int r, int c) const { return data()[static_cast<std::size_t>(r) * ld + c]; }

  // Uniform values in [-1, 1), or small integers in [-2, 2] for bit-exact products.
  void fill(minidnn::Rng& rng, bool integers) {
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        at(r, c) = integers ? static_cast<float>(static_cast<int>(rng.below(5)) - 2)
                            : static_cast<float>(rng.uniform(-1.0, 1.0));
  }
  // Elements outside the rows x cols view must keep the sentinel.
  bool padding_untouched() const {
    for (std::size_t i = 0; i < storage.size(); ++i) {
      const std::size_t logical = i - static_cast<std::size_t>(offset);
      const bool inside = i >= static_cast<std::size_t>(offset) &&
                          static_cast<int>(logical % ld) < cols &&
                          static_cast<int>(logical / ld) < rows;
      if (!inside && storage[i] != kSentinel) return false;
    }
    return true;
  }
  static constexpr float kSentinel = 12345.f;
};

struct Problem {
  Transpose trans_a = Transpose::no;
  Transpose trans_b = Transpose::no;
  int m = 1, n = 1, k = 1;
  float alpha = 1.f, beta = 0.f;
  int pad = 0;     // extra floats per row in A, B and C
  int offset = 0;  // first element offset in A, B and C
};

std::string describe(const Problem& p) {
  return minidnn::detail::concat("gemm(", p.trans_a == Transpose::yes ? "T" : "N", ",",
                                 p.trans_b == Transpose::yes ? "T" : "N", ") m=", p.m, " n=", p.n,
                                 " k=", p.k, " alpha=", p.alpha, " beta=", p.beta,
                                 " pad=", p.pad, " offset=", p.offset);
}

// Runs `p` on the GPU backend, on minidnn::cpu::gemm and on a naive double loop, and checks
// both float results against the loop. With integer inputs every product and sum is exact in
// float, so the GPU must match the loop exactly; otherwise within the classic error bound
// (k + 2) * eps * sum |terms|.
void check_problem(const Problem& p, std::uint64_t seed, bool integers) {
  INFO(describe(p) << (integers ? " (integer inputs)" : ""));
  minidnn::Rng rng(seed);
  const bool ta = p.trans_a == Transpose::yes;
  const bool tb = p.trans_b == Transpose::yes;
  HostMatrix a(ta ? p.k : p.m, ta ? p.m : p.k, p.pad, p.offset);  // stored A
  HostMatrix b(tb ? p.n : p.k, tb ? p.k : p.n, p.pad, p.offset);  // stored B
  HostMatrix c(p.m, p.n, p.pad, p.offset);                        // m x n
  a.fill(rng, integers);
  b.fill(rng, integers);
  if (p.beta != 0.f) {
    c.fill(rng, integers);
  } else {  // beta == 0 must not read C: NaN there would leak into the result
    for (int r = 0; r < p.m; ++r)
      for (int col = 0; col < p.n; ++col) c.at(r, col) = std::numeric_limits<float>::quiet_NaN();
  }
  HostMatrix c_cpu = c;
  const HostMatrix c_initial = c;

  auto op_a = [&](int i, int kk) { return static_cast<double>(ta ? a.at(kk, i) : a.at(i, kk)); };
  auto op_b = [&](int kk, int j) { return static_cast<double>(tb ? b.at(j, kk) : b.at(kk, j)); };

  const bool ran = gpu().sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, a.data(), a.ld,
                               b.data(), b.ld, p.beta, c.data(), c.ld);
  REQUIRE(ran);
  minidnn::cpu::gemm(ta, tb, p.m, p.n, p.k, p.alpha, a.data(), a.ld, b.data(), b.ld, p.beta,
                     c_cpu.data(), c_cpu.ld);

  const double eps = std::numeric_limits<float>::epsilon();
  long long gpu_mismatches = 0, cpu_mismatches = 0;
  std::string first_mismatch;
  for (int i = 0; i < p.m; ++i) {
    for (int j = 0; j < p.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int kk = 0; kk < p.k; ++kk) {
        const double term = op_a(i, kk) * op_b(kk, j);
        sum += term;
        magnitude += std::abs(term);
      }
      const double c0 = p.beta != 0.f ? c_initial.at(i, j) : 0.0;
      const double expected = p.alpha * sum + p.beta * c0;
      const double bound = std::abs(p.alpha) * magnitude + std::abs(p.beta) * std::abs(c0);
      const double tolerance = integers ? 0.0 : (p.k + 2) * eps * bound + 1e-30;
      const double got = c.at(i, j);
      if (!(std::abs(got - expected) <= tolerance)) {
        if (gpu_mismatches++ == 0)
          first_mismatch = minidnn::detail::concat("C(", i, ",", j, ") gpu=", got,
                                                   " expected=", expected, " tol=", tolerance);
      }
      if (!(std::abs(c_cpu.at(i, j) - expected) <= std::max(tolerance, 1e-6 * bound)))
        ++cpu_mismatches;
    }
  }
  INFO(first_mismatch);
  CHECK(gpu_mismatches == 0);
  CHECK(cpu_mismatches == 0);  // the reference loop itself agrees with the CPU kernel
  CHECK(c.padding_untouched());
}

const Transpose kNo = Transpose::no;
const Transpose kYes = Transpose::yes;

}  // namespace

TEST_CASE("CUDA GEMM: every transposition over odd and tile-edge sizes") {
  gpu();
  const int sizes_mn[] = {1, 7, 128, 129, 255};
  const int sizes_k[] = {1, 8, 9, 100};
  const float alphas_betas[][2] = {{1.f, 0.f}, {0.5f, -2.f}, {-1.5f, 1.f}, {2.f, 0.25f}};
  std::uint64_t seed = 1;
  for (Transpose ta : {kNo, kYes})
    for (Transpose tb : {kNo, kYes})
      for (int m : sizes_mn)
        for (int n : sizes_mn)
          for (int k : sizes_k) {
            Problem p{ta, tb, m, n, k};
            const int variant = static_cast<int>(seed % 4);
            p.alpha = alphas_betas[variant][0];
            p.beta = alphas_betas[variant][1];
            p.pad = (seed / 4) % 2 == 0 ? 0 : 3;     // ld not a multiple of 4: scalar loads
            p.offset = (seed / 8) % 2 == 0 ? 0 : 1;  // misaligned base: scalar loads
            check_problem(p, seed++, /*integers=*/false);
          }
}

// Few and small, but covering every transposition, partial tiles and both load paths: the
// case scripts/gpu_check.sh runs under compute-sanitizer (memcheck, racecheck).
TEST_CASE("CUDA GEMM: small edge products", "[sanitizer]") {
  gpu();
  std::uint64_t seed = 50;
  for (Transpose ta : {kNo, kYes})
    for (Transpose tb : {kNo, kYes})
      for (int m : {1, 130})
        for (int n : {3, 129})
          for (int misaligned : {0, 1}) {
            Problem p{ta, tb, m, n, 13, 1.f, misaligned ? 0.5f : 0.f};
            p.pad = misaligned ? 1 : 0;
            p.offset = misaligned;
            check_problem(p, seed++, /*integers=*/false);
          }
}

TEST_CASE("CUDA GEMM: integer inputs give bit-exact results (no element or tile missed)") {
  gpu();
  std::uint64_t seed = 100;
  for (Transpose ta : {kNo, kYes})
    for (Transpose tb : {kNo, kYes})
      for (int m : {5, 128, 300})
        for (int n : {3, 130, 257})
          for (int k : {7, 64, 333}) {
            Problem p{ta, tb, m, n, k};
            p.alpha = (seed % 2 == 0) ? 1.f : -2.f;
            p.beta = (seed % 3 == 0) ? 0.f : 3.f;
            p.pad = (seed % 5 == 0) ? 1 : 0;
            check_problem(p, seed++, /*integers=*/true);
          }
}

TEST_CASE("CUDA GEMM: the seed model's convolution products") {
  gpu();
  // Per sample: weights F x CKK, im2col columns CKK x P, output F x P.
  struct Conv { int filters, patch, positions; };
  const Conv convs[] = {{64, 25, 1936}, {64, 576, 324}, {64, 576, 256}, {128, 576, 25},
                        {128, 1152, 9}};
  std::uint64_t seed = 1000;
  for (const Conv& conv : convs) {
    const int f = conv.filters, ckk = conv.patch, p = conv.positions;
    // forward: out (F x P) = W (F x CKK) * cols (CKK x P)
    check_problem({kNo, kNo, f, p, ckk, 1.f, 0.f}, seed++, false);
    // weight gradient, accumulated over the batch: dW (F x CKK) += dOut (F x P) * cols^T
    check_problem({kNo, kYes, f, ckk, p, 1.f, 1.f}, seed++, false);
    // input gradient: dCols (CKK x P) = W^T (CKK x F) * dOut (F x P)
    check_problem({kYes, kNo, ckk, p, f, 1.f, 0.f}, seed++, false);
  }
}

TEST_CASE("CUDA GEMM: the seed model's dense products") {
  gpu();
  // Batch B, O outputs, I inputs; weights O x I (PyTorch layout), y = x W^T.
  struct Dense { int batch, outputs, inputs; };
  const Dense denses[] = {{256, 1024, 128}, {256, 1024, 1024}, {256, 7, 1024}};
  std::uint64_t seed = 2000;
  for (const Dense& d : denses) {
    // forward: y (B x O) = x (B x I) * W^T
    check_problem({kNo, kYes, d.batch, d.outputs, d.inputs, 1.f, 0.f}, seed++, false);
    // input gradient: dx (B x I) = dy (B x O) * W (O x I)
    check_problem({kNo, kNo, d.batch, d.inputs, d.outputs, 1.f, 0.f}, seed++, false);
    // weight gradient: dW (O x I) = dy^T (O x B) * x (B x I)
    check_problem({kYes, kNo, d.outputs, d.inputs, d.batch, 1.f, 0.f}, seed++, false);
  }
}

TEST_CASE("CUDA GEMM: k == 0 scales C by beta") {
  gpu();
  for (float beta : {0.f, 2.f}) {
    std::vector<float> c(6, beta == 0.f ? std::numeric_limits<float>::quiet_NaN() : 1.5f);
    REQUIRE(gpu().sgemm(kNo, kNo, 2, 3, 0, 1.f, nullptr, 1, nullptr, 3, beta, c.data(), 3));
    for (float v : c) CHECK(v == (beta == 0.f ? 0.f : 3.f));
  }
}

TEST_CASE("CUDA GEMM: plugged into minidnn::gemm, small products stay on the CPU") {
  gpu();
  CudaGemmBackend::Options options;
  options.min_work = 100000;
  CudaGemmBackend backend(options);
  minidnn::set_gemm_backend(&backend);
  struct Restore { ~Restore() { minidnn::set_gemm_backend(nullptr); } } restore;

  minidnn::Rng rng(7);
  for (int size : {10, 64}) {  // 1,000 multiply-adds (declined), then 262,144 (on the GPU)
    const long long before = backend.products_run();
    HostMatrix a(size, size, 0, 0), b(size, size, 0, 0), c(size, size, 0, 0);
    a.fill(rng, true);
    b.fill(rng, true);
    minidnn::gemm<float>(kNo, kYes, size, size, size, 1.f, a.data(), a.ld, b.data(), b.ld, 0.f,
                         c.data(), c.ld);
    for (int i = 0; i < size; ++i)
      for (int j = 0; j < size; ++j) {
        double expected = 0;
        for (int kk = 0; kk < size; ++kk) expected += double(a.at(i, kk)) * b.at(j, kk);
        REQUIRE(c.at(i, j) == expected);
      }
    CHECK(backend.products_run() - before == (size == 10 ? 0 : 1));
  }
}

TEST_CASE("CUDA GEMM: the device pool stops allocating once warm") {
  gpu();
  CudaGemmBackend::Options options;
  options.min_work = 0;
  CudaGemmBackend backend(options);
  minidnn::Rng rng(9);
  auto run = [&](int m, int n, int k) {
    HostMatrix a(m, k, 0, 0), b(k, n, 0, 0), c(m, n, 0, 0);
    a.fill(rng, false);
    b.fill(rng, false);
    REQUIRE(backend.sgemm(kNo, kNo, m, n, k, 1.f, a.data(), a.ld, b.data(), b.ld, 0.f, c.data(),
                          c.ld));
  };
  CHECK(backend.device_allocations() == 0);
  run(300, 300, 300);
  const long long warm = backend.device_allocations();
  CHECK(warm == 1);
  for (int i = 0; i < 5; ++i) run(300, 300, 300);
  run(100, 200, 50);
  CHECK(backend.device_allocations() == warm);
  run(1200, 1200, 1200);  // larger than the pool: grows once, then stays
  run(1200, 1200, 1200);
  CHECK(backend.device_allocations() == warm + 1);
  CHECK(backend.pool_bytes() >= 3u * 1200 * 1200 * sizeof(float));
}

TEST_CASE("CUDA GEMM: concurrent calls from OpenMP threads") {
  gpu();
  constexpr int kProducts = 24;
  std::vector<int> failures(kProducts, 0);
#pragma omp parallel for schedule(dynamic)
  for (int t = 0; t < kProducts; ++t) {
    const int m = 40 + 13 * t, n = 70 + 7 * t, k = 33 + 5 * t;
    minidnn::Rng rng(500 + t);
    HostMatrix a(m, k, 0, 0), b(n, k, 0, 0), c(m, n, 0, 0);
    a.fill(rng, true);
    b.fill(rng, true);
    if (!gpu().sgemm(kNo, kYes, m, n, k, 1.f, a.data(), a.ld, b.data(), b.ld, 0.f, c.data(),
                     c.ld)) {
      failures[t] = -1;
      continue;
    }
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double expected = 0;
        for (int kk = 0; kk < k; ++kk) expected += double(a.at(i, kk)) * b.at(j, kk);
        if (c.at(i, j) != expected) ++failures[t];
      }
  }
  for (int t = 0; t < kProducts; ++t) {
    INFO("product " << t);
    CHECK(failures[t] == 0);
  }
}

TEST_CASE("CUDA GEMM: bad arguments throw minidnn::Error") {
  gpu();
  std::vector<float> a(64, 1.f), b(64, 1.f), c(64, 0.f);
  // lda smaller than the row length of A (4 x 8, no transpose)
  CHECK_THROWS_AS(gpu().sgemm(kNo, kNo, 4, 4, 8, 1.f, a.data(), 4, b.data(), 4, 0.f, c.data(), 4),
                  minidnn::Error);
  CHECK_THROWS_AS(gpu().sgemm(kNo, kNo, -1, 4, 4, 1.f, a.data(), 4, b.data(), 4, 0.f, c.data(), 4),
                  minidnn::Error);
  CHECK_THROWS_AS(gpu().sgemm(kNo, kNo, 4, 4, 4, 1.f, nullptr, 4, b.data(), 4, 0.f, c.data(), 4),
                  minidnn::Error);
}

TEST_CASE("CUDA GEMM: one training step of the seed model matches the CPU") {
  CudaGemmBackend& backend = gpu();
  auto cpu_model = minidnn::models::fer_tutorial_model<float>(11);
  auto gpu_model = minidnn::models::fer_tutorial_model<float>(11);
  cpu_model.compile(minidnn::Adam<float>());
  gpu_model.compile(minidnn::Adam<float>());
  minidnn::Tensor<float> x(32, minidnn::Shape{1, 48, 48});
  minidnn::Rng rng(5);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  std::vector<int> labels(32);
  for (int i = 0; i < 32; ++i) labels[i] = i % 7;

  const auto cpu_result = cpu_model.train_on_batch(x, labels);
  minidnn::set_gemm_backend(&backend);
  const auto gpu_result = gpu_model.train_on_batch(x, labels);
  minidnn::set_gemm_backend(nullptr);

  CHECK(gpu_result.loss == Approx(cpu_result.loss).epsilon(1e-4));
  const auto a = cpu_model.parameters(), b = gpu_model.parameters();
  for (std::size_t k = 0; k < a.size(); ++k) {
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < a[k]->size(); ++i) {
      worst = std::max(worst, double(std::abs(a[k]->grad[i] - b[k]->grad[i])));
      scale = std::max(scale, double(std::abs(a[k]->grad[i])));
    }
    INFO("parameter " << k << " (" << a[k]->name << "): max grad difference " << worst << " of " << scale);
    CHECK(worst <= 1e-3 * scale + 1e-7);
  }
}

#endif  // MINIDNN_HAVE_CUDA
