target_link_libraries(test_io_byte_stream_test PRIVATE ZLIB::ZLIB)
target_link_libraries(test_io_line_reader_test PRIVATE ZLIB::ZLIB)
