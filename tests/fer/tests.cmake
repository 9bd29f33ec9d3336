# tests/fer drive the fer binary; without it (no stb or zlib) they are not built.
if(TARGET fer)
  target_compile_definitions(test_fer_fer_cli_test PRIVATE FER_BINARY="$<TARGET_FILE:fer>")
  target_link_libraries(test_fer_fer_cli_test PRIVATE minidnn::stb)
  add_dependencies(test_fer_fer_cli_test fer)
else()
  set_target_properties(test_fer_fer_cli_test PROPERTIES EXCLUDE_FROM_ALL ON)
  set_tests_properties(fer.fer_cli_test PROPERTIES DISABLED ON)
endif()
if(TARGET fer)
  target_compile_definitions(test_fer_fer_training_faults_test PRIVATE FER_BINARY="$<TARGET_FILE:fer>")
  add_dependencies(test_fer_fer_training_faults_test fer)
else()
  set_target_properties(test_fer_fer_training_faults_test PROPERTIES EXCLUDE_FROM_ALL ON)
  set_tests_properties(fer.fer_training_faults_test PROPERTIES DISABLED ON)
endif()
# fer serve's API tests need the server (built with cpp-httplib) and link httplib's client.
if(TARGET fer AND TARGET PkgConfig::FER_HTTPLIB)
  target_compile_definitions(test_fer_fer_serve_test PRIVATE FER_BINARY="$<TARGET_FILE:fer>")
  target_link_libraries(test_fer_fer_serve_test PRIVATE minidnn::stb PkgConfig::FER_HTTPLIB)  # nlohmann-json: header-only, in /usr/include
  add_dependencies(test_fer_fer_serve_test fer)
  set_tests_properties(fer.fer_serve_test PROPERTIES TIMEOUT 600)
else()
  set_target_properties(test_fer_fer_serve_test PROPERTIES EXCLUDE_FROM_ALL ON)
  set_tests_properties(fer.fer_serve_test PROPERTIES DISABLED ON)
endif()
# fer serve's page in headless Chromium (tests/browser; node_modules from scripts/setup.sh).
find_program(MINIDNN_NODE node)
if(TARGET fer AND TARGET PkgConfig::FER_HTTPLIB AND MINIDNN_NODE)
  add_test(NAME fer.fer_serve_browser
    COMMAND ${MINIDNN_NODE} ${PROJECT_SOURCE_DIR}/tests/browser/fer_serve_page.mjs $<TARGET_FILE:fer>
            ${MINIDNN_DEFAULT_SHARED_DIR}/data/faces ${CMAKE_CURRENT_BINARY_DIR}/screenshots)
  set_tests_properties(fer.fer_serve_browser PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
