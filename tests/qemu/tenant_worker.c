/*
 * A tenant the tenant manager creates (tests/qemu/tenants_test.c): the
 * program "worker". It touches 32 KiB of its stack (backed on demand by
 * the memory server, so charged to its account: memory the manager's
 * list shows and Kill returns), says hello on the channel cap the manager
 * gave it (without waiting: nobody may be listening), then spins for
 * good, using the CPU its quota allows.
 */
#include <bulkhead/sys.h>

#define CHANNEL_SLOT BK_PROCESS_FIRST_FREE_SLOT
#define HELLO 0x201 /* word 0: the bytes of stack it touched */
#define TOUCHED (32 * 1024)

static uint64_t touch_stack(void)
{
    volatile uint8_t block[TOUCHED];
    for (unsigned i = 0; i < TOUCHED; i += 4096)
        block[i] = (uint8_t)i;
    return block[0] + TOUCHED;
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    struct bk_msg m = { .info = BK_MSGINFO(1, 0, 0, HELLO) };
    m.mr[0] = touch_stack();
    sys_nbsend(CHANNEL_SLOT, &m);
    for (volatile uint64_t spins = 0;; spins++)
        ;
}
