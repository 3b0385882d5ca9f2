# RISC-V (RV64) port: sources, compiler flags and linker script.
set(ARCH_SOURCES
  ${CMAKE_SOURCE_DIR}/arch/riscv/entry.S
  ${CMAKE_SOURCE_DIR}/arch/riscv/trap.S
  ${CMAKE_SOURCE_DIR}/arch/riscv/early.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/cpu.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/trap.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/user.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/fastpath.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/fpu.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/fpu_switch.S
  ${CMAKE_SOURCE_DIR}/arch/riscv/paging.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/vspace.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/iommu.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/asid.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/timer.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/plic.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/sswi.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/selftest.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/sbi.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/console.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/power.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/board.c
)
# The kernel is rv64imac/lp64: its C code never touches an f register, so
# a trap needs no FP save. fpu_switch.S alone may use F/D instructions; its
# ABI flag stays lp64, so ld.lld links it with the rest (the float ABI in
# e_flags must match, the ISA need not).
# medlow: the kernel is linked in the top 2 GiB (kernel.ld), which lui's
# sign-extended 32 bits reach, and all its C code runs at its link address
# (entry.S, PC-relative, is all that runs at the load address). A global is
# then lui plus the access; under medany clang 14 makes it auipc, addi and
# the access, one instruction more (3 a direction in the IPC fast path).
set(ARCH_KERNEL_CFLAGS --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64
    -mcmodel=medlow -mno-relax)
# The IPC fast path's way out with several harts, like kernel/fastpath.c,
# is built without frame pointers: it leaves only by tail calls.
set_source_files_properties(${CMAKE_SOURCE_DIR}/arch/riscv/fastpath.c
  PROPERTIES COMPILE_OPTIONS -fomit-frame-pointer)
set_source_files_properties(${CMAKE_SOURCE_DIR}/arch/riscv/fpu_switch.S
  PROPERTIES COMPILE_OPTIONS -march=rv64imafdc)
# User programs use the standard RV64GC ABI (lp64d: doubles in f registers);
# the kernel switches F/D state per thread (fpu.c).
set(ARCH_USER_CFLAGS --target=riscv64-unknown-elf -march=rv64imafdc -mabi=lp64d
    -mcmodel=medany -mno-relax)
set(ARCH_KERNEL_LDSCRIPT ${CMAKE_SOURCE_DIR}/arch/riscv/kernel.ld)
