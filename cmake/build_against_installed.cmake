# Builds a project outside the minidnn tree as a user would: installs minidnn into a scratch
# prefix, then configures and builds PROGRAM_DIR against it with find_package(minidnn) at plain
# -O2, no -march (the kernels must still find the CPU's best instruction set at run time).
#
#   cmake -DSOURCE_DIR=<minidnn> -DPROGRAM_DIR=<project> -DWORK_DIR=<scratch>
#         [-DCXX_COMPILER=clang++] [-DRUN=<program>] -P cmake/build_against_installed.cmake
#
# WORK_DIR is emptied first; the program lands in WORK_DIR/program-build. With RUN, that program
# is then run without MINIDNN_ISA (the test suite may run with one forced), as a user runs it.
# Used by the consumer test (tests/CMakeLists.txt) and scripts/compare_isa_speed.sh.
foreach(required SOURCE_DIR PROGRAM_DIR WORK_DIR)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "build_against_installed.cmake: -D${required}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib-build -DMINIDNN_BUILD_TESTS=OFF
    -DMINIDNN_BUILD_EXAMPLES=OFF -DMINIDNN_BUILD_BENCH=OFF -DMINIDNN_WITH_CUDA=OFF
    -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib-build)
set(compiler)
if(DEFINED CXX_COMPILER)
  set(compiler -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
run(${CMAKE_COMMAND} -S ${PROGRAM_DIR} -B ${WORK_DIR}/program-build ${compiler}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/program-build)
if(DEFINED RUN)
  run(${CMAKE_COMMAND} -E env --unset=MINIDNN_ISA ${WORK_DIR}/program-build/${RUN})
endif()
