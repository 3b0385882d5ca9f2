/*
 * The first instructions: multiboot v1 and v2 headers, the 32-bit entry
 * point both loaders jump to, and the trampoline into 64-bit mode at the
 * higher-half address, on temporary page tables that map
 *   - physical 0..4 GiB at 0 (only for the instant paging is switched on),
 *   - physical 0..4 GiB at PHYSMAP_BASE (where C reads the multiboot info),
 *   - physical 0..2 GiB at KERNEL_VBASE (the kernel image),
 * all with 2 MiB pages. paging.c replaces them with the kernel's own tables.
 *
 * The headers and the 32-bit code (sections .multiboot.header and
 * .boot.entry) are linked at their physical addresses, in a segment of
 * their own: GRUB looks e_entry up among the segments' virtual ranges, and
 * older GRUBs refuse an ELF64 entry above 4 GiB. The rest of the kernel is
 * linked at KERNEL_VBASE + physical address: until paging is on, the code
 * here reaches it with PHYS(symbol).
 */
#include "x86_defs.h"

#define PHYS(x) ((x) - KERNEL_VBASE)

/* Multiboot v1 header flags: bit 0 page-align modules, bit 1 give the
 * memory map, bit 16 the address fields below are valid (the "a.out
 * kludge": QEMU's -kernel refuses an ELF64 without it). */
#define MB1_FLAGS 0x00010003

    .section .multiboot.header, "a"
    /* Multiboot v1: 4-byte aligned, within the first 8 KiB of the file. */
    .balign 8
mb1_header:
    .long MB1_HEADER_MAGIC
    .long MB1_FLAGS
    .long -(MB1_HEADER_MAGIC + MB1_FLAGS)
    .long mb1_header                /* header_addr */
    .long KERNEL_PBASE              /* load_addr: the file maps linearly from here */
    .long PHYS(__kernel_load_end)   /* load_end_addr */
    .long PHYS(__kernel_end)        /* bss_end_addr: zeroed by the loader */
    .long x86_entry32               /* entry_addr */

    /* Multiboot2: 8-byte aligned, within the first 32 KiB; tags 8-aligned. */
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long 0                         /* architecture 0: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + (mb2_header_end - mb2_header))
    .balign 8
    .short 3, 0                     /* entry address tag, required */
    .long 12
    .long x86_entry32
    .balign 8
    .short 6, 0                     /* module alignment tag: page-align modules */
    .long 8
    .balign 8
    .short 0, 0                     /* end tag */
    .long 8
mb2_header_end:

/* ---- 32-bit entry ---------------------------------------------------------
 * Both loaders enter in 32-bit protected mode, paging off, interrupts off,
 * EAX = magic, EBX = physical address of the boot information. */
    .section .boot.entry, "ax"
    .code32
    .globl x86_entry32
x86_entry32:
    cli
    cld
    movl %eax, %edi                 /* edi = magic, esi = info, kept to the end */
    movl %ebx, %esi
    movl $(PHYS(x86_cpu0_stacks) + STACKS_KERNEL_TOP), %esp

    cmpl $MB1_BOOT_MAGIC, %edi
    je 1f
    cmpl $MB2_BOOT_MAGIC, %edi
    je 1f
    movl $msg_bad_magic, %eax
    movl $1, %ebp                   /* print edi (the magic) too */
    jmp boot32_fail
1:
    /* Long mode: CPUID 80000001h EDX bit 29 (Intel SDM vol. 3, 10.8.5). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb 2f
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jc 3f
2:  movl $msg_no_long_mode, %eax
    xorl %ebp, %ebp
    jmp boot32_fail
3:
    movl %edx, %ebp                 /* EDX bit 20: NX, used below */
    call boot32_build_tables

    /* Long mode entry (Intel SDM vol. 3, 10.8.5): CR4.PAE, CR3, EFER.LME
     * (+ NXE when NX exists, so the kernel tables may use bit 63), then
     * CR0.PG; CR0.WP makes read-only pages binding on the kernel too. */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $PHYS(boot_pml4), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    btl $20, %ebp
    jnc 4f
    orl $EFER_NXE, %eax
4:  wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP | CR0_PE), %eax
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmpl $GDT_KERNEL_CODE, $boot_entry64_low

/* Fills the temporary tables described at the top of the file. The loader
 * zeroed them (they are in .bss); the PML4 and PDPTs are cleared again
 * anyway since stale entries there would be fatal. Uses eax, ebx, ecx. */
boot32_build_tables:
    movl $PHYS(boot_pml4), %ebx
    xorl %ecx, %ecx
