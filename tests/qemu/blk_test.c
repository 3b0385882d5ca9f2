/*
 * The virtio-blk driver (servers/blk, docs/io.md) on a disk QEMU attaches
 * (tools/runtest.py --disk): the root task finds the disk from the
 * firmware's tables, starts blk-server as a process of its own with the
 * disk's pages, interrupt lines and memory, and calls it through the blk
 * protocol's stubs as clients 1 and 2 and as a stranger (badge 99). It writes
 * patterns to sectors spread over the whole disk and reads them back by
 * checksum, then sends bad requests that must be refused with their
 * texts, each followed by a good request the driver must still serve.
 */
#include <protocols/blk_client.h>

#include "../../servers/blk/blk.h" /* the driver's own header: this test runs it */

#define ROUNDS 48
#define CLIENT_VADDR 0x59000000ull /* our buffer */
#define DRIVER_PRIORITY 200        /* below ours: it starts once we call it */
#define BADGE_ONE 1
#define BADGE_TWO 2
#define BADGE_STRANGER 99

static int failures, passes;
static uint64_t one, two, stranger, not_a_frame, buffer_cap;

static void expect(bool ok, const char *what)
{
    if (ok)
        passes++;
    else
        failures++;
    debug_printf("blk: %s: %s\n", ok ? "ok" : "FAILED", what);
}

static uint64_t client_cap(uint64_t ep, uint64_t badge)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, s, BK_WORD_BITS, BK_CAP_ROOT_CNODE, ep, BK_WORD_BITS,
                   BK_RIGHT_WRITE | BK_RIGHT_GRANT, badge);
    return s;
}

static const char *setup(const struct bk_bootinfo *bi)
{
    static struct blk_hw hw;
    static char err[BK_PROCESS_ERROR_LEN];
    uint64_t ep;
    bk_alloc_init(bi);
    devmem_init(bi);
    const char *e = blk_discover(bi, &hw);
    if (e)
        return e;
    debug_printf("blk: found %s\n", hw.where);
    if ((e = blk_spawn(bi, &hw, DRIVER_PRIORITY, &ep, err, sizeof(err))))
        return e;
    one = client_cap(ep, BADGE_ONE);
    two = client_cap(ep, BADGE_TWO);
    stranger = client_cap(ep, BADGE_STRANGER);
    not_a_frame = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    return NULL;
}

/* A 4 KiB frame of ours, mapped, and a copy of its cap for attach. */
static uint8_t *new_buffer(uint64_t vaddr, uint64_t *cap)
{
    uint64_t f = bk_alloc_object(BK_OBJ_FRAME, 12);
    bk_map_frame(BK_CAP_ROOT_VSPACE, f, vaddr, BK_VM_READ | BK_VM_WRITE, 0);
    *cap = bk_slot_alloc();
    sys_cnode_copy(BK_CAP_ROOT_CNODE, *cap, BK_WORD_BITS, BK_CAP_ROOT_CNODE, f, BK_WORD_BITS,
                   BK_RIGHT_READ | BK_RIGHT_WRITE);
    return (uint8_t *)(uintptr_t)vaddr;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

/* Writes 8 sectors at each of ROUNDS places spread over the disk, then
 * reads each back into a cleared buffer and compares checksums. */
static void patterns(uint8_t *buf, uint64_t sectors)
{
    uint64_t sums[ROUNDS], at[ROUNDS];
    int bad = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        at[r] = (r * (sectors - 8) / (ROUNDS - 1)) & ~1ull;
        fill(buf, BLK_BUFFER, 0x5eed + r);
        sums[r] = fnv(buf, BLK_BUFFER);
        if (blk_write(one, at[r], 8, 0, NULL) != 0)
            bad++;
    }
    expect(bad == 0, "48 writes of 8 sectors over the whole disk");
    bad = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        memset(buf, 0, BLK_BUFFER);
        if (blk_read(one, at[r], 8, 0, NULL) != 0 || fnv(buf, BLK_BUFFER) != sums[r])
            bad++;
    }
    expect(bad == 0, "48 reads back: every checksum matches");
}

/* The request fails with `code` and the text `text`, and a good read of
 * sector 0 works right after it. */
static void refused(int r, const struct blk_error *e, int code, const char *text)
{
    char got[200];
    blk_error_format(e, got, sizeof(got));
    char what[300];
    bk_snprintf(what, sizeof(what), "refused: \"%s\"", got);
    expect(r == code && strcmp(got, text) == 0, what);
    if (r != code || strcmp(got, text) != 0)
        debug_printf("blk:   expected code %d \"%s\", got %d\n", code, text, r);
    expect(blk_read(one, 0, 1, 0, NULL) == 0, "the driver serves on");
}

