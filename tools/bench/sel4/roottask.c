/*
 * A root task of our own for seL4 (built by tools/bench/sel4.py against the
 * libsel4 of the seL4 tree the user passes): it times seL4's IPC round trip
 * the way tests/bench/bulkhead/bench.c times Bulkhead's, so the comparison in
 * docs/performance.md can be checked by anyone with seL4's source.
 *
 * For each variant (a server in a second VSpace that shares the root task's
 * image frames, then a server in the root task's own VSpace) it retypes an
 * endpoint and a TCB (and on MCS a reply object and a scheduling context,
 * unbound once the server waits, so the server is passive), starts the server
 * looping on ReplyRecv at the root task's priority, then makes WARMUP Calls and
 * times ITERATIONS more, each on its own, with the instruction counter (rdtsc
 * on x86-64, rdinstret on RISC-V: under QEMU's -icount shift=0 both advance by
 * one per guest instruction). Messages carry 0 words; both threads run with
 * seL4's FPU switching disabled (seL4_TCBFlag_fpuDisabled), and the code is
 * built without FPU/SIMD registers so that neither thread ever needs the FPU.
 *
 * The results go to the serial line, one line per variant:
 *   SEL4BENCH {"operation": ..., "min": ..., "median": ..., "p99": ...,
 *              "iterations": ...}
 * then "SEL4BENCH done" (or "SEL4BENCH failed: <what> (seL4 error N)").
 * The kernel is built without printing, so the root task drives the UART
 * itself: COM1 through an IO port capability on x86-64, the virt machine's
 * NS16550 through a device frame on RISC-V.
 *
 * libsel4 is configured with LibSel4UseThreadLocals=OFF: the IPC buffer
 * pointer is an ordinary global, so the server needs no TLS. The seL4_Call /
 * seL4_ReplyRecv stubs read and write message registers 0-3 through it (part
 * of the measured stub cost, as for seL4's own figures); the server in the
 * second VSpace gets its own IPC buffer frame at the same address, the one in
 * the root task's VSpace uses the root task's (0 words: the values are unused).
 */
#include <sel4/sel4.h>

#ifndef ITERATIONS
#define ITERATIONS 10000
#endif
#ifndef WARMUP
#define WARMUP 1000
#endif
#define STACK_SIZE 16384
#define PAGE_SIZE 4096ul
#define SERVER_PRIORITY 255 /* the root task's: the fast path needs equal priorities */

seL4_IPCBuffer *__sel4_ipc_buffer;

extern char __image_start[];
unsigned char root_stack[STACK_SIZE] __attribute__((aligned(16)));
static unsigned char server_stacks[2][STACK_SIZE] __attribute__((aligned(16)));
static unsigned int samples[ITERATIONS];

static seL4_BootInfo *bootinfo;
static seL4_CPtr next_slot;   /* the next empty slot of the root CNode */
static seL4_CPtr memory;      /* the largest RAM untyped */

int main(seL4_BootInfo *bi);

/* gcc may call these for structure copies and zeroing; there is no libc. */
void *memset(void *dst, int c, unsigned long n);
void *memcpy(void *dst, const void *src, unsigned long n);

void *memset(void *dst, int c, unsigned long n)
{
    unsigned char *d = dst;
    while (n--) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

/* ---- The instruction counter -------------------------------------------- */

static inline unsigned long counter(void)
{
#if defined(__x86_64__)
    unsigned int lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long)hi << 32) | lo;
#else
    unsigned long v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
#endif
}

/* ---- Serial output -------------------------------------------------------- */

#if defined(__x86_64__)
#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4 /* QEMU's isa-debug-exit, as tools/bkqemu.py adds it */
static seL4_CPtr com1_port, exit_port;
#else
#define UART_PADDR 0x10000000ul /* QEMU virt: NS16550, THR at offset 0 */
#define TEST_PADDR 0x100000ul   /* QEMU virt: SiFive test device (power off) */
static volatile unsigned char *uart;
static volatile unsigned int *test_device;
#endif

