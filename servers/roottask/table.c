/*
 * Checking the capability table (captable.h) before anything is built.
 * The root task trusts its boot image to be what tools/captable.py made,
 * but a table it misreads would build a different system than the one the
 * policy check proved apart, so every number is checked against what it
 * indexes, in this order, and the first one wrong is refused with a
 * sentence naming the entry:
 *   1. the header: length, magic, version, the sizes adding up to the
 *      module's length, the counts within what the root task keeps;
 *   2. the string area ends in a NUL (every offset below its size then
 *      names a terminated string), and the source's name is in it;
 *   3. each object: a type the root task makes, its Retype size (an ASID
 *      pool's: its untyped's), not a device (none is handed out yet), its
 *      owner; or a cap the kernel gave it (SchedControl of a CPU the
 *      machine has, copied; ASIDControl, once, moved);
 *   4. each component: its strings, kind, priority, CNode radix, budget and
 *      period within the kernel's limits, a device the root task can find
 *      (and owned by one server at most), its TCB, CNode, VSpace,
 *      SchedContext and IPC buffer objects of those types and its own, its
 *      caps the next run of the cap array, its program a module of the
 *      boot image;
 *   5. each cap: a slot inside the holder's CNode, above the previous one
 *      and not the Debug cap's, an object index in range, known rights;
 *   6. each set-up call: a kind it makes, a server and its endpoint to
 *      call, a tenant it is for and a nonzero id to expect (an allowance
 *      or a program: the server itself, id 0; a program: a boot module
 *      and the endpoint of a memory server to seal it with).
 */
#include <bulkhead/format.h>

#include "table.h"

#define ERR(...) (bk_snprintf(why, TABLE_WHY_LEN, __VA_ARGS__), -1)

const struct bk_boot_module *table_find_program(const struct bk_bootinfo *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count; i++) {
        if (strcmp(bi->modules[i].name, name) == 0)
            return &bi->modules[i];
    }
    return NULL;
}

const struct bk_boot_module *table_module(const struct bk_bootinfo *bi)
{
    return table_find_program(bi, CAPTABLE_MODULE);
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case BK_OBJ_UNTYPED: return "Untyped";
    case BK_OBJ_CNODE: return "CNode";
    case BK_OBJ_TCB: return "TCB";
    case BK_OBJ_ENDPOINT: return "Endpoint";
    case BK_OBJ_NOTIFICATION: return "Notification";
    case BK_OBJ_REPLY: return "Reply";
    case BK_OBJ_FRAME: return "Frame";
    case BK_OBJ_PAGE_TABLE: return "PageTable";
    case BK_OBJ_VSPACE: return "VSpace";
    case BK_OBJ_SCHED_CONTEXT: return "SchedContext";
    case BK_OBJ_SCHED_CONTROL: return "SchedControl";
    case BK_OBJ_ASID_POOL: return "ASIDPool";
    case BK_OBJ_ASID_CONTROL: return "ASIDControl";
    default: return "a type the root task does not make";
    }
}

/* 1: the header, against the module's length. Sizes are summed in 64
 * bits from 32-bit counts, so no count can wrap the total. */
