/*
 * Random values for the fuzzer: a seeded xorshift generator (a run is
 * reproduced from its seed), words biased toward the boundaries where
 * checks go wrong, and capability addresses biased toward slots that hold
 * something, so most methods reach live objects rather than failing lookup.
 *
 * The fuzzer remembers the type of each window slot (refreshed with
 * Debug: CapIdentify), so it can ask for "a slot with an endpoint".
 */
#include "fuzz.h"

uint64_t fz_rand(struct fuzz *f)
{
    /* xorshift64* (Vigna): full period over non-zero states. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 0x2545f4914f6cdd1dull;
}

uint64_t fz_below(struct fuzz *f, uint64_t n)
{
    return n ? fz_rand(f) % n : 0;
}

int fz_chance(struct fuzz *f, unsigned percent)
{
    return fz_below(f, 100) < percent;
}

/* 0, 1, 63, 64, 2^k, 2^k - 1, 2^k + 1, ~0 and friends. */
static uint64_t boundary(struct fuzz *f)
{
    static const uint64_t fixed[] = { 0, 1, 2, 63, 64, 65, 127, 128, 255, 256, 4095, 4096,
                                      ~0ull, ~0ull - 1, 1ull << 63, (1ull << 63) - 1 };
    unsigned k = (unsigned)fz_below(f, 64);
    switch (fz_below(f, 4)) {
    case 0:
        return fixed[fz_below(f, sizeof(fixed) / sizeof(fixed[0]))];
    case 1:
        return 1ull << k;
    case 2:
        return (1ull << k) - 1;
    default:
        return (1ull << k) + 1;
    }
}

uint64_t fz_word(struct fuzz *f)
{
    switch (fz_below(f, 10)) {
    case 0:
    case 1:
    case 2:
        return fz_below(f, 65);
    case 3:
    case 4:
    case 5:
        return boundary(f);
    case 6:
    case 7:
        return fz_rand(f);
    default:
        return fz_cptr(f);
    }
}

uint64_t fz_window_slot(struct fuzz *f)
{
    return f->window + fz_below(f, FUZZ_WINDOW);
}

/* A slot the boot info or the setup filled. */
static uint64_t known_slot(struct fuzz *f)
{
    static const uint64_t fixed[] = { BK_CAP_ROOT_TCB,       BK_CAP_ROOT_CNODE,
                                      BK_CAP_ROOT_VSPACE,    BK_CAP_IRQ_CONTROL,
                                      BK_CAP_IOPORT_CONTROL, BK_CAP_DEBUG,
                                      BK_CAP_ASID_CONTROL,   BK_CAP_ROOT_ASID_POOL };
    switch (fz_below(f, 4)) {
    case 0:
        return fixed[fz_below(f, sizeof(fixed) / sizeof(fixed[0]))];
    case 1:
        return f->bi->untyped_count ? f->bi->untyped[fz_below(f, f->bi->untyped_count)].slot : 0;
    case 2:
        return f->untyped;
    default:
        return f->echo;
    }
}

/* A window slot that held a cap when last looked at, if any. */
static uint64_t occupied_slot(struct fuzz *f)
{
    unsigned start = (unsigned)fz_below(f, FUZZ_WINDOW);
    for (unsigned i = 0; i < FUZZ_WINDOW; i++) {
        unsigned s = (start + i) % FUZZ_WINDOW;
        if (f->type[s])
            return f->window + s;
    }
    return fz_window_slot(f);
}

uint64_t fz_cptr(struct fuzz *f)
{
    unsigned r = (unsigned)fz_below(f, 100);
    if (r < 45)
        return occupied_slot(f);
    if (r < 65)
        return fz_window_slot(f);
    if (r < 80)
        return known_slot(f);
    if (r < 90)
        return fz_below(f, 1ull << BK_ROOT_CNODE_BITS);
    return boundary(f);
}

uint64_t fz_cptr_of(struct fuzz *f, unsigned type)
{
    unsigned start = (unsigned)fz_below(f, FUZZ_WINDOW);
    for (unsigned i = 0; i < FUZZ_WINDOW; i++) {
        unsigned s = (start + i) % FUZZ_WINDOW;
        if (f->type[s] == type)
            return f->window + s;
    }
    return fz_cptr(f);
}

unsigned fz_type(uint64_t cptr)
{
    return (unsigned)BK_CAP_IDENTITY_TYPE(debug_cap_identify(cptr));
}

void fz_note(struct fuzz *f, uint64_t slot)
{
    if (slot < f->window || slot >= f->window + FUZZ_WINDOW)
        return;
    unsigned i = (unsigned)(slot - f->window);
    f->type[i] = (uint8_t)fz_type(slot);
    if (f->type[i] != BK_OBJ_CNODE)
        f->radix[i] = 0;
}

void fz_refresh(struct fuzz *f)
{
    for (uint64_t s = f->window; s < f->window + FUZZ_WINDOW; s++)
        fz_note(f, s);
}