static void put_char(char c)
{
#if defined(__x86_64__)
    if (com1_port) {
        seL4_X86_IOPort_Out8(com1_port, COM1, (unsigned char)c);
    }
#else
    if (uart) {
        *uart = (unsigned char)c;
    }
#endif
}

static void put_string(const char *s)
{
    while (*s) {
        put_char(*s++);
    }
}

static void put_number(unsigned long v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        put_char(digits[--n]);
    }
}

/* Ends the run: QEMU's exit device where there is one; else the host stops
 * QEMU when it reads the final line. */
static void finish(void)
{
#if defined(__x86_64__)
    if (exit_port) {
        seL4_X86_IOPort_Out8(exit_port, DEBUG_EXIT_PORT, 0);
    }
#else
    if (test_device) {
        *test_device = 0x5555; /* "pass": QEMU exits 0 */
    }
#endif
    for (;;) {
        seL4_Yield();
    }
}

/* Every seL4 call that can fail goes through here: the run stops with a
 * line the host reports, naming the step and seL4's error number. */
static void check(seL4_Error err, const char *what)
{
    if (err == seL4_NoError) {
        return;
    }
    put_string("SEL4BENCH failed: ");
    put_string(what);
    put_string(" (seL4 error ");
    put_number((unsigned long)err);
    put_string(")\n");
    finish();
}

/* ---- Objects ---------------------------------------------------------------- */

static seL4_CPtr alloc_slot(void)
{
    if (next_slot >= bootinfo->empty.end) {
        check(seL4_NotEnoughMemory, "root CNode full");
    }
    return next_slot++;
}

static seL4_CPtr make_from(seL4_CPtr untyped, seL4_Word type, seL4_Word size_bits,
                           const char *what)
{
    seL4_CPtr slot = alloc_slot();
    check(seL4_Untyped_Retype(untyped, type, size_bits, seL4_CapInitThreadCNode, 0, 0, slot, 1),
          what);
    return slot;
}

static seL4_CPtr make(seL4_Word type, seL4_Word size_bits, const char *what)
{
    return make_from(memory, type, size_bits, what);
}

static void find_memory(void)
{
    unsigned best_bits = 0;
    for (seL4_CPtr s = bootinfo->untyped.start; s < bootinfo->untyped.end; s++) {
        const seL4_UntypedDesc *d = &bootinfo->untypedList[s - bootinfo->untyped.start];
        if (!d->isDevice && d->sizeBits > best_bits) {
            best_bits = d->sizeBits;
            memory = s;
        }
    }
}

#if defined(__riscv)
/* A frame cap for the device page at `paddr`: retype the device untyped that
 * holds it, first into untypeds that use up the bytes before it (Retype
 * allocates from a watermark that only grows), then one 4 KiB frame. */
static seL4_CPtr device_frame(seL4_Word paddr)
{
    for (seL4_CPtr s = bootinfo->untyped.start; s < bootinfo->untyped.end; s++) {
        const seL4_UntypedDesc *d = &bootinfo->untypedList[s - bootinfo->untyped.start];
        seL4_Word end = d->paddr + (1ul << d->sizeBits);
        if (!d->isDevice || paddr < d->paddr || paddr >= end) {
            continue;
        }
        for (seL4_Word at = d->paddr; at < paddr;) {
            /* The largest aligned block at `at` that ends at or before paddr. */
            unsigned bits = 4;
            while (bits < 63 && !(at & (1ul << bits)) && at + (2ul << bits) <= paddr) {
                bits++;
            }
            make_from(s, seL4_UntypedObject, bits, "skip to a device page");
            at += 1ul << bits;
        }
        return make_from(s, seL4_RISCV_4K_Page, 0, "device frame");
    }
    check(seL4_FailedLookup, "no device untyped holds the page");
    return 0;
}
#endif

/* ---- Address spaces --------------------------------------------------------- */

/* Maps `frame` at `vaddr` in `vspace`, making the paging structures the
 * mapping needs on the way (seL4 answers FailedLookup while one is missing). */
