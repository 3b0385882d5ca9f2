/*
 * The tenants' IO (docs/tenants.md, "IO"): what the manager hands out of
 * the IO its administrator gave it (Tenants: ConfigureIo), and its calls
 * to the IO server as that server's administrator.
 *
 * A tenant with IO has one of the manager's IO tenant numbers, a policy
 * (IO: SetPolicy: its reservation and limit) and a disk carved from the
 * manager's sectors (IO: SetDisk), set before its thread starts. The
 * session is the tenant's own business: it asks us for its numbers and a
 * cap badged with its number (Hello, Io), pays the session from its
 * account (Mem: Grant) and opens it (IO: OpenGranted). Kill ends the
 * policy and the session (IO: CloseTenant), which ends the grant once the
 * requests in the device complete.
 */
#include "tenants.h"

#define W BK_WORD_BITS
#define DISK_UNIT 4096u /* a disk is whole pages: the session's buffers are */
#define SECTORS_MAX (1ull << 48)

/* The IO server's refusal, as our error: its text names the numbers. */
static int io_refused(struct tenants_call *call, const char *tenant, const struct io_error *e)
{
    char reason[96];
    io_error_format(e, reason, sizeof(reason));
    return tenants_fail_io_refused(call, tenant, reason);
}

/* A tenant with IO we gave (a table's tenant's IO is the table's). */
static bool has_our_io(const struct tenant *t)
{
    return t->live && t->io_tenant && !t->table;
}

static unsigned tenants_with_io(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < TENANTS_MAX; i++)
        n += has_our_io(&manager.tenants[i]);
    return n;
}

int tenants_handle_configure_io(struct tenants_call *call, uint32_t reservation_iops,
                                uint32_t tenants, uint64_t first_sector, uint64_t sectors,
                                uint32_t holder)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    if (BK_CAP_IDENTITY_TYPE(debug_cap_identify(TENANTS_SLOT_IO)) != BK_OBJ_ENDPOINT)
        return tenants_fail_no_io(call, "(allowance)");
    if (!tenants || (tenants & ~TENANTS_IO_NUMBERS) || !sectors || sectors > SECTORS_MAX ||
        first_sector > SECTORS_MAX - sectors || holder < 1 || holder > 15)
        return tenants_fail_bad_io_allowance(call, tenants, sectors, holder);
    unsigned busy = tenants_with_io();
    if (busy)
        return tenants_fail_io_in_use(call, busy);
    manager.io = (struct io_allowance){ .on = true, .iops = reservation_iops,
                                        .numbers = tenants, .holder = holder,
                                        .first_sector = first_sector, .sectors = sectors };
    return 0;
}

/* ---- Numbers and sectors ------------------------------------------------- */

static bool number_used(uint32_t n)
{
    for (unsigned i = 0; i < TENANTS_MAX; i++) {
        if (has_our_io(&manager.tenants[i]) && manager.tenants[i].io_tenant == n)
            return true;
    }
    return false;
}

/* A free IO tenant number, searched from the one after the last given (a
 * number just closed may still have requests in the device: the IO
 * server refuses its new session with `closing` until they complete); 0
 * if none. `left` counts the free ones. */
static uint32_t free_number(unsigned *left)
{
    uint32_t found = 0;
    *left = 0;
    for (uint32_t k = 1; k <= 8; k++) {
        uint32_t n = (manager.io.last_number + k - 1) % 8 + 1;
        if (!(manager.io.numbers & (1u << n)) || number_used(n))
            continue;
        (*left)++;
        if (!found)
            found = n;
    }
    return found;
}

/* The free run of the manager's sectors starting at `at` (0 sectors if a
 * tenant's disk holds `at`). */
static uint64_t run_from(uint64_t at)
{
    uint64_t end = manager.io.first_sector + manager.io.sectors;
    for (unsigned i = 0; i < TENANTS_MAX; i++) {
        const struct tenant *t = &manager.tenants[i];
        if (!has_our_io(t))
            continue;
        if (at >= t->disk_first && at < t->disk_first + t->disk_sectors)
            return 0;
        if (t->disk_first >= at && t->disk_first < end)
            end = t->disk_first;
    }
    return end - at;
}

/* A free run from `at` considered: the largest so far, and the lowest
 * start of one that holds `sectors` (found says whether *first has one). */
static bool consider(uint64_t at, uint64_t sectors, uint64_t *first, uint64_t *largest,
                     bool found)
{
    uint64_t run = run_from(at);
    if (run > *largest)
        *largest = run;
    if (run >= sectors && (!found || at < *first)) {
        *first = at;
        return true;
    }
    return found;
}

/* First fit: the lowest start of a free run of `sectors`; false if none,
 * with the largest free run in *largest. Free runs start at the
 * manager's first sector or where a tenant's disk ends. */
static bool place_disk(uint64_t sectors, uint64_t *first, uint64_t *largest)
{
    *largest = 0;
    bool found = consider(manager.io.first_sector, sectors, first, largest, false);
    for (unsigned i = 0; i < TENANTS_MAX; i++) {
        const struct tenant *t = &manager.tenants[i];
        if (has_our_io(t))
            found = consider(t->disk_first + t->disk_sectors, sectors, first, largest, found);
    }
    return found;
}

/* ---- The checks ---------------------------------------------------------- */

/* Rates that go together with `disk` (0: no IO). */
static bool rates_ok(uint32_t iops, uint32_t limit, uint64_t disk)
{
    if (!disk)
        return !iops && !limit;
    return disk % DISK_UNIT == 0 && limit >= 1 && iops <= limit;
}

