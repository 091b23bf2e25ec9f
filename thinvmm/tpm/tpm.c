/* SPDX-License-Identifier: MIT */
/*
 * Emulated late launch. There is no SKINIT/SENTER here: the VMM itself
 * extends PCR17 (its image), PCR18 (the compiled policy, at lock) and the
 * runtime PCR19 (what the lock protected, then each violation class once)
 * at locality 2, which the guest cannot reach afterwards (localities 1-4
 * leave the nested map), and says `launch: emulated-drtm` in its log and
 * event log. A real DRTM would have the CPU measure the launch code and
 * reset PCR17-22 first (docs/threat-model.md).
 *
 * Commands are marshalled by tpm2-tss's MU library and digests computed by
 * mbedtls, both built freestanding from their source packages (Makefile).
 */
#include <tss2_mu.h>

#include "mbedtls/sha256.h"

#include "core/vmm.h"
#include "lib/format.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "tpm/tis.h"
#include "tpm/tpm.h"

#define EV_NO_ACTION 0x00000003u
#define EV_EVENT_TAG 0x00000006u
#define LOG_PAGES    8u
#define RETRIES	     20
#define MAX_CLASSES  64u
#define COUNT_DIGITS 10u
#define LOCK_TEXT    4000u

static const char launch_text[] = "launch: emulated-drtm";

/*
 * A violation class: one kind of event from one rule. Its first hit is
 * extended into PCR19; later hits only bump the count in its log record,
 * so a storm costs the TPM nothing.
 */
struct vclass {
	uint8_t kind;
	uint16_t rule;
	uint8_t action;
	bool logged;	    /* extended and in the log (else pending: retried) */
	uint32_t count_off; /* where its count digits are in the log */
	uint64_t count;
	char name[TVMM_POL_NAME_LEN];
};

