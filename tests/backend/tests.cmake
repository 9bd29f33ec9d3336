# The CUDA GEMM test links the add-on when it is built. Without it the same source compiles to a
# program that prints why and exits 77 (ctest: skipped), so a CPU-only build still lists it.
if(TARGET minidnn::cuda)
  target_link_libraries(test_backend_cuda_gemm_test PRIVATE minidnn::cuda)
endif()
if(TARGET minidnn::cuda)
  target_link_libraries(test_backend_device_test PRIVATE minidnn::cuda)
endif()
