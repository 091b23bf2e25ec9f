/* SPDX-License-Identifier: MIT */
/*
 * Emulated late launch. There is no SKINIT/SENTER here: the VMM itself
 * extends PCR17 (its image) and PCR18 (its policy, at lock) at locality 2,
 * which the guest cannot reach afterwards (localities 1-4 leave the nested
 * map), and says `launch: emulated-drtm` in its log and event log. A real
 * DRTM would have the CPU measure the launch code and reset PCR17-22 first.
 *
 * Commands are marshalled by tpm2-tss's MU library and digests computed by
 * mbedtls, both built freestanding from their source packages (Makefile).
 */
#include <tss2_mu.h>

#include "mbedtls/sha256.h"

#include "core/vmm.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "tpm/tis.h"
#include "tpm/tpm.h"

#define HIDDEN __attribute__((visibility("hidden")))
extern char __image_start[] HIDDEN;
struct tpm_rela {
	uint64_t offset, info;
	int64_t addend;
};
extern const struct tpm_rela __rela_start[] HIDDEN, __rela_end[] HIDDEN;
extern struct dtr host_idtr;

#define EV_NO_ACTION	  0x00000003u
#define EV_EVENT_TAG	  0x00000006u
#define LOG_PAGES	  4u
#define TRAMP_STACK_PAGES 4u
#define RETRIES		  20

static const char launch_text[] = "launch: emulated-drtm";

static struct {
	bool present;
	bool localities_taken;
	uint8_t *log;
	uint32_t log_len, log_cap;
	struct spinlock lock; /* the log and the TPM */
	uint32_t commands;    /* TPM commands sent */
} T;

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	mbedtls_sha256_ret(p, n, out, 0);
}

/* ---- the event log (little-endian, TCG PC Client PFP crypto-agile format) ---- */

static void put(const void *p, uint32_t n)
{
	if (T.log_len + n > T.log_cap || T.log_len + n < T.log_len) {
		T.log_len = T.log_cap + 1; /* full: poisoned, see log_ok() */
		return;
	}
	memcpy(T.log + T.log_len, p, n);
	T.log_len += n;
}

static void put32(uint32_t v)
{
	put(&v, 4);
}

static void put16(uint16_t v)
{
	put(&v, 2);
}

static void log_spec_id(void)
{
	static const uint8_t zero[20];
	put32(0);
	put32(EV_NO_ACTION);
	put(zero, 20);
	put32(16 + 4 + 4 + 4 + 2 + 2 + 1);
	put("Spec ID Event03", 16);
	put32(0);		    /* platformClass: client */
	put("\x00\x02\x00\x02", 4); /* spec 2.0 errata 0, uintnSize 2 (UINT64) */
	put32(1);		    /* numberOfAlgorithms */
	put16(TPM2_ALG_SHA256);
	put16(32);
	put("", 1); /* vendorInfoSize 0 */
}

static void log_event(uint32_t pcr, uint32_t tag, const uint8_t digest[32], const char *text)
{
	uint32_t n = (uint32_t)strnlen(text, 256);
	uint32_t before = T.log_len;
	put32(pcr);
	put32(EV_EVENT_TAG);
	put32(1);
	put16(TPM2_ALG_SHA256);
	put(digest, 32);
	put32(8 + n);
	put32(tag);
	put32(n);
	put(text, n);
	if (T.log_len > T.log_cap) {
		T.log_len = before;
		vmm_log("TPM: event log full, event for PCR %u not logged", pcr);
	}
}

/* ---- commands ---- */

static const char *rc_text(TPM2_RC rc)
{
	return rc == TPM2_RC_RETRY ? "RETRY" : rc == TPM2_RC_LOCALITY ? "LOCALITY" : "error";
}

