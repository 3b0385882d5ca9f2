/*
 * The kernel's first instructions. The SBI firmware (OpenSBI) enters
 * _start in S-mode at the image's physical load address with paging off,
 * a0 = hart id and a1 = physical address of the device tree (SBI spec v1.0,
 * and the Linux RISC-V boot protocol OpenSBI follows). This code clears
 * .bss, builds a minimal Sv39 table, turns paging on and jumps to the
 * kernel's link address in the high half, where riscv_boot_main() (early.c)
 * builds the real tables.
 *
 * The boot table maps:
 *  - the 1 GiB around the load address 1:1, so the instruction after the
 *    satp write still fetches;
 *  - the image at its link address with 2 MiB pages (so the load address
 *    must be 2 MiB aligned, as OpenSBI's is);
 *  - two 1 GiB pages of the physmap around the device tree, so the C code
 *    can read it before it knows where RAM is.
 * Everything here is PC-relative (lla) until the jump, so it runs at the
 * physical address; link addresses come from .dword literals.
 */
#include "cpu.h"
#include "riscv.h"

#define PTE_KERNEL_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | PTE_G)
#define PTE_KERNEL_RW (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | PTE_G)
#define PTE_IDENTITY (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    csrw    sie, zero
    /* Elect the boot hart. Firmware may enter _start on several harts at
     * once (Debian's fw_jump build of OpenSBI 1.1 did: two harts ran the
     * cold boot, docs/smp.md), so the first hart to swap a 1 into
     * riscv_boot_lottery boots the kernel and every later one parks
     * below until the boot hart releases it.
     *
     * Why the word is in .data, not .bss: the winner clears .bss just
     * below, and a loser may arrive before, during or after that clear.
     * A lottery word in .bss would be reset to 0 by the clear, and a hart
     * arriving after it would win a second time. The losers likewise
     * touch only .data (their parking slots): a loser's store into .bss
     * could land before the winner's clear reaches it and be wiped. The
     * image's .data is in the file, so it holds its initial zeroes before
     * any hart runs, and nothing in the kernel ever resets the lottery:
     * every hart after the first loses, however late it comes.
     * amoswap.aqrl: the winner's later accesses cannot move before its
     * win (nor a loser's slot stores before its loss). */
    lla     t0, riscv_boot_lottery
    li      t1, 1
    amoswap.w.aqrl t1, t1, (t0)
    bnez    t1, riscv_park_entry
    mv      s0, a0                  /* hart id */
    mv      s1, a1                  /* device tree, physical */
    lla     s2, _start              /* where we were loaded */
    li      t0, MEGAPAGE_SIZE - 1
    and     t0, s2, t0
    bnez    t0, .Lmisaligned

    /* .bss, the boot tables and the stack included, is not in the file. */
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    lla     a2, boot_root_table

    /* Identity: root[pa >> 30] = the gigapage holding the image. */
    srli    t0, s2, 30
    slli    t1, t0, 28              /* PPN of (t0 << 30), shifted to bit 10 */
    ori     t1, t1, PTE_IDENTITY
    slli    t0, t0, 3
    add     t0, a2, t0
    sd      t1, 0(t0)

    /* Physmap: root[256 + (dtb >> 30) + i] for i = 0, 1, within slots
     * 256..509 (slot 510 is the kernel's). */
    srli    t0, s1, 30
    li      t2, 2
    li      t3, 510 - 256
3:  bgeu    t0, t3, 4f
    slli    t1, t0, 28
    ori     t1, t1, PTE_KERNEL_RW
    addi    t4, t0, 256
    slli    t4, t4, 3
    add     t4, a2, t4
    sd      t1, 0(t4)
    addi    t0, t0, 1
    addi    t2, t2, -1
    bnez    t2, 3b
