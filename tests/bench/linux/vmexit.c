/*
 * vmexit: the VM boundary of Bulkhead's benchmark (issue 17), measured on the
 * same emulator and in the same Linux guest as pingpong.c.
 *
 * A minimal VMM of our own on the KVM API: one VM, one memory slot, one vCPU
 * started directly in 64-bit long mode (page tables, GDT and TSS written into
 * guest memory, CR0/CR4/EFER set through KVM_SET_SREGS; no firmware, no
 * devices, no in-kernel interrupt controller). The vCPU runs tiny loops of
 * hand-written code (the "L2 guest"; the Linux guest that runs this program
 * is L1, QEMU TCG is L0).
 *
 * Under QEMU TCG with `-icount shift=0,sleep=off` the TSC advances by exactly
 * one per instruction the emulated CPU retires, whether L1 or L2 retires it.
 * KVM on AMD SVM lets L2 read the TSC without an intercept, as L1's TSC plus
 * the VMCB's TSC offset, and QEMU's SVM model applies that offset; so an L2
 * rdtsc difference counts every instruction in between, including those KVM
 * (L1) executes to handle an exit. The VMM checks that claim on every run: a
 * whole L2 loop runs inside one KVM_RUN, the VMM times that KVM_RUN with its
 * own rdtsc, and the L2 windows plus the loop's fixed instructions must add
 * up to it with the same remainder for the empty loop as for a loop whose
 * every iteration exits to KVM ("# check" lines).
 *
 * Operations, reported in this order (the ioeventfd loop runs last, so that
 * KVM's I/O port bus holds no device while vm_exit_pio_to_vmm is measured):
 *   vm_l2_empty_loop     the L2 timing window with nothing in it: the
 *                        baseline (3, as a back-to-back rdtsc pair in L1)
 *   vm_exit_cpuid        L2 executes cpuid (leaf 0): intercepted, handled by
 *                        KVM in the kernel, back to L2; timed in L2
 *   vm_exit_hypercall    L2 executes vmmcall with a number KVM does not
 *                        define: KVM answers -KVM_ENOSYS in rax and resumes
 *                        L2 without exiting to the VMM; timed in L2
 *   vm_exit_pio_ioeventfd
 *                        L2 executes `out` to a port bound to an eventfd
 *                        (KVM_IOEVENTFD, how virtio queues are kicked to vhost):
 *                        KVM signals the eventfd and resumes L2 in the kernel;
 *                        timed in L2
 *   vm_exit_pio_to_vmm   L2 executes `out` to an I/O port: KVM_RUN returns
 *                        KVM_EXIT_IO to this VMM, which checks it and calls
 *                        KVM_RUN again, the path of every emulated-device
 *                        request; timed in the VMM around each KVM_RUN (and
 *                        cross-checked timed from L2, "# check" line)
 *
 * QEMU 7.2's TCG does not offer SVM's NRIP save (CPUID 8000000A EDX bit 3;
 * kvm_amd loads with nrips=0), so KVM finds the end of an intercepted cpuid
 * or vmmcall by decoding it with its instruction emulator
 * (kvm_emulate_instruction(EMULTYPE_SKIP)); an `out` exit carries the next
 * rip in EXITINFO2 and needs no decoding. A CPU with NRIP save (KVM's
 * commit that relies on it: "Opteron G3s had it already") gives the next
 * rip for every intercept: there the cpuid and hypercall paths are shorter
 * than counted here.
 *
 * The cpuid and hypercall windows hold 2 and 1 instructions that load the
 * leaf or hypercall number; every window holds the 3 of the rdtsc pair.
 * Output: "BENCH " and a JSON object per operation, as pingpong.c prints
 * (min, median, p99 nearest rank, in instructions), system "kvm".
 *
 *   vmexit [-n ITERATIONS] [-w WARMUP]
 *
 * Exits 0 when every operation completed and the counting check held,
 * 1 otherwise, saying why on stderr as "vmexit: ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

enum { DEFAULT_ITERATIONS = 10000, DEFAULT_WARMUP = 2000, MAX_COUNT = 10000000 };

/* Guest physical layout, identity-mapped (guest virtual == guest physical). */
enum {
    GUEST_PML4 = 0x1000,
    GUEST_PDPT = 0x2000,
    GUEST_PD = 0x3000,
    GUEST_GDT = 0x4000,
    GUEST_TSS = 0x5000,
    GUEST_STACK_TOP = 0xf000,
    GUEST_CODE = 0x10000,
    GUEST_SAMPLES = 0x200000, /* one 64-bit delta per iteration, from here up */
    LARGE_PAGE = 0x200000,
};

