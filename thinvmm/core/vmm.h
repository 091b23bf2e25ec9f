/* SPDX-License-Identifier: MIT */
/*
 * The vendor-neutral core: per-CPU state, the exit record a backend hands
 * the core, and the ops table a backend implements. The core never names
 * a VMCB or a VMCS; the backend never decides policy.
 */
#ifndef TVMM_VMM_H
#define TVMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thinvmm/abi.h>
#include <thinvmm/handoff.h>

#include "core/pgtable.h"
#include "core/vcpu_offsets.h"

#define PAGE_SIZE  4096ull
#define PAGE_SHIFT 12
#define PAGE_MASK  (~(PAGE_SIZE - 1))

enum greg {
	GREG_RAX,
	GREG_RCX,
	GREG_RDX,
	GREG_RBX,
	GREG_RSP,
	GREG_RBP,
	GREG_RSI,
	GREG_RDI,
	GREG_R8,
	GREG_R9,
	GREG_R10,
	GREG_R11,
	GREG_R12,
	GREG_R13,
	GREG_R14,
	GREG_R15,
	GREG_NR
};

/* Guest state that lives in the VMCB/VMCS, reached through the ops. */
enum gstate {
	GS_RIP,
	GS_RFLAGS,
	GS_CR0,
	GS_CR2,
	GS_CR3,
	GS_CR4,
	GS_EFER,
	GS_CPL,
	GS_CS_LONG,
	GS_NR
};

/* Access bits of a nested-page fault and of nested permissions. */
#define ACC_R	1u
#define ACC_W	2u
#define ACC_X	4u
#define ACC_RWX (ACC_R | ACC_W | ACC_X)

/* What the backend decoded from one VM exit. */
struct exit {
	enum tvmm_exit_reason reason;
	uint64_t raw;	  /* vendor exit code, for the log */
	uint8_t insn_len; /* length of the exiting instruction, 0 if unknown */
	union {
		struct {
			uint32_t index;
		} msr;
		struct {
			uint64_t gpa;
			uint64_t gva;	/* TVMM_EV_NO_GVA unless the hardware said */
			uint8_t access; /* ACC_* that faulted */
			bool in_walk;	/* during the guest's own page walk */
		} npf;
		struct {
			uint8_t cr;  /* control register number */
			bool write;  /* MOV to CR (else a read, CLTS or LMSW) */
			uint8_t gpr; /* the GPR operand, CR_GPR_DECODE: decode the instruction */
		} cr;
		struct {
			uint8_t which; /* TVMM_DT_* loaded; 0: another DT instruction */
		} dt;
		struct {
			uint8_t vector;
			bool has_err;
			uint32_t err;
			uint64_t cr2; /* #PF: the faulting address */
		} exc;
	};
};

#define CR_GPR_DECODE 0xff

/* What the core tells the backend to do next on this CPU. */
enum action {
	ACT_RESUME, /* enter the guest again */
	ACT_DEVIRT, /* hand this CPU back to the OS, as it is now */
	ACT_HALT,   /* stop this CPU for good */
};

struct vcpu;

