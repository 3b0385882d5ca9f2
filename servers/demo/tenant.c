/*
 * A tenant of the demo policy (policies/demo.toml; built as the programs
 * "web" and "db"): started by the root task from the capability table, it
 * lists the capabilities it was given, then calls every endpoint it may
 * call (a cap with the write right and not the read right: a channel of the
 * policy) and prints who answered and with which badge the server saw the
 * call, which is the channel's badge if the root task minted it as the
 * table says. Then it exits; the root task waits for every tenant.
 */
#include "component.h"

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

int main(const struct bk_bootinfo *info)
{
    char name[COMPONENT_NAME_LEN];
    component_name(info, name);
    debug_printf("%s: tenant started, arguments '%s'\n", name, component_args(info));
    component_list_caps(name, COMPONENT_CNODE_BITS);
    for (uint64_t slot = 1; slot < (1ull << COMPONENT_CNODE_BITS); slot++) {
        uint64_t id = debug_cap_identify(slot), rights = BK_CAP_IDENTITY_RIGHTS(id);
        if (BK_CAP_IDENTITY_TYPE(id) == BK_OBJ_ENDPOINT && (rights & BK_RIGHT_WRITE) &&
            !(rights & BK_RIGHT_READ))
            call_channel(name, slot);
    }
    debug_printf("%s: done\n", name);
    return 0;
}
