/* SPDX-License-Identifier: MIT */
/*
 * The one structure a loader hands the VMM. The VMM does not know whether a
 * Linux module or a UEFI application started it; everything it needs to know
 * about the platform is here, and it copies what it keeps into its own memory.
 */
#ifndef THINVMM_HANDOFF_H
#define THINVMM_HANDOFF_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define TVMM_HANDOFF_VERSION 2u
#define TVMM_MAX_CHUNKS	     32u
#define TVMM_MAX_MEMRANGES   64u
#define TVMM_CHUNK_SHIFT     21u /* 2 MiB, naturally aligned */

/* The image starts with this header (see thinvmm/link.ld). */
#define TVMM_IMAGE_MAGIC "ThinVMM\0"
struct tvmm_image_header {
	char magic[8];
	uint32_t version; /* TVMM_HANDOFF_VERSION this image speaks */
	uint32_t header_size;
	uint64_t file_size;  /* bytes of the flat image */
	uint64_t mem_size;   /* bytes including .bss */
	uint64_t entry;	     /* offset of tvmm_entry() */
	uint64_t rela_start; /* offsets of the R_X86_64_RELATIVE table */
	uint64_t rela_end;
};

enum tvmm_mem_type {
	TVMM_MEM_RAM = 1,
	TVMM_MEM_RESERVED = 2,
	TVMM_MEM_ACPI = 3,
	TVMM_MEM_NVS = 4,
	TVMM_MEM_UNUSABLE = 5,
	TVMM_MEM_PMEM = 7,
};

struct tvmm_memrange {
	uint64_t base, size;
	uint32_t type; /* enum tvmm_mem_type */
	uint32_t pad;
};

enum tvmm_console_kind {
	TVMM_CONSOLE_NONE = 0,
	TVMM_CONSOLE_UART = 1,	   /* 16550 at io_port, 115200 8N1 */
	TVMM_CONSOLE_DEBUGCON = 2, /* bytes written to io_port (QEMU isa-debugcon) */
};

struct tvmm_handoff {
	uint32_t version; /* TVMM_HANDOFF_VERSION */
	uint32_t size;	  /* sizeof(struct tvmm_handoff) */
	/*
	 * The VMM's memory: nchunks physically contiguous, naturally aligned
	 * 2 MiB chunks, mapped virtually contiguous at image_va in the address
	 * space the loader calls from. The image was copied to its start.
	 */
	uint64_t image_va;
	uint32_t nchunks;
	uint32_t max_cpus; /* CPU numbers the loader may pass are < max_cpus */
	uint64_t chunk_pa[TVMM_MAX_CHUNKS];
	/* The platform's physical memory map (firmware's view). */
	uint32_t nmem;
	uint32_t console_kind; /* enum tvmm_console_kind */
	uint32_t console_port;
	uint32_t pad;
	struct tvmm_memrange mem[TVMM_MAX_MEMRANGES];
	/*
	 * A copy of the ACPI DMAR table in loader memory (0, 0: none), kept
	 * until INIT returns; the VMM copies it before parsing it (iommu/).
	 */
	uint64_t dmar_pa;
	uint32_t dmar_len;
	uint32_t pad2;
	/* Out: why INIT or LAUNCH failed, NUL-terminated, for the loader's log. */
	char error[160];
};

/*
 * long tvmm_entry(cmd, arg, guest_rsp, guest_rip): the System V ABI, called
 * at image_va + entry, never from a CPU that already runs under the VMM.
 *
 * TVMM_CMD_INIT: arg = struct tvmm_handoff *, kept by the loader until
 * unload. Once, on one CPU.
 * TVMM_CMD_RELEASE: before the loader frees the VMM's memory, with no CPU
 * under the VMM: turns off what would outlive it (DMA remapping whose
 * tables live in that memory). TVMM_L_BUSY while a CPU still runs under it:
 * the memory must then not be freed.
 * TVMM_CMD_LAUNCH: arg = CPU number; on that CPU with interrupts off. On
 * success the call does not return: the CPU continues as a guest at
 * guest_rip with RSP = guest_rsp, RAX = 0, every other register as at the
 * call, interrupts still off. Both must point into loader-owned memory (the
 * VMM's own pages vanish from the guest). If the hardware refuses the state
 * after the switch, the CPU comes back the same way with RAX = TVMM_L_HWFAIL.
 * Any other failure returns normally with a negative code and nothing changed.
 */
enum tvmm_cmd {
	TVMM_CMD_INIT = 1,
	TVMM_CMD_LAUNCH = 2,
	TVMM_CMD_RELEASE = 3,
};

/* Return values of tvmm_entry: 0 or a negative TVMM_L* code. */
#define TVMM_L_OK	 0
#define TVMM_L_EINVAL	 (-1) /* bad handoff or command */
#define TVMM_L_ENOMEM	 (-2) /* VMM memory exhausted */
#define TVMM_L_NOSUPPORT (-3) /* CPU lacks the virtualization feature */
#define TVMM_L_DISABLED	 (-4) /* feature disabled by firmware (VM_CR.SVMDIS, ...) */
#define TVMM_L_BUSY	 (-5) /* already on (another hypervisor, or twice) */
#define TVMM_L_HWFAIL	 (-6) /* VMRUN/VMLAUNCH refused the state */
#define TVMM_L_NOTINIT	 (-7) /* LAUNCH before INIT */

#endif
