# fer2013_bench reads the shared FER2013 CSV (env FER2013_CSV overrides the default path).
if(TARGET fer2013_bench)
  target_link_libraries(fer2013_bench PRIVATE ZLIB::ZLIB)
  get_filename_component(MINIDNN_DEFAULT_FER2013_CSV "${PROJECT_SOURCE_DIR}/../shared/data/fer2013/fer2013.csv.gz" ABSOLUTE)
  target_compile_definitions(fer2013_bench PRIVATE MINIDNN_DEFAULT_FER2013_CSV="${MINIDNN_DEFAULT_FER2013_CSV}")
endif()
