/*
 * libsys: the user library every Bulkhead program links.
 *
 * It provides the program entry (_start calls main(bootinfo) and passes its
 * result to thread_exit), the generated syscall stubs (sys_*, one per
 * syscall in kernel/abi.toml), a formatted debug console and the freestanding
 * string functions.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bulkhead/abi.h>
#include <bulkhead/syscall_stubs.h>
#include <bulkhead/tls.h>

/* The program's entry point, called by libsys's startup code. The root task
 * receives the boot-info page (other programs receive their creator's
 * argument). Its return value becomes the thread's exit status. */
int main(const struct bk_bootinfo *bootinfo);

/* ---- The Debug capability (slot BK_CAP_DEBUG) -------------------------------
 * The kernel console and its other debugging aids are methods of the Debug
 * cap (docs/objects.md, "Debug"). The functions below use the cap in slot
 * BK_CAP_DEBUG: the root task has it from the kernel, a process from its
 * parent (bk_process_spawn with BK_SPAWN_GIVE_DEBUG). Without it they do
 * nothing (a thread with a fault handler raises a cap fault there, as for
 * any invocation of an empty slot). */

/* Formatted output on the kernel debug console, with the conversions of
 * <bulkhead/format.h> (the C ones, %f %e %g included). Output is buffered
 * per call and written with one Debug: Write per 256 bytes. Returns the
 * number of characters formatted (also when nothing could be written). */
int debug_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int debug_vprintf(const char *fmt, va_list ap);

/* Writes a NUL-terminated string (at most BK_DEBUG_WRITE_MAX bytes) to the
 * debug console. */
void debug_puts(const char *s);

/* Timer ticks since boot, BK_TICK_HZ a second (Debug: Ticks); 0 without
 * the Debug cap. */
uint64_t debug_ticks(void);

/* The kernel's clock, nanoseconds since boot (Debug: Time); 0 without the
 * Debug cap. */
uint64_t debug_time_ns(void);

/* What the caller's CSpace holds at `cptr` (Debug: CapIdentify): the type
 * (BK_OBJ_*) in bits 0-7, the rights (BK_RIGHT_*) in bits 8-12; 0 for an
 * empty slot, an address that does not resolve, or without the Debug cap. */
uint64_t debug_cap_identify(uint64_t cptr);

/* Runs the kernel's invariant walk over what the caller can reach (Debug:
 * CheckInvariants): the number of broken invariants (0: all hold), or
 * -BK_ERR_ILLEGAL_OPERATION from a kernel built without
 * BULKHEAD_KERNEL_DEBUG, -BK_ERR_FAILED_LOOKUP without the Debug cap. */
long debug_check_invariants(void);

/* A counter for measurements: rdtsc on x86-64, instret on RISC-V. Under
 * QEMU's -icount both advance by one per guest instruction, which is how
 * the benchmark and the cost tests count. It faults in a thread denied its
 * counters (TCB: SetCounterAccess). */
static inline uint64_t bk_counter(void)
{
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
#else
    uint64_t v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
#endif
}

/* The initial stack pointer for a thread whose stack is `size` bytes at
 * `stack`, such that its entry function sees the C ABI's stack alignment
 * (x86-64 expects rsp + 8 to be 16-byte aligned at a function's entry). */
static inline uint64_t bk_stack_top(void *stack, size_t size)
{
    uint64_t top = ((uint64_t)(uintptr_t)stack + size) & ~15ull;
#if defined(__x86_64__)
    return top - 8;
#else
    return top;
#endif
}

/* Starts thread `tcb` (a TCB cap, already retyped) with CSpace root
 * `cspace` in the address space of the VSpace cap `vspace`: entry(arg)
 * runs on the given stack at `priority` (checked against the MCP of the
 * root task's TCB, BK_CAP_ROOT_TCB); `ipc_buffer` is its IPC buffer page
 * (or 0). entry, stack and ipc_buffer are addresses in `vspace`, so it is
 * usually the caller's own (BK_CAP_ROOT_VSPACE in the root task). The
 * thread's TLS block (<bulkhead/tls.h>) is written by the caller into the
 * top bk_tls_block_size() bytes of the stack, so the stack must be the
 * caller's memory at the same address. The entry function should end with
 * sys_thread_exit() (returning exits with status 0). Returns 0 or
 * -BK_ERR_* (INVALID_ARGUMENT: a stack too small for the TLS block). */
