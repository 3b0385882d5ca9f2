/*
 * A minimal loader for seL4 on QEMU's RISC-V virt machine, in place of seL4's
 * elfloader (which needs seL4_tools and more host tools than the kernel): it
 * does only what seL4's kernel entry (src/arch/riscv/head.S, init_kernel)
 * expects of whatever starts it.
 *
 * QEMU loads seL4's kernel.elf at its physical addresses and the root task's
 * ELF file, unparsed, at ROOTTASK_FILE (tools/bench/sel4.py passes both with
 * -device loader); OpenSBI enters this loader in S-mode. The loader
 *   1. copies the root task's PT_LOAD segments to UI_PADDR (bss zeroed), the
 *      "user image" region the kernel reserves and maps for the root task;
 *   2. turns on Sv39 paging with two 1 GiB pages: the kernel's virtual window
 *      onto its physical base, and the loader itself identity-mapped (it is
 *      running when satp changes);
 *   3. lets user mode read the counters (scounteren: cycle, time, instret; seL4
 *      never writes it, so the root task can use rdinstret as Bulkhead's
 *      bench does);
 *   4. copies the device tree QEMU made to DTB_PADDR, below the user image:
 *      seL4 wants its reserved regions (kernel, device tree, user image) in
 *      ascending order, and QEMU puts the tree near the top of RAM;
 *   5. jumps to the kernel's entry with a0-a5 = user image start and end
 *      (physical), physical minus virtual offset, user entry (virtual), and
 *      the device tree's address and size.
 * KERNEL_ENTRY, KERNEL_VBASE, KERNEL_PBASE (1 GiB aligned), ROOTTASK_FILE,
 * DTB_PADDR and UI_PADDR come from the command line (sel4.py reads the
 * kernel's off kernel.elf).
 */
#include <stdint.h>

#define PAGE_SIZE 4096ul
#define GIGA (1ul << 30)
#define PTE_V 0x1ul
#define PTE_R 0x2ul
#define PTE_W 0x4ul
#define PTE_X 0x8ul
#define PTE_A 0x40ul
#define PTE_D 0x80ul
#define SATP_SV39 (8ul << 60)
#define PT_LOAD 1
#define EM_RISCV 243
#define UART_THR ((volatile unsigned char *)0x10000000ul) /* QEMU virt NS16550 */
#define TEST_DEVICE ((volatile uint32_t *)0x100000ul)      /* QEMU virt power off */
#define TEST_FAIL 0x13333u                                 /* exit code 1 */

struct elf64_header {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

unsigned char loader_stack[4096] __attribute__((aligned(16)));
static uint64_t root_table[512] __attribute__((aligned(4096)));

void load(uint64_t hart, uint64_t dtb);

static void copy_segments(const unsigned char *file, uint64_t vstart, uint64_t *vend)
{
    const struct elf64_header *eh = (const void *)file;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct elf64_phdr *ph = (const void *)(file + eh->phoff + i * eh->phentsize);
        if (ph->type != PT_LOAD) {
            continue;
        }
        unsigned char *dst = (unsigned char *)(UI_PADDR + (ph->vaddr - vstart));
        for (uint64_t b = 0; b < ph->memsz; b++) {
            dst[b] = b < ph->filesz ? file[ph->offset + b] : 0;
        }
        if (ph->vaddr + ph->memsz > *vend) {
            *vend = ph->vaddr + ph->memsz;
        }
    }
}

static uint64_t lowest_vaddr(const unsigned char *file)
{
    const struct elf64_header *eh = (const void *)file;
    uint64_t low = ~0ul;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct elf64_phdr *ph = (const void *)(file + eh->phoff + i * eh->phentsize);
        if (ph->type == PT_LOAD && ph->vaddr < low) {
            low = ph->vaddr;
        }
    }
    return low & ~(PAGE_SIZE - 1);
}

/* Paging is still off: the UART and the test device are at their physical
 * addresses. */
static void __attribute__((noreturn)) fail(const char *why)
{
    for (const char *c = "sel4 loader: "; *c; c++) {
        *UART_THR = (unsigned char)*c;
    }
    for (; *why; why++) {
        *UART_THR = (unsigned char)*why;
    }
    *UART_THR = '\n';
    for (;;) {
        *TEST_DEVICE = TEST_FAIL;
    }
}

static void check_elf(const struct elf64_header *eh)
{
    static const unsigned char magic[4] = { 0x7f, 'E', 'L', 'F' };
    for (unsigned i = 0; i < 4; i++) {
        if (eh->ident[i] != magic[i]) {
            fail("the root task file is not an ELF file");
        }
    }
    if (eh->ident[4] != 2 || eh->machine != EM_RISCV || eh->phentsize != sizeof(struct elf64_phdr)) {
        fail("the root task file is not a 64-bit RISC-V ELF file");
    }
}

static uint64_t gigapage(uint64_t paddr)
{
    return ((paddr >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
}

void load(uint64_t hart, uint64_t dtb)
{
    (void)hart;
    const unsigned char *file = (const unsigned char *)ROOTTASK_FILE;
    const struct elf64_header *eh = (const void *)file;
    check_elf(eh);
    uint64_t entry = eh->entry;
    uint64_t vstart = lowest_vaddr(file), vend = vstart;
    if (vstart == (~0ul & ~(PAGE_SIZE - 1))) {
        fail("the root task file has no loadable segment");
    }
    copy_segments(file, vstart, &vend);
    uint64_t ui_end = UI_PADDR + ((vend - vstart + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
    /* The device tree header's totalsize, big-endian at offset 4. */
    const unsigned char *d = (const unsigned char *)dtb;
    uint64_t dtb_size = (uint64_t)d[4] << 24 | (uint64_t)d[5] << 16 | (uint64_t)d[6] << 8 | d[7];
    unsigned char *dtb_copy = (unsigned char *)DTB_PADDR;
    for (uint64_t b = 0; b < dtb_size; b++) {
        dtb_copy[b] = d[b];
    }

    uint64_t self = (uint64_t)&load & ~(GIGA - 1);
    root_table[(self >> 30) & 511] = gigapage(self);
    root_table[(KERNEL_VBASE >> 30) & 511] = gigapage(KERNEL_PBASE);
    __asm__ volatile("csrw scounteren, %0" : : "r"(7ul));
    uint64_t satp = SATP_SV39 | ((uint64_t)root_table >> 12);
    __asm__ volatile("fence.i; csrw satp, %0; sfence.vma" : : "r"(satp) : "memory");

    register uint64_t a0 __asm__("a0") = UI_PADDR;
    register uint64_t a1 __asm__("a1") = ui_end;
    register uint64_t a2 __asm__("a2") = UI_PADDR - vstart;
    register uint64_t a3 __asm__("a3") = entry;
    register uint64_t a4 __asm__("a4") = DTB_PADDR;
    register uint64_t a5 __asm__("a5") = dtb_size;
    __asm__ volatile("jr %6" : : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5),
                     "r"(KERNEL_ENTRY) : "memory");
    __builtin_unreachable();
}
