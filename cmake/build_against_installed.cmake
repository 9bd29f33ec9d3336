# Installs minidnn into a scratch prefix, then configures, builds and runs tests/consumer against
# it with find_package(minidnn): what a user outside this tree does, with default compiler flags.
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
# Plain -O2, no -march: the kernels must still find the CPU's best instruction set at run time.
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer-build
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
# Without MINIDNN_ISA (the test suite may run with one forced), as a user runs it.
run(${CMAKE_COMMAND} -E env --unset=MINIDNN_ISA ${WORK_DIR}/consumer-build/consumer)
