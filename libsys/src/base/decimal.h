/*
 * The exact decimal expansion of a double, with integers only (private to
 * libsys's printf engine, format.c; decimal.c implements it).
 *
 * A finite double is m * 2^e with m below 2^53, so its decimal expansion
 * always ends: at most 767 significant digits (for the largest
 * subnormal), 309 before the point at most. bk__decimal_from_double() writes
 * them all; printing then only rounds this exact string, which is why
 * every digit printf shows is right, for any value and precision.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define DECIMAL_MAX 800 /* 767 significant digits at most, plus a chunk */

/* A non-negative value as its significant digits D1 D2 ... Dcount and the
 * place of the decimal point: value = 0.D1D2...Dcount * 10^point. */
struct decimal {
    int count;               /* digits held, no trailing zeros; 0: the value is 0 */
    int point;               /* 1 for zero */
    char digit[DECIMAL_MAX]; /* ASCII '0'-'9'; digit[0] != '0' */
};

/* The exact decimal value of the finite double with the given biased
 * exponent and fraction fields (IEEE 754 binary64). */
void bk__decimal_from_double(struct decimal *d, unsigned exponent, uint64_t fraction);

/* Keeps the first `keep` digits, rounding half to even on what is dropped.
 * keep is 0 or less when the precision ends before the first significant
 * digit (%.2f of 0.004): the value rounds to zero, or up to one unit of
 * the last kept place. */
void bk__decimal_round(struct decimal *d, long keep);
