/*
 * IO address spaces (kernel/iospace.c): IOSpaceControl makes IOSpace caps,
 * each naming one PCI device behind the IOMMU; IO page tables retyped from
 * untyped memory and frames (Frame: MapIO) are mapped into them, through
 * the arch_iommu_* hooks of kernel/arch.h.
 *
 * Where caps record a mapping:
 *   FRAME          cap.h's cap_frame_set_io_mapping(): device + 1 in the
 *                  ASID field, the IO bit, and the IO address in w2;
 *   IO_PAGE_TABLE  device + 1 in the ASID field (cap.h's
 *                  cap_mapped_asid()), and in w2 iova | level << 16, as a
 *                  page table does (its iova is aligned to 2 MiB at least).
 * 0 in the field means "not mapped" in both.
 */
#pragma once

#include "cap.h"
#include "errors.h"

struct invocation;

/* A frame cap with an IO mapping (cap_frame_is_io_mapped) was deleted or
 * unmapped: the mapping goes, if the device still maps the frame there. */
void iospace_remove_frame(const cap_t *frame);

/* Frame: MapIO (frame.c calls it with the frame cap's checks done). */
kerror_t iospace_map_frame(struct invocation *inv, struct kerror_info *info);

/* An IO page table cap was deleted: the table leaves its IOSpace. */
void io_page_table_cap_deleted(const cap_t *cap);
