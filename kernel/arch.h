/*
 * The interface between the generic kernel and an architecture port.
 *
 * kernel/ calls only the arch_* hooks declared here; each port
 * (arch/x86_64, arch/riscv, and the fake used by host unit tests) implements
 * exactly this set, plus a header <arch_types.h> that defines the
 * per-architecture types and constants listed below. The build puts the
 * selected port's include directory on the path, so generic code never names
 * a port's files.
 *
 * <arch_types.h> must define:
 *   ARCH_NAME               "x86_64" or "riscv64"
 *   ARCH_ELF_MACHINE        the ELF e_machine value of user programs
 *                           (BK_ELF_MACHINE_<ARCH>, kernel/abi.toml)
 *   ARCH_PAGE_SIZE          BK_PAGE_SIZE (kernel/abi.toml)
 *   ARCH_USER_VADDR_MAX     first address above the user half (exclusive)
 *   ARCH_COUNTS_ZEROS       1 if the CPU counts leading zeros in one
 *                           instruction (__builtin_clzll), else 0: the
 *                           scheduler then searches its bitmap by a table
 *                           and a multiply (kernel/ready.h)
 *   arch_regs_t             a user thread's saved register state
 *   arch_vspace_t           an address space handle (root table and ASID)
 *   arch_regs_args(regs)    static inline: a uint64_t * to the six syscall
 *                           argument registers saved in `regs`, consecutive
 *                           and in kernel/abi.toml order (the IPC fast path
 *                           moves a message as an array)
 * and may define:
 *   ARCH_HAS_IOPORTS        the CPU has an x86 I/O port space (x86-64 only):
 *                           the port implements the I/O port hooks below
 *
 * Execution model: the kernel runs with interrupts disabled, except inside
 * arch_idle_wait(). A trap from user mode saves the user registers into the
 * current thread's arch_regs_t (the one last passed to arch_user_enter) and
 * calls one of the kernel_* entry points at the bottom of this file on a
 * kernel stack; those never return to the arch code, they leave through
 * arch_user_enter() or arch_shutdown().
 */
#pragma once

#include "types.h"
#include <arch_types.h>
#include <bulkhead/abi.h>

struct boot_params;

/* ---- Console and power ------------------------------------------------ */

/* Writes one byte to the boot console, polling; usable from the first
 * instruction of kernel_main() and inside a panic. */
void arch_console_putc(char c);

/* Writes one byte to the console if the UART can take it now, without
 * waiting, and says whether it did (kernel/log.c drains its buffer so). */
bool arch_console_try_putc(char c);

/* Takes one byte the console's UART has received, without waiting; -1 if
 * none is pending (or the console has no UART). */
int arch_console_getc(void);

/* The device interrupt line (0 .. arch_irq_count()-1) the UART raises when
 * it has received bytes; -1 if the console has none. */
int arch_console_rx_line(void);

/* Stops the machine. Under QEMU the process exits with a status that
 * encodes `status` (one of the KERNEL_EXIT_* values in kernel.h); on real
 * hardware the CPU halts forever. */
NORETURN void arch_shutdown(int status);

/* ---- Physical memory -------------------------------------------------- */

/* Kernel-virtual address through which physical address `pa` is reached
 * (the direct map). Valid for every RAM region in the boot parameters and
 * for boot modules. */
void *arch_phys_to_virt(paddr_t pa);

/* Inverse of arch_phys_to_virt(), also valid for kernel image addresses. */
paddr_t arch_virt_to_phys(const void *va);

/* ---- User address spaces ---------------------------------------------- */

/* Access rights of a user mapping: the ABI's (Frame: Map takes them). */
#define VM_READ ((unsigned)BK_VM_READ)
#define VM_WRITE ((unsigned)BK_VM_WRITE)
#define VM_EXEC ((unsigned)BK_VM_EXEC)

/* Supplies one zeroed, page-aligned physical page for a page table, or 0
 * when memory ran out. */
typedef paddr_t (*arch_table_alloc_fn)(void *ctx);

/* Makes `vs` a new address space whose root table is the zeroed page
 * `root`; the kernel's own mappings are installed in it (global, supervisor
 * only). Returns false if `root` is unusable. */
