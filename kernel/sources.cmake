# Generic kernel sources, shared by every architecture.
set(KERNEL_SOURCES
  ${CMAKE_SOURCE_DIR}/kernel/main.c
  ${CMAKE_SOURCE_DIR}/kernel/sched.c
  ${CMAKE_SOURCE_DIR}/kernel/smp.c
  ${CMAKE_SOURCE_DIR}/kernel/refill.c
  ${CMAKE_SOURCE_DIR}/kernel/timer.c
  ${CMAKE_SOURCE_DIR}/kernel/sched_context.c
  ${CMAKE_SOURCE_DIR}/kernel/tcb.c
  ${CMAKE_SOURCE_DIR}/kernel/endpoint.c
  ${CMAKE_SOURCE_DIR}/kernel/notification.c
  ${CMAKE_SOURCE_DIR}/kernel/reply.c
  ${CMAKE_SOURCE_DIR}/kernel/syscall.c
  ${CMAKE_SOURCE_DIR}/kernel/fastpath.c
  ${CMAKE_SOURCE_DIR}/kernel/debug/invariants.c
  ${CMAKE_SOURCE_DIR}/kernel/fault.c
  ${CMAKE_SOURCE_DIR}/kernel/log.c
  ${CMAKE_SOURCE_DIR}/kernel/debug.c
  ${CMAKE_SOURCE_DIR}/kernel/irq.c
  ${CMAKE_SOURCE_DIR}/kernel/irq_handler.c
  ${CMAKE_SOURCE_DIR}/kernel/ioport.c
  ${CMAKE_SOURCE_DIR}/kernel/iospace.c
  ${CMAKE_SOURCE_DIR}/kernel/vspace.c
  ${CMAKE_SOURCE_DIR}/kernel/vspace_object.c
  ${CMAKE_SOURCE_DIR}/kernel/frame.c
  ${CMAKE_SOURCE_DIR}/kernel/page_table.c
  ${CMAKE_SOURCE_DIR}/kernel/asid_pool.c
  ${CMAKE_SOURCE_DIR}/kernel/asid_control.c
  ${CMAKE_SOURCE_DIR}/kernel/object.c
  ${CMAKE_SOURCE_DIR}/kernel/cdt.c
  ${CMAKE_SOURCE_DIR}/kernel/cnode.c
  ${CMAKE_SOURCE_DIR}/kernel/untyped.c
  ${CMAKE_SOURCE_DIR}/kernel/invoke.c
  ${CMAKE_SOURCE_DIR}/kernel/cnode_invoke.c
  ${CMAKE_SOURCE_DIR}/kernel/untyped_invoke.c
  ${CMAKE_SOURCE_DIR}/kernel/debug/selftest_vspace.c
  ${CMAKE_SOURCE_DIR}/kernel/debug/selftest_irq.c
  ${CMAKE_SOURCE_DIR}/kernel/debug/selftest_timer.c
  ${CMAKE_SOURCE_DIR}/kernel/debug/selftest_lockorder.c
  ${CMAKE_SOURCE_DIR}/kernel/debug/lockorder.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/boot_params.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/fdt_boot.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/bootimage.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/bootinfo.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/memmap.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/roottask.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/rootcaps.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/string.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/format.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/crc32.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/clock.c
  ${CMAKE_SOURCE_DIR}/kernel/lib/console.c
  # Pure parsers (kernel/parse/): the same files are built into libsys.
  ${CMAKE_SOURCE_DIR}/kernel/parse/elf.c
  ${CMAKE_SOURCE_DIR}/kernel/parse/fdt.c
  ${CMAKE_SOURCE_DIR}/kernel/parse/acpi.c
  ${CMAKE_SOURCE_DIR}/kernel/parse/dmar.c
)

# The IPC fast path (kernel_fastpath) is built without frame pointers: its
# only call that leaves it never returns (arch_fastpath_switch), so a frame
# would be pure cost on every IPC. A backtrace taken inside it skips it.
set_source_files_properties(${CMAKE_SOURCE_DIR}/kernel/fastpath.c
  PROPERTIES COMPILE_OPTIONS -fomit-frame-pointer)