static void map_frame(seL4_CPtr vspace, seL4_CPtr frame, seL4_Word vaddr)
{
    for (int level = 0; level < 4; level++) {
#if defined(__x86_64__)
        seL4_Error err = seL4_X86_Page_Map(frame, vspace, vaddr, seL4_AllRights,
                                           seL4_X86_Default_VMAttributes);
#else
        seL4_Error err = seL4_RISCV_Page_Map(frame, vspace, vaddr, seL4_AllRights,
                                             seL4_RISCV_Default_VMAttributes);
#endif
        if (err != seL4_FailedLookup) {
            check(err, "map a frame");
            return;
        }
#if defined(__x86_64__)
        /* x86-64 has a type per level; a level already present answers
         * DeleteFirst, and the object made for it is left unused. */
        seL4_CPtr pdpt = make(seL4_X86_PDPTObject, 0, "PDPT");
        err = seL4_X86_PDPT_Map(pdpt, vspace, vaddr, seL4_X86_Default_VMAttributes);
        if (err == seL4_DeleteFirst) {
            seL4_CPtr pd = make(seL4_X86_PageDirectoryObject, 0, "page directory");
            err = seL4_X86_PageDirectory_Map(pd, vspace, vaddr, seL4_X86_Default_VMAttributes);
        }
        if (err == seL4_DeleteFirst) {
            seL4_CPtr pt = make(seL4_X86_PageTableObject, 0, "page table");
            err = seL4_X86_PageTable_Map(pt, vspace, vaddr, seL4_X86_Default_VMAttributes);
        }
#else
        /* RISC-V: one type; Map fills the highest level that is missing. */
        seL4_CPtr pt = make(seL4_RISCV_PageTableObject, 0, "page table");
        err = seL4_RISCV_PageTable_Map(pt, vspace, vaddr, seL4_RISCV_Default_VMAttributes);
#endif
        check(err, "map a paging structure");
    }
    check(seL4_FailedLookup, "map a frame: paging structures still missing");
}

/* A second VSpace with the root task's image frames (copies of their caps)
 * at the same addresses, and a fresh IPC buffer frame where the root task has
 * its own: the server runs the same code but shares no TLB-visible state. */
static seL4_CPtr make_server_vspace(seL4_CPtr *ipc_frame)
{
#if defined(__x86_64__)
    seL4_CPtr vspace = make(seL4_X64_PML4Object, 0, "PML4");
    check(seL4_X86_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace), "assign an ASID");
#else
    seL4_CPtr vspace = make(seL4_RISCV_PageTableObject, 0, "root page table");
    check(seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace), "assign an ASID");
#endif
    seL4_Word vaddr = (seL4_Word)__image_start & ~(PAGE_SIZE - 1);
    for (seL4_CPtr f = bootinfo->userImageFrames.start; f < bootinfo->userImageFrames.end; f++) {
        seL4_CPtr copy = alloc_slot();
        check(seL4_CNode_Copy(seL4_CapInitThreadCNode, copy, seL4_WordBits,
                              seL4_CapInitThreadCNode, f, seL4_WordBits, seL4_AllRights),
              "copy an image frame cap");
        map_frame(vspace, copy, vaddr);
        vaddr += PAGE_SIZE;
    }
#if defined(__x86_64__)
    *ipc_frame = make(seL4_X86_4K, 0, "IPC buffer frame");
#else
    *ipc_frame = make(seL4_RISCV_4K_Page, 0, "IPC buffer frame");
#endif
    map_frame(vspace, *ipc_frame, (seL4_Word)bootinfo->ipcBuffer);
    return vspace;
}

/* ---- The server --------------------------------------------------------------- */

/* Waits on `ep`, then answers every Call with an empty reply and waits again,
 * in one ReplyRecv. Runs forever; touches only its stack and IPC buffer. */
