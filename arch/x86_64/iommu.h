/*
 * The x86-64 port's IOMMU (Intel VT-d, "Intel Virtualization Technology
 * for Directed I/O", rev. 4.1): iommu.c finds the remapping units from
 * ACPI's DMAR at boot, drives their registers (invalidation, translation
 * enable, fault recording); iommu_tables.c keeps the root and context
 * tables and walks the second-level tables that IO page table objects
 * become (the arch_iommu_* hooks of kernel/arch.h).
 */
#pragma once

#include "bk_acpi.h" /* kernel/parse/bk_acpi.h */
#include "types.h"

struct boot_params;

#define IOMMU_MAX_UNITS 4

/* Boot, while the trampoline's map of 0..4 GiB is live: reads the checked
 * DMAR `dmar` (NULL: the machine has none, said on the console), keeps
 * its units and adds their register pages to `bp`'s device regions (the
 * kernel's own, never handed to user space). A bad table is refused with
 * a line saying why, and the machine runs without an IOMMU. */
void x86_iommu_find(const struct acpi_table *dmar, const char *why_none,
                    struct boot_params *bp);

/* Boot, after paging: points every unit found at the (empty) root table,
 * invalidates its caches, routes its fault event to `vector` on this CPU
 * (reported to the kernel as interrupt line `line`, one past the IOAPIC's
 * pins) and turns translation on. From then on every device DMA is blocked until
 * an IO space is built for the device. A unit that cannot translate as the
 * kernel needs is reported and the machine runs without an IOMMU. */
void x86_iommu_init(unsigned vector, unsigned line);

/* Whether translation is on (x86_iommu_init succeeded). */
bool x86_iommu_on(void);

/* The fault event interrupt (vector given to x86_iommu_init): logs, keeps
 * (arch_iommu_take_fault) and clears every fault record of every unit.
 * Returns true with the fault line in *line when the kernel must be told
 * (the line has a handler and is not in service); the events are masked
 * then until x86_iommu_line_ack(). */
bool x86_iommu_fault_interrupt(unsigned *line);

/* The fault line's arch_irq_enable/disable/ack (ioapic.c forwards them). */
void x86_iommu_line_enable(void);
void x86_iommu_line_disable(void);
void x86_iommu_line_ack(void);

/* Register-level services iommu_tables.c uses after changing tables:
 * a changed context entry, a changed (or, in caching mode, added)
 * second-level entry; and the cache line flush for a non-coherent walk. */
void x86_iommu_context_changed(void);
void x86_iommu_mapping_changed(bool added);
void x86_iommu_flush_entry(const void *entry);

/* Whether requester id `rid` on segment 0 is in the scope of a unit. */
bool x86_iommu_in_scope(unsigned rid);

/* Domains the units support (the smallest), for domain ids. */
unsigned x86_iommu_domain_count(void);

/* The root table's physical address, made by iommu_tables.c. */
paddr_t x86_iommu_root_table(void);
