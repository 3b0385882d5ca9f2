/*
 * Server protocols (tools/protogen.py, docs/servers.md): the kv protocol
 * (kv/protocol.toml) served by kv-server, a process of its own, through its
 * generated dispatch, and called through the generated client stubs. Every
 * method round-trips; errors arrive as a code and numbers and the client
 * formats their text; a capability travels in; malformed requests get an
 * error reply and reach no handler; a client that dies mid-request leaves
 * the server serving the others.
 *
 * Slots: s endpoint (the server's), s + 1 tenant 7 (write, grant), s + 2
 * tenant 8 (write only), s + 3 a notification, s + 4 a badged copy of it,
 * s + 5.. per test.
 */
#include "ktest.h"

#include <bulkhead/format.h>
#include <protocols/kv_client.h>

#define W BK_WORD_BITS
#define EP(s) (s)
#define T7(s) ((s) + 1)
#define T8(s) ((s) + 2)
#define NTFN(s) ((s) + 3)
#define NTFN_BADGED(s) ((s) + 4)
#define WATCH_BITS 0x5
#define SERVER_PRIO 100

/* Starts kv-server on a fresh endpoint and mints the tenants' caps. */
static int start_kv(struct ktest_env *env, uint64_t s, struct bk_process *p)
{
    kt_init_allocators(env);
    if (kt_retype(env, BK_OBJ_ENDPOINT, 0, EP(s), 1) ||
        kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s), 1) ||
        sys_cnode_mint(BK_CAP_ROOT_CNODE, T7(s), W, BK_CAP_ROOT_CNODE, EP(s), W,
                       BK_RIGHT_WRITE | BK_RIGHT_GRANT, 7) ||
        sys_cnode_mint(BK_CAP_ROOT_CNODE, T8(s), W, BK_CAP_ROOT_CNODE, EP(s), W,
                       BK_RIGHT_WRITE, 8) ||
        sys_cnode_mint(BK_CAP_ROOT_CNODE, NTFN_BADGED(s), W, BK_CAP_ROOT_CNODE, NTFN(s), W,
                       BK_RIGHT_WRITE, WATCH_BITS))
        return 1;
    return (int)bk_process_spawn(env->bi, "kv-server", SERVER_PRIO, EP(s), BK_SPAWN_GIVE_DEBUG, p);
}

/* True if the text of `e` is `expected`; says what it was if not. */
static bool text_is(const struct kv_error *e, const char *expected)
{
    char buf[160];
    kv_error_format(e, buf, sizeof(buf));
    if (strcmp(buf, expected) == 0)
        return true;
    debug_printf("    error text '%s', expected '%s'\n", buf, expected);
    return false;
}

/* How many requests kv-server's handlers have run for `tenant`. */
static uint64_t handled(uint64_t tenant)
{
    uint64_t t, requests = 0;
    uint32_t used, capacity;
    bool empty;
    char first[KV_STAT_FIRST_MAX + 1];
    struct kv_error e;
    return kv_stat(tenant, &t, &used, &capacity, &empty, first, &requests, &e) == 0 ? requests : 0;
}