/* GDT selectors (index * 8): null, 64-bit code, data, then the 16-byte TSS. */
enum { SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_TSS = 0x18 };

/* I/O ports the L2 code writes: PORT_PING is the measured exit to the VMM,
 * PORT_DONE ends a loop (its data is eax, the last hypercall's answer).
 * Macros, not enums, because the L2 assembly below spells them too. */
#define PORT_PING 0x80
#define PORT_DONE 0x81
#define PORT_EVENTFD 0x82
#define STR(x) #x
#define XSTR(x) STR(x)

/* Not one of the KVM_HC_* numbers of <linux/kvm_para.h> (1 to 12 in 6.1), so
 * KVM's kvm_emulate_hypercall() takes its default case: rax = -KVM_ENOSYS,
 * skip the instruction, resume the guest. */
#define HYPERCALL_UNKNOWN 0x1000

/* Instructions of each L2 loop outside its timing window: the opening rdtsc
 * (its value already includes itself), the call to l2_store, its 8 (4 to
 * build the two 64-bit values, sub, the store, add, dec) and ret, and the
 * loop's jnz. The counting check relies on it. */
enum { L2_LOOP_OUTSIDE = 12 };

/*
 * The L2 code, copied to GUEST_CODE. Each timed loop takes rdi = where to
 * store the deltas, rsi = iterations (at least 1), and ends with an `out` to
 * PORT_DONE. The window opens after an rdtsc and closes with the next one;
 * the halves of the first value wait in r8/r9 so that combining them happens
 * outside the window, which leaves 3 instructions in an empty window (two
 * movs and the closing rdtsc), as in pingpong.c's rdtsc pair.
 */
