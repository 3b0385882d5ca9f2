/*
 * The demo policy's stand-in server (policies/demo.toml): started by the
 * root task from the capability table, it lists the capabilities it was
 * given, then receives on its endpoint (the one endpoint cap it holds with
 * the read right) and answers every call with the badge it arrived with
 * and its own name. It stands where the IO server (servers/io) will: the
 * memory and scheduler servers run for real from the table, but the IO
 * server needs the disk, which the table cannot hand out yet
 * (docs/policy.md, "Not done yet").
 */
#include "component.h"

/* The endpoint it serves: the first it may receive on, or 0. */
static uint64_t own_endpoint(void)
{
    for (uint64_t slot = 1; slot < (1ull << COMPONENT_CNODE_BITS); slot++) {
        uint64_t id = debug_cap_identify(slot);
        if (BK_CAP_IDENTITY_TYPE(id) == BK_OBJ_ENDPOINT &&
            (BK_CAP_IDENTITY_RIGHTS(id) & BK_RIGHT_READ))
            return slot;
    }
    return 0;
}

int main(const struct bk_bootinfo *info)
{
    char name[COMPONENT_NAME_LEN];
    component_name(info, name);
    debug_printf("%s: server started\n", name);
    component_list_caps(name, COMPONENT_CNODE_BITS);
    uint64_t endpoint = own_endpoint();
    if (!endpoint) {
        debug_printf("%s: FAILED: no endpoint to receive on\n", name);
        return 1;
    }
    debug_printf("%s: serving on slot %llu\n", name, (unsigned long long)endpoint);
    uint64_t word = component_name_word(name);
    struct bk_msg m = { 0 };
    sys_recv(endpoint, &m);
    for (;;) {
        uint64_t badge = m.badge;
        m.info = bk_msginfo(0, COMPONENT_ANSWER_WORDS);
        m.mr[0] = badge;
        m.mr[1] = word;
        sys_reply_recv(endpoint, &m);
    }
}
