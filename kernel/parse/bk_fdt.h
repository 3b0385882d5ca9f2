/*
 * A reader for flattened device trees (Devicetree Specification v0.4,
 * chapter 5 "Flattened Devicetree (DTB) Format"): header and structure
 * validation, node and property lookup, reg/ranges decoding. What a boot
 * takes from a tree is elsewhere: kernel/boot/fdt_boot.c (memory, initrd,
 * command line) and the port's own list of devices (arch/riscv/board.c).
 *
 * Pure (kernel/parse/): it includes only compiler headers, so the kernel,
 * and later the user-level servers that read the tree, build the same
 * source. No console, no panic, no allocation. fdt_open() checks the
 * whole blob once (header, block bounds, every token) and the lookups below
 * only accept a blob that passed it. Errors are static strings; the caller
 * prints them (with fdt.error_offset) and decides what to do.
 *
 * Nodes are named by handles: the offset of the node's FDT_BEGIN_NODE token
 * inside the structure block, or FDT_NONE.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_MAGIC 0xd00dfeedu
#define FDT_NONE (-1)
#define FDT_MAX_DEPTH 32 /* deeper trees are rejected */

/* A blob that passed fdt_open(). Offsets are bytes from the blob start. */
struct fdt {
    const uint8_t *blob;
    uint32_t total_size;
    uint32_t version;
    uint32_t boot_cpuid;
    uint32_t struct_off, struct_size;
    uint32_t strings_off, strings_size;
    uint32_t rsvmap_off, rsvmap_count; /* entries before the (0, 0) end marker */
    int root;
    uint32_t error_offset; /* set by fdt_open when it fails: where, in the blob */
};

/* Validates the blob at `blob`, of which at most `max_size` bytes may be
 * read, and fills `fdt`. Returns NULL, or a message saying what is wrong
 * (fdt->error_offset then says where). */
const char *fdt_open(struct fdt *fdt, const void *blob, size_t max_size);

/* ---- Walking the tree ---------------------------------------------------- */

const char *fdt_node_name(const struct fdt *fdt, int node); /* "" for the root */
int fdt_first_child(const struct fdt *fdt, int node);
int fdt_next_sibling(const struct fdt *fdt, int node);
int fdt_parent(const struct fdt *fdt, int node); /* FDT_NONE for the root */
/* The node after `node` in document order (depth first); FDT_NONE starts
 * at the root. */
int fdt_next_node(const struct fdt *fdt, int node);
/* "/soc/serial@10000000"; a component without '@' also matches a node
 * whose name is that component followed by a unit address. */
int fdt_find_path(const struct fdt *fdt, const char *path);
/* The next node after `after` (FDT_NONE: from the start) whose compatible
 * list holds `compat`. */
int fdt_find_compatible(const struct fdt *fdt, int after, const char *compat);
bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat);
/* False only when a "status" property says something other than "okay". */
bool fdt_node_enabled(const struct fdt *fdt, int node);
/* The node /chosen/stdout-path names (aliases resolved, ":options"
 * dropped), or FDT_NONE. */
int fdt_stdout_node(const struct fdt *fdt);

/* ---- Properties ----------------------------------------------------------- */

/* The value of property `name` of `node` and its length, or NULL. */
const void *fdt_get_prop(const struct fdt *fdt, int node, const char *name, uint32_t *len);
/* A property holding one NUL-terminated string, or NULL. */
const char *fdt_get_string(const struct fdt *fdt, int node, const char *name);
/* A property of exactly one cell. */
bool fdt_get_u32(const struct fdt *fdt, int node, const char *name, uint32_t *value);
/* A property of one or two cells (such as linux,initrd-start). */
bool fdt_get_u64(const struct fdt *fdt, int node, const char *name, uint64_t *value);

/* #address-cells and #size-cells that `bus` gives its children (2 and 1
 * when absent, as the specification says). */
uint32_t fdt_address_cells(const struct fdt *fdt, int bus);
uint32_t fdt_size_cells(const struct fdt *fdt, int bus);

/* Entry `index` of `node`'s reg, decoded with the given cell counts (each
 * 0..2; an address needs at least 1). False past the last entry. */
bool fdt_read_reg(const struct fdt *fdt, int node, unsigned index, uint32_t address_cells,
                  uint32_t size_cells, uint64_t *base, uint64_t *size);
/* Entry `index` of `node`'s reg as a CPU physical address: decoded with
 * the parent's cell counts and translated through every ancestor's
 * "ranges". False past the last entry or when a bus does not map it. */
bool fdt_reg(const struct fdt *fdt, int node, unsigned index, uint64_t *base, uint64_t *size);

/* Entry `index` of the memory-reservation block. */
bool fdt_rsvmap_entry(const struct fdt *fdt, unsigned index, uint64_t *base, uint64_t *size);
