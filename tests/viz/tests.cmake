# viz/ draws with stb_truetype and writes PNGs with stb_image_write (Debian's libstb).
foreach(name canvas font label png chart_axes bar_chart line_chart heatmap)
  target_link_libraries(test_viz_${name}_test PRIVATE minidnn::stb)
endforeach()