__asm__(".pushsection .rodata.l2, \"a\"\n"
        ".globl l2_code_start, l2_code_end, l2_empty, l2_cpuid, l2_hypercall, l2_eventfd\n"
        ".globl l2_pio_timed, l2_pio_loop\n"
        "l2_code_start:\n"
        "l2_empty:\n"
        "1:  rdtsc\n"
        "    mov %eax, %r8d\n"
        "    mov %edx, %r9d\n"
        "    rdtsc\n"
        "    call l2_store\n"
        "    jnz 1b\n"
        "    jmp l2_done\n"
        "l2_cpuid:\n"
        "1:  rdtsc\n"
        "    mov %eax, %r8d\n"
        "    mov %edx, %r9d\n"
        "    xor %eax, %eax\n" /* leaf 0 */
        "    xor %ecx, %ecx\n"
        "    cpuid\n"
        "    rdtsc\n"
        "    call l2_store\n"
        "    jnz 1b\n"
        "    jmp l2_done\n"
        "l2_hypercall:\n"
        "1:  rdtsc\n"
        "    mov %eax, %r8d\n"
        "    mov %edx, %r9d\n"
        "    mov $" XSTR(HYPERCALL_UNKNOWN) ", %eax\n"
        "    vmmcall\n"
        "    rdtsc\n"
        "    call l2_store\n"
        "    jnz 1b\n"
        /* One more, untimed, so the VMM sees KVM's answer in PORT_DONE's data. */
        "    mov $" XSTR(HYPERCALL_UNKNOWN) ", %eax\n"
        "    vmmcall\n"
        "    out %eax, $" XSTR(PORT_DONE) "\n"
        "    jmp l2_done\n"
        "l2_eventfd:\n"
        "1:  rdtsc\n"
        "    mov %eax, %r8d\n"
        "    mov %edx, %r9d\n"
        "    out %al, $" XSTR(PORT_EVENTFD) "\n"
        "    rdtsc\n"
        "    call l2_store\n"
        "    jnz 1b\n"
        "    jmp l2_done\n"
        "l2_pio_timed:\n"
        "1:  rdtsc\n"
        "    mov %eax, %r8d\n"
        "    mov %edx, %r9d\n"
        "    out %al, $" XSTR(PORT_PING) "\n"
        "    rdtsc\n"
        "    call l2_store\n"
        "    jnz 1b\n"
        "    jmp l2_done\n"
        /* The VMM-timed loop: each KVM_RUN runs the jmp and one out. */
        "l2_pio_loop:\n"
        "1:  out %al, $" XSTR(PORT_PING) "\n"
        "    jmp 1b\n"
        /* rax = (rdx:rax) - (r9:r8), stored at rdi++; decrements rsi and
         * leaves its flags for the caller's jnz. Outside every window. */
        "l2_store:\n"
        "    shl $32, %rdx\n"
        "    or %rdx, %rax\n"
        "    shl $32, %r9\n"
        "    or %r9, %r8\n"
        "    sub %r8, %rax\n"
        "    mov %rax, (%rdi)\n"
        "    add $8, %rdi\n"
        "    dec %rsi\n"
        "    ret\n"
        "l2_done:\n"
        "    out %al, $" XSTR(PORT_DONE) "\n"
        "    jmp l2_done\n"
        "l2_code_end:\n"
        ".popsection\n");

extern const char l2_code_start[], l2_code_end[], l2_empty[], l2_cpuid[], l2_hypercall[],
    l2_eventfd[], l2_pio_timed[], l2_pio_loop[];

struct vm {
    int kvm, vm, vcpu;
    uint8_t *mem; /* guest physical 0 in this process */
    size_t mem_size;
    struct kvm_run *run;
};

static long g_iterations = DEFAULT_ITERATIONS;
static long g_warmup = DEFAULT_WARMUP;

/* A compiler barrier on both sides, so no work moves into or out of the window. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static int fail(const char *what)
{
    fprintf(stderr, "vmexit: %s: %s\n", what, strerror(errno));
    return -1;
}

/* --- the VM ------------------------------------------------------------- */

static int open_kvm(struct vm *v)
{
    v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (v->kvm < 0)
        return fail("open /dev/kvm (is kvm-amd loaded? see the insmod lines and dmesg above)");
    int api = ioctl(v->kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        fprintf(stderr, "vmexit: KVM API version %d, this VMM speaks %d\n", api, KVM_API_VERSION);
        return -1;
    }
    if (ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
        fprintf(stderr, "vmexit: KVM lacks KVM_CAP_USER_MEMORY\n");
        return -1;
    }
    return 0;
}

/* One slot at guest physical 0, backed by anonymous memory touched here
 * first, so no host page fault lands in a timed window. */
static int add_memory(struct vm *v)
{
    size_t samples = (size_t)(g_warmup + g_iterations) * sizeof(uint64_t);
    v->mem_size = GUEST_SAMPLES + (samples + LARGE_PAGE - 1) / LARGE_PAGE * LARGE_PAGE;
    v->mem = mmap(NULL, v->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v->mem == MAP_FAILED)
        return fail("mmap guest memory");
    memset(v->mem, 0, v->mem_size);
    struct kvm_userspace_memory_region slot = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = v->mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)v->mem,
    };
    if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");
    return 0;
}