bool arch_vspace_init(arch_vspace_t *vs, paddr_t root);

/* Maps the 4 KiB user page at `va` to physical page `pa` with `rights`
 * (VM_* bits; VM_READ is implied). Intermediate tables come from `alloc`.
 * Returns false if va is not a page-aligned user address, already mapped,
 * or a table could not be allocated. */
bool arch_vspace_map(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned rights,
                     arch_table_alloc_fn alloc, void *ctx);

/* Looks `va` up in `vs`. Returns false if no user mapping covers it;
 * otherwise stores the physical address of `va` (not of its page) and the
 * mapping's VM_* rights. */
bool arch_vspace_translate(const arch_vspace_t *vs, vaddr_t va, paddr_t *pa,
                           unsigned *rights);

/* ---- Paging-structure objects ------------------------------------------
 * Used by the Frame, PageTable and VSpace objects (kernel/vspace objects):
 * user-level pagers build address spaces out of tables and frames retyped
 * from untyped memory. Every PAGE_TABLE object is one 4 KiB table; the arch
 * decides at map time which level it becomes (the first level the walk for
 * `va` finds missing), so user code needs no per-level types.
 * <arch_types.h> also defines ARCH_PT_LEVELS (translation levels below the
 * root: 3 on x86-64, 2 on Sv39) and ARCH_LARGE_PAGE_BITS (21 on both). */

enum arch_map_result {
    ARCH_MAP_OK = 0,
    ARCH_MAP_BAD_ADDRESS,    /* va not a user address, or not aligned to the size */
    ARCH_MAP_MISSING_TABLE,  /* the walk reached a level with no table: map one first */
    ARCH_MAP_ALREADY_MAPPED, /* a mapping (or, for tables, every table) is there already */
};

/* Installs the zeroed 4 KiB table at `table_pa` at the first level the walk
 * for `va` finds empty and stores that level in *level (1 = the table that
 * holds 4 KiB pages, ARCH_PT_LEVELS = just below the root). */
enum arch_map_result arch_vspace_map_table(arch_vspace_t *vs, vaddr_t va, paddr_t table_pa,
                                           unsigned *level);

/* Maps the frame of 2^size_bits bytes (12 or ARCH_LARGE_PAGE_BITS) at
 * physical `pa` to user address `va` with VM_* `rights`; `device` selects
 * uncached memory. On ARCH_MAP_MISSING_TABLE stores the missing level. */
enum arch_map_result arch_vspace_map_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa,
                                           unsigned size_bits, unsigned rights, bool device,
                                           unsigned *missing_level);

/* Replaces the rights of the mapping of `pa` at `va` (the caller has checked
 * they only shrink) and flushes its TLB entry. False if `va` does not map `pa`. */
bool arch_vspace_remap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits,
                             unsigned rights);

/* Removes the mapping at `va` if, and only if, it maps `pa` with that size
 * (so a stale frame cap can never remove a newer mapping), and flushes it. */
void arch_vspace_unmap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits);

/* Unhooks the table at `table_pa` from the level-`level` slot covering `va`,
 * if it is the one there, and flushes the translations it provided. */
void arch_vspace_unmap_table(arch_vspace_t *vs, vaddr_t va, unsigned level, paddr_t table_pa);

/* The address space is being destroyed: release its ASID/PCID and make sure
 * no TLB entry tagged with it survives. Its tables are freed by the caller. */
void arch_vspace_destroy(arch_vspace_t *vs);

/* ---- IOMMU: device address spaces ----------------------------------------
 * Used by the IOSpace and IOPageTable objects and Frame: MapIO
 * (kernel/iospace.c). A device is its PCI requester id on segment 0
 * (bus << 8 | device << 3 | function). The IOMMU translates its DMA
 * through a tree of 4 KiB IO page tables retyped by user space: the first
 * one mapped for a device becomes its root, the next ones the levels the
 * walk finds missing (1 = the table of 4 KiB pages), as for a VSpace.
 * Until a device has a root its DMA is blocked. A port (RISC-V here) or a
 * machine without an IOMMU answers arch_iommu_present() false, and the
 * kernel then calls none of the others. */

