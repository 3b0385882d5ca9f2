/* Host tests, through the syscall entry, that emptying what a thread holds
 * is bounded per kernel entry (issue 10): the final cap of a TCB whose
 * CSpace root is the final cap of a large CNode (deleted, or revoked with
 * its untyped), TCB: Configure replacing such a root, and a CNode holding
 * the only cap to a thread whose CSpace root is that CNode; a revoke that
 * meets a zombie deep inside the chain of an abandoned Delete; random webs
 * of CNodes and threads holding each other. Each kernel entry may delete
 * at most MAX_PER_ENTRY caps; in the end everything is gone exactly once
 * and the untyped can be retyped again. */
#include "kworld.h"

#include "object.h"
#include "revoke_all.h"
#include "untyped.h"

#define BIG_RADIX 12    /* 4096 slots */
#define NESTED_RADIX 10 /* 1024 slots */
#define SUB_BITS 20     /* the untyped everything to be emptied comes from */
/* One batch is 64 steps (kernel/cnode.c), each deleting at most one cap;
 * the final cap that starts a delete is one more. */
#define MAX_PER_ENTRY 65

/* ---- Counting the caps each kernel entry deletes ------------------------- */

/* Every cap these tests delete is a copy of one endpoint or the final cap
 * of a CNode or TCB, so the endpoint's count and the live objects tell how
 * many went. */
struct tally {
    const cap_t *ep;
    uint64_t ep_refs, cnodes, tcbs;
};

static struct tally tally_now(const cap_t *ep)
{
    return (struct tally){ ep, *object_refs(ep), object_live_count(CAP_CNODE),
                           object_live_count(CAP_TCB) };
}

static uint64_t deleted_since(const struct tally *t)
{
    return t->ep_refs - *object_refs(t->ep) + t->cnodes - object_live_count(CAP_CNODE) +
           t->tcbs - object_live_count(CAP_TCB);
}

struct entries {
    unsigned count;   /* kernel entries the method took */
    uint64_t max;     /* the most caps one of them deleted */
    uint64_t result;  /* the method's error, 0 for success */
};

/* Invokes a method that may restart (KERR_RESTART rewinds the driver to
 * its syscall instruction, and the fake CPU then makes it again, as user
 * mode would), counting the caps each kernel entry deletes. */
static struct entries invoke_to_end(struct kworld *w, uint64_t cptr, uint64_t label, unsigned n,
                                    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                                    const cap_t *ep)
{
    struct entries e = { 0 };
    for (;;) {
        vaddr_t pc = w->root->regs.pc;
        struct tally t = tally_now(ep);
        e.result = kw_invoke(w, cptr, label, n, a0, a1, a2, a3);
        uint64_t gone = deleted_since(&t);
        e.max = gone > e.max ? gone : e.max;
        e.count++;
        if (w->root->regs.pc != pc - 4)
            return e;
        w->root->regs.pc = pc; /* the syscall instruction, made again */
    }
}

/* ---- The set-up -------------------------------------------------------------- */

struct setup {
    unsigned ep;     /* the endpoint every filling cap is a copy of */
    unsigned sub;    /* the untyped the CNodes and the TCB come from */
    unsigned tcb;    /* the thread's TCB cap */
    unsigned cnode;  /* the big CNode's cap, before it is handed over */
    uint64_t cnodes, tcbs; /* live objects before any of them was made */
};

static void make_from(struct kworld *w, unsigned sub, enum cap_type type, unsigned size,
                      struct cte *dest)
{
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w->slots[sub], type, size, dest, 1, &info), KERR_OK);
}

/* Fills every empty slot of the CNode `cn` with a copy of the endpoint. */
static void fill(struct kworld *w, const cap_t *cn, unsigned ep)
{
    struct kerror_info info = { 0 };
    struct cte *in = cnode_slots(cn);
    for (size_t i = 0; i < (size_t)1 << cap_cnode_radix(cn); i++) {
        if (cap_is_null(&in[i].cap))
            CHECK_EQ(cnode_copy(&w->slots[ep], &in[i], CAP_RIGHTS_ALL, &info), KERR_OK);
    }
}

