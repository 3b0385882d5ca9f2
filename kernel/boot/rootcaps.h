/*
 * Boot only: the root task's first capabilities. The kernel makes the root
 * CNode (2^BK_ROOT_CNODE_BITS slots) and gives the root task a cap to it,
 * then turns every page still free into untyped caps in that CNode. After
 * this the kernel allocates nothing: all memory is the root task's to retype.
 */
#pragma once

#include <bulkhead/abi.h>

#include "boot/boot_params.h"
#include "boot/memmap.h"
#include "thread.h"

/* Makes the root CNode from `mem`, puts its cap in slot BK_CAP_ROOT_CNODE and
 * a copy in the thread's CSpace root, the thread's TCB cap in slot
 * BK_CAP_ROOT_TCB and its VSpace cap in BK_CAP_ROOT_VSPACE, the first ASID
 * pool (the VSpace holding its first entry) in BK_CAP_ROOT_ASID_POOL and
 * ASIDControl in BK_CAP_ASID_CONTROL. Panics if memory runs out. */
void rootcaps_create_cspace(struct thread *t, cap_t tcb_cap, cap_t vspace_cap,
                            struct memmap *mem);

/* Hands every free range of `mem` to the root task as untyped caps (the
 * largest naturally aligned power-of-two blocks that fit), in root CNode
 * slots from BK_CAP_FIRST_UNTYPED, then the device memory (the physical
 * address space that is not RAM, reserved, or a device the kernel drives)
 * as device untyped caps, and describes them all in `bi`. `mem` must not be
 * used afterwards. */
void rootcaps_create_untyped(struct memmap *mem, const struct boot_params *bp,
                             struct bk_bootinfo *bi);
