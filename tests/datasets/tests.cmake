target_link_libraries(test_datasets_fer2013_test PRIVATE ZLIB::ZLIB)
target_link_libraries(test_datasets_idx_test PRIVATE ZLIB::ZLIB)
#target_link_libraries(test_datasets_synthetic_faces_test PRIVATE ZLIB::ZLIB)