/* Give the vCPU the CPUID that KVM supports, as a VMM does: KVM answers the
 * guest's cpuid from this table (the cpuid row measures that lookup), and
 * checks the CR4 and EFER bits it is given against the features listed. */
static int set_cpuid(struct vm *v)
{
    enum { MAX_ENTRIES = 256 };
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + MAX_ENTRIES * sizeof cpuid->entries[0]);
    if (!cpuid)
        return fail("calloc");
    cpuid->nent = MAX_ENTRIES;
    int rc = 0;
    if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
        rc = fail("KVM_GET_SUPPORTED_CPUID");
    else if (ioctl(v->vcpu, KVM_SET_CPUID2, cpuid) < 0)
        rc = fail("KVM_SET_CPUID2");
    free(cpuid);
    return rc;
}

static int create_vm(struct vm *v)
{
    if (open_kvm(v) < 0)
        return -1;
    v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
    if (v->vm < 0)
        return fail("KVM_CREATE_VM");
    if (add_memory(v) < 0)
        return -1;
    v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
    if (v->vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    int run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof *v->run)
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
    if (v->run == MAP_FAILED)
        return fail("mmap kvm_run");
    return set_cpuid(v);
}

/* --- long mode, set up directly ------------------------------------------- */

static void put64(struct vm *v, uint64_t gpa, uint64_t value)
{
    memcpy(v->mem + gpa, &value, sizeof value);
}

/* Four-level paging (AMD APM vol. 2, 5.3): PML4[0] -> PDPT[0] -> one page
 * directory of 2 MiB pages (PS, bit 7) identity-mapping the whole slot. */
static void write_page_tables(struct vm *v)
{
    enum { P = 1 << 0, RW = 1 << 1, PS = 1 << 7 };
    put64(v, GUEST_PML4, GUEST_PDPT | P | RW);
    put64(v, GUEST_PDPT, GUEST_PD | P | RW);
    for (uint64_t gpa = 0; gpa < v->mem_size; gpa += LARGE_PAGE)
        put64(v, GUEST_PD + gpa / LARGE_PAGE * 8, gpa | P | RW | PS);
}

/* The GDT the selectors name (APM vol. 2, 4.8): a 64-bit code segment (L=1,
 * D=0), a data segment, and a 64-bit TSS (system type 0xB, busy), so that TR
 * names a real descriptor as after a boot, although nothing here switches
 * stacks (no IDT either: any exception is a triple fault, reported). */
static void write_gdt(struct vm *v)
{
    const uint64_t code64 = 0x00209a0000000000; /* P, S, type 0xA (execute/read), L */
    const uint64_t data = 0x0000920000000000;   /* P, S, type 0x2 (read/write) */
    const uint64_t limit = 0x67, base = GUEST_TSS;
    uint64_t tss_low = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)0x8b << 40 |
                       ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    put64(v, GUEST_GDT + 0, 0);
    put64(v, GUEST_GDT + SEL_CODE, code64);
    put64(v, GUEST_GDT + SEL_DATA, data);
    put64(v, GUEST_GDT + SEL_TSS, tss_low);
    put64(v, GUEST_GDT + SEL_TSS + 8, base >> 32);
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, int code)
{
    return (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = selector, .type = type, .present = 1,
        .dpl = 0, .db = !code, .s = 1, .l = code, .g = 1,
    };
}

/* Paging and long mode on from the first instruction: CR0.PE|PG (and the
 * usual NE, WP, ET), CR4.PAE, EFER.LME|LMA, CS a 64-bit code segment. */
