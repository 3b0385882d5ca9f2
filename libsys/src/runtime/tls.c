/*
 * Thread-local storage blocks (see <bulkhead/tls.h> for the layout per
 * arch). The TLS template is the program's PT_TLS segment; the linker
 * script (libsys/user.ld) brackets it with symbols: initialised data from
 * __bk_tls_start to __bk_tdata_end, zero-filled data up to __bk_tls_end,
 * and its alignment in the absolute symbol __bk_tls_align.
 *
 * The offsets the compiler uses for a `_Thread_local` variable (x86-64
 * @tpoff, RISC-V %tprel) are what ld.lld makes of the same segment:
 * x86-64: offset in the segment - round_up(memsz, align), from fs base;
 * RISC-V: offset in the segment, from tp. The layout below matches both.
 */
#include <bulkhead/sys.h>
#include <bulkhead/tls.h>

_Thread_local struct bk_ipc_buffer *bk_ipc_buffer;

extern char __bk_tls_start[], __bk_tdata_end[], __bk_tls_end[], __bk_tls_align[];

static uintptr_t round_up(uintptr_t v, uintptr_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static size_t tls_memsz(void)
{
    return (size_t)((uintptr_t)__bk_tls_end - (uintptr_t)__bk_tls_start);
}

/* The template's own alignment (PT_TLS p_align). On x86-64 the data ends
 * round_up(memsz, p_align) bytes below the thread pointer: exactly what
 * ld.lld assumed for every @tpoff, so it must be this value, not a larger
 * one. */
static uintptr_t tls_align(void)
{
    uintptr_t a = (uintptr_t)__bk_tls_align;
    return a ? a : 1;
}

/* What the thread pointer is aligned to: the template's alignment, and at
 * least the control block's (which sits at or just below it). */
static uintptr_t tp_align(void)
{
    uintptr_t a = tls_align();
    return a < _Alignof(struct bk_thread) ? _Alignof(struct bk_thread) : a;
}

size_t bk_tls_block_size(void)
{
    return round_up(tls_memsz(), tls_align()) + sizeof(struct bk_thread) + tp_align();
}

static void copy_template(char *data)
{
    size_t init = (size_t)((uintptr_t)__bk_tdata_end - (uintptr_t)__bk_tls_start);
    memcpy(data, __bk_tls_start, init);
    memset(data + init, 0, tls_memsz() - init);
}

struct bk_thread *bk_tls_init(void *area, size_t size, uint64_t *thread_pointer)
{
    uintptr_t align = tp_align();
    uintptr_t start = (uintptr_t)area, end = start + size;
    if (size < bk_tls_block_size())
        return NULL;
    uintptr_t data_size = round_up(tls_memsz(), tls_align());
    /* Top of the area, rounded down so that the thread pointer is aligned. */
#if defined(__x86_64__)
    uintptr_t tp = (end - sizeof(struct bk_thread)) & ~(align - 1);
    struct bk_thread *t = (struct bk_thread *)tp;
    char *data = (char *)(tp - data_size);
#else
    uintptr_t tp = (end - data_size) & ~(align - 1);
    struct bk_thread *t = (struct bk_thread *)tp - 1;
    char *data = (char *)tp;
#endif
    uintptr_t lowest = (uintptr_t)data < (uintptr_t)t ? (uintptr_t)data : (uintptr_t)t;
    if (lowest < start)
        return NULL;
    copy_template(data);
    memset(t, 0, sizeof(*t));
    t->self = t;
    *thread_pointer = tp;
    return t;
}

long bk_tls_set_own_thread_pointer(uint64_t tcb, uint64_t thread_pointer)
{
#if defined(__x86_64__)
    return sys_tcb_write_register(tcb, BK_REG_THREAD_POINTER, thread_pointer);
#else
    (void)tcb;
    __asm__ volatile("mv tp, %0" : : "r"(thread_pointer) : "memory");
    return 0;
#endif
}
