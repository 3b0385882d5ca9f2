/*
 * The guard: what the fuzzer must not do to itself (see fuzz.h). Every
 * invocation passes through fz_invocation_ok() however it was made, so the
 * rules hold for random labels and words as much as for the structured
 * operations.
 *
 * The rules rest on two facts about the root CSpace: the root CNode's
 * guard makes slot n the address n at depth 64 and nothing else, and the
 * guard refuses every copy of the root TCB, root CNode and root VSpace
 * caps (and of the echo endpoint cap), in slots or in messages; so only
 * slots 1, 2 and 3 name those objects, and a slot argument names a
 * root-CNode slot only as (n, 64) relative to the CNode cap in slot 2.
 */
#include "fuzz.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define RETYPE_ZERO_LIMIT (2u << 20) /* bytes of memory one retype may zero */

struct method_info {
    uint64_t label;
    unsigned type;
    unsigned nargs;
};

#define FZ_METHOD(OBJ, obj, meth, label, nargs) { label, BK_OBJ_##OBJ, nargs },
static const struct method_info methods[] = { BK_METHODS(FZ_METHOD) };
#undef FZ_METHOD
#define METHOD_COUNT (sizeof(methods) / sizeof(methods[0]))

static const struct method_info *method(uint64_t label)
{
    for (unsigned i = 0; i < METHOD_COUNT; i++) {
        if (methods[i].label == label)
            return &methods[i];
    }
    return NULL;
}

unsigned fz_method_args(uint64_t label)
{
    const struct method_info *m = method(label);
    return m ? m->nargs : 0;
}

uint64_t fz_label_for(struct fuzz *f, unsigned type)
{
    unsigned count = 0;
    for (unsigned i = 0; i < METHOD_COUNT; i++)
        count += methods[i].type == type;
    if (count == 0)
        return fz_any_label(f);
    unsigned k = (unsigned)fz_below(f, count);
    for (unsigned i = 0; i < METHOD_COUNT; i++) {
        if (methods[i].type == type && k-- == 0)
            return methods[i].label;
    }
    return 0;
}

uint64_t fz_any_label(struct fuzz *f)
{
    return methods[fz_below(f, METHOD_COUNT)].label;
}

static int boot_untyped(const struct fuzz *f, uint64_t slot)
{
    for (uint32_t i = 0; i < f->bi->untyped_count; i++) {
        if (f->bi->untyped[i].slot == slot)
            return 1;
    }
    return 0;
}

/* The caps the fuzzer runs on (the Debug cap too: its console and its
 * invariant checks): never deleted, moved or revoked. The fuzz untyped and
 * the boot untypeds other than the pool may be revoked (that is how
 * fz_reset() takes everything back), but stay where they are: a deleted
 * boot untyped would leave its objects where no revoke reaches. */
static int kept(const struct fuzz *f, uint64_t slot, int revoke)
{
    /* The boot ASID pool too: deleting it would take the root task's own
     * VSpace's ASID, and stop it; and ASIDControl, for MakePool's sake. */
    return slot == BK_CAP_ROOT_TCB || slot == BK_CAP_ROOT_CNODE || slot == BK_CAP_ROOT_VSPACE ||
           slot == BK_CAP_ROOT_ASID_POOL || slot == BK_CAP_ASID_CONTROL ||
           slot == BK_CAP_DEBUG || slot == BK_CAP_SCHED_CONTROL ||
           slot == BK_CAP_ROOT_SCHED_CONTEXT || slot == f->pool || slot == f->echo ||
           (!revoke && (slot == f->untyped || boot_untyped(f, slot)));
}

/* Objects with effects outside the kernel (interrupt lines, I/O ports: a
 * write to QEMU's exit port ends the run) are not the kernel's invariants
 * to test here: no methods on them. */
static int hardware_type(unsigned type)
{
    return type == BK_OBJ_IRQ_CONTROL || type == BK_OBJ_IRQ_HANDLER ||
           type == BK_OBJ_IOPORT_CONTROL || type == BK_OBJ_IOPORT;
}

/* Methods vetted as harmless on the fuzzer's own TCB, CNode, VSpace and
 * untypeds. Methods added to the ABI later are refused on them until
 * someone looks at them here. */
