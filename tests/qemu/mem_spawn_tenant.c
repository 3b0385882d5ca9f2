/*
 * A tenant the memory server spawns (tests/qemu/mem_spawn.c spawns several
 * from one program; tests/bench/bulkhead/density.c thousands): its tenant
 * cap to the server arrives in BK_PROCESS_CAP_ARG, the cap its
 * administrator gave in BK_PROCESS_FIRST_FREE_SLOT (an endpoint to it).
 * It says hello with what it finds in its data page, then carries out
 * orders: write or read its data page, spin, or touch an address outside
 * every region. Every page it touches faults to the server: its code and
 * constants map shared, its data page is copied on its first write, its
 * stack is backed on demand.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#define CTRL_SLOT BK_PROCESS_FIRST_FREE_SLOT
#define PAGE 4096ull
#define DATA_FIRST 0x5eed0000ull

/* Orders (the message label, above every kernel error code); answers
 * carry the label back. */
#define HELLO 0x101   /* sent first: word 0 the data page's first word, word 1 its last */
#define WRITE 0x102   /* every word of the data page := word 0 */
#define READ 0x103    /* the data page's first and last words back */
#define SPIN 0x104    /* answers, then spins for good */
#define STRAY 0x105   /* writes to the address in word 0: a fault the server refuses */
#define USAGE 0x106   /* Mem: Usage on its own cap: the code, used, shared, private back */
#define MAKE 0x107    /* Mem: Make of a CNode of 2 slots, then a copy of its control cap
                         into it: Make's code, the copy's result, the object's number back */

/* A page of its own in .data (initialised, so copied on its first write). */
static volatile uint64_t data[PAGE / 8] __attribute__((aligned(PAGE))) = {
    DATA_FIRST, [PAGE / 8 - 1] = DATA_FIRST + 1
};

static void answer(uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3)
{
    struct bk_msg m = { .info = BK_MSGINFO(4, 0, 0, label) };
    m.mr[0] = w0;
    m.mr[1] = w1;
    m.mr[2] = w2;
    m.mr[3] = w3;
    sys_send(CTRL_SLOT, &m);
}

static void usage(void)
{
    uint64_t q, used, f, t, c, faults, refused, shared, private_pages, vs, tc, sc, ipc;
    int r = mem_usage(BK_PROCESS_CAP_ARG, 0, &q, &used, &f, &t, &c, &faults, &refused, &shared,
                      &private_pages, &vs, &tc, &sc, &ipc, NULL);
    answer(USAGE, (uint64_t)r, used, shared, private_pages);
}

/* A cap comes back in a reply only through a cap to the server with the
 * grant-reply right, which Spawn gives; the CNode made works. */
static void make(void)
{
    uint64_t object = 0, slot = CTRL_SLOT + 1;
    int r = mem_make(BK_PROCESS_CAP_ARG, 0, BK_OBJ_CNODE, 1, &object, slot, NULL);
    long copied = r == 0 ? sys_cnode_copy(slot, 0, 1, BK_CAP_ROOT_CNODE, CTRL_SLOT, BK_WORD_BITS,
                                          BK_RIGHTS_ALL)
                         : -1;
    answer(MAKE, (uint64_t)r, (uint64_t)copied, object, 0);
}

static void carry_out(const struct bk_msg *m)
{
    uint64_t label = BK_MSGINFO_LABEL(m->info);
    switch (label) {
    case WRITE:
        for (unsigned i = 0; i < PAGE / 8; i++)
            data[i] = m->mr[0];
        answer(WRITE, 0, 0, 0, 0);
        break;
    case READ:
        answer(READ, data[0], data[PAGE / 8 - 1], 0, 0);
        break;
    case SPIN:
        answer(SPIN, 0, 0, 0, 0);
        for (;;)
            __asm__ volatile("" ::: "memory");
    case STRAY:
        *(volatile uint64_t *)(uintptr_t)m->mr[0] = 1;
        answer(STRAY, 1, 0, 0, 0); /* never: the server leaves it stopped */
        break;
    case USAGE:
        usage();
        break;
    case MAKE:
        make();
        break;
    default: /* nothing asked: a wait cut short (Stop, then Start) */
        break;
    }
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    answer(HELLO, data[0], data[PAGE / 8 - 1], 0, 0);
    for (;;) {
        /* Emptied first: a Recv that Stop cut short leaves no order. */
        struct bk_msg m = { 0 };
        sys_recv(CTRL_SLOT, &m);
        carry_out(&m);
    }
}
