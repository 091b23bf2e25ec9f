/* SPDX-License-Identifier: MIT */
/*
 * Jump labels without unlocking the text. Linux flips a static branch by
 * rewriting one 2- or 5-byte site (a NOP or a JMP to a fixed target) with
 * text_poke: int3 first, then the tail, then the first byte, each write a
 * plain MOV or a REP MOVSB through a temporary mapping. The sites and their
 * targets come from the kernel's own jump table, read once at lock time
 * from memory the policy already made read-only. A write to protected text
 * is let through only if afterwards its site holds a legal form: the NOP,
 * the JMP to the site's target, or either with int3 over its first byte.
 * So after the lock the kernel can still turn its existing static branches
 * on and off, and nothing else.
 */
#include "core/decode.h"
#include "core/vmm.h"
#include "lib/spinlock.h"
#include "lib/string.h"

struct patch_site {
	uint64_t gpa;
	int32_t rel; /* target - (site + len): the JMP's displacement */
	uint8_t len; /* 2 or 5 */
	uint8_t pad[3];
};

struct jump_entry {
	int32_t code, target; /* relative to the field's own address */
	int64_t key;
};

static struct spinlock site_lock; /* a site's check and write, against other CPUs' */

static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
static const uint8_t nop2[2] = {0x66, 0x90};

static void legal_jmp(const struct patch_site *s, uint8_t out[5])
{
	out[0] = s->len == 5 ? 0xe9 : 0xeb;
	memcpy(out + 1, &s->rel, s->len - 1);
}

/* Are these len bytes one of the site's legal forms (int3 first byte allowed)? */
static bool legal(const struct patch_site *s, const uint8_t *b)
{
	uint8_t jmp[5];
	const uint8_t *nop = s->len == 5 ? nop5 : nop2;
	legal_jmp(s, jmp);
	bool nop_tail = !memcmp(b + 1, nop + 1, s->len - 1u);
	bool jmp_tail = !memcmp(b + 1, jmp + 1, s->len - 1u);
	/* Not a NOP's first byte on a JMP's tail or the reverse: that is another instruction. */
	return (b[0] == 0xcc && (nop_tail || jmp_tail)) || (b[0] == nop[0] && nop_tail) ||
	       (b[0] == jmp[0] && jmp_tail);
}

/* The site's length from what it holds now: a NOP or JMP of 2 or 5 bytes. */
static int site_len(const uint8_t *b, int64_t delta)
{
	int32_t rel5 = (int32_t)(delta - 5);
	if (!memcmp(b, nop5, 5) || (b[0] == 0xe9 && !memcmp(b + 1, &rel5, 4)))
		return 5;
	if (!memcmp(b, nop2, 2) || (b[0] == 0xeb && (int8_t)b[1] == delta - 2))
		return 2;
	return 0;
}

static void sift(struct patch_site *a, uint32_t root, uint32_t n)
{
	for (uint32_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && a[child + 1].gpa > a[child].gpa)
			child++;
		if (a[root].gpa >= a[child].gpa)
			return;
		struct patch_site t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

static void sort_sites(struct patch_site *a, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (uint32_t i = n; i-- > 1;) {
		struct patch_site t = a[0];
		a[0] = a[i];
		a[i] = t;
		sift(a, 0, i);
	}
}

/*
 * n bytes at va, which may straddle two pages, to guest-physical memory
 * that is contiguous (kernel text is): 0 or -1.
 */
static int span_to_phys(struct vcpu *v, uint64_t va, uint64_t n, uint64_t *gpa)
{
	uint64_t last;
	if (guest_virt_to_phys(v, va, 1, gpa) || guest_virt_to_phys(v, va + n - 1, 1, &last))
		return -1;
	return last == *gpa + n - 1 ? 0 : -1;
}

/* A site in read-only protected memory (what the table may authorize writes to). */
static bool protected_text(uint64_t gpa, unsigned len)
{
	const struct tvmm_pol_rule *r = policy_rule(TVMM_RULE_MEM, gpa, 1, 0);
	return r && !(r->perm & TVMM_PERM_W) &&
	       r == policy_rule(TVMM_RULE_MEM, gpa + len - 1, 1, 0);
}

/*
 * Reads the table (kernel-virtual, through the locking CPU's page tables)
 * into vmm.pol.sites. Called by policy_lock once vmm.pol.rules is set and
 * before anything is applied; the table must lie in read-only protected
 * memory, or the guest could rewrite what authorizes a write.
 */
int64_t patch_build(struct vcpu *v, const struct tvmm_pol_rule *r)
{
	struct policy *p = &vmm.pol;
	uint64_t n = r->b / sizeof(struct jump_entry), skipped = 0;
	/* Every page the table touches: it need not start on a page boundary. */
	uint64_t first = r->a & PAGE_MASK, span = r->a + r->b - first;
	for (uint64_t off = 0; off < span; off += PAGE_SIZE) {
		uint64_t gpa;
		if (guest_virt_to_phys(v, first + off, PAGE_SIZE, &gpa) ||
		    !protected_text(gpa, 1)) {
			vmm_log(
			    "lock refused: the jump table at %#llx is not in read-only protected "
			    "memory",
			    (unsigned long long)(first + off));
			return TVMM_EINVAL;
		}
	}
	/* Kept across refused attempts: a guest retrying cannot drain VMM memory. */
	if (n > p->sites_cap) {
		uint64_t pages = (n * sizeof(struct patch_site) + PAGE_SIZE - 1) / PAGE_SIZE;
		if (!(p->sites = vmm_alloc_pages(pages)))
			return TVMM_ENOMEM;
		p->sites_cap = pages * PAGE_SIZE / sizeof(struct patch_site);
	}
	p->nsites = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t va = r->a + i * sizeof(struct jump_entry), gpa;
		struct jump_entry j;
		uint8_t cur[5];
		if (guest_virt_copy(v, va, &j, sizeof(j), false)) {
			skipped++;
			continue;
		}
		uint64_t code = va + (int64_t)j.code, target = va + 4 + (int64_t)j.target;
		int64_t delta = (int64_t)(target - code);
		/* Sites in freed init code or outside protected text need no help. */
		if (span_to_phys(v, code, 5, &gpa) || !protected_text(gpa, 5)) {
			skipped++;
			continue;
		}
		memcpy(cur, phys_ptr(gpa), 5);
		int len = site_len(cur, delta);
		if (!len || delta - len != (int32_t)(delta - len)) {
			skipped++;
			continue;
		}
		p->sites[p->nsites++] = (struct patch_site){
		    .gpa = gpa, .rel = (int32_t)(delta - len), .len = (uint8_t)len};
	}
	sort_sites(p->sites, p->nsites);
	vmm_log("jump labels: %u sites in protected text, %llu entries skipped (init code, "
		"unprotected, unknown form)",
		p->nsites, (unsigned long long)skipped);
	return TVMM_OK;
}