/* Whether an IOMMU translates device DMA on this machine. */
bool arch_iommu_present(void);

/* Whether device `rid` is behind the IOMMU and the port can keep its
 * context (a domain, its bus's context table); reserves them for good on
 * the first true. */
bool arch_iommu_claim_device(unsigned rid);

/* The first IO virtual address past those the IOMMU translates. */
uint64_t arch_iommu_iova_limit(void);

/* Installs the zeroed IO page table at `table_pa` for claimed device
 * `rid` at the first level the walk for `iova` finds missing (the root
 * first) and stores that level in *level. */
enum arch_map_result arch_iommu_map_table(unsigned rid, uint64_t iova, paddr_t table_pa,
                                          unsigned *level);

/* Maps the 4 KiB frame at `pa` at IO address `iova` of device `rid`,
 * readable, and writable if `rights` has VM_WRITE. On
 * ARCH_MAP_MISSING_TABLE stores the missing level. */
enum arch_map_result arch_iommu_map_frame(unsigned rid, uint64_t iova, paddr_t pa,
                                          unsigned rights, unsigned *missing_level);

/* Removes the mapping at `iova` if, and only if, it maps `pa`, and makes
 * sure the device can no longer use it (IOTLB invalidated). */
void arch_iommu_unmap_frame(unsigned rid, uint64_t iova, paddr_t pa);

/* Unhooks the table at `table_pa` from the level-`level` place covering
 * `iova` (for the root: the device's context), if it is the one there,
 * and invalidates what it translated. */
void arch_iommu_unmap_table(unsigned rid, uint64_t iova, unsigned level, paddr_t table_pa);

/* One DMA the IOMMU blocked. */
struct arch_dma_fault {
    unsigned rid;    /* the device's requester id */
    uint64_t iova;   /* the IO address, its page */
    bool write;      /* a write (else a read) */
    unsigned reason; /* the IOMMU's fault reason code */
};

/* Takes the oldest DMA fault the port kept (it keeps the last few, and
 * logs each as it is recorded), after taking in any the IOMMU recorded
 * but has not signalled yet, so that every fault a device made before the
 * call is seen; false if none is left. *lost: faults dropped since the
 * last call because the record was full. */
bool arch_iommu_take_fault(struct arch_dma_fault *out, uint64_t *lost);

/* The device interrupt line DMA fault events arrive on: one of
 * arch_irq_count()'s, enabled, masked and acknowledged like the others. */
unsigned arch_iommu_fault_line(void);

/* ---- Interrupts ----------------------------------------------------------
 * Device interrupts are numbered 0 .. arch_irq_count()-1 (x86-64: IOAPIC
 * input pins; RISC-V: PLIC sources, 0 unused). A device interrupt masks its
 * line and calls kernel_irq(); the line stays masked until the user-level
 * driver acknowledges it (arch_irq_ack). The timer is not among them. */

unsigned arch_irq_count(void);

/* Routes line `irq` to this CPU and unmasks it (edge or level as the
 * platform describes it). False if the line does not exist or is reserved. */
bool arch_irq_enable(unsigned irq);

/* Masks line `irq` again (the handler cap was deleted). */
void arch_irq_disable(unsigned irq);

/* Ends the handling of one interrupt on `irq` and unmasks it. */
void arch_irq_ack(unsigned irq);

/* ---- I/O ports -------------------------------------------------------------
 * Only ports that define ARCH_HAS_IOPORTS (x86-64) implement these; the
 * IOPort object (kernel/ioport.c) refuses its methods elsewhere. The caller
 * has checked the range: port + size - 1 <= 0xffff, size 1, 2 or 4 bytes. */
#ifdef ARCH_HAS_IOPORTS

/* False if ports first..last include one the kernel drives itself. */
bool arch_ioport_range_ok(unsigned first, unsigned last);

/* Reads `size` bytes from `port` (zero-extended). */
uint32_t arch_ioport_in(unsigned port, unsigned size);

/* Writes the low `size` bytes of `value` to `port`. */
void arch_ioport_out(unsigned port, unsigned size, uint32_t value);

#endif

/* ---- User threads ----------------------------------------------------- */

