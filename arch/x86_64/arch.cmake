# x86-64 port: sources, compiler flags and linker script.
set(ARCH_SOURCES
)
set(ARCH_KERNEL_CFLAGS --target=x86_64-unknown-elf -mno-red-zone -mgeneral-regs-only
    -mcmodel=kernel)
# User programs: no FPU/SSE state is switched yet, so user code is integer-only too.
set(ARCH_USER_CFLAGS --target=x86_64-unknown-elf -mgeneral-regs-only)
set(ARCH_KERNEL_LDSCRIPT ${CMAKE_SOURCE_DIR}/arch/x86_64/kernel.ld)