long bk_thread_start(bk_cptr_t tcb, bk_cptr_t cspace, bk_cptr_t vspace,
                     void (*entry)(uint64_t), uint64_t arg, void *stack, size_t stack_size,
                     uint64_t ipc_buffer, unsigned priority);

/* ---- Slots of the root CNode (libsys/src/process/slots.c) ----------------------
 * A bitmap allocator over root-CNode slots. Slot 0 is never handed out, so
 * 0 means "none left". */

/* Makes slots [first, end) available (bootinfo->first_free_slot and
 * 1 << BK_ROOT_CNODE_BITS for the root task); all others count as taken. */
void bk_slots_init(uint64_t first, uint64_t end);

/* One empty slot, or 0. */
uint64_t bk_slot_alloc(void);

/* `count` consecutive empty slots (a retype window); the first, or 0. */
uint64_t bk_slots_alloc_range(uint64_t count);

/* Gives a slot back (the caller has emptied it). */
void bk_slot_free(uint64_t slot);

/* ---- Objects, address spaces, processes ------------------------------- */

/* Sets up the slot allocator and an object allocator over the RAM untyped
 * caps listed in the boot info (libsys/src/process/alloc.c), then the
 * runtime that uses them (libsys/src/runtime/init.c): libsys's locks, and
 * a fresh start for the heap and the thread handles (what they held came
 * from memory the caller may have revoked: the kernel test suite calls this
 * once per test). No thread of bk_thread_create() may be running. */
void bk_alloc_init(const struct bk_bootinfo *bi);

/* The process layer alone: the slot and object allocators over `bi`'s RAM
 * untyped caps, without the runtime (bk_alloc_init() calls it). */
void bk_objects_init(const struct bk_bootinfo *bi);

/* Installs the lock the slot and object allocators take (NULL: none); the
 * runtime installs its re-entrant lock here. */
void bk_objects_set_lock(void (*lock)(void), void (*unlock)(void));

/* A new object of `type` (BK_OBJ_*; `size_bits` as for Untyped: Retype) in
 * a fresh root-CNode slot; returns the slot, or 0 when memory or slots ran
 * out. */
uint64_t bk_alloc_object(uint64_t type, unsigned size_bits);

/* A new VSpace (in a fresh root-CNode slot) that holds an ASID, so that it
 * can be mapped into and run: assigned from the ASID pool in the caller's
 * BK_CAP_ROOT_ASID_POOL while that has a free entry, else from a pool
 * libsys made with the caller's ASIDControl (BK_CAP_ASID_CONTROL) and a
 * page of untyped memory. Returns its slot, or 0 with -BK_ERR_* in *err:
 * NOT_ENOUGH_MEMORY, or ASIDPool: Assign's and ASIDControl: MakePool's
 * errors (DELETE_FIRST when every pool is full and no more can be made;
 * FAILED_LOOKUP without the pool or ASIDControl). */
uint64_t bk_vspace_alloc(long *err);

/* Maps `frame` at `vaddr` of `vspace`, first making any page tables the
 * kernel reports missing. Returns 0 or -BK_ERR_*. */
long bk_map_frame(uint64_t vspace, uint64_t frame, uint64_t vaddr, uint64_t rights,
                  uint64_t attributes);

/* Copies `len` bytes to `offset` within the 4 KiB `frame` (through a
 * temporary mapping in the caller's space; concurrent calls take turns).
 * Returns 0 or -BK_ERR_*: -BK_ERR_INVALID_ARGUMENT for an `offset` past
 * BK_PAGE_SIZE, -BK_ERR_RANGE when `offset + len` would pass it (the
 * overflowing sum included); nothing is copied then. */
long bk_copy_to_frame(uint64_t frame, uint64_t offset, const void *src, size_t len);

/* A child's start-info page (a struct bk_bootinfo, docs/libsys.md "Program
 * entry") begun from ours: magic, version, size, the kernel's name, version
 * and arch, the tick rate, the IPC buffer's address and
 * BK_PROCESS_FIRST_FREE_SLOT as its first free slot; the rest zero, for
 * the caller to fill in (loader, cmdline, another first free slot). */
void bk_start_info_init(struct bk_bootinfo *info, const struct bk_bootinfo *bi);

