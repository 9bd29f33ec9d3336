# tests/fer drive the fer binary; without it (no stb or zlib) they are not built.
if(TARGET fer)
  target_compile_definitions(test_fer_fer_cli_test PRIVATE FER_BINARY="$<TARGET_FILE:fer>")
  target_link_libraries(test_fer_fer_cli_test PRIVATE minidnn::stb)
  add_dependencies(test_fer_fer_cli_test fer)
else()
  set_target_properties(test_fer_fer_cli_test PROPERTIES EXCLUDE_FROM_ALL ON)
  set_tests_properties(fer.fer_cli_test PROPERTIES DISABLED ON)
endif()