struct backend_ops {
	const char *name;
	uint32_t id; /* TVMM_BACKEND_* */
	/* Can this CPU run us? Fills why[] on refusal. */
	int (*check)(char *why, size_t n);
	/* Global setup after the core built its tables (permission maps). */
	int (*init)(void);
	/* Virtualize the calling CPU (see TVMM_CMD_LAUNCH); returns only on failure. */
	int (*launch)(struct vcpu *v, uint64_t guest_rsp, uint64_t guest_rip);
	void (*decode_exit)(struct vcpu *v, struct exit *e);
	uint64_t (*get)(struct vcpu *v, enum gstate s);
	void (*set)(struct vcpu *v, enum gstate s, uint64_t val);
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_err, uint32_t err);
	/* Entries of the nested page table in this vendor's format. */
	const struct pt_format *nested_fmt;
	/* Nested levels (0: the host's), and whether leaves carry the MTRR type. */
	uint8_t nested_levels;
	bool nested_memtypes;
	/* Largest nested leaf level the hardware takes (3 = 1 GiB). */
	unsigned (*nested_max_level)(void);
	/* Drop cached nested translations on this CPU before the next entry. */
	void (*flush_nested)(struct vcpu *v);
	/* MSR exits the backend owns (its own control MSRs); true if handled. */
	bool (*msr_read)(struct vcpu *v, uint32_t msr, uint64_t *val);
	bool (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t val);
	/* A guest write to a control register the backend intercepts; false: #GP. */
	bool (*cr_write)(struct vcpu *v, unsigned cr, uint64_t val);
	/* CPUID bits that would reveal the virtualization extension. */
	void (*cpuid_hide)(uint32_t leaf, uint32_t sub, uint32_t r[4]);
	/* Policy: can this backend enforce the rule; trap an MSR (global maps). */
	bool (*rule_supported)(const struct tvmm_pol_rule *r);
	void (*msr_intercept)(uint32_t msr, bool read, bool write);
	/* Policy: this CPU's intercepts from vmm.pol (CR masks, DT exits). */
	void (*apply_policy)(struct vcpu *v);
	/* Descriptor-table instructions the hardware traps with the loads (VT-x). */
	bool (*dt_emulate)(struct vcpu *v, const struct exit *e);
};

/* The state handed back to the OS when a CPU leaves the VMM. */
struct handback {
	uint64_t efer, cr3, rip, rsp, rflags;
	uint16_t cs, ss, ds, es;
	struct {
		uint16_t pad[3];
		uint16_t limit; /* at +6 so lgdt/lidt can point here */
		uint64_t base;
	} gdtr, idtr;
};

/*
 * Per-CPU state. The entry code in svm_asm.S reaches the fields up to
 * `hb` by fixed offsets (VCPU_* below, checked at compile time).
 */
struct vcpu {
	uint64_t regs[GREG_NR]; /* guest GPRs, saved and loaded by the entry code */
	uint64_t host_rsp;
	uint64_t host_cr3;
	struct {
		uint16_t pad[3];
		uint16_t limit;
		uint64_t base;
	} host_gdtr, host_idtr;
	void *arch; /* backend's per-CPU data (VMCB, ...) */
	uint64_t arch_pa;
	struct handback hb;
	uint8_t launched;    /* VMX: VMLAUNCH done, VMRESUME from now on */
	uint8_t nmi_pending; /* VMX: an NMI hit the host; the guest gets it next */
	uint8_t launching;   /* the first entry has not reached the guest yet */
	uint32_t cpu;	     /* loader's CPU number */
	uint32_t apic_id;
	uint32_t state; /* TVMM_CPU_* */
	uint32_t launches;
	uint64_t exits_total;
	uint64_t exits[TVMM_EXIT_NR];
	uint32_t pol_gen; /* the policy generation this CPU applied */
};

_Static_assert(__builtin_offsetof(struct vcpu, host_rsp) == VCPU_HOST_RSP, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, host_cr3) == VCPU_HOST_CR3, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, host_gdtr.limit) == VCPU_HOST_GDTR, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, host_idtr.limit) == VCPU_HOST_IDTR, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, arch_pa) == VCPU_ARCH_PA, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, hb) == VCPU_HB, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, launched) == VCPU_LAUNCHED, "asm offsets");
_Static_assert(__builtin_offsetof(struct vcpu, nmi_pending) == VCPU_NMI_PENDING, "asm offsets");
_Static_assert(__builtin_offsetof(struct handback, cs) == HB_CS, "asm offsets");
_Static_assert(__builtin_offsetof(struct handback, es) == HB_ES, "asm offsets");
_Static_assert(__builtin_offsetof(struct handback, gdtr.limit) == HB_GDTR, "asm offsets");
_Static_assert(__builtin_offsetof(struct handback, idtr.limit) == HB_IDTR, "asm offsets");