static const struct patch_site *find_site(uint64_t gpa)
{
	const struct patch_site *s = vmm.pol.sites;
	uint32_t lo = 0, hi = vmm.pol.nsites;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s[mid].gpa + s[mid].len <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < vmm.pol.nsites && s[lo].gpa <= gpa ? &s[lo] : 0;
}

/* The bytes a plain MOV store or a short forward REP MOVSB at RIP writes, and its length. */
static bool store_bytes(struct vcpu *v, const struct exit *e, uint8_t *data, uint64_t *n,
			uint8_t *len, bool *rep)
{
	*rep = false;
	uint8_t bytes[INSN_MAX_LEN];
	size_t got = guest_fetch_insn(v, bytes, sizeof(bytes));
	struct insn in;
	if (!insn_decode(bytes, got, &in) && (in.op == INSN_STORE || in.op == INSN_STORE_IMM)) {
		uint64_t val = insn_store_value(&in, v->regs);
		*n = in.mem_size;
		*len = in.len;
		memcpy(data, &val, in.mem_size);
		return true;
	}
	/* REP MOVSB (F3 A4), the form memcpy takes: at most 5 bytes, DF clear. */
	uint64_t cnt = v->regs[GREG_RCX], dst;
	if (got < 2 || bytes[0] != 0xf3 || bytes[1] != 0xa4 || !cnt || cnt > 5 ||
	    (vmm.ops->get(v, GS_RFLAGS) & (1u << 10)) ||
	    span_to_phys(v, v->regs[GREG_RDI], cnt, &dst) || dst != e->npf.gpa ||
	    guest_virt_copy(v, v->regs[GREG_RSI], data, cnt, false))
		return false;
	*n = cnt;
	*len = 2;
	*rep = true;
	return true;
}

/* A write to protected text at e->npf.gpa: true if it was a legal jump-label patch, done. */
bool patch_write(struct vcpu *v, const struct exit *e)
{
	const struct patch_site *s = find_site(e->npf.gpa);
	uint8_t data[8], site[5];
	uint64_t n;
	uint8_t len;
	bool rep;
	if (!s || !(e->npf.access & ACC_W) || e->npf.in_walk || !vmm.ops->get(v, GS_CS_LONG) ||
	    vmm.ops->get(v, GS_CPL) != 0 || !store_bytes(v, e, data, &n, &len, &rep) ||
	    e->npf.gpa + n > s->gpa + s->len)
		return false;
	/*
	 * Check and write as one step: two CPUs each writing a legal change to
	 * the same site must not leave it in a form neither was checked against.
	 */
	spin_lock(&site_lock);
	memcpy(site, phys_ptr(s->gpa), s->len);
	memcpy(site + (e->npf.gpa - s->gpa), data, n);
	bool ok = legal(s, site);
	if (ok)
		memcpy(phys_ptr(e->npf.gpa), data, n);
	spin_unlock(&site_lock);
	if (!ok)
		return false;
	if (rep) { /* as if REP MOVSB ran to its end */
		v->regs[GREG_RSI] += n;
		v->regs[GREG_RDI] += n;
		v->regs[GREG_RCX] = 0;
	}
	vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + len);
	uint64_t k = __atomic_add_fetch(&vmm.pol.patches, 1, __ATOMIC_RELAXED);
	if (k <= 8 || !(k & (k - 1)))
		vmm_log(
		    "jump-label patch #%llu: cpu %u wrote %llu byte(s) at gpa %#llx (site %#llx)",
		    (unsigned long long)k, v->cpu, (unsigned long long)n,
		    (unsigned long long)e->npf.gpa, (unsigned long long)s->gpa);
	return true;
}
