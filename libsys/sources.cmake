# libsys sources for ${arch} (included from bulkhead_add_arch()).
set(LIBSYS_SOURCES
  ${CMAKE_SOURCE_DIR}/libsys/arch/${arch}/crt0.S
  ${CMAKE_SOURCE_DIR}/libsys/src/start.c
  ${CMAKE_SOURCE_DIR}/libsys/src/printf.c
  ${CMAKE_SOURCE_DIR}/libsys/src/string.c
  ${CMAKE_SOURCE_DIR}/libsys/src/errors.c
  ${CMAKE_SOURCE_DIR}/libsys/src/thread.c
  ${CMAKE_SOURCE_DIR}/libsys/src/slots.c
  ${CMAKE_SOURCE_DIR}/libsys/src/alloc.c
  ${CMAKE_SOURCE_DIR}/libsys/src/vspace.c
  ${CMAKE_SOURCE_DIR}/libsys/src/elf.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process.c
)