/* A CNode of 4096 slots holding the only cap to one of 1024, both full
 * of endpoint copies, and a runnable thread with that CNode as its CSpace
 * root and the endpoint as its fault endpoint; all from untyped `sub`. The
 * CNode's cap stays in s->cnode: the caller decides where the final one
 * is. */
static struct setup set_up(struct kworld *w)
{
    struct setup s = { .cnodes = object_live_count(CAP_CNODE),
                       .tcbs = object_live_count(CAP_TCB) };
    s.ep = kw_retype(w, CAP_ENDPOINT, 0, 1);
    s.sub = kw_retype(w, CAP_UNTYPED, SUB_BITS, 1);
    s.cnode = w->next_slot++;
    s.tcb = w->next_slot++;
    make_from(w, s.sub, CAP_CNODE, BIG_RADIX, &w->slots[s.cnode]);
    make_from(w, s.sub, CAP_CNODE, NESTED_RADIX, &cnode_slots(&w->slots[s.cnode].cap)[3]);
    fill(w, &cnode_slots(&w->slots[s.cnode].cap)[3].cap, s.ep);
    fill(w, &w->slots[s.cnode].cap, s.ep);
    make_from(w, s.sub, CAP_TCB, 0, &w->slots[s.tcb]);
    kw_give_cpu(w, s.tcb);
    CHECK_EQ(kw_invoke(w, s.tcb, BK_LABEL_TCB_CONFIGURE, 4, s.cnode, 0, KW_ROOT_VSPACE, 0), 0);
    CHECK_EQ(kw_invoke(w, s.tcb, BK_LABEL_TCB_SET_FAULT_ENDPOINT, 1, s.ep, 0, 0, 0), 0);
    CHECK_EQ(kw_invoke(w, s.tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, 10, 0, 0), 0);
    CHECK_EQ(kw_invoke(w, s.tcb, BK_LABEL_TCB_WRITE_REGISTERS, 4, 1, KW_ENTRY, KW_STACK, 0), 0);
    CHECK_EQ(kw_tcb(w, s.tcb)->state, THREAD_RUNNABLE);
    CHECK_EQ(*object_refs(&w->slots[s.ep].cap), 1 + 4095 + 1024 + 1);
    return s;
}

/* Everything made from the untyped is gone, each object once, and its
 * memory can be retyped again. */
static void check_all_freed(struct kworld *w, const struct setup *s)
{
    CHECK_EQ(*object_refs(&w->slots[s->ep].cap), 1);
    CHECK_EQ(object_live_count(CAP_CNODE), s->cnodes);
    CHECK_EQ(object_live_count(CAP_TCB), s->tcbs);
    CHECK_EQ(kw_invariants(w), 0);
    revoke_all(&w->slots[s->sub]);
    CHECK_EQ(cap_untyped_free_index(&w->slots[s->sub].cap), 0);
    make_from(w, s->sub, CAP_CNODE, BIG_RADIX + 1, &w->slots[s->cnode]);
    CHECK_EQ(kw_invariants(w), 0);
}

static void report(const char *what, const struct entries *e)
{
    printf("  %s: %u kernel entries, at most %llu caps deleted in one\n", what, e->count,
           (unsigned long long)e->max);
}

/* ---- The cases ------------------------------------------------------------- */

/* CNode: Delete of the final TCB cap, whose CSpace root is the final cap
 * of the big CNode. */
static void test_delete_tcb_with_big_root(void)
{
    struct kworld w;
    kw_init(&w);
    struct setup s = set_up(&w);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.cnode, 64, 0, 0), 0);
    struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.tcb, 64, 0, 0,
                                     &w.slots[s.ep].cap);
    report("TCB delete", &e);
    CHECK_EQ(e.result, 0);
    CHECK(e.max <= MAX_PER_ENTRY && e.count >= (4096 + 1024) / 64);
    CHECK(cap_is_null(&w.slots[s.tcb].cap));
    check_all_freed(&w, &s);
    kw_free(&w);
}