static int check_header(const struct bk_boot_module *m, char *why)
{
    const struct captable_header *h = (const void *)(uintptr_t)m->vaddr;
    if (m->size < sizeof(*h))
        return ERR("%llu bytes, shorter than its %u-byte header",
                   (unsigned long long)m->size, (unsigned)sizeof(*h));
    if (memcmp(h->magic, CAPTABLE_MAGIC, sizeof(h->magic)) != 0)
        return ERR("bad magic '%.8s' (a table starts '%s')", h->magic, CAPTABLE_MAGIC);
    if (h->version != CAPTABLE_VERSION)
        return ERR("version %u, the root task reads version %u", h->version, CAPTABLE_VERSION);
    if (h->size != m->size)
        return ERR("the header says %u bytes, the module has %llu", h->size,
                   (unsigned long long)m->size);
    uint64_t need = sizeof(*h) + (uint64_t)h->object_count * sizeof(struct captable_object) +
                    (uint64_t)h->component_count * sizeof(struct captable_component) +
                    (uint64_t)h->cap_count * sizeof(struct captable_cap) +
                    (uint64_t)h->setup_count * sizeof(struct captable_setup) + h->strings_size;
    if (need != h->size)
        return ERR("%u objects, %u components, %u caps, %u set-up calls and %u bytes of strings "
                   "take %llu bytes, the table has %u", h->object_count, h->component_count,
                   h->cap_count, h->setup_count, h->strings_size, (unsigned long long)need,
                   h->size);
    if (h->object_count > CAPTABLE_MAX_OBJECTS || h->component_count > CAPTABLE_MAX_COMPONENTS ||
        h->setup_count > CAPTABLE_MAX_SETUPS)
        return ERR("%u objects, %u components and %u set-up calls, the root task builds at most "
                   "%u, %u and %u", h->object_count, h->component_count, h->setup_count,
                   CAPTABLE_MAX_OBJECTS, CAPTABLE_MAX_COMPONENTS, CAPTABLE_MAX_SETUPS);
    if (h->strings_size == 0)
        return ERR("no string area");
    return 0;
}

static bool string_ok(const struct table *t, uint32_t at)
{
    return at < t->header->strings_size;
}

/* How many caps of the table name object `i`. */
static uint32_t caps_of(const struct table *t, uint32_t i)
{
    uint32_t n = 0;
    for (uint32_t j = 0; j < t->header->cap_count; j++)
        n += t->caps[j].object == i;
    return n;
}

/* 3: a cap the kernel made at boot: SchedControl of a CPU there is, or
 * ASIDControl, which cannot be copied: one object, one cap, moved. */
static int check_kernel_object(const struct bk_bootinfo *bi, const struct table *t, uint32_t i,
                               char *why)
{
    const struct captable_object *o = &t->objects[i];
    const char *name = table_string(t, o->name);
    if (o->type == BK_OBJ_ASID_CONTROL) {
        for (uint32_t k = 0; k < i; k++) {
            if (t->objects[k].type == BK_OBJ_ASID_CONTROL)
                return ERR("object %u '%s': a second ASIDControl (object %u is one)", i, name, k);
        }
        if (o->retype_bits != 0 || caps_of(t, i) != 1)
            return ERR("object %u '%s': ASIDControl cannot be copied: one cap, not %u", i, name,
                       caps_of(t, i));
    } else if (o->type != BK_OBJ_SCHED_CONTROL) {
        return ERR("object %u '%s': %s is not a cap the kernel gave the root task", i, name,
                   type_name(o->type));
    }
    if (o->type == BK_OBJ_SCHED_CONTROL && !table_sched_control(bi, o->retype_bits))
        return ERR("object %u '%s': SchedControl of CPU %u, which is not online (%u online)",
                   i, name, o->retype_bits, bi->cpu_count);
    if ((o->flags & ~CAPTABLE_OBJECT_KERNEL) || o->reserved)
        return ERR("object %u '%s': unknown flags 0x%x", i, name, o->flags);
    if (o->owner >= t->header->component_count)
        return ERR("object %u '%s': owner %u out of range (%u components)", i, name, o->owner,
                   t->header->component_count);
    return 0;
}

