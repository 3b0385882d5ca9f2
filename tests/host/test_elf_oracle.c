/*
 * The ELF parser (kernel/parse/elf.c) against an independent reader: GNU
 * readelf from binutils. Both read the same files, every user program the
 * build produced for each arch (root task, servers, ktest and its children,
 * the system-test programs) and every file of the ELF seed corpus our
 * parser accepts, and must agree on the entry point, the machine and each
 * loadable segment's offset, address, file and memory sizes, flags and
 * alignment, in program-header order. Any disagreement names the file, the
 * segment and the field.
 *
 * The build says where things are: READELF (the program), CORPUS_DIR, and
 * X86_64_DIR / RISCV64_DIR for each arch it builds, where every *.elf but
 * kernel.elf is read. PT_LOADs of p_memsz 0, which our parser checks but
 * does not list, are left out of readelf's list too.
 */
#define _POSIX_C_SOURCE 200809L /* popen: C17 mode hides POSIX otherwise */

#include <bulkhead/abi.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "bk_elf.h" /* kernel/parse/bk_elf.h */

#if !defined(READELF) || !defined(CORPUS_DIR)
#error "READELF must name GNU readelf and CORPUS_DIR tests/parsers_fuzz/corpus"
#endif

static bool quiet; /* while the comparison checks itself */

/* ---- readelf's view -------------------------------------------------------- */

struct view {
    uint64_t entry;
    unsigned machine;
    unsigned count;
    struct elf_segment seg[ELF_MAX_SEGMENTS + 1];
};

/* readelf -h prints the machine by name (binutils' elf/common.h values). */
static unsigned machine_number(const char *name)
{
    if (strstr(name, "X86-64"))
        return BK_ELF_MACHINE_X86_64;
    if (strstr(name, "RISC-V"))
        return BK_ELF_MACHINE_RISCV64;
    return 0;
}

/* "  LOAD  0x001000 0x0000000000401000 0x0000000000401000 0x0001a4 0x0001a4 R E 0x1000":
 * offset, vaddr, paddr, filesz, memsz, then flags (R, W, E, spaced) and align. */
static void parse_load(struct view *v, const char *line)
{
    char *end;
    uint64_t f[5];
    const char *p = strstr(line, "LOAD") + 4;
    for (int i = 0; i < 5; i++) {
        f[i] = strtoull(p, &end, 16);
        p = end;
    }
    const char *align = strrchr(line, ' ') + 1;
    uint32_t flags = 0;
    for (const char *c = p; c < align; c++)
        flags |= *c == 'R' ? ELF_PF_R : *c == 'W' ? ELF_PF_W : *c == 'E' ? ELF_PF_X : 0;
    if (f[4] == 0 || v->count > ELF_MAX_SEGMENTS)
        return;
    v->seg[v->count++] = (struct elf_segment){ .vaddr = f[1], .file_offset = f[0],
                                               .file_size = f[3], .mem_size = f[4],
                                               .flags = flags,
                                               .align = strtoull(align, NULL, 16) };
}

static bool readelf_view(const char *path, struct view *v)
{
    char cmd[1024], line[512];
    snprintf(cmd, sizeof(cmd), "'%s' -h -l -W '%s' 2>&1", READELF, path);
    FILE *out = popen(cmd, "r");
    if (!out)
        return false;
    *v = (struct view){ 0 };
    bool has_entry = false;
    while (fgets(line, sizeof(line), out)) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, "Entry point address:")) {
            v->entry = strtoull(strchr(line, ':') + 1, NULL, 16);
            has_entry = true;
        } else if (strstr(line, "Machine:")) {
            v->machine = machine_number(line);
        } else if (strncmp(line, "  LOAD ", 7) == 0) {
            parse_load(v, line);
        }
    }
    return pclose(out) == 0 && has_entry;
}

/* ---- Comparing ------------------------------------------------------------------ */

static unsigned differ(const char *file, const char *what, uint64_t ours, uint64_t theirs)
{
    if (ours == theirs)
        return 0;
    if (!quiet)
        printf("  %s: %s: ours 0x%llx, readelf 0x%llx\n", file, what, (unsigned long long)ours,
           (unsigned long long)theirs);
    return 1;
}