/* Sets `regs` so that entering user mode starts at `entry` with stack
 * pointer `sp` and `arg` in the first argument register; all other
 * registers are zero, interrupts enabled in user mode. The FPU/vector
 * state in `regs` is reset to the ABI's initial values (and any copy of
 * the old one still live in a CPU is dropped), with the FPU off until the
 * thread first uses it. `regs` may be fresh zeroed memory. */
void arch_regs_init(arch_regs_t *regs, vaddr_t entry, vaddr_t sp, uintptr_t arg);

/* The thread owning `regs` is being destroyed: no CPU may keep its FPU or
 * vector state live, nor mistake a later thread at the same address for
 * it. */
void arch_regs_release(arch_regs_t *regs);

/* Syscall decoding. On entry from a syscall instruction the arch has already
 * advanced the saved program counter past it. The register use per arch is
 * fixed by kernel/abi.toml (generated into docs/abi.md). */
unsigned long arch_syscall_number(const arch_regs_t *regs); /* inline: arch_regs_syscall_number() */
unsigned long arch_syscall_arg(const arch_regs_t *regs, unsigned index); /* 0..5 */
void arch_syscall_set_result(arch_regs_t *regs, unsigned long value);
/* Sets the register that carries syscall argument `index` (0..5): IPC
 * syscalls return a whole message in the argument registers. */
void arch_syscall_set_arg(arch_regs_t *regs, unsigned index, unsigned long value);

/* Makes the thread of `regs`, which entered the kernel by a syscall, run
 * the same syscall instruction again on its next return to user mode: the
 * saved program counter goes back to it. The argument registers are left
 * as the thread set them, so a restartable method (KERR_RESTART) must not
 * have written a reply. */
void arch_regs_restart_syscall(arch_regs_t *regs);

/* The saved user program counter (after a syscall: the instruction after
 * it) and stack pointer. */
vaddr_t arch_regs_pc(const arch_regs_t *regs);
vaddr_t arch_regs_sp(const arch_regs_t *regs);

/* Saved user registers by the index of kernel/abi.toml's [arch.*].registers
 * (TCB: ReadRegister / WriteRegister). arch_regs_set() returns false for a
 * value the CPU cannot take, and makes the next return to user mode
 * restore every register from `regs`. */
unsigned arch_regs_count(void);
uint64_t arch_regs_get(const arch_regs_t *regs, unsigned index);
bool arch_regs_set(arch_regs_t *regs, unsigned index, uint64_t value);

/* Whether the thread of `regs` may read the CPU's cycle and time counters
 * in user mode (x86-64 rdtsc and rdtscp; RISC-V cycle, time and instret):
 * a tenant policy (TCB: SetCounterAccess). Allowed in fresh zeroed
 * memory, and kept by arch_regs_init() (it is no register). A denied read
 * faults in user mode. It reaches the CPU on the thread's next way to user
 * mode, for one compare when it is the CPU's setting already. The
 * performance-monitoring counters are never readable in user mode. */
void arch_regs_set_counter_access(arch_regs_t *regs, bool allow);

/* Whether register `index` is a thread pointer (x86-64 fs_base and
 * gs_base, RISC-V tp): a thread may set its own through WriteRegister
 * (user code cannot load fs base itself on every x86-64 CPU), and the
 * syscall's way back to user mode must then restore it from `regs`. */
bool arch_regs_is_thread_pointer(unsigned index);

/* FPU and vector registers by the index of kernel/abi.toml's
 * [arch.*].fpu_registers (TCB: ReadFpuRegister / WriteFpuRegister). Each
 * thread's FPU state lives in its arch_regs_t; a CPU may hold it live in
 * its registers (lazy switching), so get first brings the saved copy up
 * to date, and set changes the saved copy and makes the thread reload it.
 * arch_fpu_reg_set() returns false for a value the CPU cannot take. */
unsigned arch_fpu_regs_count(void);
uint64_t arch_fpu_reg_get(arch_regs_t *regs, unsigned index);
bool arch_fpu_reg_set(arch_regs_t *regs, unsigned index, uint64_t value);

/* Prints the saved user registers, one or a few per line, through kprintf. */
void arch_regs_print(const arch_regs_t *regs);

