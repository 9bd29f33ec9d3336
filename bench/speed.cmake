# seed_model_speed: a plain timing program (not Google Benchmark) printing one JSON line per mode,
# the minidnn side of scripts/compare_speed.sh (bench/pytorch_seed_model.py is the other side).
add_executable(seed_model_speed ${CMAKE_CURRENT_SOURCE_DIR}/seed_model_speed.cpp)
target_link_libraries(seed_model_speed PRIVATE minidnn::minidnn minidnn_build_flags)
if(MINIDNN_BUILD_TESTS)
  add_test(NAME bench.seed_model_speed
           COMMAND seed_model_speed --batch 8 --min-time 0 --min-iters 1 --warmup 0)
  set_tests_properties(bench.seed_model_speed PROPERTIES TIMEOUT 600 LABELS bench)
endif()
if(MINIDNN_BUILD_TESTS)
  foreach(model mini_xception vgg_bn)
    add_test(NAME bench.seed_model_speed.${model}
             COMMAND seed_model_speed --model ${model} --batch 4 --min-time 0 --min-iters 1 --warmup 0)
    set_tests_properties(bench.seed_model_speed.${model} PROPERTIES TIMEOUT 600 LABELS bench)
  endforeach()
endif()