/* CNode: Revoke of the untyped the TCB and CNodes came from. */
static void test_revoke_tcb_with_big_root(void)
{
    struct kworld w;
    kw_init(&w);
    struct setup s = set_up(&w);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.cnode, 64, 0, 0), 0);
    struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, s.sub, 64, 0, 0,
                                     &w.slots[s.ep].cap);
    report("untyped revoke", &e);
    CHECK_EQ(e.result, 0);
    CHECK(e.max <= MAX_PER_ENTRY && e.count >= (4096 + 1024) / 64);
    check_all_freed(&w, &s);
    kw_free(&w);
}

/* TCB: Configure replacing a CSpace root that is the final cap of the big
 * CNode: the old root goes a batch per entry, then the new one is in. */
static void test_configure_replacing_big_root(void)
{
    struct kworld w;
    kw_init(&w);
    struct setup s = set_up(&w);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.cnode, 64, 0, 0), 0);
    struct entries e = invoke_to_end(&w, s.tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0,
                                     KW_ROOT_VSPACE, 0, &w.slots[s.ep].cap);
    report("Configure", &e);
    CHECK_EQ(e.result, 0);
    CHECK(e.max <= MAX_PER_ENTRY && e.count >= (4096 + 1024) / 64);
    struct thread *t = kw_tcb(&w, s.tcb);
    CHECK(cap_type(&t->cspace_root.cap) == CAP_CNODE && cap_object(&t->cspace_root.cap) == w.slots);
    CHECK_EQ(*object_refs(&w.slots[s.ep].cap), 2); /* and the fault endpoint's copy */
    CHECK_EQ(object_live_count(CAP_CNODE), s.cnodes);
    CHECK_EQ(kw_invariants(&w), 0);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.tcb, 64, 0, 0), 0);
    check_all_freed(&w, &s);
    kw_free(&w);
}

/* A thread cannot have its own final CSpace root replaced: the restarted
 * call would be looked up through the CNode being emptied. Its CSpace here
 * is the big CNode with a guard that makes it flat: slot 1 its own TCB cap,
 * 2 the world's CNode, 4 the VSpace, 5 the endpoint. */
static void test_configure_own_big_root_refused(void)
{
    struct kworld w;
    kw_init(&w);
    struct setup s = set_up(&w);
    struct kerror_info info = { 0 };
    struct cte *in = cnode_slots(&w.slots[s.cnode].cap);
    cnode_delete(&in[1]);
    cnode_delete(&in[2]);
    cnode_delete(&in[4]);
    CHECK_EQ(cnode_copy(&w.slots[s.tcb], &in[1], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&w.slots[KW_CNODE], &in[2], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&w.slots[KW_ROOT_VSPACE], &in[4], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(kw_invoke(&w, s.tcb, BK_LABEL_TCB_CONFIGURE, 4, s.cnode,
                       BK_CNODE_GUARD(64 - BIG_RADIX, 0), KW_ROOT_VSPACE, KW_IPC_BUFFER), 0);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.cnode, 64, 0, 0), 0);
    struct thread *t = kw_tcb(&w, s.tcb);
    kw_park(&w);
    CHECK(current_thread == t);
    kw_sys(t, BK_SYS_CALL, 1, BK_MSGINFO(4, 0, 0, BK_LABEL_TCB_CONFIGURE), 2, 0, 4, 0);
    CHECK(current_thread == t);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(t)), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(cap_type(&t->cspace_root.cap), CAP_CNODE); /* nothing changed */
    kw_recv(t, 5); /* nobody sends: the driver runs again */
    kw_back_to_root(&w);
    struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, s.sub, 64, 0, 0,
                                     &w.slots[s.ep].cap);
    CHECK(e.result == 0 && e.max <= MAX_PER_ENTRY);
    check_all_freed(&w, &s);
    kw_free(&w);
}

