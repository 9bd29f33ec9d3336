# haar_bench loads the photo with stb and finds the shared data folder beside the checkout.
if(TARGET haar_bench)
  if(NOT TARGET minidnn::stb)
    message(FATAL_ERROR "bench/haar_bench needs stb_image: install Debian's libstb-dev")
  endif()
  get_filename_component(MINIDNN_BENCH_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" ABSOLUTE)
  target_link_libraries(haar_bench PRIVATE minidnn::stb)
  target_compile_definitions(haar_bench PRIVATE MINIDNN_BENCH_SHARED_DIR="${MINIDNN_BENCH_SHARED_DIR}")
endif()
