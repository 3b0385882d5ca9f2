/*
 * How another CPU (an AP) gets from the STARTUP IPI to C (smp.c).
 *
 * A STARTUP IPI with vector v starts the AP in real mode at CS = v << 8,
 * IP = 0, i.e. physical address v << 12 (Intel SDM vol. 3, 9.4.4.1 and
 * 11.6.1): the code must lie in a page below 1 MiB. The kernel image is at
 * 1 MiB and up, so the block between ap_trampoline_start and
 * ap_trampoline_end is copied to AP_TRAMPOLINE_PA (smp.c: why that page
 * is safe) and runs from there. It is written for that address: every
 * absolute address in it is TRAMP(label).
 *
 * Real mode -> protected mode (a flat GDT in the block) -> long mode with
 * the page table smp.c built for it (it maps the block 1:1 and the
 * kernel's half as the kernel's tables do) -> x86_ap_entry64 at the
 * kernel's link address, which loads the kernel's own tables, the AP's
 * stack, and calls x86_ap_main(cpu). The values come from the data slots
 * at the block's end and from x86_ap_boot (smp.c), filled by the boot CPU
 * before each STARTUP IPI; APs start one at a time.
 */
#include "x86_defs.h"

#define TRAMP(x) (AP_TRAMPOLINE_PA + ((x) - ap_trampoline_start))

    .section .rodata.ap_trampoline, "a"
    .code16
    .globl ap_trampoline_start
ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds                   /* ds base 0: TRAMP() addresses below 64 KiB */
    lgdtl TRAMP(ap_gdt_ptr)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $0x08, $TRAMP(ap_protected)

    .code32
ap_protected:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    /* Long mode as in entry.S (SDM vol. 3, 10.8.5): PAE, CR3, EFER.LME
     * (and NXE when the kernel's tables use bit 63), then paging. */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl TRAMP(ap_slot_cr3), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl TRAMP(ap_slot_efer), %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP | CR0_PE), %eax
    movl %eax, %cr0
    ljmpl $0x18, $TRAMP(ap_long)

    .code64
ap_long:
    movabsq $x86_ap_entry64, %rax   /* the kernel's half: mapped here too */
    jmp *%rax

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code, flat */
    .quad 0x00CF92000000FFFF        /* 0x10: data, flat */
    .quad 0x00AF9A000000FFFF        /* 0x18: 64-bit code */
ap_gdt_end:
ap_gdt_ptr:
    .short ap_gdt_end - ap_gdt - 1
    .long TRAMP(ap_gdt)

    .balign 4
    .globl ap_slot_cr3, ap_slot_efer
ap_slot_cr3:                        /* physical, below 4 GiB: the 1:1 + kernel table */
    .long 0
ap_slot_efer:                       /* EFER bits to set: LME, and NXE if the CPU has NX */
    .long 0
    .globl ap_trampoline_end
ap_trampoline_end:

/* At the kernel's link address, on the trampoline's table. */
    .text
    .globl x86_ap_entry64
x86_ap_entry64:
    movq x86_ap_boot + AP_BOOT_CR3(%rip), %rax
    movq %rax, %cr3                 /* the kernel's own tables: the low page goes */
    movq x86_ap_boot + AP_BOOT_STACK(%rip), %rsp
    movq x86_ap_boot + AP_BOOT_CPU(%rip), %rdi
    xorl %ebp, %ebp
    call x86_ap_main
    ud2