static int test_round_trip(struct ktest_env *env)
{
    uint64_t s = kt_slots(), v = 0, tenant = 0, requests = 0, left = 0;
    uint32_t free_slots = 0, used = 0, capacity = 0;
    int64_t sum = 0;
    bool empty = true;
    char first[KV_STAT_FIRST_MAX + 1];
    struct kv_error e;
    struct bk_process p;
    static const char longest[] = "abcdefghijklmnopqrstuvwx"; /* KV_PUT_KEY_MAX characters */
    KT_OK(start_kv(env, s, &p));
    KT_CHECK(kv_put(T7(s), "alpha", 42, &e) == 0);
    KT_CHECK(kv_put(T7(s), longest, 0xfedcba9876543210ull, &e) == 0);
    KT_CHECK(kv_get(T7(s), "alpha", false, &v, &e) == 0 && v == 42);
    KT_CHECK(kv_get(T7(s), longest, false, &v, &e) == 0 && v == 0xfedcba9876543210ull);
    /* Another tenant has a store of its own. */
    KT_CHECK(kv_get(T8(s), "alpha", true, &v, &e) == 0 && v == 0);
    KT_CHECK(kv_add(T7(s), "alpha", -50, &sum, &e) == 0 && sum == -8);
    KT_CHECK(kv_stat(T7(s), &tenant, &used, &capacity, &empty, first, &requests, &e) == 0);
    KT_CHECK(tenant == 7 && used == 2 && capacity == 16 && !empty && requests == 6);
    KT_CHECK(strcmp(first, "alpha") == 0);
    KT_CHECK(kv_delete(T7(s), "alpha", &free_slots, &e) == 0 && free_slots == 15);
    KT_CHECK(kv_stat(T8(s), &tenant, &used, &capacity, &empty, first, &requests, &e) == 0);
    KT_CHECK(tenant == 8 && used == 0 && empty && first[0] == 0 && requests == 2);
    KT_CHECK(kv_reserve(T7(s), 256, &left, &e) == 0 && left == 3ull << 20);
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

static int test_errors_and_text(struct ktest_env *env)
{
    uint64_t s = kt_slots(), v, left;
    int64_t sum;
    char key[8];
    struct kv_error e;
    struct bk_process p;
    KT_OK(start_kv(env, s, &p));
    for (unsigned i = 0; i < 16; i++) {
        bk_snprintf(key, sizeof(key), "k%u", i);
        KT_CHECK(kv_put(T7(s), key, i, &e) == 0);
    }
    KT_CHECK(kv_put(T7(s), "one-more", 1, &e) == KV_ERR_STORE_FULL);
    KT_CHECK(e.code == KV_ERR_STORE_FULL && e.store_full.left == 0 && e.store_full.capacity == 16);
    KT_CHECK(text_is(&e, "tenant 7: store full (asked 1 slot, 0 of 16 left)"));
    KT_CHECK(kv_get(T7(s), "nothing", false, &v, &e) == KV_ERR_NOT_FOUND);
    KT_CHECK(text_is(&e, "tenant 7: no key 'nothing'"));
    KT_CHECK(kv_put(T8(s), "big", 0x7fffffffffffffffull, &e) == 0);
    KT_CHECK(kv_add(T8(s), "big", 1, &sum, &e) == KV_ERR_OVERFLOW);
    KT_CHECK(text_is(&e, "key 'big': 9223372036854775807 + 1 does not fit 64 bits"));
    KT_CHECK(kv_reserve(T7(s), 1024, &left, &e) == 0 && left == 0);
    KT_CHECK(kv_reserve(T7(s), 2, &left, &e) == KV_ERR_QUOTA);
    KT_CHECK(text_is(&e, "tenant 7: memory quota 4 MiB exhausted (asked 8 KiB, 0 left)"));
    /* A name too long never leaves the client. */
    KT_CHECK(kv_put(T7(s), "abcdefghijklmnopqrstuvwxy", 1, &e) == BK_PROTO_ERR_BAD_VALUE);
    KT_CHECK(text_is(&e, "KV: put: argument 0 (key) is not a valid value"));
    /* Tenants 7 and 8 took two of the server's four places. */
    for (uint64_t badge = 20; badge < 23; badge++) {
        KT_OK(sys_cnode_mint(BK_CAP_ROOT_CNODE, s + 5, W, BK_CAP_ROOT_CNODE, EP(s), W,
                             BK_RIGHT_WRITE, badge));
        int r = kv_get(s + 5, "x", true, &v, &e);
        KT_CHECK(r == (badge < 22 ? 0 : KV_ERR_NO_ROOM));
        KT_OK(sys_cnode_delete(BK_CAP_ROOT_CNODE, s + 5, W));
    }
    KT_CHECK(text_is(&e, "no room for another tenant (all 4 places taken)"));
    /* A Call on an empty slot fails in the kernel: the stub says so. */
    KT_CHECK(kv_get(s + 5, "x", true, &v, &e) == BK_PROTO_ERR_IPC);
    KT_CHECK(text_is(&e, "KV: get: the call failed: FAILED_LOOKUP"));
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

/* The notification's bits, without waiting (0: not signalled). */
static uint64_t poll(uint64_t ntfn)
{
    struct bk_msg n = { 0 };
    sys_nbrecv(ntfn, &n);
    return n.badge;
}

static int test_cap_in(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct kv_error e;
    struct bk_process p;
    KT_OK(start_kv(env, s, &p));
    KT_CHECK(kv_watch(T7(s), "door", NTFN_BADGED(s), &e) == 0);
    KT_CHECK(kv_put(T7(s), "window", 1, &e) == 0 && poll(NTFN(s)) == 0);
    KT_CHECK(kv_put(T7(s), "door", 1, &e) == 0 && poll(NTFN(s)) == WATCH_BITS);
    /* Without the grant right the cap stays behind: refused by count. */
    KT_CHECK(kv_watch(T8(s), "door", NTFN_BADGED(s), &e) == BK_PROTO_ERR_BAD_CAPS);
    KT_CHECK(e.proto.words[0] == 0 && e.proto.words[1] == 1);
    KT_CHECK(text_is(&e, "KV: watch: 0 capabilities arrived (badges: 0x0), the method takes 1"));
    /* A cap to the server's own endpoint arrives as its badge: refused. */
    KT_CHECK(kv_watch(T7(s), "door", T7(s), &e) == BK_PROTO_ERR_BAD_CAPS);
    KT_CHECK(e.proto.words[0] == 1 && e.proto.words[2] == 1);
    /* A second watch replaces the first: the receive slot was emptied. */
    KT_CHECK(kv_watch(T7(s), "window", NTFN_BADGED(s), &e) == 0);
    KT_CHECK(kv_put(T7(s), "door", 2, &e) == 0 && poll(NTFN(s)) == 0);
    KT_CHECK(kv_put(T7(s), "window", 2, &e) == 0 && poll(NTFN(s)) == WATCH_BITS);
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

/* A cap comes back in an answer (kv watcher) only through an endpoint cap
 * with the grant-reply right, lands in the slot the caller names, and the
 * caller's own receive slot is put back after. */
static int test_cap_out(struct ktest_env *env)
{
    uint64_t s = kt_slots(), t7_reply = s + 5, slot = s + 6, taken = s + 7;
    struct kv_error e;
    struct bk_process p;
    char key[KV_WATCHER_KEY_MAX + 1];
    KT_OK(start_kv(env, s, &p));
    KT_OK(sys_cnode_mint(BK_CAP_ROOT_CNODE, t7_reply, W, BK_CAP_ROOT_CNODE, EP(s), W,
                         BK_RIGHT_WRITE | BK_RIGHT_GRANT_REPLY, 7));
    KT_CHECK(kv_watcher(t7_reply, key, slot, &e) == KV_ERR_NOT_WATCHING);
    KT_CHECK(text_is(&e, "tenant 7: no watch") && kt_type(slot) == 0);
    KT_CHECK(kv_watch(T7(s), "door", NTFN_BADGED(s), &e) == 0);
    /* Without the grant-reply right the kernel keeps the cap back. */
    KT_CHECK(kv_watcher(T7(s), key, slot, &e) == BK_PROTO_ERR_NO_CAP && kt_type(slot) == 0);
    KT_CHECK(text_is(&e, "KV: watcher: the answer carried no capability (the endpoint capability "
                         "needs the grant-reply right, and the slot for it must be empty)"));
    /* With it the copy lands, and the thread's receive slot is its own again. */
    bk_ipc_buffer->receive_cnode = BK_CAP_ROOT_CNODE;
    bk_ipc_buffer->receive_index = taken;
    bk_ipc_buffer->receive_depth = W;
    KT_CHECK(kv_watcher(t7_reply, key, slot, &e) == 0 && strcmp(key, "door") == 0);
    KT_CHECK(bk_ipc_buffer->receive_index == taken && bk_ipc_buffer->receive_depth == W);
    bk_ipc_buffer->receive_depth = 0;
    KT_CHECK(kt_type(slot) == BK_OBJ_NOTIFICATION && kt_type(taken) == 0);
    struct bk_msg signal = { 0 };
    sys_send(slot, &signal);
    KT_CHECK(poll(NTFN(s)) == WATCH_BITS); /* the badge of the watch's cap came with it */
    /* A slot that is taken keeps what it holds. */
    KT_CHECK(kv_watcher(t7_reply, key, slot, &e) == BK_PROTO_ERR_NO_CAP);
    KT_CHECK(kt_type(slot) == BK_OBJ_NOTIFICATION);
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

/* Sends a hand-made request and checks the reply is error `code` with the
 * numbers `a` and `b` (its first two words). */
static int garbage(uint64_t cap, uint64_t label, unsigned length, unsigned caps,
                   const uint64_t *words, int code, uint64_t a, uint64_t b)
{
    struct bk_msg m = { .info = BK_MSGINFO(length, caps, 0, label) };
    for (unsigned i = 0; i < length; i++)
        bk_proto_set_word(&m, i, words[i]);
    sys_call(cap, &m);
    uint64_t want = BK_PROTO_ERROR_LABEL(KV_PROTOCOL_ID, code);
    if (BK_MSGINFO_LABEL(m.info) != want || bk_proto_word(&m, 0) != a ||
        (BK_MSGINFO_LENGTH(m.info) > 1 && bk_proto_word(&m, 1) != b)) {
        debug_printf("    label 0x%llx: reply label 0x%llx words %llu %llu, expected 0x%llx %llu %llu\n",
                     (unsigned long long)label, (unsigned long long)BK_MSGINFO_LABEL(m.info),
                     (unsigned long long)bk_proto_word(&m, 0),
                     (unsigned long long)bk_proto_word(&m, 1), (unsigned long long)want,
                     (unsigned long long)a, (unsigned long long)b);
        return 1;
    }
    return 0;
}

static int test_malformed(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_process p;
    uint64_t w[BK_MSG_MAX_WORDS] = { 'a', 0, 0, 1 }; /* get "a", missing_ok */
    KT_OK(start_kv(env, s, &p));
    KT_CHECK(handled(T7(s)) == 1);
    uint64_t other = BK_PROTO_LABEL(0x1234, 2);
    KT_CHECK(garbage(T7(s), KV_LABEL_GET + 99, 4, 0, w, BK_PROTO_ERR_UNKNOWN_METHOD,
                     KV_LABEL_GET + 99, 0) == 0);
    KT_CHECK(garbage(T7(s), other, 4, 0, w, BK_PROTO_ERR_UNKNOWN_METHOD, other, 0) == 0);
    KT_CHECK(garbage(T7(s), 0, 0, 0, w, BK_PROTO_ERR_UNKNOWN_METHOD, 0, 0) == 0);
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, 5, 0, w, BK_PROTO_ERR_BAD_LENGTH, 5, 4) == 0);
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, 2, 0, w, BK_PROTO_ERR_BAD_LENGTH, 2, 4) == 0);
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, BK_MSG_MAX_WORDS, 0, w, BK_PROTO_ERR_BAD_LENGTH,
                     BK_MSG_MAX_WORDS, 4) == 0);
    KT_CHECK(garbage(T7(s), KV_LABEL_STAT, 1, 0, w, BK_PROTO_ERR_BAD_LENGTH, 1, 0) == 0);
    /* An unexpected cap: refused, and deleted from the receive slot. */
    bk_ipc_buffer->caps[0] = NTFN_BADGED(s);
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, 4, 1, w, BK_PROTO_ERR_BAD_CAPS, 1, 0) == 0);
    /* Values: a bool of 2, a name with a byte after its end, an unprintable
     * name, a u32 of 2^32. */
    w[3] = 2;
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, 4, 0, w, BK_PROTO_ERR_BAD_VALUE, 1, 0) == 0);
    w[3] = 1;
    w[0] = 'a' | (uint64_t)'b' << 16;
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, 4, 0, w, BK_PROTO_ERR_BAD_VALUE, 0, 0) == 0);
    w[0] = 0x0a;
    KT_CHECK(garbage(T7(s), KV_LABEL_GET, 4, 0, w, BK_PROTO_ERR_BAD_VALUE, 0, 0) == 0);
    w[0] = 1ull << 32;
    KT_CHECK(garbage(T7(s), KV_LABEL_RESERVE, 1, 0, w, BK_PROTO_ERR_BAD_VALUE, 0, 0) == 0);
    /* None of them reached a handler; the server still serves, caps too. */
    KT_CHECK(handled(T7(s)) == 2);
    struct kv_error e;
    KT_CHECK(kv_watch(T7(s), "k", NTFN_BADGED(s), &e) == 0);
    KT_CHECK(kv_put(T7(s), "k", 1, &e) == 0 && poll(NTFN(s)) == WATCH_BITS);
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