/* Switches to address space `vs` (without flushing the TLB where the CPU
 * tags entries), restores `regs` and returns to user mode. The next trap
 * from user mode saves into `regs`. */
NORETURN void arch_user_enter(arch_regs_t *regs, arch_vspace_t *vs);

/* The IPC fast path's way out (kernel/fastpath.c): the current thread,
 * whose registers `from` the syscall entry saved, stays blocked in the
 * kernel. Saves the user state the arch still holds in the CPU for it
 * (x86-64: the FS/GS bases, which a syscall entry leaves in their MSRs
 * until kernel_syscall()), then does what arch_user_enter(to, vs) does.
 * It never returns, but is declared without NORETURN on purpose: the fast
 * path then leaves by a tail call and needs no stack frame of its own. */
void arch_fastpath_switch(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);

/* The IPC fast path's way out on an arch whose message words stay in the
 * CPU's registers (ARCH_FASTPATH_MESSAGE_IN_CPU 1, arch_types.h; others
 * need not define it): as arch_fastpath_switch() from the registers the
 * entry saved (the current thread's frame, which it finds itself), except
 * that `to` gets the message words w0..w3, which arrive in the registers
 * that carry them to user mode, those past the length of the info in
 * `to`'s frame as 0; the fast path wrote only the badge and the info
 * there. */
void arch_fastpath_deliver(arch_regs_t *to, arch_vspace_t *vs, uint64_t w0, uint64_t w1,
                           uint64_t w2, uint64_t w3);

/* arch_fastpath_resume() on such an arch, with the message words still in
 * the CPU: the thread gets `info` and the words w0..w3 from the arguments
 * (in the registers that carry them to user mode), everything else from
 * `regs`. */
void arch_fastpath_resume_words(arch_regs_t *regs, uint64_t info, uint64_t w0, uint64_t w1,
                                uint64_t w2, uint64_t w3);

/* The same way out once several CPUs run user threads, from the fast path
 * under the kernel lock (kernel_fastpath_smp()): what arch_user_enter()
 * does with the lock held, its checks the fast path's (the address space
 * switched without a new ASID or PCID where the one `vs` has is live, no
 * FPU or counter work while neither thread needs any), and the lock let
 * go last, as the general exits do (smp_exit_to_user_held()). Declared
 * without NORETURN for the same reason as arch_fastpath_switch(). */
void arch_fastpath_switch_smp(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);

/* arch_fastpath_switch_smp() for the fast path without the lock
 * (kernel_fastpath_unlocked()): the CPU's flag lowered last
 * (smp_exit_to_user_unlocked_in()), with no test of what to let go. Its
 * rarer ways take the lock first where they need it
 * (smp_unlocked_to_lock()). */
void arch_fastpath_switch_unlocked(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);

/* arch_fastpath_deliver() for the fast path without the lock, on an arch
 * whose entry for several CPUs leaves a Call's or ReplyRecv's message
 * words in registers as one CPU's does (ARCH_FASTPATH_MESSAGE_IN_CPU 1;
 * kernel_fastpath_unlocked_call()): the CPU's flag lowered last, as
 * arch_fastpath_switch_unlocked(). Others need not define it. */
void arch_fastpath_deliver_unlocked(arch_regs_t *to, arch_vspace_t *vs, uint64_t w0, uint64_t w1,
                                    uint64_t w2, uint64_t w3);

/* A fast path leaves the current thread, whose registers `regs` the
 * syscall entry saved, for the scheduler's way (thread_resume_current())
 * rather than its own way out: saves the user state the arch still holds
 * in the CPU for it, as the general path's entry does (x86-64: the FS and
 * GS bases; RISC-V: nothing). */
void arch_fastpath_to_scheduler(arch_regs_t *regs);

/* The Yield fast path's way out (kernel/fastpath.c): back to user mode in
 * the thread whose syscall entry saved `regs`, the current thread still,
 * with nothing else to change (the address space, the FPU, the counter
 * policy and the TLS base are the thread's own already). Returns, and the
 * general path runs, only where the arch cannot take that way: x86-64
 * when the return address is one sysretq cannot take. Declared without
 * NORETURN for the same reason as arch_fastpath_switch(). */