static int enter_long_mode(struct vm *v)
{
    write_page_tables(v);
    write_gdt(v);
    memcpy(v->mem + GUEST_CODE, l2_code_start, (size_t)(l2_code_end - l2_code_start));
    struct kvm_sregs s;
    if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0)
        return fail("KVM_GET_SREGS");
    enum { CR0_PE = 1u << 0, CR0_MP = 1u << 1, CR0_ET = 1u << 4, CR0_NE = 1u << 5,
           CR0_WP = 1u << 16, CR0_PG = 1u << 31, CR4_PAE = 1u << 5,
           EFER_LME = 1u << 8, EFER_LMA = 1u << 10 };
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr4 = CR4_PAE;
    s.cr3 = GUEST_PML4;
    s.efer = EFER_LME | EFER_LMA;
    s.cs = segment(SEL_CODE, 0xb, 1);
    s.ds = s.es = s.fs = s.gs = s.ss = segment(SEL_DATA, 0x3, 0);
    s.tr = (struct kvm_segment){.base = GUEST_TSS, .limit = 0x67, .selector = SEL_TSS,
                                .type = 0xb, .present = 1};
    s.gdt.base = GUEST_GDT;
    s.gdt.limit = 5 * 8 - 1;
    if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0)
        return fail("KVM_SET_SREGS (long mode)");
    return 0;
}

/* Points the vCPU at one of the L2 loops, with its arguments. */
static int start_at(struct vm *v, const char *routine, long iterations)
{
    struct kvm_regs r = {
        .rip = GUEST_CODE + (uint64_t)(routine - l2_code_start),
        .rflags = 0x2, /* bit 1 is reserved and reads as 1; IF clear */
        .rsp = GUEST_STACK_TOP,
        .rdi = GUEST_SAMPLES,
        .rsi = (uint64_t)iterations,
    };
    if (ioctl(v->vcpu, KVM_SET_REGS, &r) < 0)
        return fail("KVM_SET_REGS");
    return 0;
}

/* --- running ---------------------------------------------------------------- */

static void describe_exit(const struct kvm_run *run)
{
    fprintf(stderr, "vmexit: unexpected exit from KVM_RUN: reason %u", run->exit_reason);
    if (run->exit_reason == KVM_EXIT_IO)
        fprintf(stderr, " (I/O, port 0x%x, direction %u)", run->io.port, run->io.direction);
    else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
        fprintf(stderr, " (entry failed, hardware reason 0x%llx)",
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
        fprintf(stderr, " (internal error, suberror %u)", run->internal.suberror);
    else if (run->exit_reason == KVM_EXIT_SHUTDOWN)
        fprintf(stderr, " (shutdown: the L2 code faulted with no IDT, a triple fault)");
    fprintf(stderr, "\n");
}

static int is_out(const struct kvm_run *run, uint16_t port)
{
    return run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
           run->io.port == port;
}

/* The data of an `out` exit, as the L2 code wrote it. */
static uint32_t out_data(const struct kvm_run *run)
{
    uint32_t value = 0;
    memcpy(&value, (const uint8_t *)run + run->io.data_offset, run->io.size);
    return value;
}

/* Runs the vCPU until it writes PORT_DONE. Returns the number of PORT_PING
 * exits on the way, or -1; *window is the VMM's rdtsc difference over the
 * whole run and *done_data PORT_DONE's data. */
static long run_to_done(struct vm *v, uint64_t *window, uint32_t *done_data)
{
    long pings = 0;
    uint64_t t0 = rdtsc();
    for (;;) {
        if (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return fail("KVM_RUN");
        }
        if (is_out(v->run, PORT_DONE))
            break;
        if (!is_out(v->run, PORT_PING)) {
            describe_exit(v->run);
            return -1;
        }
        pings++;
    }
    *window = rdtsc() - t0;
    *done_data = out_data(v->run);
    return pings;
}

/* --- statistics, as in pingpong.c ---------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t percentile(const uint64_t *sorted, long n, int pct)
{
    long rank = (n * pct + 99) / 100;
    return sorted[rank > 0 ? rank - 1 : 0];
}

static uint64_t sum_of(const uint64_t *s, long n)
{
    uint64_t total = 0;
    for (long i = 0; i < n; i++)
        total += s[i];
    return total;
}

/* samples holds warm-up + timed rounds; statistics cover the timed ones. */
static void report(const char *op, uint64_t *samples)
{
    uint64_t *timed = samples + g_warmup;
    qsort(timed, (size_t)g_iterations, sizeof *timed, cmp_u64);
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"kvm\", \"operation\": \"%s\", "
           "\"unit\": \"instructions\", \"min\": %llu, \"median\": %llu, \"p99\": %llu, "
           "\"iterations\": %ld}\n",
           op, (unsigned long long)timed[0], (unsigned long long)percentile(timed, g_iterations, 50),
           (unsigned long long)percentile(timed, g_iterations, 99), g_iterations);
    fflush(stdout);
}

