/*
 * libfdt behind names of our own: its function names collide with
 * kernel/parse/bk_fdt.h's, so test_fdt_oracle.c reaches it only through these
 * (fdt_oracle.c is the one file that includes <libfdt.h>).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int oracle_check(const void *blob, size_t size);          /* 0 if libfdt accepts it */
int oracle_next_node(const void *blob, int node);         /* -1 at the end */
const char *oracle_node_name(const void *blob, int node);
int oracle_parent(const void *blob, int node);            /* -1 for the root */
const void *oracle_prop(const void *blob, int node, const char *name, int *len);
int oracle_rsv_count(const void *blob);
int oracle_rsv(const void *blob, int index, uint64_t *base, uint64_t *size);

/* A tree of random shape written by libfdt's sequential-write API, with
 * random properties and reservations; `rnd(n)` gives 0..n-1. NULL if
 * libfdt refused (it says why). Free it with free(). */
void *oracle_random_tree(size_t *size, unsigned (*rnd)(unsigned));
