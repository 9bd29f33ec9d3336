# Decides MINIDNN_WITH_CUDA (the optional CUDA GEMM add-on in src/cuda, see docs/cuda.md) and,
# when it is ON, enables the CUDA language and finds the toolkit. Included from the top-level
# CMakeLists.txt (no new scope), so CUDA and the CUDA:: imported targets are visible everywhere.
#
# Default: ON when an nvcc is found (CUDACXX, PATH, or /usr/local/cuda/bin/nvcc), OFF otherwise.
# -DMINIDNN_WITH_CUDA=ON without a usable nvcc is a configure error; =OFF skips the search.
include(CheckLanguage)

set(_minidnn_cuda_default OFF)
if(NOT DEFINED MINIDNN_WITH_CUDA OR MINIDNN_WITH_CUDA)
  # check_language() only looks at CUDACXX and PATH; the toolkit's usual home is rarely on PATH.
  # Pointing CUDACXX there (for this configure run) lets check_language() verify that it works.
  find_program(MINIDNN_NVCC_ON_PATH nvcc)
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND NOT MINIDNN_NVCC_ON_PATH
     AND EXISTS /usr/local/cuda/bin/nvcc)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
  # nvcc compiles host code with the same g++ as the rest of the tree.
  if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX}
     AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set(ENV{CUDAHOSTCXX} ${CMAKE_CXX_COMPILER})
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_minidnn_cuda_default ON)
  endif()
endif()
option(MINIDNN_WITH_CUDA "Build the optional CUDA GEMM backend (minidnn::cuda)" ${_minidnn_cuda_default})

if(MINIDNN_WITH_CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    message(FATAL_ERROR "MINIDNN_WITH_CUDA=ON but no CUDA compiler was found: set CUDACXX or "
                        "CMAKE_CUDA_COMPILER to nvcc, or configure with -DMINIDNN_WITH_CUDA=OFF")
  endif()
  # sm_90 machine code (H100/H200) plus compute_90 PTX that newer GPUs JIT-compile.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures for minidnn::cuda")
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "minidnn: CUDA GEMM backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "minidnn: CUDA GEMM backend OFF (no nvcc found, or MINIDNN_WITH_CUDA=OFF)")
endif()
