/* SPDX-License-Identifier: MIT */
/*
 * The guest-visible ABI of thinvmm: hypercall numbers, error codes and the
 * structures the VMM writes into guest buffers. Shared, byte for byte, by
 * the VMM, the Linux loader and the guest tools. docs/hypercalls.md is the
 * prose version of this file; change both together.
 */
#ifndef THINVMM_ABI_H
#define THINVMM_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define TVMM_ABI_MAJOR	 1
#define TVMM_ABI_MINOR	 0
#define TVMM_ABI_VERSION ((TVMM_ABI_MAJOR << 16) | TVMM_ABI_MINOR)

/* CPUID leaf 0x40000000: EBX:ECX:EDX spell "ThinVMM" padded with NULs. */
#define TVMM_CPUID_LEAF 0x40000000u
#define TVMM_SIG_EBX	0x6e696854u /* "Thin" */
#define TVMM_SIG_ECX	0x004d4d56u /* "VMM\0" */
#define TVMM_SIG_EDX	0x00000000u

/*
 * Hypercall: VMMCALL (AMD) or VMCALL (Intel) at CPL 0.
 *   in:  RAX = call number, RBX, RCX, RDX, RSI = arguments
 *   out: RAX = status (0 or a negative TVMM_E*), RBX, RCX, RDX = results
 * Calls from CPL > 0 get #UD, as the instruction would without a VMM.
 */
#define TVMM_HC_BASE	0x54560000u /* "TV" */
#define TVMM_HC_VERSION (TVMM_HC_BASE + 0)
#define TVMM_HC_STATUS	(TVMM_HC_BASE + 1)
#define TVMM_HC_LOG	(TVMM_HC_BASE + 2)
#define TVMM_HC_DEVIRT	(TVMM_HC_BASE + 3)
#define TVMM_HC_LAST	TVMM_HC_DEVIRT

/* Status codes in RAX, as signed 64-bit values. */
#define TVMM_OK	       0
#define TVMM_ENOSYS    (-1) /* unknown call number */
#define TVMM_EINVAL    (-2) /* reserved bits or flags set, bad value */
#define TVMM_EFAULT    (-3) /* guest-physical range not guest RAM */
#define TVMM_ERANGE    (-4) /* length zero, too large, or wraps */
#define TVMM_EPERM     (-5) /* range touches VMM memory */
#define TVMM_EDENIED   (-6) /* not allowed now (locked, CPL) */
#define TVMM_ETOOSMALL (-7) /* buffer too small; RBX = bytes needed */
#define TVMM_E_MIN     TVMM_ETOOSMALL

/* Largest buffer any call accepts, so one call stays bounded in time. */
#define TVMM_HC_MAX_BUF (1u << 20)

/* TVMM_HC_VERSION results. */
#define TVMM_BACKEND_SVM 1u
#define TVMM_BACKEND_VMX 2u

/* Vendor-neutral exit reasons, counted per CPU. */
enum tvmm_exit_reason {
	TVMM_EXIT_CPUID,
	TVMM_EXIT_HYPERCALL,
	TVMM_EXIT_MSR_READ,
	TVMM_EXIT_MSR_WRITE,
	TVMM_EXIT_NPF,
	TVMM_EXIT_VIRT_INSN,
	TVMM_EXIT_SHUTDOWN,
	TVMM_EXIT_INIT,
	TVMM_EXIT_CR_ACCESS,
	TVMM_EXIT_DT_ACCESS,
	TVMM_EXIT_EXCEPTION,
	TVMM_EXIT_XSETBV,
	TVMM_EXIT_INVD,
	TVMM_EXIT_OTHER,
	TVMM_EXIT_NR
};

#define TVMM_EXIT_NAMES                                                                            \
	{                                                                                          \
		"cpuid", "hypercall", "msr_read", "msr_write", "npf", "virt_insn", "shutdown",     \
		    "init", "cr_access", "dt_access", "exception", "xsetbv", "invd", "other"       \
	}

#define TVMM_MAX_CPUS 64

/* TVMM_HC_STATUS(gpa=RBX, len=RCX): fills struct tvmm_status, RBX = bytes. */
struct tvmm_status_cpu {
	uint32_t cpu;	  /* loader's CPU number */
	uint32_t apic_id; /* initial APIC ID */
	uint32_t state;	  /* TVMM_CPU_* */
	uint32_t pad;
	uint64_t exits_total;
	uint64_t exits[TVMM_EXIT_NR];
};

#define TVMM_CPU_OFF	 0u
#define TVMM_CPU_RUNNING 1u

struct tvmm_status {
	uint32_t abi_version;
	uint32_t size;	  /* bytes written */
	char version[32]; /* NUL-terminated build version */
	uint32_t backend; /* TVMM_BACKEND_* */
	uint32_t ncpus;	  /* entries in cpu[] */
	uint32_t nvirt;	  /* CPUs currently virtualized */
	uint32_t flags;
	uint64_t mem_total;			  /* bytes of memory owned by the VMM */
	uint64_t mem_used;			  /* bytes of it in use */
	uint64_t nested_pages;			  /* page-table pages of the nested (NPT/EPT) map */
	uint64_t nested_1g, nested_2m, nested_4k; /* leaf mappings by size */
	uint64_t log_bytes;			  /* bytes ever written to the log */
	uint64_t image_hash; /* FNV-1a of the VMM's code and constant data, now */
	uint32_t nchunks;    /* the VMM's memory: 2 MiB chunks at chunk_pa[] */
	uint32_t pad;
	uint64_t chunk_pa[32];
	struct tvmm_status_cpu cpu[];
};

/*
 * TVMM_HC_LOG(gpa=RBX, len=RCX, cursor=RDX): copies log text starting at
 * byte offset `cursor` of the log stream. Out: RBX = bytes copied,
 * RCX = next cursor, RDX = bytes lost (overwritten before this read).
 */

#endif