/* The number of fields on which the two views disagree. */
static unsigned compare(const char *file, const struct elf_info *ours, const struct view *ref)
{
    unsigned bad = differ(file, "entry", ours->entry, ref->entry) +
                   differ(file, "machine", ours->machine, ref->machine) +
                   differ(file, "loadable segments", ours->segment_count, ref->count);
    for (unsigned i = 0; i < ours->segment_count && i < ref->count; i++) {
        const struct elf_segment *a = &ours->segments[i], *b = &ref->seg[i];
        char what[64];
        static const char *const names[] = { "offset", "vaddr", "filesz", "memsz", "flags",
                                             "align" };
        const uint64_t mine[] = { a->file_offset, a->vaddr, a->file_size, a->mem_size,
                                  a->flags, a->align };
        const uint64_t theirs[] = { b->file_offset, b->vaddr, b->file_size, b->mem_size,
                                    b->flags, b->align };
        for (unsigned f = 0; f < 6; f++) {
            snprintf(what, sizeof(what), "segment %u %s", i, names[f]);
            bad += differ(file, what, mine[f], theirs[f]);
        }
    }
    return bad;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(buf, 1, n > 0 ? (size_t)n : 0, f);
    fclose(f);
    return buf;
}

/* Reads `path` with both; returns whether our parser accepted it (and
 * counts a failure when the two disagree). */
static bool compare_file(const char *path, const struct elf_limits *lim)
{
    size_t size = 0;
    uint8_t *data = read_file(path, &size);
    CHECK(data != NULL);
    struct elf_info info;
    char err[160];
    bool ok = data && elf_check(data, size, lim, &info, err, sizeof(err));
    free(data);
    if (!ok)
        return false;
    struct view ref;
    CHECK(readelf_view(path, &ref));
    unsigned bad = compare(path, &info, &ref);
    check_failures_in_test += bad ? 1 : 0;
    /* The comparison itself can fail: the same view with one field off. */
    if (bad == 0) {
        quiet = true;
        info.segments[info.segment_count - 1].align ^= 0x10;
        CHECK_EQ(compare(path, &info, &ref), 1);
        quiet = false;
    }
    return true;
}

/* ---- The files ---------------------------------------------------------------------- */

/* Compares every file in `dir` whose name ends in `suffix` (all if NULL),
 * except those whose names start with `skip`; returns how many our parser
 * accepted, counting `seen`. */
static unsigned each_file(const char *dir, const char *suffix, const char *skip,
                          const struct elf_limits *lim, unsigned *seen)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    unsigned accepted = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name), s = suffix ? strlen(suffix) : 0;
        if (e->d_name[0] == '.' || (skip && strncmp(e->d_name, skip, strlen(skip)) == 0) ||
            (suffix && (n < s || strcmp(e->d_name + n - s, suffix) != 0)))
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        (*seen)++;
        accepted += compare_file(path, lim);
    }
    if (d)
        closedir(d);
    return accepted;
}

/* Every user program the build made for `arch`: each must be accepted
 * (the kernel or libsys loads it with these very checks) and agree. */
static void programs_agree(const char *arch, const char *dir, uint16_t machine)
{
    struct elf_limits lim = { machine, BK_USER_IMAGE_MIN, BK_ROOT_BOOTINFO_VADDR, BK_PAGE_SIZE };
    /* Every kernel-*.elf is a kernel, not a user program. */
    unsigned seen = 0, accepted = each_file(dir, ".elf", "kernel", &lim, &seen);
    printf("  %s: %u of %u programs read by both\n", arch, accepted, seen);
    CHECK(seen >= 3); /* at least the root task, ktest and a server */
    CHECK_EQ(accepted, seen);
}

static void test_built_programs_agree(void)
{
    unsigned arches = 0;
#ifdef X86_64_DIR
    programs_agree("x86_64", X86_64_DIR, BK_ELF_MACHINE_X86_64);
    arches++;
#endif
#ifdef RISCV64_DIR
    programs_agree("riscv64", RISCV64_DIR, BK_ELF_MACHINE_RISCV64);
    arches++;
#endif
    CHECK(arches >= 1);
}

/* The seed corpus: the valid files among the fuzzer's seeds, with the
 * fuzzer's limits (tests/parsers_fuzz/fuzz_elf.c). */
static void test_corpus_agrees(void)
{
    static const struct elf_limits lim = { BK_ELF_MACHINE_X86_64, 0x400000, 0x500000, 4096 };
    unsigned seen = 0, accepted = each_file(CORPUS_DIR "/elf", NULL, NULL, &lim, &seen);
    printf("  corpus: %u of %u files valid, each read by both\n", accepted, seen);
    CHECK(accepted >= 1); /* minimal.elf at least */
}

TEST_MAIN(TEST(test_built_programs_agree), TEST(test_corpus_agrees))
