# RISC-V (RV64) port: sources, compiler flags and linker script.
set(ARCH_SOURCES
  ${CMAKE_SOURCE_DIR}/arch/riscv/entry.S
  ${CMAKE_SOURCE_DIR}/arch/riscv/trap.S
  ${CMAKE_SOURCE_DIR}/arch/riscv/early.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/cpu.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/trap.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/user.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/paging.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/vspace.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/asid.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/timer.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/plic.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/selftest.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/sbi.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/uart.c
  ${CMAKE_SOURCE_DIR}/arch/riscv/power.c
  ${CMAKE_SOURCE_DIR}/kernel/boot/fdt.c
)
set(ARCH_KERNEL_CFLAGS --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64
    -mcmodel=medany -mno-relax)
set(ARCH_USER_CFLAGS ${ARCH_KERNEL_CFLAGS})
set(ARCH_KERNEL_LDSCRIPT ${CMAKE_SOURCE_DIR}/arch/riscv/kernel.ld)