static struct {
	bool present;
	enum tis_found found; /* what tis_probe saw at TIS_BASE */
	bool localities_taken;
	bool locked; /* the lock event is in: violations may follow */
	uint8_t *log;
	uint32_t log_len, log_cap;
	struct spinlock lock; /* the log, the classes and the TPM */
	uint32_t commands;    /* TPM commands sent */
	struct vclass classes[MAX_CLASSES];
	uint32_t nclasses;
	uint64_t lost;		 /* hits of classes beyond MAX_CLASSES */
	uint64_t launch_kcycles; /* TSC spent on the TPM at launch, for bench/ */
	uint64_t hash_kcycles;	 /* and on the contents digest at lock */
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

/* One TCG_PCR_EVENT2 with a tagged event; the offset of its data in the log, or 0 if full. */
static uint32_t log_event(uint32_t pcr, uint32_t tag, const uint8_t digest[32], const void *data,
			  uint32_t n)
{
	uint32_t before = T.log_len;
	put32(pcr);
	put32(EV_EVENT_TAG);
	put32(1);
	put16(TPM2_ALG_SHA256);
	put(digest, 32);
	put32(8 + n);
	put32(tag);
	put32(n);
	uint32_t at = T.log_len;
	put(data, n);
	if (T.log_len > T.log_cap) {
		T.log_len = before;
		vmm_log("TPM: event log full, event for PCR %u not logged", pcr);
		return 0;
	}
	return at;
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

/*
 * Extend, then log (the log records only what the TPM took); T.lock held.
 * 0 once extended, with the data's offset in the log in *at (0 when the log
 * was full); -1 when the TPM did not take it.
 */
static int measure_locked(uint32_t pcr, uint32_t tag, const uint8_t digest[32], const void *data,
			  uint32_t n, uint32_t *at)
{
	if (pcr_extend(pcr, digest))
		return -1;
	uint32_t off = log_event(pcr, tag, digest, data, n);
	if (at)
		*at = off;
	return 0;
}

static int measure(uint32_t pcr, uint32_t tag, const uint8_t digest[32], const char *text)
{
	spin_lock(&T.lock);
	int rc = measure_locked(pcr, tag, digest, text, (uint32_t)strnlen(text, LOCK_TEXT), 0);
	spin_unlock(&T.lock);
	return rc;
}

static void hex(char *dst, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tvmm_snprintf(dst + 2 * i, 3, "%02x", p[i]);
}

/*
 * The first step of tpm_init (tpm/launch.c): the event log and the TIS
 * registers, uncached in the VMM's own map (the identity map says WB).
 * 0, or -1 when there is nothing to measure with.
 */
int tpm_setup(void)
{
	memset(&T, 0, sizeof(T));
	T.log_cap = LOG_PAGES * PAGE_SIZE;
	T.log = vmm_alloc_pages(LOG_PAGES);
	if (!T.log) {
		vmm_log("TPM: out of VMM memory; no measurement");
		return -1;
	}
	if (pt_map(&vmm.host, TIS_BASE, TIS_BASE, TIS_NLOCALITIES * TIS_LOCALITY_SZ, ACC_R | ACC_W,
		   PT_MT_UC, 1)) {
		vmm_log("TPM: cannot map the TIS registers; no measurement");
		return -1;
	}
	log_spec_id();
	return 0;
}

/* The second, on the VMM's page tables: PCR17 if a TPM answers. */
void tpm_launch(const uint8_t image_sha[32])
{
	uint32_t id;
	uint64_t t0 = tis_rdtsc();
	T.found = tis_probe(&id);
	if (T.found != TIS_FIFO)
		return;
	T.present = true;
	uint8_t d[32];
	sha256(launch_text, sizeof(launch_text) - 1, d);
	if (measure(TPM_PCR_LAUNCH, TPM_TAG_LAUNCH, d, launch_text))
		return;
	if (measure(TPM_PCR_LAUNCH, TPM_TAG_IMAGE, image_sha,
		    "thinvmm image sha256 [0, __rela_end) unrelocated; launch: emulated-drtm"))
		return;
	/* What the VMM did about DMA (iommu/vtd.c), for a verifier that requires protection. */
	char claim[64];
	int n = iommu_claim(claim, sizeof(claim));
	if (n > 0 && (size_t)n < sizeof(claim)) {
		sha256(claim, (size_t)n, d);
		measure(TPM_PCR_LAUNCH, TPM_TAG_DMA, d, claim);
	}
	T.launch_kcycles = (tis_rdtsc() - t0) / 1000;
}

/*
 * Localities 1-4 leave the guest's map (reads all-ones, writes dropped),
 * for any TPM interface found, driven here or not: PCR17-22 then stay out
 * of the guest's reach, so it cannot claim a launch the VMM did not make.
 */
static void take_localities(void)
{
	if (pt_map(&vmm.nested, TIS_BASE + TIS_LOCALITY_SZ, TIS_BASE + TIS_LOCALITY_SZ,
		   (TIS_NLOCALITIES - 1) * TIS_LOCALITY_SZ, 0, PT_MT_UC, 1))
		vmm_log("TPM: could not take localities 1-4 from the guest");
	else
		T.localities_taken = true;
}

/* The third step, once the guest runs on the nested map. */
void tpm_launched(const uint8_t image_sha[32])
{
	char h[65];
	hex(h, image_sha, 32);
	if (T.found != TIS_NONE)
		take_localities();
	if (!T.present) {
		const char *what = T.found == TIS_CRB ? "a CRB interface: only FIFO (TIS) is driven"
				   : T.found == TIS_OTHER ? "an unknown interface type"
							  : "nothing answers";
		vmm_log("TPM: no TPM the VMM can use at %#llx (%s); no measurement, image sha256 "
			"%s; localities 1-4 %s",
			(unsigned long long)TIS_BASE, what, h,
			T.localities_taken ? "taken from the guest" : "left alone");
		return;
	}
	vmm_log("TPM: launch: emulated-drtm (no hardware DRTM: the VMM extended PCR%u at "
		"locality %u itself); image sha256 %s; %u TPM commands, %llu kcycles; event log "
		"%u bytes; localities 1-4 %s",
		TPM_PCR_LAUNCH, TPM_LOCALITY, h, T.commands, (unsigned long long)T.launch_kcycles,
		T.log_len, T.localities_taken ? "taken from the guest" : "NOT taken");
}

/* SHA-256 of the guest memory under the locked memory rules, in rule order. */
static void contents_digest(const struct policy *p, uint8_t out[32])
{
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	for (uint32_t i = 0; i < p->nrules; i++)
		if (p->rules[i].kind == TVMM_RULE_MEM)
			mbedtls_sha256_update_ret(&c, phys_ptr(p->rules[i].a), p->rules[i].b);
	mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
}

static const char *perm_text(uint8_t perm)
{
	static const char *const t[] = {"r", "r", "rw", "rw", "rx", "rx", "rwx", "rwx"};
	return t[perm & 7];
}

/*
 * The lock event's text: the policy, every protected range (as many as fit;
 * the count and the digest cover all of them) and the digest of their
 * contents at lock time. It is its own digest's preimage, so the verifier
 * can read what the lock covered from a log it has replayed.
 */
static uint32_t lock_text(const struct policy *p, char *t, uint32_t cap)
{
	static const char *const act[TVMM_ACT_COUNT] = TVMM_ACT_NAMES;
	uint8_t d[32];
	char h[65];
	uint32_t ranges = 0;
	for (uint32_t i = 0; i < p->nrules; i++)
		ranges += p->rules[i].kind == TVMM_RULE_MEM;
	uint64_t t0 = tis_rdtsc();
	contents_digest(p, d);
	T.hash_kcycles = (tis_rdtsc() - t0) / 1000;
	hex(h, d, 32);
	int n = tvmm_snprintf(t, cap, "lock: policy=%.32s rules=%u ranges=%u contents-sha256=%s",
			      p->name, p->nrules, ranges, h);
	for (uint32_t i = 0; i < p->nrules && n > 0 && (uint32_t)n < cap - 64; i++) {
		const struct tvmm_pol_rule *r = &p->rules[i];
		if (r->kind == TVMM_RULE_MEM)
			n += tvmm_snprintf(t + n, cap - n, " %#llx+%#llx:%s:%s",
					   (unsigned long long)r->a, (unsigned long long)r->b,
					   perm_text(r->perm),
					   act[r->action < TVMM_ACT_COUNT ? r->action : 0]);
	}
	if (n > 0 && (uint32_t)n >= cap - 64)
		n += tvmm_snprintf(t + n, cap - n, " ...");
	return n > 0 ? (uint32_t)n : 0;
}

void tpm_policy_locked(const struct policy *p, const void *src, size_t src_len)
{
	static char text[LOCK_TEXT + 1];
	if (!T.present)
		return;
	uint64_t t0 = tis_rdtsc();
	uint32_t cmds = T.commands;
	uint8_t d[32];
	char h[65];
	const struct tvmm_pol_header *rh = p->blob;
	if (src)
		sha256(src, src_len, d);
	else
		sha256(p->blob, rh->size, d);
	hex(h, d, 32);
	/* The contents digest takes a while: not while other CPUs' violations wait for T.lock. */
	uint8_t dl[32];
	uint32_t n = lock_text(p, text, sizeof(text));
	sha256(text, n, dl);
	static const char compiled[] = "thinvmm policy sha256 (the compiled policy, as its file "
				       "holds it); launch: emulated-drtm";
	static const char resolved[] =
	    "thinvmm policy sha256 (the resolved blob: the guest gave no "
	    "compiled policy); launch: emulated-drtm";
	uint32_t at = 0;
	spin_lock(&T.lock);
	int rc = measure_locked(TPM_PCR_POLICY, TPM_TAG_POLICY, d, src ? compiled : resolved,
				src ? sizeof(compiled) - 1 : sizeof(resolved) - 1, 0);
	if (!rc && !measure_locked(TPM_PCR_RUNTIME, TPM_TAG_LOCK, dl, text, n, &at) && at)
		T.locked = true;
	spin_unlock(&T.lock);
	vmm_log("TPM: policy sha256 %s (%s) %s PCR%u", h, src ? "compiled" : "resolved",
		rc ? "NOT extended into" : "extended into", TPM_PCR_POLICY);
	vmm_log("TPM: lock event %s PCR%u: %u TPM commands, %llu kcycles (contents digest %llu); "
		"%.100s...",
		T.locked ? "extended into" : "NOT extended into", TPM_PCR_RUNTIME,
		T.commands - cmds, (unsigned long long)((tis_rdtsc() - t0) / 1000),
		(unsigned long long)T.hash_kcycles, text);
}

/* Introspection traps record what the guest did, not an attack on the policy. */
static bool is_violation(const struct tvmm_event *e)
{
	return e->kind != TVMM_EV_EXCEPTION && !(e->kind == TVMM_EV_CR && e->index == 3);
}

static void write_count(struct vclass *c)
{
	uint64_t v = c->count;
	for (int i = COUNT_DIGITS - 1; i >= 0; i--, v /= 10)
		T.log[c->count_off + i] = (uint8_t)('0' + v % 10);
	if (v) /* saturate: more hits than the digits hold */
		memset(T.log + c->count_off, '9', COUNT_DIGITS);
}

/* Names come from the hostile policy blob: keep the class text plain. */
static void plain(char *dst, const char *src, unsigned n)
{
	unsigned i = 0;
	for (; i < n && src[i]; i++) {
		char ch = src[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		dst[i] = ok ? ch : '?';
	}
	if (!i)
		dst[i++] = '-';
	dst[i] = 0;
}

/* Extend and log a pending class; T.lock held. */
static void class_measure(struct vclass *c)
{
	static const char *const kinds[TVMM_EV_KIND_COUNT] = TVMM_EV_KIND_NAMES;
	static const char *const act[TVMM_ACT_COUNT] = TVMM_ACT_NAMES;
	char data[160], name[TVMM_POL_NAME_LEN + 1];
	uint8_t d[32];
	plain(name, c->name, TVMM_POL_NAME_LEN);
	int n = tvmm_snprintf(data, sizeof(data), "violation: kind=%s rule=%u name=%s action=%s",
			      kinds[c->kind < TVMM_EV_KIND_COUNT ? c->kind : 0], c->rule, name,
			      act[c->action < TVMM_ACT_COUNT ? c->action : 0]);
	if (n <= 0 || (uint32_t)n + 1 + 6 + COUNT_DIGITS > sizeof(data))
		return;
	uint64_t t0 = tis_rdtsc();
	sha256(data, (uint32_t)n, d);
	memcpy(data + n, "\0count=", 7); /* the count: in the log, not in the digest */
	uint32_t len = (uint32_t)n + 7 + COUNT_DIGITS;
	memset(data + n + 7, '0', COUNT_DIGITS);
	uint32_t at;
	if (measure_locked(TPM_PCR_RUNTIME, TPM_TAG_VIOLATION, d, data, len, &at))
		return;
	c->logged = true; /* extended: never again, even if the log was full */
	if (at) {
		c->count_off = at + (uint32_t)n + 7;
		write_count(c);
	}
	vmm_log("TPM: %s extended into PCR%u: 1 TPM command, %llu kcycles", data, TPM_PCR_RUNTIME,
		(unsigned long long)((tis_rdtsc() - t0) / 1000));
}

static void flush_pending(void)
{
	for (uint32_t i = 0; i < T.nclasses; i++)
		if (!T.classes[i].logged)
			class_measure(&T.classes[i]);
}

void tpm_event(const struct tvmm_event *e)
{
	if (!T.present || !is_violation(e))
		return;
	spin_lock(&T.lock);
	struct vclass *c = 0;
	for (uint32_t i = 0; i < T.nclasses && !c; i++)
		if (T.classes[i].kind == e->kind && T.classes[i].rule == e->rule)
			c = &T.classes[i];
	if (!c && T.nclasses < MAX_CLASSES) {
		c = &T.classes[T.nclasses++];
		c->kind = e->kind;
		c->rule = e->rule;
		c->action = e->action;
		memcpy(c->name, e->rule_name, sizeof(c->name));
	}
	if (!c) {
		T.lost++;
	} else {
		c->count++;
		if (c->logged && c->count_off)
			write_count(c);
	}
	if (T.locked)
		flush_pending();
	spin_unlock(&T.lock);
}

int64_t tpm_hc_log(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t offset)
{
	int rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	spin_lock(&T.lock);
	if (T.present && T.locked)
		flush_pending(); /* a class whose extend failed at its first hit */
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