void arch_fastpath_resume(arch_regs_t *regs);

/* ---- Time and idle ---------------------------------------------------- */

/* Nanoseconds since the clock was set up at boot: monotonic, from a
 * counter that runs at a constant rate (x86-64: the TSC; RISC-V: the time
 * CSR), scaled with kernel/lib/clock.h; cheap enough for every kernel
 * entry (a counter read, a multiply and a shift). */
uint64_t arch_time_ns(void);

/* The scheduler charges CPU time in the units of arch_counter() (inline,
 * in <arch_types.h>: x86-64 the TSC, RISC-V the time CSR), read on every
 * switch; these turn a number of counts into ns (rounded down) and ns
 * into counts (rounded up), with arch_time_ns()'s scale. */
uint64_t arch_counter_ns(uint64_t counts);
uint64_t arch_ns_counts(uint64_t ns);

/* What arch_time_ns() reads when arch_counter() reads `counter` (a value
 * it read since boot): the scheduler's due times (counts) as timer
 * deadlines, exactly, with no second read of the clock between. */
uint64_t arch_counter_time_ns(uint64_t counter);

/* Asks for one timer interrupt at or after the time arch_time_ns() reads
 * `ns`, replacing the one asked for before; UINT64_MAX asks for none. A
 * time already passed interrupts at once. The interrupt calls
 * kernel_timer_interrupt_from_user() or kernel_timer_interrupt(), never
 * before `ns` (an early hardware interrupt is re-armed by the arch), and
 * uses the deadline up: the kernel sets the next one in its handler. */
void arch_timer_set_deadline(uint64_t ns);

/* Enables interrupts, waits for one, and returns with interrupts disabled
 * after its handler ran. */
void arch_idle_wait(void);

/* Whether an interrupt the kernel would take is pending: the timer's
 * deadline came, or a device line interrupted (x86-64: the APIC timer's or
 * a device vector's bit in the local APIC's IRR; RISC-V: sip & sie). The
 * way back to user mode would take it at once. Long kernel operations poll
 * it between their steps (kernel/preempt.h), so it reads the interrupt
 * controller and nothing else, and changes nothing. */
bool arch_interrupt_pending(void);

/* Opens interrupts for an instant, in kernel mode: the pending ones are
 * taken as inside arch_idle_wait() (kernel_timer_interrupt(), kernel_irq()
 * run and return), and it returns with interrupts disabled. */
void arch_take_pending_interrupts(void);

/* As arch_take_pending_interrupts(), except that the timer's interrupt is
 * not handed to kernel_timer_interrupt(): it is consumed (it will not
 * come again on the way out) and the return value says whether it came.
 * The caller then serves the timer and sets its next deadline before it
 * leaves the kernel or opens interrupts (kernel_timer_at_preemption()). */
bool arch_take_pending_interrupts_but_timer(void);

/* ---- CPUs ---------------------------------------------------------------
 * The kernel numbers the CPUs 0 .. n-1 in the order of boot_params'
 * cpu_ids, 0 being the boot CPU (kernel/smp.c, docs/smp.md). */

/* The running CPU's number: one load from the per-CPU structure the arch
 * keeps in a register (x86-64: GS base; RISC-V: tp). */
unsigned arch_cpu_index(void);

/* Starts CPU `index`, whose hardware id is `arch_id`: it sets up its own
 * stacks, traps, interrupt controller and timer, then calls
 * kernel_ap_main(index) with interrupts off. False if the request was
 * refused at once (the CPU then never runs kernel code). Boot CPU only,
 * one CPU at a time: the caller waits for each before the next. */
bool arch_cpu_start(unsigned index, uint64_t arch_id);

/* Called over and over while the boot CPU waits for CPU `index` to come
 * online after arch_cpu_start(): a CPU that went somewhere else than
 * where it was sent may be sent on from here (RISC-V: a hart that OpenSBI
 * let into _start instead, parked there by the boot lottery). */
void arch_cpu_start_waiting(unsigned index, uint64_t arch_id);

