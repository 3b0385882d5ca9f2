/*
 * The freestanding string functions. The compiler may emit calls to
 * memcpy/memset/memmove/memcmp on its own, so these must exist in every
 * freestanding image; user programs get their own copy in libsys.
 */
#include "kernel.h"

/* A word that may alias any object: the word loops below read and write
 * memory of every type. */
typedef uint64_t __attribute__((may_alias)) alias_word_t;

/* memcpy and memset move whole words once `dst` (and for memcpy `src`) is
 * word aligned: the kernel zeroes retyped objects and error records with
 * them, and a byte loop costs 8x the instructions. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
        for (; n && ((uintptr_t)d & 7); n--)
            *d++ = *s++;
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(alias_word_t *)d = *(const alias_word_t *)s;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

/* Retype zeroes objects with it a step at a time (kernel/untyped.c), so
 * its speed is both throughput and interrupt latency: eight words a pass
 * cost 11 instructions on RV64 (8 stores, 2 adds, a branch), where a word
 * a pass cost 4 each. */
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    for (; n && ((uintptr_t)d & 7); n--)
        *d++ = (unsigned char)c;
    alias_word_t word = (unsigned char)c * 0x0101010101010101ull;
    for (; n >= 64; n -= 64, d += 64) {
        alias_word_t *w = (alias_word_t *)d;
        w[0] = w[1] = w[2] = w[3] = w[4] = w[5] = w[6] = w[7] = word;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(alias_word_t *)d = word;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) {
        if (*x != *y)
            return *x - *y;
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}