static void bad_requests(uint64_t sectors)
{
    struct blk_error e;
    char text[160];
    int r = blk_read(two, 0, 1, 0, &e);
    refused(r, &e, BLK_ERR_NO_BUFFER, "client 2: no buffer attached (call attach first)");
    r = blk_read(one, sectors - 1, 2, 0, &e);
    bk_snprintf(text, sizeof(text),
                "2 sectors from sector %llu run past the disk's end (%llu sectors)",
                (unsigned long long)(sectors - 1), (unsigned long long)sectors);
    refused(r, &e, BLK_ERR_OUT_OF_RANGE, text);
    r = blk_write(one, UINT64_MAX, 1, 0, &e);
    bk_snprintf(text, sizeof(text),
                "1 sectors from sector %llu run past the disk's end (%llu sectors)",
                (unsigned long long)UINT64_MAX, (unsigned long long)sectors);
    refused(r, &e, BLK_ERR_OUT_OF_RANGE, text);
    r = blk_read(one, 0, 1, 100, &e);
    refused(r, &e, BLK_ERR_MISALIGNED, "buffer offset 100 is not a multiple of the 512-byte sector");
    r = blk_read(one, 0, 9, 0, &e);
    refused(r, &e, BLK_ERR_TOO_LARGE, "9 sectors at buffer offset 0 do not fit the 4 KiB buffer");
    r = blk_write(one, 0, 1, 4096, &e);
    refused(r, &e, BLK_ERR_TOO_LARGE, "1 sectors at buffer offset 4096 do not fit the 4 KiB buffer");
    r = blk_read(one, 0, 0, 0, &e);
    refused(r, &e, BLK_ERR_EMPTY, "a request for 0 sectors at sector 0");
    r = blk_info(stranger, NULL, NULL, NULL, &e);
    refused(r, &e, BLK_ERR_UNKNOWN_CLIENT,
            "badge 99 is not a client of this driver (clients are badges 1 to 8)");
    uint64_t read_only = bk_slot_alloc();
    sys_cnode_copy(BK_CAP_ROOT_CNODE, read_only, BK_WORD_BITS, BK_CAP_ROOT_CNODE, buffer_cap,
                   BK_WORD_BITS, BK_RIGHT_READ);
    r = blk_attach(two, read_only, NULL, &e);
    refused(r, &e, BLK_ERR_BAD_BUFFER, "client 2: the buffer is not a writable 4 KiB frame "
                                       "(mapping it failed with kernel error 7)");
    r = blk_attach(two, not_a_frame, NULL, &e);
    refused(r, &e, BLK_ERR_BAD_BUFFER, "client 2: the buffer is not a writable 4 KiB frame "
                                       "(mapping it failed with kernel error 5)");
}

/* Labels and lengths no method has: the dispatch answers, the driver lives. */
static void garbage(void)
{
    struct bk_msg m = { 0 };
    m.info = bk_msginfo(BLK_PROTOCOL_ID << 16 | 0x77, 0);
    sys_call(one, &m);
    expect(BK_MSGINFO_LABEL(m.info) == (BLK_PROTOCOL_ID << 16 | 0x8000 | BK_PROTO_ERR_UNKNOWN_METHOD),
           "an unknown label gets UNKNOWN_METHOD");
    m = (struct bk_msg){ 0 };
    m.info = bk_msginfo(BLK_LABEL_READ, 1);
    sys_call(one, &m);
    expect(BK_MSGINFO_LABEL(m.info) == (BLK_PROTOCOL_ID << 16 | 0x8000 | BK_PROTO_ERR_BAD_LENGTH),
           "a read of 1 word instead of 3 gets BAD_LENGTH");
    m = (struct bk_msg){ 0 };
    m.info = bk_msginfo(0x12345678, 4);
    sys_call(one, &m);
    expect(BK_MSGINFO_LABEL(m.info) == (BLK_PROTOCOL_ID << 16 | 0x8000 | BK_PROTO_ERR_UNKNOWN_METHOD),
           "another protocol's label gets UNKNOWN_METHOD");
    expect(blk_read(one, 0, 1, 0, NULL) == 0, "the driver serves on after garbage");
}

int main(const struct bk_bootinfo *bi)
{
    const char *err = setup(bi);
    if (err) {
        debug_printf("blk: FAILED: %s\n", err);
        return 1;
    }
    uint64_t sectors = 0, cap;
    uint32_t size = 0, max = 0;
    struct blk_error e;
    int r = blk_info(one, &sectors, &size, &max, &e);
    debug_printf("blk: disk of %llu sectors of %u bytes, %u per request\n",
                 (unsigned long long)sectors, size, max);
    expect(r == 0 && size == 512 && max == 8 && sectors >= 1024, "info: the disk's size");
    if (r != 0)
        return 1;
    uint8_t *buf = new_buffer(CLIENT_VADDR, &cap);
    buffer_cap = cap;
    uint32_t bytes = 0;
    expect(blk_attach(one, cap, &bytes, NULL) == 0 && bytes == 4096, "attach a 4 KiB buffer");
    patterns(buf, sectors);
    bad_requests(sectors);
    garbage();
    debug_printf("blk: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