4:
    /* Kernel window: root[slot of _start's link address] -> boot_kernel_l1. */
    lla     a3, boot_kernel_l1
    lla     t0, .Lstart_link
    ld      a4, 0(t0)               /* link address of _start */
    srli    t0, a4, 30
    andi    t0, t0, PT_ENTRIES - 1
    slli    t0, t0, 3
    add     t0, a2, t0
    srli    t1, a3, 2               /* PPN of boot_kernel_l1 at bit 10 */
    ori     t1, t1, PTE_V
    sd      t1, 0(t0)

    /* boot_kernel_l1[slot of _start + k] = megapage k of the image. */
    srli    t0, a4, 21
    andi    t0, t0, PT_ENTRIES - 1
    slli    t0, t0, 3
    add     t0, a3, t0
    lla     t1, __kernel_end
    sub     t1, t1, s2
    li      t2, MEGAPAGE_SIZE - 1
    add     t1, t1, t2
    srli    t1, t1, 21              /* image size in megapages */
    mv      t2, s2
    li      t4, MEGAPAGE_SIZE
5:  srli    t3, t2, 2
    ori     t3, t3, PTE_KERNEL_RWX
    sd      t3, 0(t0)
    addi    t0, t0, 8
    add     t2, t2, t4
    addi    t1, t1, -1
    bnez    t1, 5b

    /* satp = Sv39, ASID 0, root table. A mode the hart lacks is not
     * written at all (satp is WARL), so read it back. */
    srli    t0, a2, PAGE_SHIFT
    li      t1, SATP_MODE_SV39
    or      t0, t0, t1
    sfence.vma
    csrw    satp, t0
    sfence.vma
    csrr    t1, satp
    bne     t0, t1, .Lno_sv39

    lla     t0, .Lhigh_link
    ld      t0, 0(t0)
    jr      t0

.Lhigh:
    /* Now at the link address: lla yields high-half addresses. */
    lla     sp, boot_stack_top
    mv      a0, s0
    mv      a1, s1
    mv      a2, s2
    li      fp, 0                   /* ends frame-pointer backtraces */
    li      ra, 0
    call    riscv_boot_main
6:  wfi
    j       6b

/* ---- Another hart, started by SBI HSM hart_start (cpu.c) ------------------
 * At riscv_ap_entry's physical address, paging off, a0 = hart id. The boot
 * page table above is still intact (nothing frees it) and maps the image
 * 1:1 and at its link address: it carries the hart to the link address,
 * where riscv_ap_start gives the kernel's own tables, the stack and tp. */
    .globl riscv_ap_entry
riscv_ap_entry:
    csrw    sie, zero
    lla     t0, boot_root_table     /* its physical address: still PC-relative */
    srli    t0, t0, PAGE_SHIFT
    li      t1, SATP_MODE_SV39
    or      t0, t0, t1
    sfence.vma
    csrw    satp, t0
    sfence.vma
    lla     t0, .Lap_high_link
    ld      t0, 0(t0)
    jr      t0
.Lap_high:
    lla     t0, riscv_ap_start      /* at the link address now */
    ld      t1, AP_START_SATP(t0)
    csrw    satp, t1
    sfence.vma
    ld      sp, AP_START_SP(t0)
    ld      tp, AP_START_CPU(t0)
    mv      a0, tp
    li      fp, 0
    li      ra, 0
    call    riscv_ap_main
9:  wfi
    j       9b

