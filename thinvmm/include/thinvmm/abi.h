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

#include <thinvmm/policy.h>

#define TVMM_ABI_MAJOR	 1
#define TVMM_ABI_MINOR	 3
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
#define TVMM_HC_BASE	  0x54560000u /* "TV" */
#define TVMM_HC_VERSION	  (TVMM_HC_BASE + 0)
#define TVMM_HC_STATUS	  (TVMM_HC_BASE + 1)
#define TVMM_HC_LOG	  (TVMM_HC_BASE + 2)
#define TVMM_HC_DEVIRT	  (TVMM_HC_BASE + 3)
#define TVMM_HC_LOCK	  (TVMM_HC_BASE + 4)
#define TVMM_HC_EVENTS	  (TVMM_HC_BASE + 5)
#define TVMM_HC_TPMLOG	  (TVMM_HC_BASE + 6)
#define TVMM_HC_LOCK_XLAT (TVMM_HC_BASE + 7)
#define TVMM_HC_LAST	  TVMM_HC_LOCK_XLAT

/* Status codes in RAX, as signed 64-bit values. */
#define TVMM_OK	       0
#define TVMM_ENOSYS    (-1) /* unknown call number */
#define TVMM_EINVAL    (-2) /* reserved bits or flags set, bad value */
#define TVMM_EFAULT    (-3) /* guest-physical range not guest RAM */
#define TVMM_ERANGE    (-4) /* length zero, too large, or wraps */
#define TVMM_EPERM     (-5) /* range touches VMM memory */
#define TVMM_EDENIED   (-6) /* not allowed now (locked, CPL) */
#define TVMM_ETOOSMALL (-7) /* buffer too small; RBX = bytes needed */
#define TVMM_ENOMEM    (-8) /* the VMM has no memory left for this */
#define TVMM_E_MIN     TVMM_ENOMEM

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

/* tvmm_status.flags */
#define TVMM_STATUS_LOCKED 1u /* a policy is applied and locked */
/* LOCK_XLAT ran, but this CPU's page walker cannot work on read-only page tables (emulators). */
#define TVMM_STATUS_XLAT_UNSUPPORTED 2u

/* tvmm_status.dma_state */
#define TVMM_DMA_NONE	   0u /* no IOMMU: devices reach all memory */
#define TVMM_DMA_PROTECTED 1u /* the VMM's tables translate every device's DMA */
#define TVMM_DMA_GUEST	   2u /* the guest uses the IOMMU: left to it, unprotected */
#define TVMM_DMA_FAILED	   3u /* an IOMMU the VMM cannot use (dma_why says why) */

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
	/* DMA protection (1.3) */
	uint32_t dma_state;	    /* TVMM_DMA_* */
	uint32_t dma_units;	    /* IOMMU units the VMM drives */
	uint64_t dma_faults;	    /* device accesses the IOMMU blocked, recorded */
	uint64_t dma_lost;	    /* faults the hardware dropped (its records were full) */
	uint64_t dma_table_pages;   /* root, context and second-level table pages */
	uint64_t dma_invalidations; /* IOTLB flushes (one at enable, one per lock) */
	char dma_why[64];	    /* why unprotected, NUL-terminated */
	/* Translation integrity (1.3): ranges locked by LOCK_XLAT, page-table pages guarded. */
	uint32_t xlat_ranges;
	uint32_t xlat_pages;
	struct tvmm_status_cpu cpu[];
};

/*
 * TVMM_HC_LOCK(gpa=RBX, len=RCX, flags=RDX=0): applies the resolved policy
 * at gpa (thinvmm/policy.h, memory rules as guest-physical ranges) and
 * locks it; every CPU takes it at its next exit. The compiled policy it
 * came from may follow it in the buffer (1.2): checked against it, and
 * measured into PCR18 instead. RBX = the number of the first bad rule on
 * TVMM_EINVAL/EFAULT/EPERM (~0 for the header). After a lock, LOCK and
 * DEVIRT return TVMM_EDENIED and are recorded as events.
 *
 * TVMM_HC_EVENTS(gpa=RBX, len=RCX, from=RDX): struct tvmm_events, then the
 * records still held whose seq >= from, oldest first, as many as fit.
 * RBX = bytes written.
 */
enum tvmm_event_kind {
	TVMM_EV_MEM = 1,       /* access to protected memory */
	TVMM_EV_CR = 2,	       /* write to a pinned control-register bit */
	TVMM_EV_MSR_READ = 3,  /* read of a watched MSR */
	TVMM_EV_MSR_WRITE = 4, /* write of a watched MSR */
	TVMM_EV_DT = 5,	       /* LIDT / LGDT */
	TVMM_EV_HYPERCALL = 6, /* a call refused after the lock (index = call number) */
	TVMM_EV_INIT = 7,      /* INIT signal to a CPU after the lock */
	TVMM_EV_EXCEPTION = 8, /* a trapped exception (index = vector, value = error code) */
	/*
	 * DMA the IOMMU blocked (index = PCI source id, value = fault reason,
	 * gpa = the page, rip 0), or a CPU access to the IOMMU's registers
	 * (index = TVMM_DMA_SRC_CPU, gpa = the register), or faults the IOMMU
	 * dropped because its records were full (index = TVMM_DMA_SRC_LOST,
	 * gpa = the unit's registers).
	 */
	TVMM_EV_DMA = 9,
	/*
	 * A write that would change a guarded page-table entry (LOCK_XLAT): gpa =
	 * the entry, index = its number in its table, value = what it would have
	 * become (0 for a write that is not a plain store: #GP).
	 */
	TVMM_EV_XLAT = 10,
};
#define TVMM_DMA_SRC_CPU  0xffffffffu
#define TVMM_DMA_SRC_LOST 0xfffffffeu /* faults the IOMMU dropped (its records were full) */

