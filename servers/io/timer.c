/*
 * Waking the server when a limit lapses (docs/io.md, "Limits need a
 * clock"). The scheduler never lets a tenant past its limit, so requests
 * can wait in it with the device idle; then nothing else would wake the
 * server (no completion, perhaps no kick). The kernel has no timer a
 * thread can sleep on, so a helper thread at the lowest priority polls the
 * clock until the deadline and signals the server's bound notification
 * with TIMER_BIT. It runs only while armed, and below everything else: it
 * takes idle time, never anybody's.
 */
#include <bulkhead/sync.h>
#include <bulkhead/threads.h>

#include "io.h"

#define TIMER_PRIORITY 1

static uint64_t deadline = UINT64_MAX; /* ns; read by the helper on each poll */
static bool armed;
static uint64_t wake_helper; /* the helper waits on it */
static uint64_t wake_server; /* our bound notification, badged TIMER_BIT */

static void *helper(void *arg)
{
    (void)arg;
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(wake_helper, &m);
        while (debug_time_ns() < __atomic_load_n(&deadline, __ATOMIC_ACQUIRE)) {
            m = (struct bk_msg){ 0 };
            sys_yield(0, &m);
        }
        m = (struct bk_msg){ 0 };
        sys_send(wake_server, &m);
    }
    return NULL;
}

const char *timer_start(uint64_t server_notification_badged)
{
    wake_server = server_notification_badged;
    wake_helper = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    bk_thread_handle_t *h;
    if (!wake_helper || bk_sync_init() != 0)
        return "no memory for the limit timer";
    bk_objects_set_lock(bk_runtime_enter, bk_runtime_leave);
    if (bk_thread_create(&h, helper, NULL, TIMER_PRIORITY) != 0)
        return "cannot start the limit timer's thread";
    return NULL;
}

void timer_arm(uint64_t at)
{
    if (armed && at >= deadline)
        return;
    __atomic_store_n(&deadline, at, __ATOMIC_RELEASE);
    if (!armed) {
        armed = true;
        struct bk_msg m = { 0 };
        sys_send(wake_helper, &m);
    }
}

void timer_fired(void)
{
    armed = false;
    __atomic_store_n(&deadline, UINT64_MAX, __ATOMIC_RELEASE);
}