static void __attribute__((noreturn)) server(seL4_CPtr ep, seL4_CPtr reply)
{
    seL4_Word badge;
    seL4_MessageInfo_t empty = seL4_MessageInfo_new(0, 0, 0, 0);
#ifdef CONFIG_KERNEL_MCS
    seL4_Recv(ep, &badge, reply);
    for (;;) {
        seL4_ReplyRecv(ep, empty, &badge, reply);
    }
#else
    (void)reply;
    seL4_Recv(ep, &badge);
    for (;;) {
        seL4_ReplyRecv(ep, empty, &badge);
    }
#endif
}

static void set_registers(seL4_CPtr tcb, seL4_Word stack_top, seL4_CPtr ep, seL4_CPtr reply)
{
    seL4_UserContext regs;
    memset(&regs, 0, sizeof regs);
#if defined(__x86_64__)
    regs.rip = (seL4_Word)server;
    regs.rsp = stack_top - 8; /* as after a call: rsp + 8 16-byte aligned */
    regs.rdi = ep;
    regs.rsi = reply;
#else
    regs.pc = (seL4_Word)server;
    regs.sp = stack_top;
    regs.a0 = ep;
    regs.a1 = reply;
#endif
    check(seL4_TCB_WriteRegisters(tcb, 1, 0, sizeof regs / sizeof(seL4_Word), &regs),
          "start the server");
}

/* Makes and starts a server thread on endpoint `ep` in `vspace`, with FPU
 * switching off. On MCS it first runs on a scheduling context of its own
 * until it waits on the endpoint, then the context is unbound: a passive
 * server that runs on the caller's donated context, as seL4's MCS
 * figures assume. */
static void start_server(seL4_CPtr ep, seL4_CPtr vspace, seL4_Word ipc_vaddr, seL4_CPtr ipc_frame,
                         unsigned char *stack)
{
    seL4_CPtr tcb = make(seL4_TCBObject, 0, "TCB");
    seL4_CPtr reply = 0;
#ifdef CONFIG_KERNEL_MCS
    reply = make(seL4_ReplyObject, 0, "reply object");
    seL4_CPtr sc = make(seL4_SchedContextObject, seL4_MinSchedContextBits, "scheduling context");
    check(seL4_SchedControl_ConfigureFlags(bootinfo->schedcontrol.start, sc, 10000, 10000, 0, 0, 0),
          "configure the server's scheduling context");
    check(seL4_TCB_Configure(tcb, seL4_CapInitThreadCNode, 0, vspace, 0, ipc_vaddr, ipc_frame),
          "configure the server TCB");
    check(seL4_TCB_SetSchedParams(tcb, seL4_CapInitThreadTCB, SERVER_PRIORITY, SERVER_PRIORITY,
                                  sc, seL4_CapNull),
          "set the server's priority and context");
#else
    check(seL4_TCB_Configure(tcb, seL4_CapNull, seL4_CapInitThreadCNode, 0, vspace, 0, ipc_vaddr,
                             ipc_frame),
          "configure the server TCB");
    check(seL4_TCB_SetPriority(tcb, seL4_CapInitThreadTCB, SERVER_PRIORITY),
          "set the server's priority");
#endif
    check(seL4_TCB_SetFlags(tcb, 0, seL4_TCBFlag_fpuDisabled).error,
          "disable the server's FPU switching");
    set_registers(tcb, (seL4_Word)(stack + STACK_SIZE), ep, reply);
    /* Same priority: yielding lets the server run until it waits on ep. */
    seL4_Yield();
#ifdef CONFIG_KERNEL_MCS
    check(seL4_SchedContext_Unbind(sc), "make the server passive");
#endif
}

/* ---- Measuring ---------------------------------------------------------------- */

static void sort(unsigned int *a, unsigned n)
{
    /* Shell sort (gaps 3h+1): 10,000 samples in well under a second of TCG. */
    unsigned gap = 1;
    while (gap < n / 3) {
        gap = 3 * gap + 1;
    }
    for (; gap; gap /= 3) {
        for (unsigned i = gap; i < n; i++) {
            unsigned int v = a[i];
            unsigned j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap) {
                a[j] = a[j - gap];
            }
            a[j] = v;
        }
    }
}