/* 3: what Retype needs to make the object, and whose it is. */
static int check_object(const struct bk_bootinfo *bi, const struct table *t, uint32_t i,
                        char *why)
{
    const struct captable_object *o = &t->objects[i];
    if (!string_ok(t, o->name))
        return ERR("object %u: name at %u outside the %u bytes of strings", i, o->name,
                   t->header->strings_size);
    if (o->flags & CAPTABLE_OBJECT_KERNEL)
        return check_kernel_object(bi, t, i, why);
    const char *name = table_string(t, o->name);
    bool fixed = o->type == BK_OBJ_TCB || o->type == BK_OBJ_ENDPOINT ||
                 o->type == BK_OBJ_NOTIFICATION || o->type == BK_OBJ_REPLY ||
                 o->type == BK_OBJ_PAGE_TABLE || o->type == BK_OBJ_VSPACE ||
                 o->type == BK_OBJ_SCHED_CONTEXT;
    uint32_t bits = o->retype_bits;
    /* Frames of 4 KiB or 2 MiB, untyped of 4 KiB to 1 TiB, CNodes of 16
     * slots up to the root task's own size. */
    bool sized_ok = (fixed && bits == 0) ||
                    (o->type == BK_OBJ_FRAME && (bits == BK_PAGE_BITS || bits == 21)) ||
                    (o->type == BK_OBJ_UNTYPED && bits >= BK_PAGE_BITS && bits <= 40) ||
                    (o->type == BK_OBJ_CNODE && bits >= 4 && bits <= BK_ROOT_CNODE_BITS) ||
                    (o->type == BK_OBJ_ASID_POOL && bits == BK_ASID_POOL_BITS);
    if (!fixed && o->type != BK_OBJ_FRAME && o->type != BK_OBJ_UNTYPED &&
        o->type != BK_OBJ_CNODE && o->type != BK_OBJ_ASID_POOL)
        return ERR("object %u '%s': type %u is %s", i, name, o->type, type_name(o->type));
    if (!sized_ok)
        return ERR("object %u '%s': %s of size %u is not one the root task makes", i, name,
                   type_name(o->type), o->retype_bits);
    if (o->flags & CAPTABLE_OBJECT_DEVICE)
        return ERR("object %u '%s': a device (%s), which the root task does not hand out yet", i,
                   name, type_name(o->type));
    if (o->flags || o->reserved)
        return ERR("object %u '%s': unknown flags 0x%x", i, name, o->flags);
    if (o->owner >= t->header->component_count)
        return ERR("object %u '%s': owner %u out of range (%u components)", i, name, o->owner,
                   t->header->component_count);
    return 0;
}

/* One of a component's own objects, `index`, must be of `type` and its. */
static int check_own(const struct table *t, uint32_t c, const char *role, uint32_t index,
                     uint32_t type, char *why)
{
    const char *name = table_string(t, t->components[c].name);
    if (index >= t->header->object_count)
        return ERR("component %u '%s': %s object %u out of range (%u objects)", c, name, role,
                   index, t->header->object_count);
    const struct captable_object *o = &t->objects[index];
    if (o->type != type || o->owner != c)
        return ERR("component %u '%s': %s object %u '%s' is a %s of component %u", c, name, role,
                   index, table_string(t, o->name), type_name(o->type), o->owner);
    return 0;
}

/* 4, the component's own numbers. */
/* A block driver's hang timeout is within the IO server's bounds; nobody
 * else has one. */
static bool hang_timeout_ok(const struct captable_component *k)
{
    if (k->device != CAPTABLE_DEVICE_VIRTIO_BLK)
        return k->hang_timeout_ms == 0;
    return k->hang_timeout_ms >= CAPTABLE_HANG_TIMEOUT_MIN &&
           k->hang_timeout_ms <= CAPTABLE_HANG_TIMEOUT_MAX;
}

