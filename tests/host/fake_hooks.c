/*
 * The per-type hooks of the objects outside the capability core (threads,
 * IPC, address spaces, interrupts), as no-ops: the capability-core tests
 * link the core (object.c, cnode.c, cdt.c, untyped.c) alone and test what
 * it does with the hooks, not the hooks themselves (the host tests that
 * link the whole kernel, library host_kernel, and tests/ktest do).
 */
#include "asid_pool.h"
#include "fake.h"
#include "ipc.h"
#include "iospace.h"
#include "irq.h"
#include "reply.h"
#include "smp.h"
#include "thread.h"
#include "timer.h"
#include "vspace_object.h"

void tcb_destroy(const cap_t *final_cap) { (void)final_cap; }
/* Recorded for test_cspace.c, which checks when a badge family ends. */
uint64_t fake_badges_retired, fake_last_badge_retired;
void endpoint_badge_retired(const cap_t *cap)
{
    fake_badges_retired++;
    fake_last_badge_retired = cap_badge(cap);
}
void notification_destroy(const cap_t *final_cap) { (void)final_cap; }
void reply_destroy(const cap_t *final_cap) { (void)final_cap; }
/* Objects from zeroed memory have no waiters, so no waiters zombie is made
 * and these never run; the core links them (object.c). */
bool endpoint_cancel_badged_sends(struct endpoint *ep, uint64_t badge, unsigned *budget)
{
    (void)ep;
    (void)badge;
    (void)budget;
    return true;
}
bool endpoint_cancel_all(struct endpoint *ep, unsigned *budget)
{
    (void)ep;
    (void)budget;
    return true;
}
bool notification_cancel_all(struct notification *n, unsigned *budget)
{
    (void)n;
    (void)budget;
    return true;
}
void irq_handler_cap_added(const cap_t *cap) { (void)cap; }
void irq_handler_cap_deleted(const cap_t *cap) { (void)cap; }
void frame_cap_deleted(const cap_t *cap) { (void)cap; }
void page_table_cap_deleted(const cap_t *cap) { (void)cap; }
void io_page_table_cap_deleted(const cap_t *cap) { (void)cap; }
void vspace_destroy(const cap_t *final_cap) { (void)final_cap; }
void sched_context_destroy(const cap_t *final_cap) { (void)final_cap; }
/* Pools are made by ASIDControl, which the core tests do not use. */
void asid_pool_destroy(const cap_t *final_cap) { (void)final_cap; }
bool asid_pool_has_entries(const struct asid_pool *pool)
{
    (void)pool;
    return false;
}
bool asid_pool_reclaim(struct asid_pool *pool, unsigned *budget)
{
    (void)pool;
    (void)budget;
    return true;
}
void vspace_object_init(const cap_t *cap, paddr_t pa)
{
    (void)cap;
    (void)pa;
}
/* No timer here: the core's preemption points see its interrupts only
 * (fake_pending), never a deadline near. */
uint64_t timer_near_from = UINT64_MAX;
bool timer_deadline_near_slow(void)
{
    return false;
}
/* One CPU: nobody else waits for the kernel lock at a preemption point. */
bool smp_others_online;
uint32_t kernel_lock_waiting;
/* Nor a clock to set: fake_arch.c's poll looks at a deadline that never
 * comes, and the counter stands still. */
struct fake_timer fake_timer = { .deadline_ns = UINT64_MAX };
uint64_t fake_counter(void)
{
    return fake_timer.now_ns;
}