#define VMM_LOG_SIZE   (64u * 1024u)
#define VMM_STACK_SIZE (16u * 1024u)

/* The locked policy (core/policy.c). */
struct policy {
	bool locked;
	uint32_t gen; /* bumped when the policy changes; CPUs follow at their next exit */
	uint32_t nrules;
	const struct tvmm_pol_rule *rules; /* inside blob */
	void *blob;			   /* the VMM's copy of what the guest handed */
	char name[TVMM_POL_NAME_LEN];
	uint64_t cr_mask[5];	  /* pinned bits of CR0 and CR4 */
	uint8_t dt_mask;	  /* TVMM_DT_* trapped */
	bool cr3_trap;		  /* CR3 writes trap */
	uint32_t exc_mask;	  /* exceptions that trap */
	uint64_t splits;	  /* nested large leaves split to apply the memory rules */
	struct patch_site *sites; /* jump-label sites, by guest-physical address */
	uint32_t nsites;
	uint64_t sites_cap;
	uint64_t patches; /* writes let through as legal jump-label patches */
};

enum policy_verdict { PV_ALLOW, PV_DENY, PV_HALT };

struct vmm {
	const struct backend_ops *ops;
	struct tvmm_handoff ho; /* our own copy */
	uint64_t image_va;
	uint64_t mem_total;
	uint64_t alloc_next; /* offset of the next free byte in the region */
	struct pt nested;    /* the guest-physical identity map */
	struct pt host;	     /* the VMM's own address space */
	uint64_t phys_limit; /* nested/host identity maps cover [0, phys_limit) */
	bool gbpages;
	unsigned phys_bits;
	volatile bool stopping;
	bool ready;
	struct tvmm_handoff *loader_ho; /* the loader's copy, for error[] */
	struct policy pol;
	struct vcpu *vcpus[TVMM_MAX_CPUS];
};

extern struct vmm vmm;

/* core/main.c */
void vmm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t vmm_va_to_pa(const void *va);
uint64_t vmm_image_hash(void);
void *vmm_alloc_pages(size_t npages);
void *vmm_alloc_table(uint64_t *pa); /* one page for a page table, its address in *pa */
void *vmm_pa_to_va(uint64_t pa);     /* inside the VMM's memory, else NULL */

/* core/on_host.c: run fn on the VMM's page tables while the CPU is the loader's; 0 or -1. */
int vmm_on_host(void (*fn)(void));

/* iommu/vtd.c: DMA protection (docs/architecture.md) */
void iommu_init(void);
int iommu_release(void);
void iommu_poll(struct vcpu *v);
void iommu_poll_exit(struct vcpu *v); /* iommu_poll, at most every millisecond or so */
uint64_t iommu_lock_pages(uint32_t mem_rules);
int iommu_lock(const struct tvmm_pol_rule *rules, uint32_t n);
int iommu_write_protect(uint64_t gpa, uint64_t size); /* no device may write there; 0 or -1 */
bool iommu_owns(uint64_t pa);
void iommu_cpu_access(struct vcpu *v, uint64_t gpa, uint8_t access);
void iommu_status(struct tvmm_status *s);
int iommu_claim(char *buf, size_t n); /* the launch event's text (tpm/tpm.c) */

/* core/memmap.c: what the guest may name, from vmm.ho (pure, unit-tested hosted) */
bool vmm_owns_range(uint64_t pa, uint64_t len);
bool guest_ram_range(uint64_t pa, uint64_t len);

/* core/exit.c */
enum action core_exit(struct vcpu *v, bool entry_refused);
void core_exit_done(struct vcpu *v, enum action a);
enum action core_handle_exit(struct vcpu *v);
void core_stop_machine(struct vcpu *v, const char *why);