/* --- the operations --------------------------------------------------------------- */

/* What one L2-timed loop leaves for the counting check. */
struct l2_run {
    uint64_t window;    /* the VMM's rdtsc difference around the loop's KVM_RUNs */
    uint64_t in_l2;     /* sum of the L2 windows, warm-up included */
    long pings;         /* exits to the VMM on PORT_PING */
    uint32_t done_data; /* eax at PORT_DONE */
};

/* Runs one L2-timed loop of warm-up + timed iterations; the deltas land in
 * guest memory at GUEST_SAMPLES, where this process reads them. */
static int run_l2_loop(struct vm *v, const char *routine, struct l2_run *out)
{
    long rounds = g_warmup + g_iterations;
    if (start_at(v, routine, rounds) < 0)
        return -1;
    out->pings = run_to_done(v, &out->window, &out->done_data);
    if (out->pings < 0)
        return -1;
    out->in_l2 = sum_of((uint64_t *)(v->mem + GUEST_SAMPLES), rounds);
    return 0;
}

/* The instructions of one L2-timed loop's KVM_RUN that no L2 window saw:
 * the fixed L2 loop overhead aside, entering and leaving KVM_RUN once, plus
 * whatever interrupts landed between windows. */
static int64_t remainder_of(const struct l2_run *r)
{
    uint64_t rounds = (uint64_t)(g_warmup + g_iterations);
    return (int64_t)(r->window - r->in_l2 - rounds * L2_LOOP_OUTSIDE);
}

/* An L2 rdtsc that did not count L1's instructions would leave each exit's
 * handling out of the L2 windows, and the remainder would grow by that much
 * per iteration: most of the window. Allow what timer interrupts between
 * windows can add: 1% of the window, far above the ticks (a few thousand
 * instructions every 4 million) and far below the exits. */
static int check_counting(const char *op, const struct l2_run *r, const struct l2_run *empty,
                          const char *note)
{
    long rounds = g_warmup + g_iterations;
    int64_t rem = remainder_of(r), base = remainder_of(empty);
    int64_t slack = (int64_t)(r->window / 100) + 20000;
    printf("# check %s: the VMM counted %llu instructions around KVM_RUN, the L2 windows %llu "
           "and the L2 loop %llu (%d per iteration): %lld left for entering and leaving "
           "KVM_RUN (empty loop: %lld%s)\n",
           op, (unsigned long long)r->window, (unsigned long long)r->in_l2,
           (unsigned long long)rounds * L2_LOOP_OUTSIDE, L2_LOOP_OUTSIDE, (long long)rem,
           (long long)base, note);
    if (llabs(rem - base) > slack) {
        fprintf(stderr, "vmexit: %s: the L2 windows miss %lld instructions that the VMM counted "
                "(more than %lld): L2's rdtsc does not count what KVM executes for its exits\n",
                op, (long long)(rem - base), (long long)slack);
        return -1;
    }
    return 0;
}

/* The first KVM_RUN of a vCPU also builds KVM's nested page tables for every
 * page the loop touches (about 260,000 instructions here), so the empty loop
 * runs twice and the first run only warms up. */