/* Names of enum tvmm_event_kind and enum tvmm_action, by value (0: unknown). */
#define TVMM_EV_KIND_COUNT 11u
#define TVMM_EV_KIND_NAMES                                                                         \
	{                                                                                          \
		"?", "memory", "cr", "msr-read", "msr-write", "dt", "hypercall", "init",           \
		    "exception", "dma", "translation"                                              \
	}
#define TVMM_ACT_COUNT 4u
#define TVMM_ACT_NAMES                                                                             \
	{                                                                                          \
		"?", "monitor", "deny", "halt"                                                     \
	}

#define TVMM_EV_NO_RULE 0xffffu /* the VMM's own rule (lock, INIT), not the policy's */
#define TVMM_EV_NO_GVA	(~0ull)

struct tvmm_event {
	uint64_t seq;	/* 1, 2, ... in order of first hit */
	uint64_t count; /* hits folded into this record (same cpu, kind, rule, rip, address) */
	uint64_t rip;	/* guest RIP of the first hit */
	uint64_t gpa;	/* memory: guest-physical address; otherwise 0 */
	uint64_t gva;	/* guest-virtual address if the hardware told, else TVMM_EV_NO_GVA */
	uint64_t value; /* value the guest tried to write (CR3: the new CR3), or error code */
	uint32_t cpu;
	uint32_t index; /* MSR, CR number, TVMM_DT_* or hypercall number */
	uint16_t rule;	/* the rule's id from the policy, or TVMM_EV_NO_RULE */
	uint8_t kind;	/* enum tvmm_event_kind */
	uint8_t access; /* memory: TVMM_PERM_* attempted */
	uint8_t action; /* TVMM_ACT_* applied */
	uint8_t pad[3];
	char rule_name[TVMM_POL_NAME_LEN]; /* the rule's name, "" for TVMM_EV_NO_RULE */
};

/* Per-rule counters kept by the VMM: its own, then up to 63 rule ids (more are not counted). */
#define TVMM_EVENTS_STATS 64u

struct tvmm_events {
	uint64_t hits;		/* violations ever, counted before folding */
	uint64_t records;	/* records ever made: the newest seq */
	uint64_t oldest;	/* oldest seq still held (records before it were overwritten) */
	uint32_t n;		/* records in rec[] */
	uint32_t size;		/* bytes written */
	uint32_t locked;	/* 1 once a policy is locked */
	uint32_t rules;		/* rules in the locked policy */
	uint64_t nested_splits; /* large nested leaves split to apply it */
	uint64_t patches;	/* writes let through as jump-label patches (not violations) */
	uint32_t sites;		/* jump-label sites the VMM knows */
	uint32_t nstats;	/* entries used in stats[] */
	char policy[TVMM_POL_NAME_LEN]; /* its name */
	/*
	 * Hits per rule since the lock, never overwritten: the records above
	 * can be pushed out of the ring, these counts cannot. stats[0] is the
	 * VMM's own (id TVMM_EV_NO_RULE), then one per rule id in policy order.
	 */
	struct tvmm_rule_stat {
		uint64_t hits;
		uint16_t id;
		uint8_t pad[6];
		char name[TVMM_POL_NAME_LEN];
	} stats[TVMM_EVENTS_STATS];
	struct tvmm_event rec[];
};

/* Records the VMM keeps; older ones are overwritten (and counted in oldest). */
#define TVMM_EVENTS_KEPT 256u

/*
 * TVMM_HC_LOG(gpa=RBX, len=RCX, cursor=RDX): copies log text starting at
 * byte offset `cursor` of the log stream. Out: RBX = bytes copied,
 * RCX = next cursor, RDX = bytes lost (overwritten before this read).
 */

/*
 * TVMM_HC_TPMLOG(gpa=RBX, len=RCX, offset=RDX): copies the VMM's TCG
 * crypto-agile event log (PCR17-19: emulated late launch, lock, violations)
 * from byte `offset`. Out: RBX = bytes copied, RCX = the log's total size
 * (0 without a TPM), RDX = TVMM_TPMLOG_* flags.
 */
/*
 * TVMM_HC_LOCK_XLAT(gpa=RBX, len=RCX): after LOCK, once: len / 16 pairs
 * (virtual address, size) of kernel ranges whose every page must map a
 * locked frame on the current CR3; the page-table pages on those walks
 * below the top level become read-only to the guest and its devices, and
 * writes that would change a walked entry are dropped and recorded.
 * RBX = the first bad pair on TVMM_EFAULT (not mapped) / TVMM_EINVAL (not a
 * locked frame, or len not a multiple of 16 or over 64 pairs).
 */

#define TVMM_TPMLOG_PRESENT    1u /* a TPM answered at init and was used */
#define TVMM_TPMLOG_LOCALITIES 2u /* TPM localities 1-4 are gone from the guest's map */

#endif
