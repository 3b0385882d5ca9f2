# Generic kernel sources, shared by every architecture.
set(KERNEL_SOURCES
  ${CMAKE_SOURCE_DIR}/kernel/main.c
  ${CMAKE_SOURCE_DIR}/kernel/thread.c
  ${CMAKE_SOURCE_DIR}/kernel/syscall.c
  ${CMAKE_SOURCE_DIR}/kernel/fault.c
  ${CMAKE_SOURCE_DIR}/kernel/vspace.c
  ${CMAKE_SOURCE_DIR}/kernel/elf.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/boot_params.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/bootimage.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/bootinfo.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/memmap.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/roottask.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/string.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/format.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/crc32.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/console.c
)