/* Sends the kernel's inter-processor interrupt to CPU `index`; there it
 * calls kernel_ipi() (inside arch_idle_wait(), or on the way in from user
 * mode). */
void arch_cpu_send_ipi(unsigned index);

/* Drops every translation this CPU's TLB holds, of every address space
 * (x86-64: CR4.PGE toggled, which flushes all PCIDs and global entries;
 * RISC-V: sfence.vma with no address and no ASID). For TLB shootdowns
 * (kernel/smp.c): rare, so one way for all. */
void arch_tlb_flush_all(void);

/* This CPU's FPU registers stop holding any thread's state live: the
 * owner's (lazy switching keeps it in the registers after the owner
 * stopped running) is stored in its TCB first. With several CPUs a
 * thread's live state may only be in the registers of the CPU whose
 * current thread it is: the arch's exits drop an owner that is not the
 * thread resumed, and the kernel calls this where a CPU gives up its
 * current thread without an exit (kernel/smp.c answer_sync(),
 * kernel/sched.c leave_moved()). docs/smp.md, "FPU state". */
void arch_fpu_release(void);

/* Several CPUs run user threads from now on (called once on each, lock
 * held or not): the entry's IPC fast path is off there (the lock comes
 * first: kernel_syscall_smp() tries it, kernel/fastpath.c), and the CPU
 * takes the kernel's IPIs. */
void arch_cpu_smp_mode(void);

/* Stops this CPU for good, interrupts off (a CPU that answered after the
 * boot CPU gave up on it). */
NORETURN void arch_cpu_park(void);

/* ---- Entry points the arch calls (defined in kernel/) ------------------ */

/* First generic code, with paging on, the kernel in its final mapping, the
 * console working and `bp` filled in. */
NORETURN void kernel_main(struct boot_params *bp);

/* A syscall instruction was executed by the current thread. The arch
 * calls whichever of the two the CPU's struct names: kernel_syscall while
 * this CPU is the only one (no lock to take: the boot CPU holds it from
 * boot on), kernel_syscall_smp once several run user threads
 * (arch_cpu_smp_mode()). So a machine of one CPU pays no test for the
 * lock on its syscalls. */
NORETURN void kernel_syscall(void);
NORETURN void kernel_syscall_smp(void);
/* kernel_syscall() for an IPC syscall other than Yield that a fast path
 * declined (Call, ReplyRecv, Recv, Send: BK_SYS_IS_IPC): the entry knows
 * the kind already, so this skips kernel_syscall()'s tests of the number
 * (and the frame they need). With one CPU only, as the fast paths. */
NORETURN void kernel_ipc_syscall(void);

/* Called first on a Call (BK_SYS_CALL) or ReplyRecv (BK_SYS_REPLY_RECV)
 * syscall, with the registers saved but before the rest of the arch's
 * entry work (kernel/fastpath.c). Does not return if the IPC fast path
 * handled the syscall; returns if the general path must, and the arch then
 * goes on to kernel_syscall(). The same for a Yield (BK_SYS_YIELD: does
 * not return if the thread goes on at once), Recv (BK_SYS_RECV) and Send
 * (BK_SYS_SEND): the fast paths of a Wait and a Signal on a notification.
 * The arguments are the syscall's argument registers as the caller set
 * them, which the entry leaves in place: the cap address, the info and
 * the message words. The words are read from them only where
 * ARCH_FASTPATH_MESSAGE_IN_CPU is 1: there the entry does not save them,
 * and they reach the frame only if the fast path declines or the thread
 * blocks. Elsewhere the words are read from the frame, and those
 * arguments may hold anything (x86-64: the C ABI's fourth, rcx, is the
 * syscall's return address, not r10). */
void kernel_fastpath_call(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2,
                          uint64_t w3);
void kernel_fastpath_reply_recv(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1,
                                uint64_t w2, uint64_t w3);
void kernel_fastpath_yield(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2,
                           uint64_t w3);
void kernel_fastpath_recv(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2,
                          uint64_t w3);
void kernel_fastpath_send(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2,
                          uint64_t w3);
/* The same with several CPUs online, from kernel_syscall_smp() with the
 * kernel lock held, for a Call or ReplyRecv between two threads of this
 * CPU, a Yield, and a Signal or Wait whose threads are this CPU's
 * (kernel/fastpath.c, docs/smp.md): does not return if it handled
 * syscall `nr`. */