/* Maps a copy of `info` read-only at BK_ROOT_BOOTINFO_VADDR of `vspace`,
 * in fresh frames. Returns 0 or -BK_ERR_* (bk_alloc_object()'s
 * NOT_ENOUGH_MEMORY, bk_copy_to_frame()'s and bk_map_frame()'s errors). */
long bk_map_start_info(uint64_t vspace, const struct bk_bootinfo *info);

/* Loads the ELF program at `image` (`size` bytes) into `vspace`: fresh
 * frames per page, mapped with the segments' rights. Checks the file first:
 * -BK_ERR_INVALID_ARGUMENT for a malformed or foreign one, with the ELF
 * parser's sentence saying why in `err` (`errlen` bytes, always terminated
 * when errlen > 0; `err` may be NULL with errlen 0). */
long bk_elf_load(uint64_t vspace, const void *image, size_t size, uint64_t *entry, char *err,
                 size_t errlen);

/* Room for bk_process_spawn()'s sentence: the module's name and the ELF
 * parser's reason fit. */
#define BK_PROCESS_ERROR_LEN 256

/* A new SchedContext with the whole CPU (budget = period =
 * BK_SCHED_ROOT_PERIOD_NS), given by the SchedControl cap in the caller's
 * slot BK_CAP_SCHED_CONTROL and bound to thread `tcb`: what a thread needs
 * to run at all, for programs that hold SchedControl (the root task; a
 * process spawned with BK_SPAWN_GIVE_SCHED_CONTROL). A scheduler server
 * gives tenants budgets instead. Returns the SchedContext's slot, or 0 and
 * -BK_ERR_* in *err (FAILED_LOOKUP: no SchedControl). */
uint64_t bk_sched_whole_cpu(uint64_t tcb, long *err);

/* A process made by bk_process_spawn(): the caps to its parts, in the
 * parent's root CNode, and why a failed spawn failed. */
struct bk_process {
    uint64_t tcb, cnode, vspace;
    uint64_t sched_context; /* the SchedContext its first thread runs on */
    uint64_t cspace_data;
    uint64_t entry;
    char error[BK_PROCESS_ERROR_LEN]; /* "" or "spawn 'name': what went wrong" */
};

/* bk_process_spawn() flags. */
#define BK_SPAWN_GIVE_DEBUG 1u /* a copy of the caller's Debug cap, in the child's BK_CAP_DEBUG */
/* A copy of the caller's SchedControl cap, in the child's
 * BK_CAP_SCHED_CONTROL: the child can then give its own threads CPU time. */
#define BK_SPAWN_GIVE_SCHED_CONTROL 2u
/* A copy of the child's own VSpace cap, in its BK_CAP_ROOT_VSPACE: the
 * child can then map memory and start threads of its own (a server with a
 * helper thread, such as the scheduler server's rebalancer). */
#define BK_SPAWN_GIVE_VSPACE 4u

/* Starts the boot-image program `module` in a new address space and CSpace
 * at `priority`; a copy of the cap `give` (0: none) lands in its slot
 * BK_PROCESS_CAP_ARG. The child gets nothing else of the caller's: with
 * BK_SPAWN_GIVE_DEBUG in `flags` it also gets a copy of the caller's Debug
 * cap (so it can print); without, its console output goes nowhere. The
 * child holds a cap to its own TCB (BK_CAP_ROOT_TCB, for its TLS), and its
 * TCB holds its CNode: deleting the caller's caps in `p` does not end the
 * process; suspend its TCB, and revoke the untyped its objects came from
 * to reclaim them. The child's MCP is `priority`: its own threads may run
 * up to it. Its first thread runs on a SchedContext with the whole CPU
 * (bk_sched_whole_cpu(): the caller needs SchedControl). Returns 0 or
 * -BK_ERR_* (INVALID_ARGUMENT: no such module, an unknown flag, or a
 * program the ELF parser refuses); on failure `p->error` holds a sentence
 * for a person, e.g. "spawn 'x': ELF refused: <the parser's reason>". Safe
 * from any thread: spawns take turns. */
long bk_process_spawn(const struct bk_bootinfo *bi, const char *module, unsigned priority,
                      uint64_t give, unsigned flags, struct bk_process *p);

