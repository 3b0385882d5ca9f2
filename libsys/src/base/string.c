/*
 * Freestanding string functions for user programs (the compiler may emit
 * calls to the mem* ones by itself). Copies move a word at a time when both
 * pointers allow it.
 */
#include <bulkhead/sys.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    return memmove(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    if (d < s || d >= s + n) {
        if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
            for (; n >= 8; n -= 8, d += 8, s += 8)
                *(uint64_t *)(void *)d = *(const uint64_t *)(const void *)s;
        }
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        for (size_t i = n; i > 0; i--)
            d[i - 1] = s[i - 1];
    }
    return dst;
}

/* Whole words once `dst` is aligned, eight a pass: servers zero their
 * records with it (the memory server a 2 KiB account per spawn), and a
 * byte loop costs about 8x the instructions. */
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    for (; n && ((uintptr_t)d & 7); n--)
        *d++ = (unsigned char)c;
    uint64_t word = (unsigned char)c * 0x0101010101010101ull;
    for (; n >= 64; n -= 64, d += 64) {
        uint64_t *w = (uint64_t *)(void *)d;
        w[0] = w[1] = w[2] = w[3] = w[4] = w[5] = w[6] = w[7] = word;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(uint64_t *)(void *)d = word;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    for (; *a && *a == *b; a++, b++)
        ;
    return (unsigned char)*a - (unsigned char)*b;
}