void kernel_fastpath_smp(unsigned long nr);
/* The arch's syscall entry for several CPUs calls this first, with every
 * register saved (x86-64: but the FS and GS bases, which the fast paths
 * save where they need them), then kernel_syscall_smp(): the fast paths
 * of syscall `nr` without the kernel lock (smp.h, "The IPC fast path
 * without the lock"). Does not return if one handled the syscall; returns
 * (this CPU's flag down again) for any other syscall, if the lock is
 * held, or if the general path must run. */
void kernel_fastpath_unlocked(unsigned long nr);
/* On an arch with ARCH_FASTPATH_MESSAGE_IN_CPU 1, its entry for several
 * CPUs calls these instead for a Call or a ReplyRecv, with the arguments
 * of kernel_fastpath_call() (the words unsaved): the same fast path
 * without the lock, the words passed on in registers, stored in the frame
 * where it returns. */
void kernel_fastpath_unlocked_call(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1,
                                   uint64_t w2, uint64_t w3);
void kernel_fastpath_unlocked_reply_recv(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1,
                                         uint64_t w2, uint64_t w3);

/* What went wrong when a user thread faulted. The exceptions' numbers are
 * the ABI's (BK_FAULT_EXCEPTION word 1, kernel/abi.toml [[exception_kinds]]);
 * a page fault goes out as BK_FAULT_PAGE instead. */
enum user_fault_kind {
    USER_FAULT_PAGE = 0,      /* no mapping, or the rights forbid the access */
    USER_FAULT_ILLEGAL = BK_EXCEPTION_ILLEGAL_INSTRUCTION, /* undefined or privileged */
    USER_FAULT_ALIGNMENT = BK_EXCEPTION_MISALIGNED,
    USER_FAULT_ARITHMETIC = BK_EXCEPTION_ARITHMETIC,       /* divide error and friends */
    USER_FAULT_BREAKPOINT = BK_EXCEPTION_BREAKPOINT,
    USER_FAULT_PROTECTION = BK_EXCEPTION_PROTECTION,       /* x86 #GP and other checks */
    USER_FAULT_OTHER = BK_EXCEPTION_OTHER,
};

/* Page-fault access kinds, for user_fault.access: the ABI's bits. */
#define FAULT_ACCESS_READ ((unsigned)BK_FAULT_ACCESS_READ)
#define FAULT_ACCESS_WRITE ((unsigned)BK_FAULT_ACCESS_WRITE)
#define FAULT_ACCESS_EXEC ((unsigned)BK_FAULT_ACCESS_EXEC)

struct user_fault {
    enum user_fault_kind kind;
    vaddr_t pc;             /* faulting instruction */
    vaddr_t addr;           /* faulting data address (page faults), else 0 */
    unsigned access;        /* FAULT_ACCESS_* for page faults, else 0 */
    uint64_t arch_code;     /* x86 vector / RISC-V scause */
    uint64_t arch_detail;   /* x86 error code / RISC-V stval */
};

/* The current thread took a fault in user mode. */
NORETURN void kernel_user_fault(const struct user_fault *fault);

/* Device interrupt `irq` arrived from user mode (the line is masked). */
NORETURN void kernel_irq_from_user(unsigned irq);

/* Device interrupt `irq` arrived in kernel mode (inside arch_idle_wait()
 * or arch_take_pending_interrupts()); returns. */
void kernel_irq(unsigned irq);

/* The deadline of arch_timer_set_deadline() came, in user mode. */
NORETURN void kernel_timer_interrupt_from_user(void);

/* The deadline came in kernel mode (inside arch_idle_wait() or
 * arch_take_pending_interrupts()); returns to the code interrupted. */
void kernel_timer_interrupt(void);

/* First generic code on a CPU other than the boot CPU (arch_cpu_start()). */
NORETURN void kernel_ap_main(unsigned index);

/* The kernel's IPI arrived (arch_cpu_send_ipi()), in kernel mode or on the
 * way in from user mode; returns. */
void kernel_ipi(void);
