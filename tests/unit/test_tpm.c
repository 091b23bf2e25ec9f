/* SPDX-License-Identifier: MIT */
/*
 * tpm/tpm.c against fake_tis.c: what reaches the TPM (marshalled
 * PCR_Extend commands at locality 2, retried on TPM_RC_RETRY), the event
 * log that must replay to the fake's PCRs, the lock event, violation
 * classes (one extend each, counts only in the log, introspection never)
 * and the TPMLOG hypercall.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fake.h"
#include "fake_tis.h"
#include "test.h"
#include "tpm/tis.h"
#include "tpm/tpm.h"

#define LOG_GPA	 0x00200000ull
#define MEM_A	 0x00300000ull
#define MEM_B	 0x00500000ull
#define BUF_SIZE 0x10000u

static struct vcpu v;
static uint8_t *logbuf;
static const uint8_t image[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	mbedtls_sha256_ret(p, n, out, 0);
}

/* The standard fake machine (a CPU of its own), the TIS in the nested map; a fresh TPM. */
static void machine_with(enum tis_found found, int retries)
{
	static uint32_t next_cpu = 5000;

	fake_machine(&v, next_cpu++);
	fake_pt(&vmm.host);
	CHECK_EQ(pt_map(&vmm.nested, 0, 0, 1ull << 30, ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(
	    pt_map(&vmm.nested, 0xc0000000ull, 0xc0000000ull, 1ull << 30, ACC_RWX, PT_MT_UC, 2), 0);
	fake_tis_reset(found);
	ftis.retries = retries;
	logbuf = fake_mem_add(LOG_GPA, BUF_SIZE, 0);
	CHECK_EQ(tpm_setup(), 0);
	tpm_launch(image);
}

static void machine(bool present, int retries)
{
	machine_with(present ? TIS_FIFO : TIS_NONE, retries);
}

/* A machine whose TPM (if present) has seen the launch: PCR17 extended twice. */
static void launched(bool present)
{
	machine(present, 0);
	tpm_launched(image);
}

/* The whole log through TPMLOG; its length (0 without a TPM). */
static uint64_t read_log(uint64_t *flags)
{
	struct exit e = {.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3};
	v.regs[GREG_RAX] = TVMM_HC_TPMLOG;
	v.regs[GREG_RBX] = LOG_GPA;
	v.regs[GREG_RCX] = BUF_SIZE;
	v.regs[GREG_RDX] = 0;
	hypercall_dispatch(&v, &e);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(v.regs[GREG_RBX], v.regs[GREG_RCX]);
	if (flags)
		*flags = v.regs[GREG_RDX];
	return v.regs[GREG_RBX];
}

struct ev {
	uint32_t pcr, tag, len;
	uint8_t digest[32];
	const uint8_t *data;
};

/*
 * Walks the crypto-agile log: the Spec ID header, then SHA-256-only tagged
 * events. Replays each into pcr[] (17-19 from all ones) and returns the
 * number of events, or -1 if the layout is wrong.
 */
static int walk(const uint8_t *p, uint64_t n, struct ev *out, int max, uint8_t pcr[24][32])
{
	uint32_t u;
	memset(pcr, 0, 24 * 32);
	memset(pcr[17], 0xff, 6 * 32);
	if (n < 32 || memcmp(p + 32, "Spec ID Event03", 16))
		return -1;
	memcpy(&u, p + 28, 4);
	uint64_t o = 32 + u;
	int k = 0;
	while (o < n) {
		struct ev e;
		uint32_t type, count, size;
		uint16_t alg;
		if (o + 12 + 2 + 32 + 4 + 8 > n || k >= max)
			return -1;
		memcpy(&e.pcr, p + o, 4);
		memcpy(&type, p + o + 4, 4);
		memcpy(&count, p + o + 8, 4);
		memcpy(&alg, p + o + 12, 2);
		memcpy(e.digest, p + o + 14, 32);
		memcpy(&size, p + o + 46, 4);
		memcpy(&e.tag, p + o + 50, 4);
		memcpy(&e.len, p + o + 54, 4);
		e.data = p + o + 58;
		if (type != 6 || count != 1 || alg != 0x000b || e.pcr > 23 || size != e.len + 8 ||
		    o + 50 + size > n)
			return -1;
		fake_tis_extend(pcr[e.pcr], e.digest);
		out[k++] = e;
		o += 50 + size;
	}
	return o == n ? k : -1;
}

static bool replays(uint8_t pcr[24][32])
{
	bool ok = true;
	for (unsigned i = 17; i <= 19; i++)
		ok &= CHECK(!memcmp(pcr[i], ftis.pcr[i], 32));
	return ok;
}

TEST(tpm_launch_extends_pcr17_at_locality_2)
{
	struct ev ev[8];
	uint8_t pcr[24][32], d[32];
	uint64_t flags;

	launched(true);
	CHECK_EQ(ftis.commands, 3);
	CHECK_EQ(ftis.bad, 0);
	CHECK_EQ(ftis.last_loc, 2);
	uint64_t n = read_log(&flags);
	CHECK_EQ(flags, TVMM_TPMLOG_PRESENT | TVMM_TPMLOG_LOCALITIES);
	int k = walk(logbuf, n, ev, 8, pcr);
	if (!CHECK_EQ(k, 3))
		return;
	replays(pcr);
	CHECK_EQ(ev[0].pcr, 17);
	CHECK_EQ(ev[0].tag, TPM_TAG_LAUNCH);
	CHECK(ev[0].len == 21 && !memcmp(ev[0].data, "launch: emulated-drtm", 21));
	sha256("launch: emulated-drtm", 21, d);
	CHECK(!memcmp(ev[0].digest, d, 32));
	CHECK_EQ(ev[1].tag, TPM_TAG_IMAGE);
	CHECK(!memcmp(ev[1].digest, image, 32));
	/* What the VMM did about DMA: nothing here (no IOMMU in this machine). */
	CHECK_EQ(ev[2].pcr, 17);
	CHECK_EQ(ev[2].tag, TPM_TAG_DMA);
	CHECK(ev[2].len == 32 && !memcmp(ev[2].data, "dma: unprotected reason=no-iommu", 32));
	sha256("dma: unprotected reason=no-iommu", 32, d);
	CHECK(!memcmp(ev[2].digest, d, 32));
	CHECK(strstr(fake_console, "launch: emulated-drtm") != NULL);
	/* Localities 1-4 are gone from the guest's map; locality 0 is not. */
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;
	CHECK_EQ(pt_lookup(&vmm.nested, TIS_BASE + 0x1000, &pa, &perm, &level, &mt), -1);
	CHECK_EQ(pt_lookup(&vmm.nested, TIS_BASE + 0x4fff, &pa, &perm, &level, &mt), -1);
	CHECK_EQ(pt_lookup(&vmm.nested, TIS_BASE, &pa, &perm, &level, &mt), 0);
	CHECK_EQ(perm, ACC_RWX);
}

TEST(tpm_absent_measures_nothing)
{
	uint64_t flags;

	launched(false);
	CHECK_EQ(ftis.commands, 0);
	CHECK_EQ(read_log(&flags), 0);
	CHECK_EQ(flags, 0);
	CHECK(strstr(fake_console, "no TPM") != NULL);
	struct tvmm_event e = {.kind = TVMM_EV_MEM, .rule = 1, .action = TVMM_ACT_DENY};
	tpm_event(&e);
	CHECK_EQ(ftis.commands, 0);
}

/* A CRB interface at the TIS address is named and not driven: no command, no log. */
TEST(tpm_crb_is_not_driven)
{
	uint64_t flags;

	machine_with(TIS_CRB, 0);
	tpm_launched(image);
	CHECK_EQ(ftis.commands, 0);
	CHECK_EQ(read_log(&flags), 0);
	CHECK_EQ(flags, TVMM_TPMLOG_LOCALITIES); /* taken, though nothing is measured */
	CHECK(strstr(fake_console, "CRB interface") != NULL);
	CHECK(strstr(fake_console, "no measurement") != NULL);
	/* Not driven, but its higher localities still leave the guest: no forged launch. */
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;
	CHECK_EQ(pt_lookup(&vmm.nested, TIS_BASE + 0x2000, &pa, &perm, &level, &mt), -1);
	CHECK_EQ(pt_lookup(&vmm.nested, TIS_BASE, &pa, &perm, &level, &mt), 0);
}

TEST(tpm_retries_then_gives_up)
{
	struct ev ev[8];
	uint8_t pcr[24][32];

	/* Three TPM_RC_RETRY answers, then the extend goes through, once. */
	machine(true, 3);
	CHECK_EQ(ftis.commands, 6);
	CHECK_EQ(walk(logbuf, read_log(0), ev, 8, pcr), 3);
	replays(pcr);
	/* A TPM that never stops answering RETRY: nothing extended, nothing logged. */
	machine(true, 1000);
	CHECK(ftis.commands >= 2 && ftis.commands < 100);
	CHECK_EQ(walk(logbuf, read_log(0), ev, 8, pcr), 0);
	replays(pcr);
	CHECK(strstr(fake_console, "still TPM_RC_RETRY") != NULL);
}

/* A locked policy over two ranges of fake guest memory. */
static struct {
	struct tvmm_pol_header h;
	struct tvmm_pol_rule r[3];
} pol;

static void lock_policy(const void *src, size_t src_len)
{
	memset(&pol, 0, sizeof(pol));
	pol.h.magic = TVMM_POL_MAGIC;
	pol.h.version = TVMM_POL_VERSION;
	pol.h.nrules = 3;
	pol.h.size = sizeof(pol);
	snprintf(pol.h.name, sizeof(pol.h.name), "unit");
	pol.r[0] = (struct tvmm_pol_rule){.kind = TVMM_RULE_MEM,
					  .action = TVMM_ACT_DENY,
					  .perm = TVMM_PERM_R | TVMM_PERM_X,
					  .a = MEM_A,
					  .b = 0x2000};
	pol.r[1] = (struct tvmm_pol_rule){.kind = TVMM_RULE_CR, .action = TVMM_ACT_DENY, .b = 1};
	pol.r[2] = (struct tvmm_pol_rule){.kind = TVMM_RULE_MEM,
					  .action = TVMM_ACT_HALT,
					  .perm = TVMM_PERM_R,
					  .a = MEM_B,
					  .b = 0x1000};
	memset(fake_mem_add(MEM_A, 0x2000, 0), 0x11, 0x2000);
	memset(fake_mem_add(MEM_B, 0x1000, 0), 0x22, 0x1000);
	vmm.pol.blob = &pol;
	vmm.pol.rules = pol.r;
	vmm.pol.nrules = 3;
	memcpy(vmm.pol.name, pol.h.name, sizeof(vmm.pol.name));
	vmm.pol.locked = true;
	tpm_policy_locked(&vmm.pol, src, src_len);
}

TEST(tpm_lock_measures_policy_and_ranges)
{
	struct ev ev[8];
	uint8_t pcr[24][32], d[32];
	static const char src[] = "the compiled policy";
	static uint8_t contents[0x3000];

	launched(true);
	lock_policy(src, sizeof(src));
	int k = walk(logbuf, read_log(0), ev, 8, pcr);
	if (!CHECK_EQ(k, 5))
		return;
	replays(pcr);
	CHECK(memcmp(ftis.pcr[19], pcr[20], 32) != 0); /* PCR19 left all-ones */
	CHECK_EQ(ev[3].pcr, 18);
	CHECK_EQ(ev[3].tag, TPM_TAG_POLICY);
	sha256(src, sizeof(src), d);
	CHECK(!memcmp(ev[3].digest, d, 32));
	CHECK_EQ(ev[4].pcr, 19);
	CHECK_EQ(ev[4].tag, TPM_TAG_LOCK);
	sha256(ev[4].data, ev[4].len, d);
	CHECK(!memcmp(ev[4].digest, d, 32));
	/* The text names the policy, both ranges and the digest of their contents. */
	char text[512], hex[65];
	snprintf(text, sizeof(text), "%.*s", (int)ev[4].len, (const char *)ev[4].data);
	memset(contents, 0x11, 0x2000);
	memset(contents + 0x2000, 0x22, 0x1000);
	sha256(contents, sizeof(contents), d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	char want[512];
	snprintf(want, sizeof(want),
		 "lock: policy=unit rules=3 ranges=2 contents-sha256=%s 0x300000+0x2000:rx:deny "
		 "0x500000+0x1000:r:halt",
		 hex);
	CHECK_STREQ(text, want);
	/* Without the compiled policy, the resolved blob is measured, and says so. */
	launched(true);
	lock_policy(NULL, 0);
	CHECK_EQ(walk(logbuf, read_log(0), ev, 8, pcr), 5);
	sha256(&pol, sizeof(pol), d);
	CHECK(!memcmp(ev[3].digest, d, 32));
	CHECK(memmem(ev[3].data, ev[3].len, "resolved blob", 13) != NULL);
}

static void violation(uint8_t kind, uint16_t rule, uint32_t index, const char *name)
{
	struct tvmm_event e = {.kind = kind, .rule = rule, .index = index, .action = TVMM_ACT_DENY};
	snprintf(e.rule_name, sizeof(e.rule_name), "%s", name);
	tpm_event(&e);
}

/* The class text of event i and its count digits. */
static void class_of(const struct ev *e, char *cls, size_t n, char *count)
{
	const char *nul = memchr(e->data, 0, e->len);
	size_t at = nul ? (size_t)(nul - (const char *)e->data) : e->len;
	snprintf(cls, n, "%.*s", (int)at, (const char *)e->data);
	snprintf(count, 32, "%.*s", (int)(e->len - at - (nul ? 1 : 0)),
		 nul ? nul + 1 : (const char *)e->data + e->len);
}

TEST(tpm_violation_classes)
{
	struct ev ev[16];
	uint8_t pcr[24][32], d[32], p19[32];
	char cls[200], count[32];

	launched(true);
	/* Before the lock nothing is extended: the class waits. */
	violation(TVMM_EV_MEM, 0, 0, "kernel-text");
	CHECK_EQ(ftis.commands, 3);
	lock_policy("x", 1);
	CHECK_EQ(ftis.commands, 5);
	violation(TVMM_EV_MEM, 0, 0, "kernel-text"); /* flushes the pending class, counts 2 */
	CHECK_EQ(ftis.commands, 6);
	memcpy(p19, ftis.pcr[19], 32);
	for (int i = 0; i < 98; i++)
		violation(TVMM_EV_MEM, 0, 0, "kernel-text");
	CHECK_EQ(ftis.commands, 6);
	CHECK(!memcmp(p19, ftis.pcr[19], 32));
	/* Introspection is not a violation: CR3 writes, exceptions. */
	violation(TVMM_EV_CR, 7, 3, "cr3");
	violation(TVMM_EV_EXCEPTION, 8, 6, "ud");
	CHECK_EQ(ftis.commands, 6);
	/* Another class: another extend. A hostile name is kept plain. */
	violation(TVMM_EV_MSR_WRITE, 5, 0xc0000082u, "ms r\"x\n");
	CHECK_EQ(ftis.commands, 7);
	int k = walk(logbuf, read_log(0), ev, 16, pcr);
	if (!CHECK_EQ(k, 7))
		return;
	replays(pcr);
	CHECK_EQ(ev[5].pcr, 19);
	CHECK_EQ(ev[5].tag, TPM_TAG_VIOLATION);
	class_of(&ev[5], cls, sizeof(cls), count);
	CHECK_STREQ(cls, "violation: kind=memory rule=0 name=kernel-text action=deny");
	CHECK_STREQ(count, "count=0000000100");
	sha256(cls, strlen(cls), d);
	CHECK(!memcmp(ev[5].digest, d, 32));
	class_of(&ev[6], cls, sizeof(cls), count);
	CHECK_STREQ(cls, "violation: kind=msr-write rule=5 name=ms?r?x? action=deny");
	CHECK_STREQ(count, "count=0000000001");
}

TEST(tpm_violation_extend_retried_later)
{
	struct ev ev[8];
	uint8_t pcr[24][32];
	char cls[200], count[32];

	launched(true);
	lock_policy("x", 1);
	/* The TPM is busy at the first hit: the class stays pending, the guest goes on. */
	ftis.timeouts = 1;
	violation(TVMM_EV_DT, 9, 1, "dt-loads");
	CHECK_EQ(ftis.commands, 5);
	CHECK_EQ(walk(logbuf, read_log(0), ev, 8, pcr), 6); /* TPMLOG retried it */
	replays(pcr);
	class_of(&ev[5], cls, sizeof(cls), count);
	CHECK_STREQ(cls, "violation: kind=dt rule=9 name=dt-loads action=deny");
	CHECK_STREQ(count, "count=0000000001");
}

TEST(tpm_violation_classes_bounded)
{
	struct ev ev[80];
	uint8_t pcr[24][32];

	launched(true);
	lock_policy("x", 1);
	for (uint16_t r = 0; r < 70; r++)
		violation(TVMM_EV_MEM, r, 0, "r");
	/* 64 classes are extended; later ones only counted by the EVENTS records. */
	CHECK_EQ(walk(logbuf, read_log(0), ev, 80, pcr), 5 + 64);
	replays(pcr);
	CHECK_EQ(ftis.commands, 5 + 64);
}

TEST(tpm_hc_log_partial_reads)
{
	struct exit e = {.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3};

	launched(true);
	uint64_t total = read_log(0);
	CHECK(total > 100);
	v.regs[GREG_RAX] = TVMM_HC_TPMLOG;
	v.regs[GREG_RBX] = LOG_GPA + 0x8000;
	v.regs[GREG_RCX] = 16;
	v.regs[GREG_RDX] = total - 10;
	hypercall_dispatch(&v, &e);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(v.regs[GREG_RBX], 10);
	CHECK_EQ(v.regs[GREG_RCX], total);
	CHECK(!memcmp(logbuf + 0x8000, logbuf + total - 10, 10));
	v.regs[GREG_RAX] = TVMM_HC_TPMLOG;
	v.regs[GREG_RBX] = LOG_GPA;
	v.regs[GREG_RCX] = 16;
	v.regs[GREG_RDX] = total + 5;
	hypercall_dispatch(&v, &e);
	CHECK_EQ(v.regs[GREG_RBX], 0);
	/* A buffer that is not guest RAM. */
	v.regs[GREG_RAX] = TVMM_HC_TPMLOG;
	v.regs[GREG_RBX] = 0xfee00000ull;
	v.regs[GREG_RCX] = 16;
	v.regs[GREG_RDX] = 0;
	hypercall_dispatch(&v, &e);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_EFAULT);
}
