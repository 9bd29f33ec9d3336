# The vision tests load images with stb (Debian's libstb-dev) and read fixtures committed beside them.
if(NOT TARGET minidnn::stb)
  message(FATAL_ERROR "tests/vision needs stb_image: install Debian's libstb-dev")
endif()
foreach(vision_test test_vision_image_test test_vision_integral_image_test test_vision_haar_cascade_test)
  if(TARGET ${vision_test})
    target_link_libraries(${vision_test} PRIVATE minidnn::stb)
    target_compile_definitions(${vision_test} PRIVATE
      MINIDNN_VISION_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/fixtures")
  endif()
endforeach()
