# Eigen, the GEMM the library used before its own kernel, stays a reference in this benchmark only.
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
target_link_libraries(gemm_bench PRIVATE Eigen3::Eigen)

# OpenBLAS as the reference for gemm_bench (cblas_sgemm, row-major). Debian's libopenblas-dev
# puts the pthread build's cblas.h and library under openblas-pthread/.
find_path(MINIDNN_OPENBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas
  NO_DEFAULT_PATH)
find_library(MINIDNN_OPENBLAS_LIBRARY openblas
  PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread)
if(MINIDNN_OPENBLAS_INCLUDE_DIR AND MINIDNN_OPENBLAS_LIBRARY)
  target_include_directories(gemm_bench PRIVATE ${MINIDNN_OPENBLAS_INCLUDE_DIR})
  target_link_libraries(gemm_bench PRIVATE ${MINIDNN_OPENBLAS_LIBRARY})
  target_compile_definitions(gemm_bench PRIVATE MINIDNN_BENCH_OPENBLAS=1)
else()
  message(STATUS "gemm_bench: OpenBLAS not found, benchmarking minidnn and Eigen only")
endif()
target_compile_options(gemm_bench PRIVATE -Wno-maybe-uninitialized)  # GCC 12 false positives inside Eigen AVX-512 packets