static int check_component_fields(const struct table *t, uint32_t c, char *why)
{
    const struct captable_component *k = &t->components[c];
    if (!string_ok(t, k->name) || !string_ok(t, k->program) || !string_ok(t, k->cmdline))
        return ERR("component %u: a string offset outside the %u bytes of strings", c,
                   t->header->strings_size);
    const char *name = table_string(t, k->name);
    if (k->kind != CAPTABLE_KIND_SERVER && k->kind != CAPTABLE_KIND_TENANT)
        return ERR("component %u '%s': kind %u is neither server (0) nor tenant (1)", c, name,
                   k->kind);
    if (k->priority > 255)
        return ERR("component %u '%s': priority %u outside 0..255", c, name, k->priority);
    if (k->device != CAPTABLE_DEVICE_NONE && k->device != CAPTABLE_DEVICE_VIRTIO_BLK &&
        k->device != CAPTABLE_DEVICE_CONSOLE)
        return ERR("component %u '%s': device %u is none the root task can find", c, name,
                   k->device);
    if (k->device != CAPTABLE_DEVICE_NONE && k->kind != CAPTABLE_KIND_SERVER)
        return ERR("component %u '%s': a tenant cannot own a device", c, name);
    for (uint32_t d = 0; k->device != CAPTABLE_DEVICE_NONE && d < c; d++) {
        if (t->components[d].device == k->device)
            return ERR("component %u '%s': device %u is component %u's already", c, name,
                       k->device, d);
    }
    if (!hang_timeout_ok(k))
        return ERR("component %u '%s': hang timeout %u ms: a block driver's is %u..%u, "
                   "everyone else's 0", c, name, k->hang_timeout_ms, CAPTABLE_HANG_TIMEOUT_MIN,
                   CAPTABLE_HANG_TIMEOUT_MAX);
    if (k->cpu >= CAPTABLE_CPUS)
        return ERR("component %u '%s': CPU %u outside 0..%u", c, name, k->cpu,
                   CAPTABLE_CPUS - 1);
    if (k->cnode_radix < 4 || k->cnode_radix > BK_ROOT_CNODE_BITS)
        return ERR("component %u '%s': CNode radix %u outside 4..%u", c, name, k->cnode_radix,
                   BK_ROOT_CNODE_BITS);
    if (k->budget_ns < BK_SCHED_MIN_BUDGET_NS || k->budget_ns > k->period_ns ||
        k->period_ns > BK_SCHED_MAX_PERIOD_NS)
        return ERR("component %u '%s': budget %llu ns in period %llu ns, the kernel takes "
                   "%llu ns <= budget <= period <= %llu ns", c, name,
                   (unsigned long long)k->budget_ns, (unsigned long long)k->period_ns,
                   (unsigned long long)BK_SCHED_MIN_BUDGET_NS,
                   (unsigned long long)BK_SCHED_MAX_PERIOD_NS);
    return 0;
}

/* 4, the objects it runs on and where its caps are. */
static int check_component_parts(const struct bk_bootinfo *bi, const struct table *t, uint32_t c,
                                 uint32_t first_cap, char *why)
{
    const struct captable_component *k = &t->components[c];
    const char *name = table_string(t, k->name);
    if (!table_sched_control(bi, k->cpu))
        return ERR("component %u '%s': CPU %u is not online (%u online)", c, name, k->cpu,
                   bi->cpu_count);
    if (check_own(t, c, "TCB", k->tcb, BK_OBJ_TCB, why) ||
        check_own(t, c, "CNode", k->cnode, BK_OBJ_CNODE, why) ||
        check_own(t, c, "VSpace", k->vspace, BK_OBJ_VSPACE, why) ||
        check_own(t, c, "SchedContext", k->sched_context, BK_OBJ_SCHED_CONTEXT, why) ||
        check_own(t, c, "IPC buffer", k->ipc_buffer, BK_OBJ_FRAME, why))
        return -1;
    if (t->objects[k->cnode].retype_bits != k->cnode_radix)
        return ERR("component %u '%s': its CNode has %u slot bits, the component says %u", c,
                   name, t->objects[k->cnode].retype_bits, k->cnode_radix);
    if (t->objects[k->ipc_buffer].retype_bits != BK_PAGE_BITS)
        return ERR("component %u '%s': its IPC buffer is not one page", c, name);
    if (k->first_cap != first_cap || (uint64_t)k->first_cap + k->cap_count > t->header->cap_count)
        return ERR("component %u '%s': caps %u..%u, the next free run starts at cap %u of %u", c,
                   name, k->first_cap, k->first_cap + k->cap_count, first_cap,
                   t->header->cap_count);
    const char *program = table_string(t, k->program);
    if (!table_find_program(bi, program) || strcmp(program, CAPTABLE_MODULE) == 0)
        return ERR("component %u '%s': program '%s' is not in the boot image", c, name, program);
    return 0;
}

