/*
 * Generic address-space helpers on top of the arch page-table hooks: the
 * kernel reads user memory only by translating each page and going through
 * the direct map, so a bad user pointer is an error code, never a kernel
 * fault, and SMAP can stay on.
 */
#pragma once

#include "smp.h"
#include "arch.h"
#include "types.h"

struct boot_params;

/* Boot only: remembers which physical ranges are RAM. Only RAM is in the
 * kernel's direct map; a user page may also be device memory (a frame from
 * device untyped), which the kernel must never read or write through it. */
void vspace_note_ram(const struct boot_params *bp);

/* True if the page at physical `pa` is RAM (reachable through the direct map). */
bool phys_is_ram(paddr_t pa);

/* The translation epoch: advanced whenever a user translation anywhere is
 * removed or loses rights (a frame unmapped or remapped, a page table
 * unmapped, a VSpace destroyed). A kernel pointer derived from a user
 * translation (the IPC buffer, thread_ipc_buffer()) may be kept only while
 * the epoch it was taken in is still the current one: then the page is
 * still mapped there with the same rights, so its memory cannot have been
 * freed or reused (a frame's memory is reused only after all its
 * mappings are gone). New mappings do not advance it; they change no
 * translation that existed. */
extern uint64_t vspace_epoch; /* at one per nanosecond, 584 years to a wrap */

struct vspace_object;
/* A translation of `vs` was removed or lost rights: advances the epoch;
 * the arch flushed this CPU's TLB, and the other CPUs that ran `vs` flush
 * theirs before this returns (vspace_object.c). */
void vspace_translations_changed(struct vspace_object *vs);

/* True if every byte of [va, va + len) is mapped for the user with at
 * least `rights`, in RAM (device memory is never accessed by the kernel).
 * A zero-length range is always fine. */
bool vspace_user_range_ok(const arch_vspace_t *vs, vaddr_t va, size_t len, unsigned rights);

/* Copies from user memory already checked with vspace_user_range_ok(). */
void vspace_copy_from_user(const arch_vspace_t *vs, void *dst, vaddr_t va, size_t len);
