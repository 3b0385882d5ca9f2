# User-level servers and the root task for ${arch} (included from
# bulkhead_add_arch()).
bulkhead_user_program(${arch} roottask SOURCES ${CMAKE_SOURCE_DIR}/servers/roottask/main.c)
bulkhead_boot_image(${arch} bootimage ROOT roottask)