/* 5: one cap of component `c`, after the slot `previous`. */
static int check_cap(const struct table *t, uint32_t c, uint32_t j, uint32_t previous, char *why)
{
    const struct captable_component *k = &t->components[c];
    const struct captable_cap *cap = &t->caps[k->first_cap + j];
    const char *name = table_string(t, k->name);
    if (cap->slot == 0 || cap->slot >= (1u << k->cnode_radix))
        return ERR("component %u '%s': cap %u: slot %u outside 1..%u of its CNode", c, name, j,
                   cap->slot, (1u << k->cnode_radix) - 1);
    if (cap->slot <= previous)
        return ERR("component %u '%s': cap %u: slot %u not above the previous cap's (%u)", c,
                   name, j, cap->slot, previous);
    if (cap->slot == BK_CAP_DEBUG)
        return ERR("component %u '%s': cap %u: slot %u is where the root task puts the Debug cap",
                   c, name, j, cap->slot);
    if (cap->object >= t->header->object_count)
        return ERR("component %u '%s': cap %u (slot %u): object %u out of range (%u objects)", c,
                   name, j, cap->slot, cap->object, t->header->object_count);
    if ((cap->rights & ~(uint32_t)BK_RIGHTS_ALL) || cap->reserved)
        return ERR("component %u '%s': cap %u (slot %u): unknown rights 0x%x", c, name, j,
                   cap->slot, cap->rights);
    if (t->objects[cap->object].type == BK_OBJ_CNODE && cap->badge != 0)
        return ERR("component %u '%s': cap %u (slot %u): a CNode cap with a badge (the root task "
                   "sets its guard)", c, name, j, cap->slot);
    return 0;
}

/* 6, a program: a boot module, sealed with a memory server's endpoint. */
static int check_program(const struct bk_bootinfo *bi, const struct table *t, uint32_t i,
                         char *why)
{
    const struct captable_setup *s = &t->setups[i];
    if (s->args[0] >= t->header->strings_size)
        return ERR("set-up %u: program name at %llu outside the %u bytes of strings", i,
                   (unsigned long long)s->args[0], t->header->strings_size);
    const char *program = table_string(t, (uint32_t)s->args[0]);
    if (!table_find_program(bi, program) || strcmp(program, CAPTABLE_MODULE) == 0)
        return ERR("set-up %u: program '%s' is not in the boot image", i, program);
    if (s->args[1] >= t->header->object_count || t->objects[s->args[1]].type != BK_OBJ_ENDPOINT)
        return ERR("set-up %u: program '%s': object %llu is not an endpoint to seal it with", i,
                   program, (unsigned long long)s->args[1]);
    return 0;
}

/* 6: a set-up call: a kind the root task makes, a server and its endpoint
 * to call, a tenant it is for, an id to expect. The arguments are the
 * server's to judge (it refuses with its own error, named). */