static int bench_empty(struct vm *v, struct l2_run *empty)
{
    if (run_l2_loop(v, l2_empty, empty) < 0 || run_l2_loop(v, l2_empty, empty) < 0)
        return -1;
    report("vm_l2_empty_loop", (uint64_t *)(v->mem + GUEST_SAMPLES));
    return 0;
}

/* cpuid is always intercepted on SVM (KVM's init_vmcb sets INTERCEPT_CPUID):
 * KVM answers from the table set_cpuid() gave it, in the kernel. No exit may
 * reach the VMM. */
static int bench_cpuid(struct vm *v, const struct l2_run *empty)
{
    struct l2_run r;
    if (run_l2_loop(v, l2_cpuid, &r) < 0)
        return -1;
    report("vm_exit_cpuid", (uint64_t *)(v->mem + GUEST_SAMPLES));
    if (r.pings != 0) {
        fprintf(stderr, "vmexit: vm_exit_cpuid: %ld exits reached the VMM\n", r.pings);
        return -1;
    }
    return check_counting("vm_exit_cpuid", &r, empty, "");
}

/* vmmcall with a number KVM does not know: KVM must answer -KVM_ENOSYS in
 * rax (the L2 code passes the last answer out through PORT_DONE) without
 * one exit to the VMM. */
static int bench_hypercall(struct vm *v, const struct l2_run *empty)
{
    struct l2_run r;
    if (run_l2_loop(v, l2_hypercall, &r) < 0)
        return -1;
    report("vm_exit_hypercall", (uint64_t *)(v->mem + GUEST_SAMPLES));
    printf("# vm_exit_hypercall: vmmcall 0x%x answered eax 0x%x (-KVM_ENOSYS is 0x%x), "
           "%ld exits to the VMM in %ld hypercalls\n",
           HYPERCALL_UNKNOWN, r.done_data, (uint32_t)-KVM_ENOSYS, r.pings,
           g_warmup + g_iterations + 1);
    if (r.pings != 0 || r.done_data != (uint32_t)-KVM_ENOSYS) {
        fprintf(stderr, "vmexit: vm_exit_hypercall: KVM did not answer an unknown hypercall "
                "in the kernel with -KVM_ENOSYS\n");
        return -1;
    }
    return check_counting("vm_exit_hypercall", &r, empty,
                          "; this loop adds one untimed hypercall after the last window");
}

/* An `out` that KVM turns into an eventfd signal (KVM_IOEVENTFD, any data,
 * 1 byte): no exit may reach the VMM, and the eventfd must have counted
 * every out. */
static int bench_eventfd(struct vm *v, const struct l2_run *empty)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return fail("eventfd");
    struct kvm_ioeventfd io = {.addr = PORT_EVENTFD, .len = 1, .fd = efd,
                               .flags = KVM_IOEVENTFD_FLAG_PIO};
    if (ioctl(v->vm, KVM_IOEVENTFD, &io) < 0)
        return fail("KVM_IOEVENTFD");
    struct l2_run r;
    if (run_l2_loop(v, l2_eventfd, &r) < 0)
        return -1;
    report("vm_exit_pio_ioeventfd", (uint64_t *)(v->mem + GUEST_SAMPLES));
    uint64_t signals = 0;
    if (read(efd, &signals, sizeof signals) != sizeof signals)
        return fail("read eventfd");
    long rounds = g_warmup + g_iterations;
    if (r.pings != 0 || signals != (uint64_t)rounds) {
        fprintf(stderr, "vmexit: vm_exit_pio_ioeventfd: %ld exits reached the VMM, the eventfd "
                "counted %llu of %ld outs\n", r.pings, (unsigned long long)signals, rounds);
        return -1;
    }
    close(efd);
    return check_counting("vm_exit_pio_ioeventfd", &r, empty, "");
}

/* The exit to the VMM, timed from the VMM: one KVM_RUN per sample, which
 * enters L2, runs its jmp and `out`, and returns KVM_EXIT_IO here. */
