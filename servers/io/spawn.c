/*
 * Starting io-server (io.h): whoever holds the driver's endpoint and the
 * memory (the root task) gives io-server exactly what io.h lists. It runs
 * below the spawner's priority, so it starts once the spawner blocks, by
 * then holding everything, and it looks only at its first request anyway.
 */
#include "io.h"

#define CHILD_CNODE_BITS 8u /* bk_process_spawn()'s CNode: 256 slots */

static const char *give(const struct bk_process *p, uint64_t src, unsigned dest, char *err,
                        size_t errlen, const char *what)
{
    long r = src ? sys_cnode_move(p->cnode, dest, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, src,
                                  BK_WORD_BITS)
                 : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r == 0)
        return NULL;
    bk_snprintf(err, errlen, "io: handing over %s failed: %s", what, bk_error_name(-r));
    return err;
}

const char *io_spawn(const struct bk_bootinfo *bi, unsigned priority, uint64_t driver,
                     uint64_t *endpoint, char *err, size_t errlen)
{
    return io_spawn_trading(bi, priority, driver, 0, endpoint, err, errlen);
}

const char *io_spawn_trading(const struct bk_bootinfo *bi, unsigned priority, uint64_t driver,
                             uint64_t mem, uint64_t *endpoint, char *err, size_t errlen)
{
    static struct bk_process p;
    *endpoint = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    if (!*endpoint)
        return "io: no memory for the server's endpoint";
    if (bk_process_spawn(bi, "io-server", priority, *endpoint,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE | BK_SPAWN_GIVE_SCHED_CONTROL, &p) != 0) {
        bk_snprintf(err, errlen, "%s", p.error);
        return err;
    }
    const char *e = give(&p, driver, IO_SLOT_DRIVER, err, errlen, "the driver's endpoint");
    if (!e)
        e = give(&p, bk_alloc_object(BK_OBJ_UNTYPED, IO_POOL_BITS), IO_SLOT_POOL, err, errlen,
                 "the session pool");
    if (!e)
        e = give(&p, bk_alloc_object(BK_OBJ_UNTYPED, IO_MEMORY_BITS), IO_SLOT_MEMORY, err, errlen,
                 "the server's memory");
    if (!e && mem)
        e = give(&p, mem, IO_SLOT_MEM_SERVER, err, errlen, "the memory server's cap");
    return e;
}
