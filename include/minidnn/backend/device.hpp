#pragma once
/// \file
/// select_device: where a program's GEMMs run, chosen by name at run time: "cpu", "cuda" (an
/// error without a usable GPU) or "auto" (CUDA when usable, else the CPU, saying so on stderr).
/// CUDA is available when the program links the optional add-on `minidnn::cuda`, which defines
/// MINIDNN_HAVE_CUDA; without it "cuda" is an error that says so and "auto" means the CPU.
#include <cstdio>
#include <memory>
#include <string>

#include "minidnn/ops/gemm.hpp"
#include "minidnn/core/error.hpp"
#ifdef MINIDNN_HAVE_CUDA
#include "minidnn/backend/cuda_gemm.hpp"
#endif

namespace minidnn {

/// Installs the GEMM backend for `device`; returns the name of the device actually used.
inline std::string select_device(const std::string& device) {
  if (device != "cpu" && device != "cuda" && device != "auto")
    fail("device must be cpu, cuda or auto, got '", device, "'");
  if (device == "cpu") {
    set_gemm_backend(nullptr);
    return "cpu";
  }
  std::string why;
#ifdef MINIDNN_HAVE_CUDA
  if (cuda::device_available(&why)) {
    static std::unique_ptr<GemmBackend> backend = cuda::make_gemm_backend();
    set_gemm_backend(backend.get());
    return "cuda";
  }
#else
  why = "this program was built without the CUDA add-on (MINIDNN_WITH_CUDA=OFF or no nvcc)";
#endif
  if (device == "cuda") fail("device cuda: no usable GPU: ", why);
  std::fprintf(stderr, "device auto: no usable GPU (%s); running on the CPU\n", why.c_str());
  set_gemm_backend(nullptr);
  return "cpu";
}

}  // namespace minidnn