static int vetted_on_own(uint64_t label, const uint64_t *args)
{
    switch (label) {
    case BK_LABEL_TCB_WRITE_REGISTERS: /* refused on the caller itself */
    case BK_LABEL_TCB_READ_REGISTERS:
    case BK_LABEL_TCB_RESUME:
    case BK_LABEL_TCB_SUSPEND:         /* refused on the root task */
    case BK_LABEL_TCB_SET_PRIORITY:    /* nothing of ours spins: a low priority only slows us */
    case BK_LABEL_TCB_SET_MC_PRIORITY:
    case BK_LABEL_TCB_BIND_NOTIFICATION:
    case BK_LABEL_TCB_UNBIND_NOTIFICATION:
    case BK_LABEL_CNODE_REVOKE:        /* slot arguments: cnode_ok() */
    case BK_LABEL_CNODE_DELETE:
    case BK_LABEL_CNODE_COPY:
    case BK_LABEL_CNODE_MINT:
    case BK_LABEL_CNODE_MOVE:
    case BK_LABEL_CNODE_MUTATE:
    case BK_LABEL_UNTYPED_RETYPE:
    case BK_LABEL_DEBUG_PUT_CHAR:      /* output tamed: tame_debug_output() */
    case BK_LABEL_DEBUG_WRITE:
    case BK_LABEL_DEBUG_TICKS:
    case BK_LABEL_DEBUG_CAP_IDENTIFY:
    case BK_LABEL_DEBUG_CHECK_INVARIANTS:
    case BK_LABEL_SCHED_CONTEXT_CONSUMED:
    case BK_LABEL_ASID_POOL_ASSIGN:    /* our VSpace has its ASID: refused */
    case BK_LABEL_ASID_CONTROL_MAKE_POOL: /* into an empty slot only */
        return 1;
    case BK_LABEL_SCHED_CONTROL_CONFIGURE:
        /* Any SchedContext but the one the root task runs on (a copy of
         * its cap is never made: not_copied()). */
        return args[0] != BK_CAP_ROOT_SCHED_CONTEXT;
    case BK_LABEL_TCB_SET_FAULT_ENDPOINT:
        /* With a fault endpoint, our own failed lookups would become
         * blocking fault messages. Clearing it is fine. */
        return args[0] == 0;
    default:
        return 0; /* configure (our CSpace, our address space), anything new */
    }
}

/* Caps never copied (nor sent, which copies): only their own slot may name
 * the root task's TCB, CNode and VSpace, and the echo endpoint. */
static int not_copied(const struct fuzz *f, uint64_t slot)
{
    return slot == BK_CAP_ROOT_TCB || slot == BK_CAP_ROOT_CNODE || slot == BK_CAP_ROOT_VSPACE ||
           slot == BK_CAP_ROOT_SCHED_CONTEXT || slot == f->echo;
}

static int own_cap(const struct fuzz *f, uint64_t service)
{
    return kept(f, service, 0) && service != f->echo &&
           (service == f->pool || !boot_untyped(f, service));
}

/* Slot arguments of the CNode methods. */
static int cnode_ok(const struct fuzz *f, uint64_t service, uint64_t label, const uint64_t *a)
{
    int own_slot = service == ROOT && a[1] == W;
    int src_in_root = a[2] == ROOT && a[4] == W;
    switch (label) {
    case BK_LABEL_CNODE_REVOKE:
    case BK_LABEL_CNODE_DELETE:
        return !(own_slot && kept(f, a[0], label == BK_LABEL_CNODE_REVOKE));
    case BK_LABEL_CNODE_COPY:
    case BK_LABEL_CNODE_MINT:
        return !(src_in_root && not_copied(f, a[3]));
    case BK_LABEL_CNODE_MOVE:
    case BK_LABEL_CNODE_MUTATE:
        return !(src_in_root && kept(f, a[3], 0));
    default:
        return 1;
    }
}

/* Bytes one object of retype `type` and `size` zeroes (0: none or invalid). */
static uint64_t zeroed_bytes(uint64_t type, uint64_t size)
{
    switch (type) {
    case BK_OBJ_CNODE:
        return size >= 1 && size <= 24 ? 1ull << (size + 6) : 0;
    case BK_OBJ_FRAME:
        return size == 12 || size == 21 ? 1ull << size : 0;
    case BK_OBJ_TCB:
        return 2048;
    case BK_OBJ_ENDPOINT:
    case BK_OBJ_NOTIFICATION:
        return 64;
    case BK_OBJ_SCHED_CONTEXT:
        return 1ull << BK_SCHED_CONTEXT_BITS;
    case BK_OBJ_PAGE_TABLE:
    case BK_OBJ_VSPACE:
        return 8192;
    default:
        return 0;
    }
}

