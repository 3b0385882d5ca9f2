/* Placeholder: the vspace self-test is being written (see kernel/selftest.h). */
#include "selftest.h"

#include "kernel.h"

void selftest_vspace(struct memmap *mem)
{
    (void)mem;
    panic("selftest vspace: not written yet");
}