int tenant_io_checks(struct tenants_call *call, const char *name, uint32_t iops, uint32_t limit,
                     uint64_t disk)
{
    if (!rates_ok(iops, limit, disk))
        return tenants_fail_bad_io(call, name, iops, limit, disk);
    if (!disk)
        return 0;
    if (!manager.io.on)
        return tenants_fail_no_io(call, name);
    uint32_t left = manager.io.iops - manager.io.iops_given;
    if (iops > left)
        return tenants_fail_over_iops(call, name, iops, left, manager.io.iops);
    unsigned numbers = 0;
    uint64_t first = 0, largest = 0;
    bool placed = place_disk(disk / TENANTS_SECTOR, &first, &largest);
    if (!free_number(&numbers) || !placed)
        return tenants_fail_over_disk(call, name, disk, largest * TENANTS_SECTOR, numbers);
    return 0;
}

/* ---- Calls to the IO server ---------------------------------------------- */

int tenant_io_give(struct tenants_call *call, struct tenant *t, uint32_t iops, uint32_t limit,
                   uint64_t disk)
{
    t->io_tenant = 0;
    if (!disk)
        return 0;
    unsigned numbers;
    uint64_t first = 0, largest;
    uint32_t n = free_number(&numbers), left;
    place_disk(disk / TENANTS_SECTOR, &first, &largest); /* tenant_io_checks() found both */
    struct io_error e;
    if (io_set_policy(TENANTS_SLOT_IO, n, iops, limit, 0, TENANTS_IO_WEIGHT,
                      TENANTS_IO_LATENCY_US, &left, &e))
        return io_refused(call, t->name, &e);
    if (io_set_disk(TENANTS_SLOT_IO, n, first, disk / TENANTS_SECTOR, &e)) {
        int err = io_refused(call, t->name, &e);
        uint32_t cancelled, in_device;
        io_close_tenant(TENANTS_SLOT_IO, n, &cancelled, &in_device, &e);
        return err;
    }
    t->io_tenant = n;
    t->io_iops = iops;
    t->io_limit = limit;
    t->disk_first = first;
    t->disk_sectors = disk / TENANTS_SECTOR;
    manager.io.last_number = n;
    manager.io.iops_given += iops;
    return 0;
}

int tenant_io_close(struct tenants_call *call, struct tenant *t)
{
    if (!t->io_tenant)
        return 0;
    struct io_error e;
    uint32_t cancelled, in_device;
    if (io_close_tenant(TENANTS_SLOT_IO, t->io_tenant, &cancelled, &in_device, &e))
        return io_refused(call, t->name, &e);
    manager.io.iops_given -= t->io_iops;
    t->io_tenant = 0;
    return 0;
}

int tenant_io_rates(struct tenants_call *call, struct tenant *t, uint32_t iops, uint32_t limit)
{
    uint64_t disk = t->disk_sectors * TENANTS_SECTOR;
    uint32_t new_iops = iops ? iops : t->io_iops, new_limit = limit ? limit : t->io_limit;
    if ((iops || limit) && !t->io_tenant)
        return tenants_fail_no_io(call, t->name);
    if (!t->io_tenant || (new_iops == t->io_iops && new_limit == t->io_limit))
        return 0;
    if (!rates_ok(new_iops, new_limit, disk))
        return tenants_fail_bad_io(call, t->name, new_iops, new_limit, disk);
    uint32_t left = manager.io.iops - manager.io.iops_given + t->io_iops;
    if (new_iops > left)
        return tenants_fail_over_iops(call, t->name, new_iops, left, manager.io.iops);
    struct io_error e;
    uint32_t others;
    if (io_set_policy(TENANTS_SLOT_IO, t->io_tenant, new_iops, new_limit, 0, TENANTS_IO_WEIGHT,
                      TENANTS_IO_LATENCY_US, &others, &e))
        return io_refused(call, t->name, &e);
    manager.io.iops_given = manager.io.iops_given - t->io_iops + new_iops;
    t->io_iops = new_iops;
    t->io_limit = new_limit;
    return 0;
}

int tenant_io_usage(struct tenants_call *call, const struct tenant *t, struct tenant_usage *u)
{
    u->io_ops = u->io_bytes = 0;
    if (!t->io_tenant)
        return 0;
    struct io_error e;
    uint64_t queue, p50, p99, misses;
    if (io_stats(TENANTS_SLOT_IO, t->io_tenant, &u->io_ops, &u->io_bytes, &queue, &p50, &p99,
                 &misses, &e))
        return io_refused(call, t->name, &e);
    return 0;
}

/* ---- The tenant's own call ------------------------------------------------ */

int tenants_handle_io(struct tenants_call *call, bk_cptr_t *io)
{
    struct tenant *t = tenant_by_badge(call->badge);
    if (!t)
        return tenants_fail_not_tenant(call, call->badge);
    if (!t->io_tenant)
        return tenants_fail_no_io(call, t->name);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, TENANTS_SLOT_IO_GIVE, W);
    if (sys_cnode_mint(BK_CAP_ROOT_CNODE, TENANTS_SLOT_IO_GIVE, W, BK_CAP_ROOT_CNODE,
                       TENANTS_SLOT_IO, W, BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY,
                       t->io_tenant) != 0)
        return tenants_fail_no_io(call, t->name);
    *io = TENANTS_SLOT_IO_GIVE;
    return 0;
}