/* Keeps a retype from zeroing more than RETYPE_ZERO_LIMIT bytes, so one
 * operation costs at most a few milliseconds under TCG. */
static void clamp_retype(uint64_t *a)
{
    if (a[0] == BK_OBJ_CNODE && a[1] > 15 && a[1] <= 24)
        a[1] = 15;
    uint64_t bytes = zeroed_bytes(a[0], a[1]);
    if (bytes && a[6] >= 1 && a[6] <= 256 && a[6] * bytes > RETYPE_ZERO_LIMIT)
        a[6] = bytes >= RETYPE_ZERO_LIMIT ? 1 : RETYPE_ZERO_LIMIT / bytes;
}

/* Debug: PutChar and Write print dots, or read an address that holds
 * nothing of ours (a faulting one, refused): our own memory would fill the
 * log with binary. */
static void tame_debug_output(struct fuzz *f, uint64_t label, uint64_t *a)
{
    static const char dots[16] = "................";
    if (label == BK_LABEL_DEBUG_PUT_CHAR) {
        a[0] = (a[0] & ~0xffull) | '.';
    } else if (fz_chance(f, 50)) {
        a[0] = (uint64_t)(uintptr_t)dots;
        a[1] = fz_below(f, sizeof(dots) + 1);
    } else if (!fz_pc_faults(a[0])) {
        a[0] = 0x1000;
    }
}

/* A thread may start only in the helper loop on the stack just handed out,
 * or at an address that faults: never in the fuzzer's own code. */
static void check_thread_start(struct fuzz *f, uint64_t *a)
{
    if (a[1] == fz_helper_pc() && f->granted_sp && a[2] == f->granted_sp) {
        f->granted_sp = 0;
        return;
    }
    if (!fz_pc_faults(a[1]))
        a[1] = 0;
}

int fz_invocation_ok(struct fuzz *f, uint64_t service, unsigned type, uint64_t label,
                     uint64_t args[FUZZ_MAX_ARGS])
{
    if (hardware_type(type))
        return 0;
    const struct method_info *m = method(label);
    if (!m || m->type != type)
        return 1; /* the kernel refuses it: no such method for this type */
    if (own_cap(f, service) && !vetted_on_own(label, args))
        return 0;
    switch (label) {
    case BK_LABEL_CNODE_REVOKE:
    case BK_LABEL_CNODE_DELETE:
    case BK_LABEL_CNODE_COPY:
    case BK_LABEL_CNODE_MINT:
    case BK_LABEL_CNODE_MOVE:
    case BK_LABEL_CNODE_MUTATE:
        return cnode_ok(f, service, label, args);
    case BK_LABEL_UNTYPED_RETYPE:
        /* The pool is never revoked: objects made from it would outlive
         * fz_reset(), and with them threads on helper stacks it reuses. */
        if (service == f->pool)
            return 0;
        clamp_retype(args);
        return 1;
    case BK_LABEL_TCB_CONFIGURE:
        if (!fz_ipc_buffer_ok(args[3]))
            args[3] = fz_ipc_buffer(f);
        return 1;
    case BK_LABEL_TCB_WRITE_REGISTERS:
        check_thread_start(f, args);
        return 1;
    case BK_LABEL_DEBUG_PUT_CHAR:
    case BK_LABEL_DEBUG_WRITE:
        tame_debug_output(f, label, args);
        return 1;
    default:
        return 1;
    }
}

void fz_sanitize_caps(struct fuzz *f)
{
    for (unsigned i = 0; i < BK_MSG_MAX_CAPS; i++) {
        if (not_copied(f, bk_ipc_buffer->caps[i]))
            bk_ipc_buffer->caps[i] = fz_window_slot(f);
    }
}

int fz_abi_as_expected(void)
{
    /* The guard knows where configure and write_registers keep the words
     * it rewrites; a changed ABI must be looked at here first. */
    return fz_method_args(BK_LABEL_TCB_CONFIGURE) == 4 &&
           fz_method_args(BK_LABEL_TCB_WRITE_REGISTERS) == 4 &&
           fz_method_args(BK_LABEL_UNTYPED_RETYPE) == 7 &&
           fz_method_args(BK_LABEL_CNODE_MOVE) == 5;
}