/* TPM2_PCR_Extend(pcr, SHA-256 digest) at TPM_LOCALITY; 0 or -1. */
static int pcr_extend(uint32_t pcr, const uint8_t digest[32])
{
	uint8_t cmd[128], rsp[64];
	size_t off = 0;
	TPMS_AUTH_COMMAND auth = {.sessionHandle = TPM2_RS_PW};
	TPML_DIGEST_VALUES dv = {.count = 1};
	dv.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(dv.digests[0].digest.sha256, digest, 32);

	TSS2_RC m = Tss2_MU_TPM2_ST_Marshal(TPM2_ST_SESSIONS, cmd, sizeof(cmd), &off);
	size_t size_at = off;
	if (!m)
		m = Tss2_MU_UINT32_Marshal(0, cmd, sizeof(cmd), &off);
	if (!m)
		m = Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PCR_Extend, cmd, sizeof(cmd), &off);
	if (!m)
		m = Tss2_MU_TPM2_HANDLE_Marshal(pcr, cmd, sizeof(cmd), &off);
	size_t auth_at = off;
	if (!m)
		m = Tss2_MU_UINT32_Marshal(0, cmd, sizeof(cmd), &off);
	if (!m)
		m = Tss2_MU_TPMS_AUTH_COMMAND_Marshal(&auth, cmd, sizeof(cmd), &off);
	size_t auth_len = off - auth_at - 4;
	if (!m)
		m = Tss2_MU_TPML_DIGEST_VALUES_Marshal(&dv, cmd, sizeof(cmd), &off);
	if (!m)
		m = Tss2_MU_UINT32_Marshal((UINT32)auth_len, cmd, sizeof(cmd), &auth_at);
	if (!m)
		m = Tss2_MU_UINT32_Marshal((UINT32)off, cmd, sizeof(cmd), &size_at);
	if (m) {
		vmm_log("TPM: marshalling PCR_Extend failed: %#x", (unsigned)m);
		return -1;
	}
	for (int i = 0; i < RETRIES; i++) {
		const char *why;
		T.commands++;
		long n = tis_transmit(TPM_LOCALITY, cmd, off, rsp, sizeof(rsp), &why);
		if (n < 0) {
			vmm_log("TPM: PCR_Extend(%u): %s", pcr, why);
			return -1;
		}
		size_t r = 0;
		TPM2_ST tag;
		UINT32 len, rc;
		if (Tss2_MU_TPM2_ST_Unmarshal(rsp, (size_t)n, &r, &tag) ||
		    Tss2_MU_UINT32_Unmarshal(rsp, (size_t)n, &r, &len) ||
		    Tss2_MU_UINT32_Unmarshal(rsp, (size_t)n, &r, &rc) || len != (UINT32)n) {
			vmm_log("TPM: PCR_Extend(%u): malformed response", pcr);
			return -1;
		}
		if (rc == TPM2_RC_SUCCESS)
			return 0;
		if (rc != TPM2_RC_RETRY && rc != TPM2_RC_YIELDED && rc != TPM2_RC_TESTING) {
			vmm_log("TPM: PCR_Extend(%u) at locality %u: rc %#x (%s)", pcr,
				TPM_LOCALITY, (unsigned)rc, rc_text(rc));
			return -1;
		}
	}
	vmm_log("TPM: PCR_Extend(%u): still TPM_RC_RETRY after %d tries", pcr, RETRIES);
	return -1;
}

/* Extend and log (the log records only what the TPM took). */
static int measure(uint32_t pcr, uint32_t tag, const uint8_t digest[32], const char *text)
{
	spin_lock(&T.lock);
	int rc = pcr_extend(pcr, digest);
	if (!rc)
		log_event(pcr, tag, digest, text);
	spin_unlock(&T.lock);
	return rc;
}

/*
 * SHA-256 of the image as the file has it: code, constant data and the
 * relocation table, [__image_start, __rela_end), with the R_X86_64_RELATIVE
 * relocations undone (the file holds the addend there, linked at 0). So a
 * verifier computes the reference from thinvmm.bin: its first __rela_end
 * bytes (the QUAD at offset 48 of the header).
 */
static void image_digest(uint8_t out[32])
{
	static uint8_t block[4096];
	const uint8_t *start = (const uint8_t *)__image_start;
	uint64_t size = (uint64_t)((const uint8_t *)__rela_end - start);
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	for (uint64_t at = 0; at < size; at += sizeof(block)) {
		uint64_t n = size - at < sizeof(block) ? size - at : sizeof(block);
		memcpy(block, start + at, n);
		for (const struct tpm_rela *r = __rela_start; r < __rela_end; r++) {
			if ((r->info & 0xffffffffu) != 8 /* R_X86_64_RELATIVE */)
				continue;
			for (unsigned k = 0; k < 8; k++) {
				uint64_t b = r->offset + k;
				if (b >= at && b < at + n)
					block[b - at] = (uint8_t)((uint64_t)r->addend >> (8 * k));
			}
		}
		mbedtls_sha256_update_ret(&c, block, n);
	}
	mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
}

static void hex(char *dst, const uint8_t *p, unsigned n)
{
	static const char x[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		dst[2 * i] = x[p[i] >> 4];
		dst[2 * i + 1] = x[p[i] & 15];
	}
	dst[2 * n] = 0;
}

/*
 * Runs fn on the VMM's own page tables (where the TIS registers are mapped
 * uncached) and stack, interrupts off: at init the CPU is still on the
 * loader's address space, which maps no MMIO.
 */
