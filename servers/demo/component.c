/*
 * The demo programs' shared part (component.h): their name and arguments
 * from the start-info page and the list of their capabilities.
 */
#include "component.h"

void component_name(const struct bk_bootinfo *info, char name[COMPONENT_NAME_LEN])
{
    unsigned i = 0;
    while (i + 1 < COMPONENT_NAME_LEN && info->cmdline[i] && info->cmdline[i] != ' ') {
        name[i] = info->cmdline[i];
        i++;
    }
    name[i] = '\0';
}

const char *component_args(const struct bk_bootinfo *info)
{
    const char *p = info->cmdline;
    while (*p && *p != ' ')
        p++;
    return *p ? p + 1 : p;
}

unsigned component_list_caps(const char *name, unsigned radix)
{
    unsigned count = 0;
    for (uint64_t slot = 1; slot < (1ull << radix); slot++) {
        uint64_t id = debug_cap_identify(slot);
        if (id == 0)
            continue;
        debug_printf("%s: cap slot=%llu type=%llu rights=%llu\n", name, (unsigned long long)slot,
                     (unsigned long long)BK_CAP_IDENTITY_TYPE(id),
                     (unsigned long long)BK_CAP_IDENTITY_RIGHTS(id));
        count++;
    }
    debug_printf("%s: %u caps\n", name, count);
    return count;
}

uint64_t component_name_word(const char *name)
{
    uint64_t w = 0;
    for (unsigned i = 0; i < 8 && name[i]; i++)
        w |= (uint64_t)(uint8_t)name[i] << (8 * i);
    return w;
}

void component_word_name(uint64_t word, char out[9])
{
    for (unsigned i = 0; i < 8; i++)
        out[i] = (char)(word >> (8 * i));
    out[8] = '\0';
}
