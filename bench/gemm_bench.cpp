// minidnn::gemm against Eigen and OpenBLAS (cblas_sgemm, row-major) at the seed model's shapes.
//
// Benchmark names are  <impl>/<layer>_<pass>/<m>x<n>x<k>/<op(A)op(B)>/t<threads>  with impl one of
// ours, eigen, openblas, so one implementation can be run alone with --benchmark_filter=^ours/.
// Per-sample convolution products run on one thread (as they do inside the layer's per-sample
// parallel loop); whole-batch dense products and the 2048^3 anchor on two.
// Run OpenBLAS with OPENBLAS_CORETYPE=SkylakeX (its Haswell kernels are half as fast here).
// One-thread rates are per CPU second of the benchmark thread, two-thread rates per wall second.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <random>
#include <string>
#include <vector>

#include "minidnn/ops/gemm.hpp"
#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"

#ifdef MINIDNN_BENCH_OPENBLAS
#include <cblas.h>
#endif

namespace {

struct Shape {
  std::string label;
  bool trans_a, trans_b;
  int m, n, k;
  float beta;
  int threads;
};

/// Forward, weight-gradient and input-gradient products of every layer of the seed model.
std::vector<Shape> shapes() {
  std::vector<Shape> out;
  struct Conv {
    const char* name;
    int f, ckk, p;
  };
  const Conv convs[] = {{"conv1", 64, 25, 1936}, {"conv2", 64, 576, 324}, {"conv3", 64, 576, 256},
                        {"conv4", 128, 576, 25}, {"conv5", 128, 1152, 9}};
  for (const Conv& c : convs) {
    out.push_back({std::string(c.name) + "_fwd", false, false, c.f, c.p, c.ckk, 0.f, 1});
    out.push_back({std::string(c.name) + "_wgrad", false, true, c.f, c.ckk, c.p, 1.f, 1});
    out.push_back({std::string(c.name) + "_igrad", true, false, c.ckk, c.p, c.f, 0.f, 1});
  }
  struct Dense {
    const char* name;
    int in, out;
  };
  const Dense denses[] = {{"dense1", 128, 1024}, {"dense2", 1024, 1024}, {"dense3", 1024, 7}};
  const int batch = 256;
  for (const Dense& d : denses) {
    out.push_back({std::string(d.name) + "_fwd", false, false, batch, d.out, d.in, 0.f, 2});
    out.push_back({std::string(d.name) + "_wgrad", true, false, d.in, d.out, batch, 0.f, 2});
    out.push_back({std::string(d.name) + "_igrad", false, true, batch, d.in, d.out, 0.f, 2});
  }
  out.push_back({"anchor", false, false, 2048, 2048, 2048, 0.f, 2});
  out.push_back({"anchor", false, false, 2048, 2048, 2048, 0.f, 1});
  return out;
}

/// The operands of one product, stored densely (lda = width of the stored A, etc.).
struct Operands {
  int lda, ldb, ldc;
  minidnn::AlignedVector<float> a, b, c;
  explicit Operands(const Shape& s) {
    lda = s.trans_a ? s.m : s.k;
    ldb = s.trans_b ? s.k : s.n;
    ldc = s.n;
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    a.resize(static_cast<std::size_t>(s.m) * s.k);
    b.resize(static_cast<std::size_t>(s.k) * s.n);
    c.resize(static_cast<std::size_t>(s.m) * s.n);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    for (auto& x : c) x = dist(rng);
  }
};

void set_flops(benchmark::State& state, const Shape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * s.m * s.n * s.k,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void run_ours(benchmark::State& state, Shape s) {
  Operands x(s);
  minidnn::set_num_threads(s.threads);
  using minidnn::Transpose;
  const Transpose ta = s.trans_a ? Transpose::yes : Transpose::no;
  const Transpose tb = s.trans_b ? Transpose::yes : Transpose::no;
  for (auto _ : state) {
    minidnn::gemm<float>(ta, tb, s.m, s.n, s.k, 1.f, x.a.data(), x.lda, x.b.data(), x.ldb, s.beta,
                         x.c.data(), x.ldc);
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
}

void run_eigen(benchmark::State& state, Shape s) {
  Operands x(s);
  Eigen::setNbThreads(s.threads);
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Map = Eigen::Map<RowMajor>;
  Map A(x.a.data(), s.trans_a ? s.k : s.m, s.trans_a ? s.m : s.k);
  Map B(x.b.data(), s.trans_b ? s.n : s.k, s.trans_b ? s.k : s.n);
  Map C(x.c.data(), s.m, s.n);
  for (auto _ : state) {
    // The same expressions the library used before its own kernel (beta is 0 or 1 here).
    if (s.beta == 0.f) C.setZero();
    if (!s.trans_a && !s.trans_b) C.noalias() += A * B;
    else if (s.trans_a && !s.trans_b) C.noalias() += A.transpose() * B;
    else if (!s.trans_a && s.trans_b) C.noalias() += A * B.transpose();
    else C.noalias() += A.transpose() * B.transpose();
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
}

#ifdef MINIDNN_BENCH_OPENBLAS
void run_openblas(benchmark::State& state, Shape s) {
  Operands x(s);
  openblas_set_num_threads(s.threads);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.f, x.a.data(), x.lda,
                x.b.data(), x.ldb, s.beta, x.c.data(), x.ldc);
    benchmark::ClobberMemory();
  }
  state.SetLabel(openblas_get_corename());
  set_flops(state, s);
}
#endif

std::string name(const char* impl, const Shape& s) {
  return std::string(impl) + "/" + s.label + "/" + std::to_string(s.m) + "x" + std::to_string(s.n) +
         "x" + std::to_string(s.k) + "/" + (s.trans_a ? "T" : "N") + (s.trans_b ? "T" : "N") +
         "/t" + std::to_string(s.threads);
}

/// Single-thread products are timed by the benchmark thread's CPU time, which on a shared machine
/// leaves out the time the thread sat descheduled; two-thread products need wall time.
void add(benchmark::internal::Benchmark* b, const Shape& s) {
  if (s.threads > 1) b->UseRealTime();
}

const bool registered = [] {
  for (const Shape& s : shapes()) {
    add(benchmark::RegisterBenchmark(name("ours", s).c_str(), run_ours, s), s);
#ifdef MINIDNN_BENCH_OPENBLAS
    add(benchmark::RegisterBenchmark(name("openblas", s).c_str(), run_openblas, s), s);
#endif
    add(benchmark::RegisterBenchmark(name("eigen", s).c_str(), run_eigen, s), s);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