static void on_host(void (*fn)(void), void *stack_top)
{
	uint64_t flags = read_rflags();
	struct dtr old_idt;
	sidt(&old_idt);
	__asm__ volatile("cli" ::: "memory");
	__asm__ volatile("lidt %0" ::"m"(host_idtr));
	register uint64_t r12 __asm__("r12") = (uint64_t)(uintptr_t)fn;
	register uint64_t r13 __asm__("r13") = read_cr3();
	register uint64_t r14 __asm__("r14") = vmm.host.root_pa;
	register uint64_t r15 __asm__("r15") = (uint64_t)(uintptr_t)stack_top;
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %%r15, %%rsp\n\t"
			 "mov %%r14, %%cr3\n\t"
			 "call *%%r12\n\t"
			 "mov %%r13, %%cr3\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 : "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
			 :
			 : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "memory", "cc");
	__asm__ volatile("lidt %0" ::"m"(old_idt));
	if (flags & (1u << 9))
		__asm__ volatile("sti" ::: "memory");
}

static uint8_t image_sha[32];

static void launch_measure(void)
{
	uint32_t id;
	if (tis_probe(&id))
		return;
	T.present = true;
	uint8_t d[32];
	sha256(launch_text, sizeof(launch_text) - 1, d);
	if (measure(TPM_PCR_LAUNCH, TPM_TAG_LAUNCH, d, launch_text))
		return;
	measure(TPM_PCR_LAUNCH, TPM_TAG_IMAGE, image_sha,
		"thinvmm image sha256 [0, __rela_end) unrelocated; launch: emulated-drtm");
}

void tpm_init(void)
{
	T.log_cap = LOG_PAGES * PAGE_SIZE;
	T.log = vmm_alloc_pages(LOG_PAGES);
	uint8_t *stack = vmm_alloc_pages(TRAMP_STACK_PAGES);
	if (!T.log || !stack) {
		vmm_log("TPM: out of VMM memory; no measurement");
		return;
	}
	/* The TIS registers, uncached in the VMM's own map (the identity map says WB). */
	if (pt_map(&vmm.host, TIS_BASE, TIS_BASE, TIS_NLOCALITIES * TIS_LOCALITY_SZ, ACC_R | ACC_W,
		   PT_MT_UC, 1)) {
		vmm_log("TPM: cannot map the TIS registers; no measurement");
		return;
	}
	log_spec_id();
	image_digest(image_sha);
	on_host(launch_measure, stack + TRAMP_STACK_PAGES * PAGE_SIZE);
	char h[65];
	hex(h, image_sha, 32);
	if (!T.present) {
		vmm_log("TPM: no TPM (no TIS at %#llx); no measurement, image sha256 %s",
			(unsigned long long)TIS_BASE, h);
		return;
	}
	/* Localities 1-4 leave the nested map: reads give all-ones, writes are dropped. */
	if (pt_map(&vmm.nested, TIS_BASE + TIS_LOCALITY_SZ, TIS_BASE + TIS_LOCALITY_SZ,
		   (TIS_NLOCALITIES - 1) * TIS_LOCALITY_SZ, 0, PT_MT_UC, 1))
		vmm_log("TPM: could not take localities 1-4 from the guest");
	else
		T.localities_taken = true;
	vmm_log("TPM: launch: emulated-drtm (no hardware DRTM: the VMM extended PCR%u at "
		"locality %u itself); image sha256 %s; %u TPM commands; event log %u bytes; "
		"localities 1-4 %s",
		TPM_PCR_LAUNCH, TPM_LOCALITY, h, T.commands, T.log_len,
		T.localities_taken ? "taken from the guest" : "NOT taken");
}

void tpm_policy_locked(const void *blob, size_t len)
{
	if (!T.present)
		return;
	uint8_t d[32];
	char h[65];
	sha256(blob, len, d);
	hex(h, d, 32);
	int rc = measure(TPM_PCR_POLICY, TPM_TAG_POLICY, d,
			 "thinvmm policy sha256 (resolved blob); launch: emulated-drtm");
	vmm_log("TPM: policy sha256 %s %s PCR%u", h, rc ? "NOT extended into" : "extended into",
		TPM_PCR_POLICY);
}

int64_t tpm_hc_log(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t offset)
{
	int rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	spin_lock(&T.lock);
	uint64_t total = T.present ? T.log_len : 0, n = 0;
	if (offset < total) {
		n = total - offset < len ? total - offset : len;
		memcpy(phys_ptr(gpa), T.log + offset, n);
	}
	spin_unlock(&T.lock);
	v->regs[GREG_RBX] = n;
	v->regs[GREG_RCX] = total;
	v->regs[GREG_RDX] = (T.present ? TVMM_TPMLOG_PRESENT : 0) |
			    (T.localities_taken ? TVMM_TPMLOG_LOCALITIES : 0);
	return TVMM_OK;
}