#define CLIENT_STACK 8192
static uint8_t client_stack[CLIENT_STACK] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) client_buffer;

/* A client thread that puts "dying" for tenant 7 (its cap is `arg`). */
static void dying_client(uint64_t arg)
{
    struct kv_error e;
    kv_put(arg, "dying", 1, &e);
    sys_thread_exit(0);
}

static void set_root_priority(unsigned prio)
{
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, prio);
}

static int test_client_dies_mid_request(struct ktest_env *env)
{
    uint64_t s = kt_slots(), v = 0, tcb = s + 5;
    struct kv_error e;
    struct bk_process p;
    KT_OK(start_kv(env, s, &p));
    KT_CHECK(handled(T8(s)) == 1); /* the server now waits in Recv */
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, tcb, 1));
    KT_OK(bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, dying_client, T7(s),
                          client_stack, CLIENT_STACK, (uint64_t)(uintptr_t)&client_buffer.b, 200));
    /* The client (200) calls; the server (100) has the request but we (150)
     * run first, and end the client while it waits for the answer. */
    set_root_priority(150);
    KT_OK(sys_tcb_suspend(tcb));
    set_root_priority(50); /* the server answers no one and waits again */
    KT_CHECK(kv_get(T8(s), "dying", true, &v, &e) == 0 && v == 0);
    KT_CHECK(kv_get(T7(s), "dying", false, &v, &e) == 0 && v == 1);
    KT_CHECK(handled(T7(s)) == 3);
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

const struct ktest proto_tests[] = {
    { "proto: every kv method round-trips through the generated stubs and dispatch",
      test_round_trip },
    { "proto: kv errors arrive as a code and numbers, and the client formats their text",
      test_errors_and_text },
    { "proto: a capability travels in (kv watch), refused without grant or as a badge",
      test_cap_in },
    { "proto: a capability comes back in an answer (kv watcher) only with the grant-reply right",
      test_cap_out },
    { "proto: malformed requests get an error reply and reach no handler", test_malformed },
    { "proto: a client that dies mid-request leaves the server serving others",
      test_client_dies_mid_request },
};
const unsigned proto_test_count = sizeof(proto_tests) / sizeof(proto_tests[0]);