/* core/hypercall.c */
enum action hypercall_dispatch(struct vcpu *v, const struct exit *e);
int hc_check_buffer(uint64_t gpa, uint64_t len);

/* core/emulate.c */
void emulate_unbacked_access(struct vcpu *v, const struct exit *e);
size_t guest_fetch_insn(struct vcpu *v, uint8_t *buf, size_t len);
int guest_virt_copy(struct vcpu *v, uint64_t gva, void *buf, size_t len, bool write);
int guest_virt_to_phys(struct vcpu *v, uint64_t gva, uint64_t n, uint64_t *gpa);

/* core/xlat.c: translation integrity below the top level (TVMM_HC_LOCK_XLAT) */
int64_t xlat_lock(struct vcpu *v, uint64_t gpa, uint64_t len);
bool xlat_npf(struct vcpu *v, const struct exit *e, enum action *act);
void xlat_status(uint32_t *ranges, uint32_t *pages, bool *gave_up);
uint64_t xlat_merge(uint64_t old, unsigned off, unsigned len, uint64_t val);
bool xlat_changes(uint64_t old, uint64_t new);

/* core/patch.c: jump-label writes to protected text, checked against the kernel's table */
int64_t patch_build(struct vcpu *v, const struct tvmm_pol_rule *r);
bool patch_write(struct vcpu *v, const struct exit *e);

/* core/policy.c */
int64_t policy_lock(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t flags);
void policy_sync(struct vcpu *v);
const struct tvmm_pol_rule *policy_find(uint16_t kind, uint64_t a, uint64_t len, uint8_t perm);
const struct tvmm_pol_rule *policy_rule(uint16_t kind, uint64_t a, uint64_t len, uint8_t perm);
bool policy_npf(struct vcpu *v, const struct exit *e, enum action *act);
enum action policy_cr(struct vcpu *v, unsigned cr, uint64_t old, uint64_t *val);
enum policy_verdict policy_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t value);
enum policy_verdict policy_dt(struct vcpu *v, unsigned which, uint64_t gva);
enum action policy_cr3(struct vcpu *v, uint64_t val);
enum action policy_exception(struct vcpu *v, const struct exit *e);
void policy_refused_call(struct vcpu *v, uint64_t nr);
void policy_refused_init(struct vcpu *v);
/* The nested map's permissions for [gpa, gpa + size), under the map's lock; 0 or -1. */
int nested_protect(uint64_t gpa, uint64_t size, unsigned perm);

/* core/events.c */
void event_record(const struct tvmm_event *e);
uint64_t events_read(struct tvmm_events *out, uint64_t len, uint64_t from);
uint64_t events_hits(void);
void events_set_rules(const struct tvmm_pol_rule *r, uint32_t n);

/* core/cr.c: would the CPU take this control-register value (else #GP)? */
bool cr_value_ok(unsigned cr, uint64_t old, uint64_t val, uint64_t efer, uint64_t cr3);
bool msr_value_ok(uint32_t msr, uint64_t val);

/* core/phys.c: a host pointer to guest-physical memory (identity-mapped in the VMM). */
void *phys_ptr(uint64_t pa);

/* tpm/tpm.c: emulated late launch (PCR17/18 at locality 2) and its TCG event log */
void tpm_init(void); /* at init: measure the image if a TPM answers */
/* After a successful LOCK: PCR18 (the compiled policy `src`, else the resolved one), PCR19. */
void tpm_policy_locked(const struct policy *p, const void *src, size_t src_len);
/* A recorded event (tpm.c tells violations from introspection): PCR19 at a class's first hit. */
void tpm_event(const struct tvmm_event *e);
int64_t tpm_hc_log(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t offset);

/* core/log.c */
void log_init(void);
void vmm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t log_read(uint64_t cursor, char *dst, uint64_t len, uint64_t *next, uint64_t *lost);
uint64_t log_bytes(void);

#endif