1:  movl $0, (%ebx, %ecx, 4)
    incl %ecx
    cmpl $(3 * 1024), %ecx          /* pml4 + 2 pdpts, 1024 dwords each */
    jb 1b
    /* 2048 PD entries: entry i maps 2 MiB page i (present, writable, PS). */
    movl $PHYS(boot_pd), %ebx
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $(PTE_P | PTE_W | PTE_PS), %eax
    movl %eax, (%ebx, %ecx, 8)
    movl $0, 4(%ebx, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jb 2b
    /* Low PDPT: slots 0..3 -> the four PDs (0..4 GiB). */
    movl $PHYS(boot_pdpt_low), %ebx
    movl $(PHYS(boot_pd) + PTE_P + PTE_W), %eax
    xorl %ecx, %ecx
3:  movl %eax, (%ebx, %ecx, 8)
    addl $PAGE_SIZE, %eax
    incl %ecx
    cmpl $4, %ecx
    jb 3b
    /* High PDPT: slots 510, 511 (KERNEL_VBASE..) -> PDs 0, 1 (0..2 GiB). */
    movl $PHYS(boot_pdpt_high), %ebx
    movl $(PHYS(boot_pd) + PTE_P + PTE_W), %eax
    movl %eax, 510 * 8(%ebx)
    addl $PAGE_SIZE, %eax
    movl %eax, 511 * 8(%ebx)
    /* PML4: slot 0 (identity) and 256 (PHYSMAP_BASE) share the low PDPT;
     * slot 511 holds the kernel window. */
    movl $PHYS(boot_pml4), %ebx
    movl $(PHYS(boot_pdpt_low) + PTE_P + PTE_W), %eax
    movl %eax, 0(%ebx)
    movl %eax, 256 * 8(%ebx)
    movl $(PHYS(boot_pdpt_high) + PTE_P + PTE_W), %eax
    movl %eax, 511 * 8(%ebx)
    ret

/* Prints the message at physical eax on COM1, then "0x" and edi in hex if
 * ebp is non-zero, and stops with the panic status (isa-debug-exit port
 * 0xf4: 0x10 + KERNEL_EXIT_PANIC; QEMU exits 39). No stack use beyond the
 * calls. */
boot32_fail:
    movl %eax, %ebx
1:  movb (%ebx), %al
    testb %al, %al
    jz 2f
    call boot32_putc
    incl %ebx
    jmp 1b
2:  testl %ebp, %ebp
    jz 4f
    movb $'0', %al
    call boot32_putc
    movb $'x', %al
    call boot32_putc
    movl $8, %ecx
3:  roll $4, %edi
    movl %edi, %eax
    andl $0xF, %eax
    movb hex_digits(%eax), %al
    call boot32_putc
    decl %ecx
    jnz 3b
4:  movb $'\r', %al
    call boot32_putc
    movb $'\n', %al
    call boot32_putc
    movb $0x13, %al
    outb %al, $0xf4
5:  cli
    hlt
    jmp 5b

/* Writes al to COM1 (0x3f8) once the transmit holding register is empty
 * (LSR 0x3fd bit 5), giving up after a while if there is no UART.
 * Preserves every register but eax and edx. */
boot32_putc:
    pushl %ecx
    movb %al, %ah
    movl $100000, %ecx
1:  movw $0x3fd, %dx
    inb %dx, %al
    testb $0x20, %al
    jnz 2f
    decl %ecx
    jnz 1b
2:  movb %ah, %al
    movw $0x3f8, %dx
    outb %al, %dx
    popl %ecx
    ret

/* ---- 64-bit, still at the physical (identity-mapped) address ----------- */
    .code64
boot_entry64_low:
    movl $GDT_KERNEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_entry64_high, %rax
    jmp *%rax

/* ---- 64-bit at the kernel's virtual address ----------------------------- */
    .text
boot_entry64_high:
    movq $(x86_cpu0_stacks + STACKS_KERNEL_TOP), %rsp
    xorl %ebp, %ebp
    /* edi = magic, esi = info address: the arguments of x86_boot_main. */
    call x86_boot_main
    ud2

/* ---- Data the trampoline needs (read before paging, at physical addresses) */
    .section .boot.entry, "ax"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

msg_bad_magic:
    .asciz "bulkhead: not started by a multiboot loader (expected EAX 0x2badb002 or 0x36d76289), EAX="
msg_no_long_mode:
    .asciz "bulkhead: this CPU has no 64-bit long mode (CPUID 80000001h EDX bit 29)"
hex_digits:
    .ascii "0123456789abcdef"

    .section .bss.boot_tables, "aw", @nobits
    .balign PAGE_SIZE
boot_pml4:
    .skip PAGE_SIZE
boot_pdpt_low:
    .skip PAGE_SIZE
boot_pdpt_high:
    .skip PAGE_SIZE
boot_pd:
    .skip 4 * PAGE_SIZE
