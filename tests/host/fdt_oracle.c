/*
 * The libfdt side of test_fdt_oracle.c (see fdt_oracle.h).
 */
#include "fdt_oracle.h"

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

int oracle_check(const void *blob, size_t size)
{
    return fdt_check_full(blob, size);
}

int oracle_next_node(const void *blob, int node)
{
    int next = fdt_next_node(blob, node, NULL);
    return next < 0 ? -1 : next;
}

const char *oracle_node_name(const void *blob, int node)
{
    return fdt_get_name(blob, node, NULL);
}

int oracle_parent(const void *blob, int node)
{
    int parent = fdt_parent_offset(blob, node);
    return parent < 0 ? -1 : parent;
}

const void *oracle_prop(const void *blob, int node, const char *name, int *len)
{
    return fdt_getprop(blob, node, name, len);
}

int oracle_rsv_count(const void *blob)
{
    return fdt_num_mem_rsv(blob);
}

int oracle_rsv(const void *blob, int index, uint64_t *base, uint64_t *size)
{
    return fdt_get_mem_rsv(blob, index, base, size);
}

static int add_properties(void *buf, unsigned (*rnd)(unsigned))
{
    static const char *const names[] = { "reg", "compatible", "status", "p0", "p1", "p2" };
    unsigned count = rnd(4);
    int err = 0;
    for (unsigned i = 0; i < count && !err; i++) {
        unsigned char value[40];
        unsigned len = rnd(sizeof(value));
        for (unsigned k = 0; k < len; k++)
            value[k] = (unsigned char)rnd(256);
        /* Unique names per node: property i uses name 2i or 2i+1. */
        err = fdt_property(buf, names[(i * 2 + rnd(2)) % 6], value, (int)len);
    }
    return err;
}

static int add_subtree(void *buf, unsigned depth, unsigned *budget, unsigned (*rnd)(unsigned))
{
    unsigned children = depth >= 6 ? 0 : rnd(4);
    int err = add_properties(buf, rnd);
    for (unsigned c = 0; c < children && !err && *budget; c++) {
        char name[32];
        snprintf(name, sizeof(name), "n%u@%x", c, rnd(0x10000));
        (*budget)--;
        err = fdt_begin_node(buf, name);
        if (!err)
            err = add_subtree(buf, depth + 1, budget, rnd);
        if (!err)
            err = fdt_end_node(buf);
    }
    return err;
}

void *oracle_random_tree(size_t *size, unsigned (*rnd)(unsigned))
{
    size_t cap = 64 * 1024;
    void *buf = calloc(1, cap);
    unsigned budget = 150;
    int err = fdt_create(buf, (int)cap);
    unsigned reserved = rnd(4);
    for (unsigned i = 0; i < reserved && !err; i++)
        err = fdt_add_reservemap_entry(buf, (uint64_t)rnd(1u << 20) << 12,
                                       (uint64_t)(rnd(64) + 1) << 12);
    if (!err)
        err = fdt_finish_reservemap(buf);
    if (!err)
        err = fdt_begin_node(buf, "");
    if (!err)
        err = add_subtree(buf, 0, &budget, rnd);
    if (!err)
        err = fdt_end_node(buf);
    if (!err)
        err = fdt_finish(buf);
    if (err) {
        printf("  libfdt could not write a random tree: %s\n", fdt_strerror(err));
        free(buf);
        return NULL;
    }
    *size = fdt_totalsize(buf);
    return buf;
}
