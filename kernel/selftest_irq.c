/* Placeholder: the irq self-test is being written (see kernel/selftest.h). */
#include "selftest.h"

#include "kernel.h"

void selftest_irq(const struct boot_params *bp)
{
    (void)bp;
    panic("selftest irq: not written yet");
}