/* A CNode holding the only cap to a thread whose CSpace root is the only
 * cap to that CNode: no lookup reaches either; revoking their untyped
 * frees both, a batch per entry. */
static void test_cnode_holding_its_own_thread(void)
{
    struct kworld w;
    kw_init(&w);
    struct setup s = set_up(&w);
    struct kerror_info info = { 0 };
    struct cte *in = cnode_slots(&w.slots[s.cnode].cap);
    cnode_delete(&in[7]);
    CHECK_EQ(cnode_move(&w.slots[s.tcb], &in[7], &info), KERR_OK);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, s.cnode, 64, 0, 0), 0);
    CHECK_EQ(object_live_count(CAP_TCB), s.tcbs + 1); /* unreachable, not destroyed */
    struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, s.sub, 64, 0, 0,
                                     &w.slots[s.ep].cap);
    report("revoke of a CNode and its thread", &e);
    CHECK_EQ(e.result, 0);
    CHECK(e.max <= MAX_PER_ENTRY && e.count >= (4096 + 1024) / 64);
    check_all_freed(&w, &s);
    kw_free(&w);
}

/* ---- A revoke that meets a zombie deep inside an interrupted chain ---------- */

#define NEST_DEPTH 3000 /* CNodes of 2 slots, each holding the only cap to the next */
#define NEST_ODD 1500   /* the one made from another untyped */

struct nest {
    unsigned ep, sub, odd_sub, top; /* top: the slot of the outermost CNode's cap */
    struct cte *odd_table;          /* the odd CNode's slots */
    uint64_t cnodes;
};

/* NEST_DEPTH CNodes, slot 0 of each the only cap to the next, slot 1 an
 * endpoint copy; all from one untyped but NEST_ODD, from another. */
static struct nest make_nest(struct kworld *w)
{
    struct nest n = { .cnodes = object_live_count(CAP_CNODE) };
    struct kerror_info info = { 0 };
    n.ep = kw_retype(w, CAP_ENDPOINT, 0, 1);
    n.sub = kw_retype(w, CAP_UNTYPED, SUB_BITS, 1);
    n.odd_sub = kw_retype(w, CAP_UNTYPED, 12, 1);
    n.top = w->next_slot++;
    struct cte *slot = &w->slots[n.top];
    for (unsigned i = 0; i < NEST_DEPTH; i++) {
        make_from(w, i == NEST_ODD ? n.odd_sub : n.sub, CAP_CNODE, 1, slot);
        struct cte *in = cnode_slots(&slot->cap);
        if (i == NEST_ODD)
            n.odd_table = in;
        CHECK_EQ(cnode_copy(&w->slots[n.ep], &in[1], CAP_RIGHTS_ALL, &info), KERR_OK);
        slot = &in[0];
    }
    return n;
}

/* Delete of the outermost CNode, given up (its thread stopped) once the
 * chain of zombies reaches past the odd one, which then waits in it. */
static void start_and_abandon_delete(struct kworld *w, const struct nest *n)
{
    unsigned entries = 0;
    while (cap_type(&n->odd_table[0].cap) != CAP_ZOMBIE) {
        vaddr_t pc = w->root->regs.pc;
        (void)kw_invoke(w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, n->top, 64, 0, 0);
        CHECK_EQ(w->root->regs.pc, pc - 4); /* it would restart */
        w->root->regs.pc = pc;
        CHECK(++entries < NEST_DEPTH);
    }
    CHECK_EQ(cap_type(&w->slots[n->top].cap), CAP_ZOMBIE);
    CHECK_EQ(kw_invariants(w), 0);
}

/* Revoking the odd CNode's untyped meets its zombie deep inside the chain
 * of an abandoned Delete: it takes that zombie out of the chain and is
 * done in an entry or two (it used to walk the chain to its other end and
 * finish everything from there); the untyped's memory is retyped at once;
 * the abandoned Delete, made again, finishes the rest. */
