# x86-64 port: sources, compiler flags and linker script.
set(ARCH_SOURCES
  ${CMAKE_SOURCE_DIR}/arch/x86_64/entry.S
  ${CMAKE_SOURCE_DIR}/arch/x86_64/early.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/console.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/power.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/cpu.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/fpu.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/paging.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/vspace.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/kpti.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/apic.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/timer.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/ioapic.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/ioport.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/iommu.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/iommu_tables.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/selftest.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/trap.S
  ${CMAKE_SOURCE_DIR}/arch/x86_64/trap.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/user.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/fastpath.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/smp.c
  ${CMAKE_SOURCE_DIR}/arch/x86_64/ap_boot.S
  # Pure C, no register named: the host tests and a fuzzer build it too.
  ${CMAKE_SOURCE_DIR}/arch/x86_64/multiboot.c
)
set(ARCH_KERNEL_CFLAGS --target=x86_64-unknown-elf -mno-red-zone -mgeneral-regs-only
    -mcmodel=kernel)
# User programs get the SysV default, SSE2: each thread's x87/SSE/AVX state
# is switched by the kernel (fpu.c), which itself stays integer-only.
set(ARCH_USER_CFLAGS --target=x86_64-unknown-elf)
set(ARCH_KERNEL_LDSCRIPT ${CMAKE_SOURCE_DIR}/arch/x86_64/kernel.ld)
# The IPC fast path's way out, like kernel/fastpath.c, is built without
# frame pointers: nothing in it returns, so a frame would be pure cost.
set_source_files_properties(${CMAKE_SOURCE_DIR}/arch/x86_64/fastpath.c
  PROPERTIES COMPILE_OPTIONS -fomit-frame-pointer)
