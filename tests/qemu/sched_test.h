/*
 * What the scheduler server's QEMU tests (sched_server.c, sched_donation.c,
 * sched_smp.c) share: starting the server as its spawner does
 * (docs/scheduling.md, "Starting it"), a tenant's cap, and an error's text
 * held against the one expected.
 */
#ifndef TESTS_QEMU_SCHED_TEST_H
#define TESTS_QEMU_SCHED_TEST_H

#include <bulkhead/sys.h>
#include <protocols/sched_client.h>

#define SCHED_TEST_SERVER_PRIORITY 200
/* The server's memory: untyped caps its spawner moves into its CNode (of
 * 2^8 slots) from slot 11 on. */
#define SCHED_TEST_POOL_SLOT 11
#define SCHED_TEST_CNODE_BITS 8

/* Spawns sched-server serving `ep` (with the Debug cap, CPU 0's SchedControl
 * and its own VSpace) and moves `pool`, an untyped cap, into its first pool
 * slot: 0, or -1 if either step failed. */
static inline int sched_test_spawn(const struct bk_bootinfo *bi, uint64_t ep, uint64_t pool,
                                   struct bk_process *p)
{
    if (bk_process_spawn(bi, "sched-server", SCHED_TEST_SERVER_PRIORITY, ep,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_SCHED_CONTROL | BK_SPAWN_GIVE_VSPACE,
                         p) != 0)
        return -1;
    return sys_cnode_move(p->cnode, SCHED_TEST_POOL_SLOT, SCHED_TEST_CNODE_BITS,
                          BK_CAP_ROOT_CNODE, pool, BK_WORD_BITS) == 0 ? 0 : -1;
}

/* A tenant's cap to the server: `ep` with write and grant, badged with the
 * tenant's id; 0 if no slot or the mint failed. */
static inline uint64_t sched_test_tenant_cap(uint64_t ep, uint64_t id)
{
    uint64_t slot = bk_slot_alloc();
    if (slot && sys_cnode_mint(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS, BK_CAP_ROOT_CNODE, ep,
                               BK_WORD_BITS, BK_RIGHT_WRITE | BK_RIGHT_GRANT, id) != 0)
        return 0;
    return slot;
}

/* A hand-made request on `ep` (its words all ones, `caps` caps from the IPC
 * buffer); true if the reply is the shared protocol error `code`. */
static inline bool sched_test_garbage(uint64_t ep, uint64_t label, unsigned length,
                                      unsigned caps, int code)
{
    struct bk_msg m = { .info = BK_MSGINFO(length, caps, 0, label) };
    for (unsigned i = 0; i < length; i++)
        bk_proto_set_word(&m, i, ~0ull);
    sys_call(ep, &m);
    return BK_MSGINFO_LABEL(m.info) == BK_PROTO_ERROR_LABEL(SCHED_PROTOCOL_ID, code);
}

/* True if the text of `e` is `expected`; prints it after `who` either way. */
static inline bool sched_test_text_is(const char *who, const struct sched_error *e,
                                      const char *expected)
{
    char buf[200];
    sched_error_format(e, buf, sizeof(buf));
    debug_printf("%s:   '%s'\n", who, buf);
    return strcmp(buf, expected) == 0;
}

#endif