static void test_revoke_meets_zombie_deep_in_chain(void)
{
    struct kworld w;
    kw_init(&w);
    struct nest n = make_nest(&w);
    start_and_abandon_delete(&w, &n);
    struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, n.odd_sub, 64, 0,
                                     0, &w.slots[n.ep].cap);
    report("revoke of one CNode deep in a chain", &e);
    CHECK(e.result == 0 && e.count <= 2 && e.max <= 2);
    CHECK_EQ(cap_untyped_free_index(&w.slots[n.odd_sub].cap), 0);
    CHECK_EQ(kw_invariants(&w), 0);
    unsigned reuse = w.next_slot++; /* the odd CNode's memory, full of caps now */
    make_from(&w, n.odd_sub, CAP_CNODE, 6, &w.slots[reuse]);
    fill(&w, &w.slots[reuse].cap, n.ep);
    e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, n.top, 64, 0, 0,
                      &w.slots[n.ep].cap);
    CHECK(e.result == 0 && e.max <= MAX_PER_ENTRY);
    CHECK(cap_is_null(&w.slots[n.top].cap));
    CHECK_EQ(*object_refs(&w.slots[n.ep].cap), 1 + 64);
    CHECK_EQ(object_live_count(CAP_CNODE), n.cnodes + 1);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* Revoking the untyped most of the chain came from meets its zombies
 * where the tree has them, waiting or on top: bounded entries, and all of
 * it goes, the odd CNode included (it was inside them). */
static void test_revoke_of_interrupted_chain(void)
{
    struct kworld w;
    kw_init(&w);
    struct nest n = make_nest(&w);
    start_and_abandon_delete(&w, &n);
    struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, n.sub, 64, 0, 0,
                                     &w.slots[n.ep].cap);
    report("revoke of an interrupted chain's untyped", &e);
    CHECK(e.result == 0 && e.max <= MAX_PER_ENTRY);
    CHECK_EQ(cap_untyped_free_index(&w.slots[n.sub].cap), 0);
    CHECK(cap_is_null(&w.slots[n.top].cap));
    CHECK_EQ(*object_refs(&w.slots[n.ep].cap), 1);
    CHECK_EQ(object_live_count(CAP_CNODE), n.cnodes);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* ---- Random webs of CNodes, deleted and revoked in pieces ----------------- */

#define WEB_CNODES 48
#define WEB_SUBS 3
#define WEB_TCBS 8
#define WEB_SEEDS 40

static uint64_t web_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

/* One kernel entry of `label` on `cptr`, its restart given up. */
static void one_entry(struct kworld *w, uint64_t cptr, uint64_t label)
{
    vaddr_t pc = w->root->regs.pc;
    (void)kw_invoke(w, KW_CNODE, label, 2, cptr, 64, 0, 0);
    w->root->regs.pc = pc;
}

/* Small CNodes from three untypeds, slots filled with endpoint copies,
 * and threads whose CSpace roots are copies of their caps; the final caps
 * of both moved at random into the CNodes (cycles, self-holding
 * ones, deep nests); then Deletes and Revokes, each given up after a few
 * kernel entries, in random order, the invariants (chain links included)
 * checked after every entry; in the end everything goes, each object
 * once, and every untyped is empty. */