/* ---- A hart that lost the lottery --------------------------------------------
 * Paging off, a0 = hart id, no stack. It claims a slot of riscv_parked
 * (.data, see the lottery above), writes its hart id there, then marks the
 * slot PARK_WAITING with a release (fence rw, w: the id is visible before
 * the state that says it is valid). It sleeps until the boot hart sets
 * PARK_RELEASED (cpu.c, arch_cpu_start(), which finds the hart there when
 * HSM hart_start says the hart is already running) and sends an IPI. A
 * hart past the last slot parks for good: the kernel could not name it.
 *
 * Waking: wfi resumes when an interrupt enabled in sie is pending, even
 * with sstatus.SIE clear (which it stays: no trap is taken here). sie =
 * SSIE (the boot hart's IPI) | STIE: an SBI timer armed about every 0.1 s
 * (1,000,000 timebase ticks; 10 MHz on QEMU virt) also wakes it, in case
 * the firmware drops IPIs to a hart it does not count as started. SSIP
 * is cleared before each look at the state: the boot hart stores
 * PARK_RELEASED before it sends the IPI, so an IPI that comes after the
 * look leaves SSIP pending and the wfi returns at once. */
    .globl riscv_park_entry
riscv_park_entry:
    mv      s0, a0
    lla     t0, riscv_parked_count
    li      t1, 1
    amoadd.w t1, t1, (t0)
    li      t2, RISCV_PARK_SLOTS
    bgeu    t1, t2, .Lpark_forever
    slli    t1, t1, PARK_SLOT_SHIFT
    lla     s1, riscv_parked
    add     s1, s1, t1
    sd      s0, PARK_HART_ID(s1)
    fence   rw, w
    li      t1, PARK_WAITING
    sw      t1, PARK_STATE(s1)
    li      t1, SIE_SSIE | SIE_STIE
    csrw    sie, t1
.Lpark_wait:
    csrci   sip, SIE_SSIE           /* sip.SSIP is bit 1, as in sie */
    lw      t1, PARK_STATE(s1)
    li      t2, PARK_RELEASED
    beq     t1, t2, .Lpark_released
    rdtime  a0
    li      t1, 1000000
    add     a0, a0, t1
    li      a7, 0x00                /* legacy set_timer: clears STIP too */
    ecall
    wfi
    j       .Lpark_wait
.Lpark_released:
    fence   r, rw                   /* acquire: riscv_ap_start after the state */
    li      a0, -1                  /* no SBI timer left armed */
    li      a7, 0x00
    ecall
    csrw    sie, zero
    csrci   sip, SIE_SSIE
    mv      a0, s0
    j       riscv_ap_entry
.Lpark_forever:
    csrw    sie, zero
1:  wfi
    j       1b

.Lmisaligned:
    lla     a0, .Lmsg_misaligned
    j       .Lfail
.Lno_sv39:
    csrw    satp, zero
    lla     a0, .Lmsg_no_sv39
.Lfail:
    /* No console yet but the SBI legacy putchar (EID 0x01). */
    mv      s3, a0
7:  lbu     a0, 0(s3)
    beqz    a0, 8f
    li      a7, 0x01
    ecall
    addi    s3, s3, 1
    j       7b
8:  wfi
    j       8b

    .balign 8
.Lstart_link:
    .dword  _start
.Lhigh_link:
    .dword  .Lhigh
.Lap_high_link:
    .dword  .Lap_high

.Lmsg_misaligned:
    .asciz  "bulkhead: kernel loaded at an address not 2 MiB aligned\r\n"
.Lmsg_no_sv39:
    .asciz  "bulkhead: this hart has no Sv39 paging\r\n"

    /* In .data, never .bss: see the lottery at _start. */
    .section .data.boot_lottery, "aw", @progbits
    .balign 8
    .globl riscv_boot_lottery, riscv_parked_count, riscv_parked
riscv_boot_lottery:
    .word   0
riscv_parked_count:
    .word   0
riscv_parked:
    .zero   RISCV_PARK_SLOTS << PARK_SLOT_SHIFT

    .section .bss.boot_tables, "aw", @nobits
    .balign 4096
boot_root_table:
    .space  4096
boot_kernel_l1:
    .space  4096

    /* The boot hart's kernel stack; cpu.c makes it the trap stack too. */
    .section .bss.boot_stack, "aw", @nobits
    .balign 16
    .globl boot_stack_top
boot_stack:
    .space  KERNEL_STACK_SIZE
boot_stack_top:
