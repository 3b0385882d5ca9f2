/*
 * A tenant of the demo policy (policies/demo.toml; built as the programs
 * "web" and "db"): started by the root task from the capability table, it
 * lists the capabilities it was given, then uses each of its channels. The
 * command line names them (`--channels mem:10,sched:11,io:12`: the
 * protocol of the server behind each and the slot of its cap), so the
 * program finds its servers wherever the table put them:
 *  - the memory server: its account's quota (Mem: Usage), then a region
 *    of twice that populated until the server refuses with the quota
 *    error, the pages it did back written and read back, and the usage
 *    after (used within the quota);
 *  - the scheduler server: its tenant's usage (Sched: Usage), whose
 *    budget the server derived from the reservation the root task gave;
 *  - any other server (a stand-in): a call answered with the badge the
 *    server saw, which is the channel's badge if the root task minted it
 *    as the table says.
 * tools/policyboot.py compares every number printed with the table. Then
 * it exits; the root task waits for every tenant.
 */
#include <protocols/mem_client.h>
#include <protocols/sched_client.h>

#include "component.h"

/* The region the tenant asks the memory server for: far above its program,
 * stack and IPC buffer, below both arches' user top (Sv39: 256 GiB). */
#define MEM_BASE 0x2000000000ull
#define PAGE ((uint64_t)BK_PAGE_SIZE)
#define ERROR_TEXT 160

static void call_channel(const char *name, uint64_t slot)
{
    struct bk_msg m = { 0 };
    m.info = bk_msginfo(1, 1);
    m.mr[0] = slot;
    sys_call(slot, &m);
    char server[9];
    component_word_name(m.mr[1], server);
    if (BK_MSGINFO_LABEL(m.info) != 0 || BK_MSGINFO_LENGTH(m.info) != COMPONENT_ANSWER_WORDS) {
        debug_printf("%s: FAILED: slot %llu: the call came back with label %llu, length %llu\n",
                     name, (unsigned long long)slot, (unsigned long long)BK_MSGINFO_LABEL(m.info),
                     (unsigned long long)BK_MSGINFO_LENGTH(m.info));
        return;
    }
    debug_printf("%s: channel slot=%llu answered by %s, badge %llu\n", name,
                 (unsigned long long)slot, server, (unsigned long long)m.mr[0]);
}

/* Mem: Usage of our own account: its quota, what it uses, its private
 * frames (bytes). 0 or the error, printed. */
static int mem_account(const char *name, uint64_t ep, uint64_t *quota, uint64_t *used,
                       uint64_t *frames)
{
    uint64_t tables, cnodes, faults, refused, shared, private, vspaces, tcbs, scs;
    struct mem_error err;
    int r = mem_usage(ep, 0, quota, used, frames, &tables, &cnodes, &faults, &refused, &shared,
                      &private, &vspaces, &tcbs, &scs, &err);
    if (r) {
        char text[ERROR_TEXT];
        mem_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: mem: Usage: %s\n", name, text);
    }
    return r;
}

/* Writes a word into each of the first `pages` pages of the region and
 * reads them back: the memory the server mapped is ours. */
static bool touch(uint64_t pages)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)MEM_BASE;
    for (uint64_t i = 0; i < pages; i++)
        p[i * (PAGE / sizeof(*p))] = 0x5eed0000ull + i;
    for (uint64_t i = 0; i < pages; i++) {
        if (p[i * (PAGE / sizeof(*p))] != 0x5eed0000ull + i)
            return false;
    }
    return true;
}

static void use_memory(const char *name, uint64_t ep)
{
    uint64_t quota, used, frames;
    if (mem_account(name, ep, &quota, &used, &frames))
        return;
    debug_printf("%s: mem: account quota %llu bytes, %llu used\n", name,
                 (unsigned long long)quota, (unsigned long long)used);
    struct mem_error err;
    uint32_t regions;
    char text[ERROR_TEXT];
    int r = mem_add_region(ep, 0, MEM_BASE, 2 * quota, BK_VM_READ | BK_VM_WRITE, &regions, &err);
    if (r) {
        mem_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: mem: AddRegion: %s\n", name, text);
        return;
    }
    uint64_t pages = 0;
    r = mem_populate(ep, 0, MEM_BASE, 2 * quota, &pages, &err);
    mem_error_format(&err, text, sizeof(text));
    if (r != MEM_ERR_QUOTA) {
        debug_printf("%s: FAILED: mem: Populate of twice the quota answered %d (%s), not the "
                     "quota error\n", name, r, r ? text : "success");
        return;
    }
    debug_printf("%s: mem: populate past the quota refused: %s\n", name, text);
    if (mem_account(name, ep, &quota, &used, &frames))
        return;
    if (used > quota || frames == 0) {
        debug_printf("%s: FAILED: mem: used %llu bytes of quota %llu, %llu of frames\n", name,
                     (unsigned long long)used, (unsigned long long)quota,
                     (unsigned long long)frames);
        return;
    }
    bool ok = touch(frames / PAGE);
    debug_printf("%s: mem: used %llu of quota %llu bytes; %llu pages backed, %s\n", name,
                 (unsigned long long)used, (unsigned long long)quota,
                 (unsigned long long)(frames / PAGE),
                 ok ? "each written and read back" : "FAILED: a page read back wrong");
}

static void use_sched(const char *name, uint64_t ep)
{
    uint64_t consumed, throttled, timeouts, request_timeouts;
    uint32_t share, budget, threads;
    struct sched_error err;
    int r = sched_usage(ep, 0, &consumed, &throttled, &timeouts, &request_timeouts, &share,
                        &budget, &threads, &err);
    if (r) {
        char text[ERROR_TEXT];
        sched_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: sched: Usage: %s\n", name, text);
        return;
    }
    debug_printf("%s: sched: budget %u permille, share %u permille, %u threads\n", name, budget,
                 share, threads);
}

/* The next "protocol:slot" of the --channels list at *p (moved past it);
 * false at its end. */
static bool next_channel(const char **p, char protocol[COMPONENT_NAME_LEN], uint64_t *slot)
{
    const char *s = *p;
    if (*s == ',')
        s++;
    unsigned n = 0;
    while (*s && *s != ':' && *s != ' ' && n + 1 < COMPONENT_NAME_LEN)
        protocol[n++] = *s++;
    protocol[n] = '\0';
    if (*s != ':')
        return false;
    s++;
    *slot = 0;
    while (*s >= '0' && *s <= '9')
        *slot = *slot * 10 + (uint64_t)(*s++ - '0');
    *p = s;
    return n > 0;
}

/* The list after "--channels " in the command line, or NULL. */
static const char *channel_list(const struct bk_bootinfo *info)
{
    static const char flag[] = "--channels ";
    for (const char *p = info->cmdline; *p; p++) {
        if (memcmp(p, flag, sizeof(flag) - 1) == 0)
            return p + sizeof(flag) - 1;
    }
    return NULL;
}

int main(const struct bk_bootinfo *info)
{
    char name[COMPONENT_NAME_LEN];
    component_name(info, name);
    debug_printf("%s: tenant started, arguments '%s'\n", name, component_args(info));
    component_list_caps(name, COMPONENT_CNODE_BITS);
    const char *list = channel_list(info);
    char protocol[COMPONENT_NAME_LEN];
    uint64_t slot;
    while (list && next_channel(&list, protocol, &slot)) {
        if (strcmp(protocol, "mem") == 0)
            use_memory(name, slot);
        else if (strcmp(protocol, "sched") == 0)
            use_sched(name, slot);
        else
            call_channel(name, slot);
    }
    debug_printf("%s: done\n", name);
    return 0;
}
