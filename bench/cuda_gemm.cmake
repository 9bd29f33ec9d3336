# cuda_gemm_bench: the CUDA SGEMM kernel against cuBLAS (see the source's header comment).
# Without the CUDA add-on the program is left out of the default build (its source then only
# prints why it has nothing to measure).
if(TARGET minidnn::cuda)
  target_link_libraries(cuda_gemm_bench PRIVATE minidnn::cuda CUDA::cudart)
  if(TARGET CUDA::cublas)
    target_link_libraries(cuda_gemm_bench PRIVATE CUDA::cublas)
    target_compile_definitions(cuda_gemm_bench PRIVATE MINIDNN_BENCH_HAVE_CUBLAS=1)
  else()
    message(STATUS "minidnn: cuBLAS not found, cuda_gemm_bench runs without the cuBLAS reference")
  endif()
else()
  set_target_properties(cuda_gemm_bench PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