static int check_setup(const struct bk_bootinfo *bi, const struct table *t, uint32_t i, char *why)
{
    const struct captable_setup *s = &t->setups[i];
    uint32_t n = t->header->component_count;
    if (s->kind != CAPTABLE_SETUP_MEM_ACCOUNT && s->kind != CAPTABLE_SETUP_SCHED_TENANT &&
        s->kind != CAPTABLE_SETUP_TENANTS_ALLOWANCE && s->kind != CAPTABLE_SETUP_IO_POLICY &&
        s->kind != CAPTABLE_SETUP_IO_DISK && s->kind != CAPTABLE_SETUP_TENANTS_PROGRAM &&
        s->kind != CAPTABLE_SETUP_TENANTS_IO && s->kind != CAPTABLE_SETUP_TENANTS_WATCH)
        return ERR("set-up %u: unknown kind %u", i, s->kind);
    if (s->server >= n || s->subject >= n)
        return ERR("set-up %u: server %u or tenant %u out of range (%u components)", i, s->server,
                   s->subject, n);
    if (s->endpoint >= t->header->object_count ||
        t->objects[s->endpoint].type != BK_OBJ_ENDPOINT || t->objects[s->endpoint].owner != s->server)
        return ERR("set-up %u: object %u is not an endpoint of component %u '%s'", i, s->endpoint,
                   s->server, table_string(t, t->components[s->server].name));
    if (s->kind == CAPTABLE_SETUP_TENANTS_PROGRAM && check_program(bi, t, i, why))
        return -1;
    if (s->kind == CAPTABLE_SETUP_TENANTS_ALLOWANCE || s->kind == CAPTABLE_SETUP_TENANTS_PROGRAM ||
        s->kind == CAPTABLE_SETUP_TENANTS_IO)
        return s->subject == s->server && s->id == 0 &&
                       t->components[s->server].kind == CAPTABLE_KIND_SERVER
                   ? 0
                   : ERR("set-up %u: an allowance or a program is the server's own (subject %u, "
                         "id %llu)", i,
                         s->subject, (unsigned long long)s->id);
    if (t->components[s->server].kind != CAPTABLE_KIND_SERVER ||
        t->components[s->subject].kind != CAPTABLE_KIND_TENANT)
        return ERR("set-up %u: component %u '%s' is not a server or %u '%s' not a tenant", i,
                   s->server, table_string(t, t->components[s->server].name), s->subject,
                   table_string(t, t->components[s->subject].name));
    if (s->id == 0)
        return ERR("set-up %u: id 0 is the administrator's badge, never a tenant's", i);
    return 0;
}

static void table_views(const struct bk_boot_module *m, struct table *t)
{
    const char *p = (const char *)(uintptr_t)m->vaddr;
    t->header = (const void *)p;
    p += sizeof(*t->header);
    t->objects = (const void *)p;
    p += t->header->object_count * sizeof(*t->objects);
    t->components = (const void *)p;
    p += t->header->component_count * sizeof(*t->components);
    t->caps = (const void *)p;
    p += t->header->cap_count * sizeof(*t->caps);
    t->setups = (const void *)p;
    p += t->header->setup_count * sizeof(*t->setups);
    t->strings = p;
}

uint64_t table_sched_control(const struct bk_bootinfo *bi, uint32_t cpu)
{
    for (uint32_t k = 0; k < bi->cpu_count && k < CAPTABLE_CPUS; k++) {
        if (bi->sched_control_cpu[k] == cpu)
            return bi->sched_control + k;
    }
    return 0;
}

int table_check(const struct bk_bootinfo *bi, const struct bk_boot_module *m, struct table *t,
                char why[TABLE_WHY_LEN])
{
    why[0] = '\0';
    if (check_header(m, why))
        return -1;
    table_views(m, t);
    if (t->strings[t->header->strings_size - 1] != '\0')
        return ERR("the string area does not end in a NUL");
    if (!string_ok(t, t->header->source))
        return ERR("the source's name at %u outside the %u bytes of strings", t->header->source,
                   t->header->strings_size);
    for (uint32_t i = 0; i < t->header->object_count; i++) {
        if (check_object(bi, t, i, why))
            return -1;
    }
    uint32_t next_cap = 0;
    for (uint32_t c = 0; c < t->header->component_count; c++) {
        if (check_component_fields(t, c, why) || check_component_parts(bi, t, c, next_cap, why))
            return -1;
        uint32_t previous = 0;
        for (uint32_t j = 0; j < t->components[c].cap_count; j++) {
            if (check_cap(t, c, j, previous, why))
                return -1;
            previous = t->caps[t->components[c].first_cap + j].slot;
        }
        next_cap += t->components[c].cap_count;
    }
    if (next_cap != t->header->cap_count)
        return ERR("the components hold %u caps, the table has %u", next_cap,
                   t->header->cap_count);
    for (uint32_t i = 0; i < t->header->setup_count; i++) {
        if (check_setup(bi, t, i, why))
            return -1;
    }
    return 0;
}