/* ---- Arenas: memory set aside for one process (libsys/src/process/arena.c)
 * An untyped of 2^size_bits bytes and a run of root-CNode slots from which
 * the objects of one process are made (bk_process_spawn_in()), so that
 * reclaiming it (revoking the untyped) deletes every one of them, and the
 * next process is made of the same memory in the same slots: a supervisor
 * restarting a process uses no more memory or slots on the thousandth
 * restart than on the first. Objects of the shared allocator
 * (bk_alloc_object() otherwise) are never given back. docs/libsys.md,
 * "Arenas". */
struct bk_arena {
    uint64_t untyped;      /* the untyped's cap, in a root-CNode slot */
    unsigned size_bits;    /* its size, log2 bytes */
    uint64_t used;         /* bytes handed out since the last reclaim, by our count */
    uint64_t first_slot;   /* the slots [first_slot, first_slot + slots) are the arena's */
    uint32_t slots, slots_used;
    uint64_t refused_bytes; /* the last object that did not fit (for messages) */
    long refused_error;     /* the kernel's refusal of the last retype, or 0 */
};

/* Sets up `a` over `untyped`, an untyped cap of the caller's of 2^size_bits
 * bytes with nothing made from it (0: one retyped now from the caller's
 * memory), and `slots` consecutive free root-CNode slots, taken now.
 * Returns 0, -BK_ERR_INVALID_ARGUMENT (size_bits not 12 to 30, slots not 1
 * to 4095, or, seen through the Debug cap when the caller has it, a cap
 * that is no untyped: a Retype on an endpoint would be a Call that never
 * returns) or -BK_ERR_NOT_ENOUGH_MEMORY (no memory or slots for it). */
long bk_arena_init(struct bk_arena *a, uint64_t untyped, unsigned size_bits, unsigned slots);

/* A new object of `type` (as bk_alloc_object()) made of the arena, in its
 * next slot; 0 when its memory or its slots ran out (the arena says which
 * in refused_bytes and refused_error). */
uint64_t bk_arena_alloc(struct bk_arena *a, uint64_t type, unsigned size_bits);

/* Whether root-CNode slot `slot` is one of the arena's (the caller must
 * not bk_slot_free() those). */
bool bk_arena_holds_slot(const struct bk_arena *a, uint64_t slot);

/* Revokes the arena's untyped: every object made of it is deleted, with
 * every cap to one wherever it went (a process's TCB stops, its CNode is
 * emptied, its VSpace and mappings go), and the arena is empty again: the
 * next objects come from its first byte and its first slot. Caps the
 * caller wants to keep must be moved out of a CNode of the arena first.
 * Returns 0 or CNode: Revoke's error (-BK_ERR_INVALID_ARGUMENT for an
 * arena never set up). */
long bk_arena_reclaim(struct bk_arena *a);

/* As bk_process_spawn(), with every object of the process made of `arena`
 * (its VSpace, page tables, the program's frames, stack, IPC buffer,
 * start-info page, CNode, TCB and SchedContext); an ASID pool libsys must
 * make for it stays in the shared allocator, where it serves every
 * process. A spawn that does not fit fails with -BK_ERR_NOT_ENOUGH_MEMORY
 * and a sentence naming the step and the arena's numbers, e.g. "spawn
 * 'x': loading the program: NOT_ENOUGH_MEMORY (its arena's untyped of
 * 16384 bytes has 16384 used: an object of 4096 more does not fit)"; what
 * it made stays in the arena until bk_arena_reclaim(). -BK_ERR_INVALID_ARGUMENT
 * for an arena never set up. */
long bk_process_spawn_in(struct bk_arena *arena, const struct bk_bootinfo *bi, const char *module,
                         unsigned priority, uint64_t give, unsigned flags, struct bk_process *p);

/* What the shared allocator handed out, in bytes (by its count: each
 * object's size and alignment), and how many root-CNode slots are free:
 * a supervisor can check that a restart took nothing. */
uint64_t bk_objects_bytes_used(void);
uint64_t bk_slots_free_count(void);

/* Message info word from its fields: the label and the length in words
 * (no caps). Note the order: label first. */
static inline uint64_t bk_msginfo(uint64_t label, uint64_t length)
{
    return BK_MSGINFO(length, 0, 0, label);
}

/* The name of error code `code` (positive, as in BK_ERR_*), or "?". */
const char *bk_error_name(long code);

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
