/*
 * The kv server (tests/ktest/kv/protocol.toml): a process the kernel test
 * suite spawns (proto_tests.c) with a badge-less endpoint in
 * BK_PROCESS_CAP_ARG; the suite mints badged copies, one badge per tenant.
 * The loop is the one every protocol server has (docs/servers.md):
 * ReplyRecv on the endpoint, the generated kv_dispatch() in between, which
 * checks each request before a handler here sees it.
 *
 * Tenants live in a fixed table (a test server; a real one keeps per-tenant
 * state in memory the tenant donated). Capabilities arrive in RECV_SLOT; a
 * tenant's watch is moved to a slot of its own.
 */
#include <bulkhead/sys.h>
#include <protocols/kv_server.h>

#define TENANTS 4
#define SLOTS 16
#define QUOTA (4ull << 20)
#define RECV_SLOT BK_PROCESS_FIRST_FREE_SLOT
#define WATCH_SLOT(t) (BK_PROCESS_FIRST_FREE_SLOT + 1 + (t))
#define NAME_SIZE (KV_PUT_KEY_MAX + 1)

struct entry {
    bool used;
    char key[NAME_SIZE];
    uint64_t value;
};

struct tenant {
    bool active;
    uint64_t badge;
    uint64_t reserved; /* bytes of the quota reserved */
    uint64_t requests; /* handler runs for this tenant */
    bool watching;
    char watch_key[NAME_SIZE];
    struct entry entries[SLOTS];
};

static struct tenant tenants[TENANTS];

/* The caller's tenant (made on its first request), or NULL when the table
 * is full; counts the request. */
static struct tenant *tenant_of(struct kv_call *call, unsigned *index)
{
    struct tenant *free_place = NULL;
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active && tenants[i].badge == call->badge) {
            *index = i;
            tenants[i].requests++;
            return &tenants[i];
        }
        if (!tenants[i].active && free_place == NULL) {
            free_place = &tenants[i];
            *index = i;
        }
    }
    if (free_place != NULL)
        *free_place = (struct tenant){ .active = true, .badge = call->badge, .requests = 1 };
    return free_place;
}

static struct entry *find(struct tenant *t, const char *key)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        if (t->entries[i].used && strcmp(t->entries[i].key, key) == 0)
            return &t->entries[i];
    }
    return NULL;
}

static unsigned used_slots(const struct tenant *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < SLOTS; i++)
        n += t->entries[i].used;
    return n;
}

int kv_handle_put(struct kv_call *call, const char *key, uint64_t value)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    struct entry *e = find(t, key);
    for (unsigned i = 0; e == NULL && i < SLOTS; i++) {
        if (!t->entries[i].used) {
            e = &t->entries[i];
            e->used = true;
            memcpy(e->key, key, strlen(key) + 1);
        }
    }
    if (e == NULL)
        return kv_fail_store_full(call, call->badge, 1, 0, SLOTS);
    e->value = value;
    if (t->watching && strcmp(t->watch_key, key) == 0) {
        struct bk_msg signal = { 0 };
        sys_nbsend(WATCH_SLOT(ti), &signal); /* never blocks the server */
    }
    return 0;
}

int kv_handle_get(struct kv_call *call, const char *key, bool missing_ok, uint64_t *value)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    struct entry *e = find(t, key);
    if (e == NULL && !missing_ok)
        return kv_fail_not_found(call, call->badge, key);
    *value = e ? e->value : 0;
    return 0;
}

int kv_handle_delete(struct kv_call *call, const char *key, uint32_t *free_slots)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    struct entry *e = find(t, key);
    if (e == NULL)
        return kv_fail_not_found(call, call->badge, key);
    e->used = false;
    *free_slots = SLOTS - used_slots(t);
    return 0;
}

int kv_handle_add(struct kv_call *call, const char *key, int64_t delta, int64_t *sum)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    struct entry *e = find(t, key);
    if (e == NULL)
        return kv_fail_not_found(call, call->badge, key);
    int64_t value = (int64_t)e->value;
    if (__builtin_add_overflow(value, delta, sum))
        return kv_fail_overflow(call, key, value, delta);
    e->value = (uint64_t)*sum;
    return 0;
}

int kv_handle_stat(struct kv_call *call, uint64_t *tenant, uint32_t *used, uint32_t *capacity,
                   bool *empty, char *first, uint64_t *requests)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    *tenant = call->badge;
    *used = used_slots(t);
    *capacity = SLOTS;
    *empty = *used == 0;
    for (unsigned i = 0; i < SLOTS && first[0] == 0; i++) {
        if (t->entries[i].used)
            memcpy(first, t->entries[i].key, NAME_SIZE);
    }
    *requests = t->requests;
    return 0;
}

int kv_handle_reserve(struct kv_call *call, uint32_t pages, uint64_t *left)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    uint64_t asked = (uint64_t)pages * BK_PAGE_SIZE;
    if (asked > QUOTA - t->reserved)
        return kv_fail_quota(call, call->badge, QUOTA, asked, QUOTA - t->reserved);
    t->reserved += asked;
    *left = QUOTA - t->reserved;
    return 0;
}

int kv_handle_watch(struct kv_call *call, const char *key, uint64_t notification_slot)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    /* Keep the cap: out of the receive slot (which the dispatch empties
     * after every request) into the tenant's own. */
    sys_cnode_delete(BK_CAP_ROOT_CNODE, WATCH_SLOT(ti), BK_WORD_BITS);
    sys_cnode_move(BK_CAP_ROOT_CNODE, WATCH_SLOT(ti), BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                   notification_slot, BK_WORD_BITS);
    t->watching = true;
    memcpy(t->watch_key, key, strlen(key) + 1);
    return 0;
}

int kv_handle_watcher(struct kv_call *call, char *key, bk_cptr_t *notification)
{
    unsigned ti;
    struct tenant *t = tenant_of(call, &ti);
    if (t == NULL)
        return kv_fail_no_room(call, TENANTS);
    if (!t->watching)
        return kv_fail_not_watching(call, call->badge);
    memcpy(key, t->watch_key, strlen(t->watch_key) + 1);
    *notification = WATCH_SLOT(ti);
    return 0;
}

int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, RECV_SLOT, BK_WORD_BITS, NULL);
    struct bk_msg m = { 0 };
    sys_recv(BK_PROCESS_CAP_ARG, &m);
    for (;;) {
        kv_dispatch(&server, &m);
        sys_reply_recv(BK_PROCESS_CAP_ARG, &m);
    }
}