static void test_random_webs_of_cnodes(void)
{
    for (uint64_t seed = 1; seed <= WEB_SEEDS; seed++) {
        struct kworld w;
        kw_init(&w);
        uint64_t rs = seed, cnodes = object_live_count(CAP_CNODE),
                 tcbs = object_live_count(CAP_TCB);
        struct kerror_info info = { 0 };
        unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1), sub[WEB_SUBS], root[WEB_CNODES];
        for (unsigned i = 0; i < WEB_SUBS; i++)
            sub[i] = kw_retype(&w, CAP_UNTYPED, 16, 1);
        struct cte *table[WEB_CNODES];
        unsigned radix[WEB_CNODES];
        for (unsigned i = 0; i < WEB_CNODES; i++) {
            root[i] = w.next_slot++;
            radix[i] = 1 + web_rand(&rs) % 3;
            make_from(&w, sub[web_rand(&rs) % WEB_SUBS], CAP_CNODE, radix[i], &w.slots[root[i]]);
            table[i] = cnode_slots(&w.slots[root[i]].cap);
            for (size_t k = 0; k < (size_t)1 << radix[i]; k++) {
                if (web_rand(&rs) % 2)
                    CHECK_EQ(cnode_copy(&w.slots[ep], &table[i][k], CAP_RIGHTS_ALL, &info),
                             KERR_OK);
            }
        }
        unsigned tcb[WEB_TCBS];
        for (unsigned i = 0; i < WEB_TCBS; i++) { /* CSpace root: a copy of a CNode's cap */
            tcb[i] = w.next_slot++;
            make_from(&w, sub[web_rand(&rs) % WEB_SUBS], CAP_TCB, 0, &w.slots[tcb[i]]);
            CHECK_EQ(kw_invoke(&w, tcb[i], BK_LABEL_TCB_CONFIGURE, 4,
                               root[web_rand(&rs) % WEB_CNODES], 0, KW_ROOT_VSPACE, 0), 0);
        }
        for (unsigned i = 0; i < WEB_CNODES + WEB_TCBS; i++) {
            unsigned from = i < WEB_CNODES ? root[i] : tcb[i - WEB_CNODES];
            if (web_rand(&rs) % 4 == 0)
                continue; /* stays reachable */
            unsigned j = web_rand(&rs) % WEB_CNODES;
            struct cte *dest = &table[j][web_rand(&rs) % ((size_t)1 << radix[j])];
            if (cap_type(&dest->cap) == CAP_CNODE)
                continue; /* another's only cap is there already */
            cnode_delete(dest);
            CHECK_EQ(cnode_move(&w.slots[from], dest, &info), KERR_OK);
        }
        bool clean = kw_invariants(&w) == 0;
        for (unsigned round = 0; round < 200 && clean; round++) {
            unsigned entries = 1 + web_rand(&rs) % 3;
            bool revoke = web_rand(&rs) % 3 == 0;
            unsigned pick = web_rand(&rs) % (WEB_CNODES + WEB_TCBS);
            uint64_t cptr = revoke              ? sub[pick % WEB_SUBS]
                            : pick < WEB_CNODES ? root[pick]
                                                : tcb[pick - WEB_CNODES];
            for (unsigned e = 0; e < entries && clean; e++) {
                one_entry(&w, cptr, revoke ? BK_LABEL_CNODE_REVOKE : BK_LABEL_CNODE_DELETE);
                clean = kw_invariants(&w) == 0;
            }
        }
        CHECK(clean);
        uint64_t max = 0;
        for (unsigned i = 0; i < WEB_SUBS; i++) {
            struct entries e = invoke_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, sub[i], 64, 0,
                                             0, &w.slots[ep].cap);
            CHECK_EQ(e.result, 0);
            max = e.max > max ? e.max : max;
            CHECK_EQ(cap_untyped_free_index(&w.slots[sub[i]].cap), 0);
        }
        CHECK(max <= MAX_PER_ENTRY);
        CHECK_EQ(*object_refs(&w.slots[ep].cap), 1);
        CHECK_EQ(object_live_count(CAP_CNODE), cnodes);
        CHECK_EQ(object_live_count(CAP_TCB), tcbs);
        CHECK_EQ(kw_invariants(&w), 0);
        kw_free(&w);
    }
}

TEST_MAIN(TEST(test_delete_tcb_with_big_root), TEST(test_revoke_tcb_with_big_root),
          TEST(test_configure_replacing_big_root), TEST(test_configure_own_big_root_refused),
          TEST(test_cnode_holding_its_own_thread), TEST(test_revoke_meets_zombie_deep_in_chain),
          TEST(test_revoke_of_interrupted_chain), TEST(test_random_webs_of_cnodes))
