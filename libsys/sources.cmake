# libsys sources for ${arch} (included from bulkhead_add_arch()). Three
# layers above the generated syscall stubs, each using only those below:
#   base/     strings, error names, the printf engine, assert
#   process/  CSpace slots, kernel objects from Untyped, mapping frames,
#             loading ELF programs and starting processes (the files are
#             checked by kernel/parse/elf.c, the one ELF parser, which the
#             kernel builds too)
#   runtime/  startup, thread-local storage, threads, locks, the heap
set(LIBSYS_SOURCES
  ${CMAKE_SOURCE_DIR}/libsys/arch/${arch}/crt0.S
  ${CMAKE_SOURCE_DIR}/libsys/src/base/string.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/errors.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/format.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/decimal.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/printf.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/debug.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/assert.c
  ${CMAKE_SOURCE_DIR}/libsys/src/base/proto.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process/slots.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process/alloc.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process/arena.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process/vspace.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process/elf.c
  ${CMAKE_SOURCE_DIR}/kernel/parse/elf.c
  ${CMAKE_SOURCE_DIR}/libsys/src/process/process.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/start.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/init.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/tls.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/thread.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/threads.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/sync.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/heap.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/heap_check.c
  ${CMAKE_SOURCE_DIR}/libsys/src/runtime/heap_pages.c
)
