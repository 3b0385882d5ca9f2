# RISC-V (RV64) port: sources, compiler flags and linker script.
set(ARCH_SOURCES
)
set(ARCH_KERNEL_CFLAGS --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64
    -mcmodel=medany -mno-relax)
set(ARCH_USER_CFLAGS ${ARCH_KERNEL_CFLAGS})
set(ARCH_KERNEL_LDSCRIPT ${CMAKE_SOURCE_DIR}/arch/riscv/kernel.ld)
