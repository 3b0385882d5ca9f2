/*
 * The device-tree parser (kernel/parse/fdt.c) against an independent
 * oracle: Debian's libfdt, the reference implementation. Both read the
 * same blobs, QEMU's RISC-V virt tree and trees of random shape that libfdt
 * itself writes (its sequential-write API), and must agree on every node
 * (handle, name, parent, document order), every property we look up, and
 * the memory-reservation block. Any disagreement names the node and what
 * differs. fdt_oracle.c holds the libfdt side: the two share function
 * names, so they cannot meet in one file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */
#include "check.h"
#include "fdt_oracle.h"

#ifndef CORPUS_DIR
#error "CORPUS_DIR must name tests/parsers_fuzz/corpus"
#endif

/* Our handles and libfdt's node offsets are both offsets of the node's
 * FDT_BEGIN_NODE token from the start of the structure block. */
static void compare_node(const struct fdt *ours, const void *blob, int node)
{
    const char *name = fdt_node_name(ours, node);
    const char *ref = oracle_node_name(blob, node);
    if (!ref || strcmp(name, ref) != 0) {
        printf("  node at %d: ours '%s', libfdt '%s'\n", node, name, ref ? ref : "(none)");
        check_failures_in_test++;
        return;
    }
    int parent = fdt_parent(ours, node);
    int ref_parent = oracle_parent(blob, node);
    CHECK_EQ(parent == FDT_NONE ? -1 : parent, ref_parent < 0 ? -1 : ref_parent);
    static const char *const props[] = { "reg", "compatible", "status", "#address-cells",
                                         "#size-cells", "device_type", "p0", "p1", "p2" };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        uint32_t len = 0;
        int ref_len = 0;
        const void *v = fdt_get_prop(ours, node, props[i], &len);
        const void *rv = oracle_prop(blob, node, props[i], &ref_len);
        CHECK_EQ(v != NULL, rv != NULL);
        if (v && rv) {
            CHECK_EQ(len, (uint32_t)ref_len);
            CHECK(len == (uint32_t)ref_len && memcmp(v, rv, len) == 0);
        }
    }
}

/* Opens `blob` with both and compares everything; returns the node count. */
static unsigned compare_blob(const void *blob, size_t size, const char *what)
{
    struct fdt ours;
    const char *err = fdt_open(&ours, blob, size);
    int ref_ok = oracle_check(blob, size) == 0;
    if (err || !ref_ok) {
        printf("  %s: ours %s, libfdt %s\n", what, err ? err : "accepts",
               ref_ok ? "accepts" : "rejects");
        check_failures_in_test++;
        return 0;
    }
    unsigned nodes = 0;
    int n = fdt_next_node(&ours, FDT_NONE);
    int ref = 0; /* libfdt: the root is at offset 0 */
    while (n != FDT_NONE && ref >= 0) {
        CHECK_EQ(n, ref);
        compare_node(&ours, blob, n);
        nodes++;
        n = fdt_next_node(&ours, n);
        ref = oracle_next_node(blob, ref);
    }
    CHECK(n == FDT_NONE && ref < 0); /* both walks end together */
    CHECK_EQ(ours.rsvmap_count, (unsigned)oracle_rsv_count(blob));
    for (unsigned i = 0; i < ours.rsvmap_count; i++) {
        uint64_t base, sz, rbase, rsz;
        CHECK(fdt_rsvmap_entry(&ours, i, &base, &sz));
        CHECK(oracle_rsv(blob, (int)i, &rbase, &rsz) == 0);
        CHECK_EQ(base, rbase);
        CHECK_EQ(sz, rsz);
    }
    return nodes;
}

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(*size ? *size : 1);
    if (fread(buf, 1, *size, f) != *size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void test_qemu_virt_tree_agrees(void)
{
    size_t size = 0;
    void *blob = read_file(CORPUS_DIR "/fdt/qemu-virt.dtb", &size);
    CHECK(blob != NULL);
    if (!blob)
        return;
    CHECK(compare_blob(blob, size, "qemu-virt.dtb") > 20);
    free(blob);
}

/* ---- Random trees written by libfdt ------------------------------------- */

static unsigned long long rng_state = 0x6a09e667f3bcc909ull;

static unsigned rnd(unsigned below)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((rng_state >> 33) % below);
}

static void test_random_trees_agree(void)
{
    unsigned total_nodes = 0;
    for (unsigned i = 0; i < 300; i++) {
        size_t size = 0;
        void *blob = oracle_random_tree(&size, rnd);
        CHECK(blob != NULL);
        if (!blob)
            return;
        /* An exact-size copy, so ASan sees any read past the end. */
        void *copy = malloc(size);
        memcpy(copy, blob, size);
        char what[32];
        snprintf(what, sizeof(what), "random tree %u", i);
        total_nodes += compare_blob(copy, size, what);
        free(copy);
        free(blob);
    }
    CHECK(total_nodes > 300); /* the trees are not all empty */
}

TEST_MAIN(TEST(test_qemu_virt_tree_agrees), TEST(test_random_trees_agree))
