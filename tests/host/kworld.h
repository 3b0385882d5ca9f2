/*
 * A small system for host tests of threads and IPC (tests/host/kworld.c):
 * host memory as one untyped region, one root CNode shared by every
 * thread (a flat 64-bit CSpace: a cap's address is its slot index), and a
 * driver thread, "root", at priority 255, which makes the invocations
 * that set the tests up. Everything a test does after kw_init() goes
 * through the kernel's syscall entry (fake_syscall()) with the fake CPU
 * running the kernel's current thread.
 */
#pragma once

#include <bulkhead/abi.h>

#include "check.h"
#include "cnode.h"
#include "fake.h"
#include "ipc.h"
#include "thread.h"

/* Root CNode slots set up by kw_init(). */
#define KW_CNODE 1       /* the root CNode itself (flat: radix 10, guard 54) */
#define KW_ROOT_TCB 2    /* the driver thread */
#define KW_ROOT_VSPACE 3 /* its address space */
#define KW_IRQ_CONTROL 4
#define KW_DEBUG 5
#define KW_PARK 6        /* an endpoint the driver waits on to let others run */
#define KW_WAKER_TCB 7   /* a thread at priority 1 that wakes the driver */
#define KW_SCHED_CONTROL 8
#define KW_ROOT_SC 9     /* the driver's SchedContext: the whole CPU */
#define KW_ASID_CONTROL 10
#define KW_ASID_POOL 11  /* a pool (made by ASIDControl: MakePool) every kw_vspace() uses */
#define KW_POOL_UNTYPED 12 /* the page it was made from */
#define KW_FIRST_FREE 16
#define KW_RADIX 10

/* Where kw_space() maps each space's IPC buffer, and user code "runs". */
#define KW_IPC_BUFFER 0x10000000ull
#define KW_ENTRY 0x400000ull
#define KW_STACK 0x7fff0000ull

struct kworld {
    uint8_t *mem;
    struct cte untyped;  /* all of mem */
    struct cte cnode;    /* the root CNode's original cap */
    struct cte *slots;   /* the root CNode's slots: slot i is address i */
    unsigned next_slot;  /* next free slot for kw_retype() */
    struct thread *root; /* the driver thread */
    struct thread *waker; /* runs when nothing else can: kw_back_to_root() */
};

void kw_init(struct kworld *w);

/* kw_init() with 2^mem_bits bytes of memory and a root CNode of 2^radix
 * slots (kw_init(): 8 MiB, KW_RADIX). */
void kw_init_sized(struct kworld *w, unsigned mem_bits, unsigned radix);

/* Maps the driver thread's page tables and IPC buffer (kw_init() calls it). */
void kw_space_init_root(struct kworld *w);

/* Deletes everything (checking the invariants first) and frees the memory. */
void kw_free(struct kworld *w);

/* The driver waits (Recv on KW_PARK): the highest-priority ready thread
 * runs. Later, when only the waker is left to run, kw_back_to_root() has it
 * send to KW_PARK, and the driver runs again. */
void kw_park(struct kworld *w);
void kw_back_to_root(struct kworld *w);

/* `count` new objects in consecutive free slots; returns the first. */
unsigned kw_retype(struct kworld *w, enum cap_type type, unsigned size_arg, unsigned count);

/* A badged or rights-reduced copy of the cap in `slot` (CNode: Mint done
 * directly); returns its slot. */
unsigned kw_mint(struct kworld *w, unsigned slot, cap_rights_t rights, uint64_t badge);

/* Gives the thread of the TCB cap at `tcb` a new SchedContext with the
 * whole CPU; returns its slot. */
unsigned kw_give_cpu(struct kworld *w, unsigned tcb);

/* The invocation `label` of the cap at `cptr` by the driver thread, which
 * must be running, with up to 4 argument words; returns the error (0: OK).
 * Result words: kw_result(w, i). */
uint64_t kw_invoke(struct kworld *w, uint64_t cptr, uint64_t label, unsigned n, uint64_t a0,
                   uint64_t a1, uint64_t a2, uint64_t a3);
uint64_t kw_result(const struct kworld *w, unsigned i);

/* A new VSpace with an ASID from KW_ASID_POOL, nothing mapped; returns
 * its slot. kw_vspace_from(): from the pool at slot `pool`. */
unsigned kw_vspace(struct kworld *w);
unsigned kw_vspace_from(struct kworld *w, unsigned pool);

/* A new VSpace (kw_vspace()) with its page tables and an IPC buffer at
 * KW_IPC_BUFFER (mapped read-write); returns its slot. kw_space_from():
 * its ASID from the pool at slot `pool`. */
unsigned kw_space(struct kworld *w);
unsigned kw_space_from(struct kworld *w, unsigned pool);

/* A new ASID pool (ASIDControl: MakePool from a fresh page of untyped
 * memory, in the next slot); returns its slot. */
unsigned kw_asid_pool(struct kworld *w);

/* A new thread in `space` (a VSpace slot) with its IPC buffer, priority
 * and MCP `prio`, started (RUNNABLE); returns its TCB slot. */
unsigned kw_thread(struct kworld *w, unsigned space, uint8_t prio);

static inline struct thread *kw_tcb(const struct kworld *w, unsigned slot)
{
    return tcb_thread(&w->slots[slot].cap);
}

static inline void *kw_object(const struct kworld *w, unsigned slot)
{
    return cap_object(&w->slots[slot].cap);
}

/* A syscall by `t`, which must be the thread the kernel runs (checked):
 * number `nr`, argument registers a0..a5. Returns how the kernel left. */
enum fake_exit kw_sys(struct thread *t, unsigned long nr, uint64_t a0, uint64_t a1, uint64_t a2,
                      uint64_t a3, uint64_t a4, uint64_t a5);

/* The IPC syscalls with a message of up to 4 words in registers. */
enum fake_exit kw_call(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr);
enum fake_exit kw_send(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr);
enum fake_exit kw_nbsend(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr);
enum fake_exit kw_reply_recv(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr);
enum fake_exit kw_reply(struct thread *t, uint64_t info, const uint64_t *mr);
enum fake_exit kw_recv(struct thread *t, uint64_t cptr);
enum fake_exit kw_nbrecv(struct thread *t, uint64_t cptr);
enum fake_exit kw_yield(struct thread *t);

/* What a thread's registers say after a syscall: a0 (badge or result),
 * a1 (message info), the message words a2..a5. */
static inline uint64_t kw_badge(const struct thread *t)
{
    return t->regs.gpr[10];
}

static inline uint64_t kw_info(const struct thread *t)
{
    return t->regs.gpr[11];
}

static inline uint64_t kw_mr(const struct thread *t, unsigned i)
{
    return t->regs.gpr[12 + i];
}

/* The thread's IPC buffer as the kernel sees it. */
struct bk_ipc_buffer *kw_buffer(struct thread *t);

/* Runs the kernel's invariant walk (kernel/debug/invariants.c) from the
 * root CNode; returns the number of violations. */
uint64_t kw_invariants(struct kworld *w);
