/*
 * Bench markers: instructions that do nothing, each with a number (0-31) in
 * it, that the QEMU plugin tests/bench/plugin/vcpu_insns.c recognises and
 * answers with the executing vCPU's instruction count (a BKMARK line in
 * QEMU's log). Under -icount every vCPU shares one clock, so a counter read
 * on one CPU includes what the others ran; the plugin counts per vCPU.
 * The encodings are the plugin's; change both together.
 */
#pragma once

#define BK_MARK_STR(x) #x
#define BK_MARK_XSTR(x) BK_MARK_STR(x)

#if defined(__x86_64__)
/* nopl 0x424b4d00+id(%rax): a long NOP with a 32-bit displacement. */
#define BENCH_MARK(id) \
    __asm__ volatile(".byte 0x0f, 0x1f, 0x80\n\t.4byte 0x424b4d00 + " BK_MARK_XSTR(id) ::: "memory")
#elif defined(__riscv)
/* slti x0, x0, 0x7a0+id: a HINT (its result goes to x0). */
#define BENCH_MARK(id) \
    __asm__ volatile(".4byte ((0x7a0 + " BK_MARK_XSTR(id) ") << 20) | 0x2013" ::: "memory")
#else
#error "no bench marker for this architecture"
#endif
