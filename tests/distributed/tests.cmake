# Data-parallel training on MPI (include/minidnn/distributed/): programs started by mpirun with
# 2 ranks. Their sources end in _mpi.cpp, not _test.cpp: they have their own main (MPI's ranks),
# not Catch2's. Without MPI one placeholder test says so and is reported as skipped.
if(NOT MINIDNN_WITH_MPI)
  add_test(NAME distributed.skipped
    COMMAND sh -c "echo 'MPI not found (Debian: openmpi-bin libopenmpi-dev) or MINIDNN_WITH_MPI=OFF: the distributed tests are skipped'; exit 77")
  set_tests_properties(distributed.skipped PROPERTIES SKIP_RETURN_CODE 77)
  return()
endif()

# How mpirun must run here: CI runs as root in a container, which Open MPI refuses unless told
# (--allow-run-as-root); 2 ranks on a machine that may have fewer free cores (--oversubscribe).
# The shared-memory transport's single-copy mode (CMA, process_vm_readv) needs ptrace rights
# between the ranks that containers usually deny, so it copies through shared memory instead
# (btl_vader_single_copy_mechanism=none); one OpenMP thread per rank keeps 2 ranks on 2 cores.
set(MINIDNN_MPIRUN ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe ${MPIEXEC_NUMPROC_FLAG} 2)
set(MINIDNN_MPI_ENV OMPI_MCA_btl_vader_single_copy_mechanism=none OMP_NUM_THREADS=1)
# Under AddressSanitizer: Open MPI's own components (dlopen'ed, no symbols, so no suppression
# can name them) leave ~120 kB in ~3,400 allocations unfreed at MPI_Finalize, which LeakSanitizer
# reports as a failure. These tests keep ASan's and UBSan's other checks, without the leak check.
if(MINIDNN_SANITIZE)
  list(APPEND MINIDNN_MPI_ENV ASAN_OPTIONS=detect_leaks=0:abort_on_error=0)
endif()

foreach(name gradient_allreduce data_parallel)
  add_executable(test_distributed_${name} ${CMAKE_CURRENT_LIST_DIR}/${name}_mpi.cpp)
  target_link_libraries(test_distributed_${name} PRIVATE minidnn::mpi minidnn_build_flags)
  target_include_directories(test_distributed_${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)
  add_test(NAME distributed.${name} COMMAND ${MINIDNN_MPIRUN} $<TARGET_FILE:test_distributed_${name}>)
  set_tests_properties(distributed.${name} PROPERTIES ENVIRONMENT "${MINIDNN_MPI_ENV}" TIMEOUT 120)
endforeach()

# Faults: a rank killed, or leaving without finalizing, ends the whole job (fault_test.sh).
add_executable(test_distributed_fault ${CMAKE_CURRENT_LIST_DIR}/fault_mpi.cpp)
target_link_libraries(test_distributed_fault PRIVATE minidnn::mpi minidnn_build_flags)
add_test(NAME distributed.fault
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/fault_test.sh ${MINIDNN_MPIRUN} $<TARGET_FILE:test_distributed_fault>)
set_tests_properties(distributed.fault PROPERTIES ENVIRONMENT "${MINIDNN_MPI_ENV}" TIMEOUT 120)

# Across hosts: two network namespaces as two hosts, TCP between them (two_hosts_test.sh; root).
add_test(NAME distributed.two_hosts
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/two_hosts_test.sh ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:test_distributed_data_parallel>)
set_tests_properties(distributed.two_hosts PROPERTIES ENVIRONMENT "${MINIDNN_MPI_ENV}" SKIP_RETURN_CODE 77 TIMEOUT 120)
