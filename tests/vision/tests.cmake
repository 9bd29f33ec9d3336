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
# The video tests need FFmpeg's libraries.
if(TARGET minidnn::ffmpeg)
  target_link_libraries(test_vision_video_reader_test PRIVATE minidnn::stb minidnn::ffmpeg)
else()
  set_target_properties(test_vision_video_reader_test PROPERTIES EXCLUDE_FROM_ALL ON)
  set_tests_properties(vision.video_reader_test PROPERTIES DISABLED ON)
endif()