static void report(const char *operation)
{
    sort(samples, ITERATIONS);
    unsigned p99 = (ITERATIONS * 99 + 99) / 100; /* nearest rank, 1-based */
    put_string("SEL4BENCH {\"operation\": \"");
    put_string(operation);
    put_string("\", \"min\": ");
    put_number(samples[0]);
    put_string(", \"median\": ");
    put_number(samples[ITERATIONS / 2]);
    put_string(", \"p99\": ");
    put_number(samples[p99 - 1]);
    put_string(", \"iterations\": ");
    put_number(ITERATIONS);
    put_string("}\n");
}

static void measure_round_trips(seL4_CPtr ep, const char *operation)
{
    seL4_MessageInfo_t empty = seL4_MessageInfo_new(0, 0, 0, 0);
    for (unsigned i = 0; i < WARMUP; i++) {
        seL4_Call(ep, empty);
    }
    for (unsigned i = 0; i < ITERATIONS; i++) {
        unsigned long t0 = counter();
        seL4_Call(ep, empty);
        samples[i] = (unsigned int)(counter() - t0);
    }
    report(operation);
}

/* ---- Start -------------------------------------------------------------------- */

static void setup_serial(void)
{
#if defined(__x86_64__)
    seL4_CPtr port = alloc_slot();
    if (seL4_X86_IOPortControl_Issue(seL4_CapIOPortControl, COM1, COM1 + 7, seL4_CapInitThreadCNode,
                                      port, seL4_WordBits) == seL4_NoError) {
        com1_port = port;
    }
    port = alloc_slot();
    if (seL4_X86_IOPortControl_Issue(seL4_CapIOPortControl, DEBUG_EXIT_PORT, DEBUG_EXIT_PORT,
                                     seL4_CapInitThreadCNode, port,
                                     seL4_WordBits) == seL4_NoError) {
        exit_port = port;
    }
#else
    /* The last pages of the image's 2 MiB region are free in the root task's
     * VSpace (the kernel puts the IPC buffer and boot info right after the
     * image, which is far smaller). */
    seL4_Word top = ((seL4_Word)__image_start | (0x200000ul - 1)) + 1;
    map_frame(seL4_CapInitThreadVSpace, device_frame(UART_PADDR), top - PAGE_SIZE);
    uart = (volatile unsigned char *)(top - PAGE_SIZE);
    map_frame(seL4_CapInitThreadVSpace, device_frame(TEST_PADDR), top - 2 * PAGE_SIZE);
    test_device = (volatile unsigned int *)(top - 2 * PAGE_SIZE);
#endif
}

int main(seL4_BootInfo *bi)
{
    bootinfo = bi;
    next_slot = bi->empty.start;
    seL4_SetIPCBuffer(bi->ipcBuffer);
    find_memory();
    setup_serial();
    put_string("sel4bench: root task up\n");
    check(seL4_TCB_SetFlags(seL4_CapInitThreadTCB, 0, seL4_TCBFlag_fpuDisabled).error,
          "disable the root task's FPU switching");

    /* Two address spaces: the server in a VSpace of its own. */
    seL4_CPtr ipc_frame;
    seL4_CPtr vspace = make_server_vspace(&ipc_frame);
    seL4_CPtr ep = make(seL4_EndpointObject, 0, "endpoint");
    start_server(ep, vspace, (seL4_Word)bi->ipcBuffer, ipc_frame, server_stacks[0]);
    measure_round_trips(ep, "ipc_call_reply_0w_2as");

    /* One address space: the server in the root task's VSpace. */
    ep = make(seL4_EndpointObject, 0, "endpoint");
    start_server(ep, seL4_CapInitThreadVSpace, 0, seL4_CapNull, server_stacks[1]);
    measure_round_trips(ep, "ipc_call_reply_0w_1as");

    put_string("SEL4BENCH done\n");
    finish();
    return 0;
}
