/*
 * The exact decimal expansion of a double (see decimal.h): the integer
 * part by repeated division of a big integer by 10^9, the fraction by
 * repeated multiplication by 10^9, nine digits at a time. Integer
 * arithmetic only: no FPU instruction, no libm, no soft-float helper.
 */
#include "decimal.h"

/* A non-negative integer in 32-bit limbs, least significant first. The
 * largest needed is a 1074-bit fraction times 10^9 (35 limbs). */
#define BIG_LIMBS 36

struct bignum {
    uint32_t limb[BIG_LIMBS];
    unsigned n; /* limbs in use; limb[n - 1] != 0 unless n == 0 */
};

static void big_trim(struct bignum *b)
{
    while (b->n > 0 && b->limb[b->n - 1] == 0)
        b->n--;
}

/* b = value << shift. */
static void big_set_shifted(struct bignum *b, uint64_t value, unsigned shift)
{
    unsigned words = shift / 32, bits = shift % 32;
    __builtin_memset(b->limb, 0, sizeof(b->limb));
    uint64_t low = value << bits, high = bits ? value >> (64 - bits) : 0;
    b->limb[words] = (uint32_t)low;
    b->limb[words + 1] = (uint32_t)(low >> 32);
    b->limb[words + 2] = (uint32_t)high;
    b->n = words + 3;
    big_trim(b);
}

static void big_multiply(struct bignum *b, uint32_t factor)
{
    uint64_t carry = 0;
    for (unsigned i = 0; i < b->n; i++) {
        carry += (uint64_t)b->limb[i] * factor;
        b->limb[i] = (uint32_t)carry;
        carry >>= 32;
    }
    if (carry)
        b->limb[b->n++] = (uint32_t)carry;
}

/* b /= divisor; returns the remainder. */
static uint32_t big_divide(struct bignum *b, uint32_t divisor)
{
    uint64_t rest = 0;
    for (unsigned i = b->n; i-- > 0;) {
        rest = rest << 32 | b->limb[i];
        b->limb[i] = (uint32_t)(rest / divisor);
        rest %= divisor;
    }
    big_trim(b);
    return (uint32_t)rest;
}

/* Digits per chunk: 10^9 is the largest power of ten below 2^32. */
#define CHUNK_DIGITS 9
#define CHUNK 1000000000u

/* Appends the CHUNK_DIGITS digits of `chunk` (with its leading zeros)
 * to the integer part or to the fraction. Zeros before the first
 * significant digit are dropped; in the fraction they move the point. */
static void decimal_push(struct decimal *d, uint32_t chunk, bool fraction)
{
    char text[CHUNK_DIGITS] = { 0 };
    for (int i = CHUNK_DIGITS - 1; i >= 0; i--, chunk /= 10)
        text[i] = (char)('0' + chunk % 10);
    for (int i = 0; i < CHUNK_DIGITS; i++) {
        if (d->count == 0 && text[i] == '0') {
            d->point -= fraction ? 1 : 0;
            continue;
        }
        if (d->count < DECIMAL_MAX)
            d->digit[d->count++] = text[i];
        d->point += fraction ? 0 : 1;
    }
}

/* The integer part m * 2^shift (shift >= 0), 9 digits at a time. */
static void expand_integer(struct decimal *d, uint64_t mantissa, unsigned shift)
{
    struct bignum b;
    uint32_t chunks[BIG_LIMBS + 2];
    unsigned n = 0;
    big_set_shifted(&b, mantissa, shift);
    while (b.n > 0)
        chunks[n++] = big_divide(&b, CHUNK);
    while (n-- > 0)
        decimal_push(d, chunks[n], false);
}

/* The fraction f / 2^bits (f < 2^bits, bits <= 1074): scaled so that the
 * binary point falls on a limb boundary, then multiplied by 10^9 until
 * nothing is left; each time the limb above the point is 9 more digits
 * (the expansion of a fraction of `bits` bits ends after `bits` digits). */
static void expand_fraction(struct decimal *d, uint64_t f, unsigned bits)
{
    unsigned point_limb = (bits + 31) / 32;
    struct bignum b;
    big_set_shifted(&b, f, point_limb * 32 - bits);
    while (b.n > 0) {
        big_multiply(&b, CHUNK);
        uint32_t chunk = b.n > point_limb ? b.limb[point_limb] : 0;
        if (b.n > point_limb) {
            b.limb[point_limb] = 0;
            b.n = point_limb;
        }
        big_trim(&b);
        decimal_push(d, chunk, true);
    }
}

void bk__decimal_from_double(struct decimal *d, unsigned exponent, uint64_t fraction)
{
    /* value = mantissa * 2^power; subnormals have no implicit 1. */
    uint64_t mantissa = exponent ? fraction | 1ull << 52 : fraction;
    int power = (exponent ? (int)exponent : 1) - 1075;
    d->count = 0;
    d->point = 0;
    if (mantissa == 0) {
        d->point = 1;
        return;
    }
    if (power >= 0) {
        expand_integer(d, mantissa, (unsigned)power);
    } else {
        unsigned bits = (unsigned)-power;
        uint64_t whole = bits < 64 ? mantissa >> bits : 0;
        uint64_t part = bits < 64 ? mantissa & ((1ull << bits) - 1) : mantissa;
        if (whole)
            expand_integer(d, whole, 0);
        expand_fraction(d, part, bits);
    }
    while (d->count > 0 && d->digit[d->count - 1] == '0')
        d->count--;
}

void bk__decimal_round(struct decimal *d, long keep)
{
    if (keep >= d->count)
        return;
    if (keep < 0) {
        d->count = 0;
        return;
    }
    char next = d->digit[keep];
    bool odd = keep > 0 && (d->digit[keep - 1] - '0') % 2;
    bool up = next > '5' || (next == '5' && (keep + 1 < d->count || odd));
    d->count = (int)keep;
    if (up) {
        int i = d->count - 1;
        while (i >= 0 && d->digit[i] == '9')
            i--;
        if (i < 0) { /* 999 -> 1000 */
            d->digit[0] = '1';
            d->count = 1;
            d->point++;
        } else {
            d->digit[i]++;
            d->count = i + 1;
        }
    }
    while (d->count > 0 && d->digit[d->count - 1] == '0')
        d->count--;
}