static int pio_from_vmm(struct vm *v, uint64_t *s)
{
    if (start_at(v, l2_pio_loop, 0) < 0)
        return -1;
    long rounds = g_warmup + g_iterations;
    for (long i = 0; i < rounds; i++) {
        uint64_t t0 = rdtsc();
        int rc = ioctl(v->vcpu, KVM_RUN, 0);
        uint64_t t1 = rdtsc();
        if (rc < 0)
            return fail("KVM_RUN");
        if (!is_out(v->run, PORT_PING)) {
            describe_exit(v->run);
            return -1;
        }
        s[i] = t1 - t0;
    }
    return 0;
}

/* The same round trip in the other rotation, timed in L2 (out, back in the
 * VMM, KVM_RUN, back in L2): the medians must agree to within the few
 * instructions the two loops differ by. */
static int pio_from_l2(struct vm *v, uint64_t vmm_median)
{
    struct l2_run r;
    if (run_l2_loop(v, l2_pio_timed, &r) < 0)
        return -1;
    long rounds = g_warmup + g_iterations;
    if (r.pings != rounds) {
        fprintf(stderr, "vmexit: vm_exit_pio_to_vmm: %ld exits for %ld outs\n", r.pings, rounds);
        return -1;
    }
    uint64_t *timed = (uint64_t *)(v->mem + GUEST_SAMPLES) + g_warmup;
    qsort(timed, (size_t)g_iterations, sizeof *timed, cmp_u64);
    uint64_t l2_median = percentile(timed, g_iterations, 50);
    printf("# check vm_exit_pio_to_vmm: median %llu timed in the VMM around KVM_RUN, %llu timed "
           "in L2 around the out\n", (unsigned long long)vmm_median, (unsigned long long)l2_median);
    uint64_t lo = vmm_median < l2_median ? vmm_median : l2_median;
    uint64_t hi = vmm_median < l2_median ? l2_median : vmm_median;
    if (hi - lo > lo / 20) {
        fprintf(stderr, "vmexit: vm_exit_pio_to_vmm: the VMM's and L2's medians differ by more "
                "than 5%%: L2's TSC does not count the time spent outside the guest\n");
        return -1;
    }
    return 0;
}

static int bench_pio(struct vm *v, uint64_t *s)
{
    if (pio_from_vmm(v, s) < 0)
        return -1;
    uint64_t *timed = s + g_warmup;
    report("vm_exit_pio_to_vmm", s);
    return pio_from_l2(v, percentile(timed, g_iterations, 50));
}

/* --- main ------------------------------------------------------------------------------ */

static long parse_count(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > MAX_COUNT) {
        fprintf(stderr, "vmexit: bad count '%s' (%ld to %d)\n", s, min, MAX_COUNT);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "n:w:h")) != -1) {
        switch (opt) {
        case 'n': g_iterations = parse_count(optarg, 1); break;
        case 'w': g_warmup = parse_count(optarg, 0); break;
        default:
            fprintf(stderr, "usage: vmexit [-n ITERATIONS] [-w WARMUP]\n");
            return 1;
        }
    }
    uint64_t *samples = calloc((size_t)(g_warmup + g_iterations), sizeof *samples);
    if (!samples) {
        fprintf(stderr, "vmexit: out of memory\n");
        return 1;
    }
    struct vm v;
    struct l2_run empty;
    if (create_vm(&v) < 0 || enter_long_mode(&v) < 0 || bench_empty(&v, &empty) < 0 ||
        bench_cpuid(&v, &empty) < 0 || bench_hypercall(&v, &empty) < 0 ||
        bench_pio(&v, samples) < 0 || bench_eventfd(&v, &empty) < 0) {
        fprintf(stderr, "vmexit: failed\n");
        return 1;
    }
    free(samples);
    return 0;
}
