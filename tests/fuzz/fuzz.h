/*
 * The robustness test (issue 3): a root task that issues random syscalls
 * with random arguments and capability addresses for a bounded time while
 * the kernel checks its invariants (Debug: CheckInvariants).
 *
 * The fuzzer keeps itself alive with three rules, so that whatever goes
 * wrong is the kernel's doing:
 *  - protected slots (guard.c): the caps it needs to run (its TCB, CNode,
 *    VSpace, the untyped it carves from, the echo endpoint, the Debug cap
 *    it prints and checks through) are never deleted, moved, revoked, or
 *    (TCB and CNode) copied, and its own TCB only takes methods that
 *    cannot take its CSpace or address space away;
 *  - the root never blocks for good: it receives only with NBRecv, and
 *    sends or calls blocking only to the echo endpoint, which a thread
 *    nobody else can reach always answers (threads.c);
 *  - threads it starts run only code that cannot harm it: the helper loop
 *    on a stack of its own, or an address that faults at once.
 */
#pragma once

#include <bulkhead/sys.h>

#define FUZZ_WINDOW 256    /* root-CNode slots the fuzzer plays in */
#define FUZZ_MAX_ARGS 8    /* message words an invocation carries */

struct fuzz {
    const struct bk_bootinfo *bi;
    uint64_t seed;         /* the run's seed: printed, and all a rerun needs */
    uint64_t rng;
    uint64_t pool;         /* the boot untyped everything is carved from */
    uint64_t untyped;      /* the fuzz untyped: revoked now and then, never deleted */
    uint64_t echo;         /* endpoint cap the echo thread answers on */
    uint64_t window;       /* first slot of the window */
    uint8_t type[FUZZ_WINDOW];  /* cap type last seen in each window slot */
    uint8_t radix[FUZZ_WINDOW]; /* radix of a CNode retyped there (0: unknown) */
    uint64_t granted_sp;   /* the helper stack handed out for this operation */
    uint64_t max_ops;      /* operations to make (bulkhead.fuzzops=N) */
    uint64_t ops;          /* syscalls issued as fuzz operations */
    uint64_t skipped;      /* operations the guard refused */
    uint64_t violations;   /* reported by Debug: CheckInvariants */
    uint64_t checks;
    uint64_t populated_steps;   /* fz_populate() steps the kernel carried out */
    uint64_t populate_failures; /* ... and refused (0 on a kernel of today's shape) */
    uint64_t live_targets;      /* invocations whose target held a cap */
    uint64_t invocations;
    uint64_t trace_from;   /* print each operation from this one on (bulkhead.fuzztrace=N) */
    uint32_t method_ok[BK_LABEL_COUNT];     /* by label: Calls the kernel carried out */
    uint32_t method_failed[BK_LABEL_COUNT]; /* by label: Calls it refused with an error */
};

/* ---- Random values (pick.c) ---------------------------------------------- */

uint64_t fz_rand(struct fuzz *f);
uint64_t fz_below(struct fuzz *f, uint64_t n);
int fz_chance(struct fuzz *f, unsigned percent);
/* A word biased toward boundary values (0, 1, 63, 64, 2^k, 2^k - 1, ~0). */
uint64_t fz_word(struct fuzz *f);
/* A capability address biased toward occupied and interesting slots. */
uint64_t fz_cptr(struct fuzz *f);
/* A window slot last seen holding a cap of `type`, else fz_cptr(). */
uint64_t fz_cptr_of(struct fuzz *f, unsigned type);
uint64_t fz_window_slot(struct fuzz *f);
/* The cap type (BK_OBJ_*) at `cptr`, 0 if none. */
unsigned fz_type(uint64_t cptr);
/* Re-identifies every window slot. */
void fz_refresh(struct fuzz *f);
/* Re-identifies `slot` if it is in the window. */
void fz_note(struct fuzz *f, uint64_t slot);

/* ---- The guard (guard.c) --------------------------------------------------- */

/* Whether invoking `service` (a cap of `type`) with `label` and `args` is
 * safe for the fuzzer; may replace unsafe argument words (IPC buffer and
 * thread start addresses, huge retypes) with safe ones first. */
int fz_invocation_ok(struct fuzz *f, uint64_t service, unsigned type, uint64_t label,
                     uint64_t args[FUZZ_MAX_ARGS]);
/* The ABI's methods (generated BK_METHODS): argument count of `label`
 * (0 if no method has it), a label of a method of `type`, any label. */
unsigned fz_method_args(uint64_t label);
uint64_t fz_label_for(struct fuzz *f, unsigned type);
uint64_t fz_any_label(struct fuzz *f);
/* False if the methods the guard rewrites changed shape. */
int fz_abi_as_expected(void);
/* Rewrites the IPC buffer's extra-cap addresses so no message carries the
 * fuzzer's own TCB or CNode cap away. */
void fz_sanitize_caps(struct fuzz *f);

/* ---- Threads (threads.c) ------------------------------------------------- */

/* Starts the echo thread answering on `echo` (see threads.c); 0 or an error. */
long fz_start_echo(struct fuzz *f, uint64_t scratch);
/* Configures and starts `tcb` on the helper loop receiving on `cptr`, at
 * a priority above the root's while fz_let_helpers_block() runs. */
long fz_start_blocked_helper(struct fuzz *f, uint64_t tcb, uint64_t cptr);
/* Lets the helpers fz_start_blocked_helper() started run to their Recv. */
void fz_let_helpers_block(void);
/* Registers for a thread start: the helper loop on a fresh stack (noted
 * in f->granted_sp) receiving on `arg`, or an address that faults. */
void fz_thread_regs(struct fuzz *f, uint64_t *pc, uint64_t *sp, uint64_t *arg);
/* True if `pc` is one fz_thread_regs() may hand out without a stack. */
int fz_pc_faults(uint64_t pc);
uint64_t fz_helper_pc(void);
/* An IPC buffer address for a thread the fuzzer configures. */
uint64_t fz_ipc_buffer(struct fuzz *f);
/* True if `va` may be given as an IPC buffer (not the fuzzer's own memory). */
int fz_ipc_buffer_ok(uint64_t va);
/* Fills the helper IPC buffers with random words. */
void fz_garble_helper_buffers(struct fuzz *f);
/* Makes every helper stack available again: fz_reset() destroyed all
 * threads the fuzzer made. */
void fz_threads_reset(void);

/* ---- Operations (ops.c) ----------------------------------------------------- */

/* Prints the syscall about to be made when tracing (see trace_from). */
void fz_trace(const struct fuzz *f, uint64_t nr, uint64_t dest, uint64_t info,
              const uint64_t *words, unsigned count);

/* Issues one random operation; returns 1 if a syscall was made. */
int fz_operation(struct fuzz *f);
/* Revokes what the fuzzer made and empties the window. */
void fz_reset(struct fuzz *f);
/* fz_reset(), then the starting state again (fz_populate()). */
void fz_rebuild(struct fuzz *f);

/* ---- The starting state (populate.c) ----------------------------------------- */

/* Builds live objects of every type, a deep CSpace, badge families,
 * blocked threads and mappings in the window; returns the live caps made. */
unsigned fz_populate(struct fuzz *f);
