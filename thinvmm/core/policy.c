/* SPDX-License-Identifier: MIT */
/*
 * The locked policy: TVMM_HC_LOCK takes a resolved blob from the guest,
 * checks it as hostile, applies the memory rules to the shared nested map,
 * and from then on every CPU takes the register intercepts at its next
 * exit (policy_sync). Nothing unlocks it; the exits it causes come back
 * here to be judged, recorded and answered.
 */
#include "core/decode.h"
#include "core/polcheck.h"
#include "core/vmm.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/x86.h"

#define VEC_GP 13

static struct spinlock map_lock; /* the nested map, changed after launch */

/* Pages the worst case of one memory rule needs: a split at each end, two levels. */
#define PAGES_PER_MEM_RULE 4u

static void record_as(struct vcpu *v, const struct tvmm_pol_rule *r, uint8_t kind, uint64_t gpa,
		      uint64_t gva, uint64_t value, uint32_t index, uint8_t access, uint8_t action)
{
	struct tvmm_event e = {.rip = vmm.ops->get(v, GS_RIP),
			       .gpa = gpa,
			       .gva = gva,
			       .value = value,
			       .cpu = v->cpu,
			       .index = index,
			       .rule = r ? r->id : TVMM_EV_NO_RULE,
			       .kind = kind,
			       .access = access,
			       .action = action};
	if (r)
		memcpy(e.rule_name, r->name, sizeof(e.rule_name));
	event_record(&e);
}

static void record(struct vcpu *v, const struct tvmm_pol_rule *r, uint8_t kind, uint64_t gpa,
		   uint64_t gva, uint64_t value, uint32_t index, uint8_t access)
{
	record_as(v, r, kind, gpa, gva, value, index, access, r->action);
}

/* A call refused because of the lock (LOCK again, DEVIRT). */
void policy_refused_call(struct vcpu *v, uint64_t nr)
{
	record_as(v, 0, TVMM_EV_HYPERCALL, 0, TVMM_EV_NO_GVA, v->regs[GREG_RBX], (uint32_t)nr, 0,
		  TVMM_ACT_DENY);
}

/* An INIT signal after the lock: the CPU is not handed to a fresh, unwatched boot. */
void policy_refused_init(struct vcpu *v)
{
	record_as(v, 0, TVMM_EV_INIT, 0, TVMM_EV_NO_GVA, 0, 0, 0, TVMM_ACT_HALT);
}

static enum action stop(struct vcpu *v, const char *why)
{
	core_stop_machine(v, why);
	return ACT_HALT;
}

/* ---- lock ---- */

static int64_t check_ranges(const struct tvmm_pol_rule *r, uint32_t n, uint64_t *bad)
{
	for (uint32_t i = 0; i < n; i++) {
		*bad = i;
		if (r[i].kind != TVMM_RULE_MEM)
			continue;
		if (vmm_owns_range(r[i].a, r[i].b))
			return TVMM_EPERM;
		if (!guest_ram_range(r[i].a, r[i].b) || r[i].a + r[i].b > vmm.phys_limit)
			return TVMM_EFAULT;
	}
	for (uint32_t i = 0; i < n; i++) {
		*bad = i;
		if (vmm.ops->rule_supported && !vmm.ops->rule_supported(&r[i]))
			return TVMM_EINVAL;
	}
	*bad = ~0ull;
	return TVMM_OK;
}

static uint32_t count_kind(const struct tvmm_pol_rule *r, uint32_t n, uint16_t kind)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		k += r[i].kind == kind;
	return k;
}

static void summarize(struct policy *p)
{
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct tvmm_pol_rule *r = &p->rules[i];
		if (r->kind == TVMM_RULE_CR)
			p->cr_mask[r->a] |= r->b;
		else if (r->kind == TVMM_RULE_DT)
			p->dt_mask |= (uint8_t)r->a;
		else if (r->kind == TVMM_RULE_CR3)
			p->cr3_trap = true;
		else if (r->kind == TVMM_RULE_EXC)
			p->exc_mask |= (uint32_t)r->a;
		else if (r->kind == TVMM_RULE_MSR && vmm.ops->msr_intercept)
			vmm.ops->msr_intercept((uint32_t)r->a, r->perm & TVMM_PERM_R,
					       r->perm & TVMM_PERM_W);
	}
}

/*
 * The resolved blob as the VMM takes it, and the compiled policy it came
 * from when the guest gave it (then PCR18 measures that one: it does not
 * depend on where KASLR put the kernel).
 */
static int64_t check_blobs(struct vcpu *v, const void *blob, uint64_t rlen, const void *src,
			   uint64_t slen)
{
	struct pol_error err;
	const char *what = "";
	if (pol_check(blob, rlen, POL_RESOLVED, &err)) {
	} else if (src && pol_check(src, slen, POL_SOURCE, &err)) {
		what = "the compiled policy after it: ";
		err.rule = -1;
	} else if (src && pol_same_source(blob, src, &err)) {
		what = "against the compiled policy: ";
	} else {
		return TVMM_OK;
	}
	v->regs[GREG_RBX] = (uint64_t)err.rule;
	vmm_log("lock refused: rule %lld: %s%s", (long long)err.rule, what, err.why);
	return TVMM_EINVAL;
}

int64_t policy_lock(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t flags)
{
	struct policy *p = &vmm.pol;
	if (p->locked) {
		policy_refused_call(v, TVMM_HC_LOCK);
		return TVMM_EDENIED;
	}
	if (flags)
		return TVMM_EINVAL;
	int64_t rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	/* The resolved policy, then (optionally) the compiled one it came from. */
	uint64_t max = sizeof(struct tvmm_pol_header) +
		       (uint64_t)TVMM_POL_MAX_RULES * sizeof(struct tvmm_pol_rule);
	if (len > 2 * max)
		return TVMM_ERANGE;
	/* Our own copy first: another CPU may change the guest's while we look. */
	if (!p->blob && !(p->blob = vmm_alloc_pages((2 * max + PAGE_SIZE - 1) / PAGE_SIZE)))
		return TVMM_ENOMEM;
	memcpy(p->blob, phys_ptr(gpa), len);
	const struct tvmm_pol_header *h = p->blob;
	uint64_t rlen = len >= sizeof(*h) && h->size <= len ? h->size : len;
	const void *src = rlen < len ? (const uint8_t *)p->blob + rlen : 0;
	if ((rc = check_blobs(v, p->blob, rlen, src, len - rlen)))
		return rc;
	const struct tvmm_pol_rule *rules = (const void *)(h + 1);
	uint64_t bad;
	rc = check_ranges(rules, h->nrules, &bad);
	v->regs[GREG_RBX] = bad;
	if (rc) {
		vmm_log("lock refused: rule %lld: %s", (long long)bad,
			rc == TVMM_EPERM    ? "range touches VMM memory"
			: rc == TVMM_EFAULT ? "range is not guest RAM"
					    : "rule not supported on this backend");
		return rc;
	}
	uint32_t nmem = count_kind(rules, h->nrules, TVMM_RULE_MEM);
	uint64_t need = nmem * PAGES_PER_MEM_RULE + iommu_lock_pages(nmem);
	for (uint32_t i = 0; i < h->nrules; i++)
		if (rules[i].kind == TVMM_RULE_PATCH)
			need +=
			    (rules[i].b / 16 * sizeof(uint64_t) * 2 + PAGE_SIZE - 1) / PAGE_SIZE;
	if (need * PAGE_SIZE > vmm.mem_total - vmm.alloc_next) {
		vmm_log("lock refused: not enough VMM memory for the page splits");
		return TVMM_ENOMEM;
	}
	/* The jump-label sites, read while nothing is applied yet: a refusal changes nothing. */
	p->rules = rules;
	p->nrules = h->nrules;
	for (uint32_t i = 0; i < h->nrules && !rc; i++)
		if (rules[i].kind == TVMM_RULE_PATCH && (rc = patch_build(v, &rules[i])))
			v->regs[GREG_RBX] = i;
	if (rc) {
		p->rules = 0;
		p->nrules = p->nsites = 0;
		return rc;
	}
	spin_lock(&map_lock);
	uint64_t splits = vmm.nested.splits;
	for (uint32_t i = 0; i < h->nrules && !rc; i++)
		if (rules[i].kind == TVMM_RULE_MEM &&
		    pt_set_perm(&vmm.nested, rules[i].a, rules[i].b, rules[i].perm))
			rc = TVMM_ENOMEM;
	spin_unlock(&map_lock);
	if (!rc && iommu_lock(rules, h->nrules))
		rc = TVMM_ENOMEM;
	if (rc) {
		/* Stricter than before but not locked: say so, loudly. */
		p->rules = 0;
		p->nrules = p->nsites = 0;
		vmm_log("lock failed part-way applying memory rules: NOT locked");
		return rc;
	}
	memcpy(p->name, h->name, sizeof(p->name));
	summarize(p);
	events_set_rules(rules, h->nrules);
	p->splits = vmm.nested.splits - splits;
	__atomic_store_n(&p->locked, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&p->gen, 1, __ATOMIC_ACQ_REL);
	policy_sync(v);
	vmm_log("policy '%s' locked by cpu %u: %u rules, %llu nested splits; every CPU applies "
		"it at its next exit",
		p->name, v->cpu, p->nrules, (unsigned long long)p->splits);
	tpm_policy_locked(p, src, src ? len - rlen : 0); /* PCR18 and PCR19 (tpm/tpm.c) */
	return TVMM_OK;
}

int nested_protect(uint64_t gpa, uint64_t size, unsigned perm)
{
	spin_lock(&map_lock);
	int rc = pt_set_perm(&vmm.nested, gpa, size, perm);
	spin_unlock(&map_lock);
	return rc;
}

/* Every exit: a CPU that has not taken the latest policy takes it now. */
void policy_sync(struct vcpu *v)
{
	uint32_t gen = __atomic_load_n(&vmm.pol.gen, __ATOMIC_ACQUIRE);
	if (v->pol_gen == gen)
		return;
	if (vmm.ops->apply_policy)
		vmm.ops->apply_policy(v);
	vmm.ops->flush_nested(v);
	v->pol_gen = gen;
}

const struct tvmm_pol_rule *policy_find(uint16_t kind, uint64_t a, uint64_t len, uint8_t perm)
{
	if (!__atomic_load_n(&vmm.pol.locked, __ATOMIC_ACQUIRE))
		return 0;
	return policy_rule(kind, a, len, perm);
}

/* The first rule of `kind` that matches, locked or not (the lock itself needs it). */
const struct tvmm_pol_rule *policy_rule(uint16_t kind, uint64_t a, uint64_t len, uint8_t perm)
{
	const struct policy *p = &vmm.pol;
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct tvmm_pol_rule *r = &p->rules[i];
		if (r->kind != kind)
			continue;
		if (kind == TVMM_RULE_MEM   ? (a < r->a + r->b && r->a < a + len)
		    : kind == TVMM_RULE_MSR ? (r->a == a && (r->perm & perm))
					    : (r->a == a))
			return r;
	}
	return 0;
}

/* ---- memory ---- */

static bool p_sites_cover(const struct exit *e)
{
	return vmm.pol.nsites && (e->npf.access & ACC_W);
}

/* Adds `access` to the page's nested permissions: a monitor rule's "allow". */
static void open_page(struct vcpu *v, uint64_t gpa, uint8_t access)
{
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;
	spin_lock(&map_lock);
	if (!pt_lookup(&vmm.nested, gpa & PAGE_MASK, &pa, &perm, &level, &mt))
		pt_set_perm(&vmm.nested, gpa & PAGE_MASK, PAGE_SIZE, perm | access);
	spin_unlock(&map_lock);
	vmm.ops->flush_nested(v);
}

static bool emulate_store(struct vcpu *v, const struct exit *e, const struct insn *in)
{
	uint64_t off = e->npf.gpa & (PAGE_SIZE - 1);
	/* Aligned, so wholly in the faulting page: the address is exact. */
	if ((e->npf.gpa & (in->mem_size - 1)) || off + in->mem_size > PAGE_SIZE)
		return false;
	uint64_t val = insn_store_value(in, v->regs);
	memcpy(phys_ptr(e->npf.gpa), &val, in->mem_size);
	return true;
}

/*
 * A nested fault on a page a memory rule covers. true if handled here
 * (*act set); false sends it on to the unbacked-memory emulation.
 */
bool policy_npf(struct vcpu *v, const struct exit *e, enum action *act)
{
	const struct tvmm_pol_rule *r =
	    policy_find(TVMM_RULE_MEM, e->npf.gpa & PAGE_MASK, PAGE_SIZE, 0);
	if (!r)
		return false;
	*act = ACT_RESUME;
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;
	if (pt_lookup(&vmm.nested, e->npf.gpa, &pa, &perm, &level, &mt) == 0 &&
	    (perm & e->npf.access) == e->npf.access) {
		/* Allowed now: a stale translation on this CPU. */
		vmm.ops->flush_nested(v);
		return true;
	}
	if (p_sites_cover(e) && patch_write(v, e))
		return true;
	struct insn in;
	uint8_t bytes[INSN_MAX_LEN];
	bool mov = (e->npf.access & ACC_W) && !e->npf.in_walk && vmm.ops->get(v, GS_CS_LONG) &&
		   !insn_decode(bytes, guest_fetch_insn(v, bytes, sizeof(bytes)), &in) &&
		   (in.op == INSN_STORE || in.op == INSN_STORE_IMM);
	record(v, r, TVMM_EV_MEM, e->npf.gpa, e->npf.gva, mov ? insn_store_value(&in, v->regs) : 0,
	       0, e->npf.access);
	switch (r->action) {
	case TVMM_ACT_HALT:
		*act = stop(v, "policy: halt on a memory rule");
		break;
	case TVMM_ACT_MONITOR:
		if (mov && emulate_store(v, e, &in))
			vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + in.len);
		else
			open_page(v, e->npf.gpa, e->npf.access);
		break;
	default: /* deny: a plain store vanishes; anything else faults */
		if (mov)
			vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + in.len);
		else
			vmm.ops->inject_exception(v, VEC_GP, true, 0);
	}
	return true;
}

/* ---- control registers ---- */

/*
 * A write of *val to CR `cr` (currently old): each rule whose bits it would
 * change is recorded; deny keeps those bits as they are.
 */
enum action policy_cr(struct vcpu *v, unsigned cr, uint64_t old, uint64_t *val)
{
	const struct policy *p = &vmm.pol;
	if (!__atomic_load_n(&p->locked, __ATOMIC_ACQUIRE) || cr > 4)
		return ACT_RESUME;
	uint64_t changed = (old ^ *val) & p->cr_mask[cr];
	for (uint32_t i = 0; changed && i < p->nrules; i++) {
		const struct tvmm_pol_rule *r = &p->rules[i];
		if (r->kind != TVMM_RULE_CR || r->a != cr || !(changed & r->b))
			continue;
		record(v, r, TVMM_EV_CR, 0, TVMM_EV_NO_GVA, *val, cr, 0);
		if (r->action == TVMM_ACT_HALT)
			return stop(v, "policy: halt on a control-register rule");
		if (r->action == TVMM_ACT_DENY)
			*val = (*val & ~(changed & r->b)) | (old & changed & r->b);
	}
	return ACT_RESUME;
}

/* ---- MSRs and descriptor tables ---- */

/* RESUME: go on with the access; DEVIRT is never returned; HALT stops; else #GP. */
enum policy_verdict policy_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t value)
{
	const struct tvmm_pol_rule *r =
	    policy_find(TVMM_RULE_MSR, msr, 0, write ? TVMM_PERM_W : TVMM_PERM_R);
	if (!r)
		return PV_ALLOW;
	record(v, r, write ? TVMM_EV_MSR_WRITE : TVMM_EV_MSR_READ, 0, TVMM_EV_NO_GVA,
	       write ? value : 0, msr, 0);
	if (r->action == TVMM_ACT_HALT) {
		stop(v, "policy: halt on an MSR rule");
		return PV_HALT;
	}
	return r->action == TVMM_ACT_DENY ? PV_DENY : PV_ALLOW;
}

enum policy_verdict policy_dt(struct vcpu *v, unsigned which, uint64_t gva)
{
	const struct policy *p = &vmm.pol;
	if (!__atomic_load_n(&p->locked, __ATOMIC_ACQUIRE) || !(p->dt_mask & which))
		return PV_ALLOW;
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct tvmm_pol_rule *r = &p->rules[i];
		if (r->kind != TVMM_RULE_DT || !(r->a & which))
			continue;
		record(v, r, TVMM_EV_DT, 0, gva, 0, which, 0);
		if (r->action == TVMM_ACT_HALT) {
			stop(v, "policy: halt on a descriptor-table rule");
			return PV_HALT;
		}
		return PV_DENY;
	}
	return PV_ALLOW;
}

/* ---- introspection ---- */

static const struct tvmm_pol_rule *find_kind(uint16_t kind, uint64_t bit)
{
	const struct policy *p = &vmm.pol;
	for (uint32_t i = 0; i < p->nrules; i++)
		if (p->rules[i].kind == kind && (!bit || (p->rules[i].a & bit)))
			return &p->rules[i];
	return 0;
}

/* A CR3 write (the new address space is the value); it always happens unless halt. */
enum action policy_cr3(struct vcpu *v, uint64_t val)
{
	const struct tvmm_pol_rule *r;
	if (!__atomic_load_n(&vmm.pol.locked, __ATOMIC_ACQUIRE) ||
	    !(r = find_kind(TVMM_RULE_CR3, 0)))
		return ACT_RESUME;
	record(v, r, TVMM_EV_CR, 0, TVMM_EV_NO_GVA, val, 3, 0);
	return r->action == TVMM_ACT_HALT ? stop(v, "policy: halt on a CR3 rule") : ACT_RESUME;
}

/* A trapped exception: recorded, then delivered to the guest as the hardware would have. */
enum action policy_exception(struct vcpu *v, const struct exit *e)
{
	const struct tvmm_pol_rule *r = 0;
	if (__atomic_load_n(&vmm.pol.locked, __ATOMIC_ACQUIRE) && e->exc.vector < 32)
		r = find_kind(TVMM_RULE_EXC, 1ull << e->exc.vector);
	if (r) {
		record(v, r, TVMM_EV_EXCEPTION, 0,
		       e->exc.vector == 14 ? e->exc.cr2 : TVMM_EV_NO_GVA, e->exc.err, e->exc.vector,
		       0);
		if (r->action == TVMM_ACT_HALT)
			return stop(v, "policy: halt on an exception rule");
	}
	if (e->exc.vector == 14)
		vmm.ops->set(v, GS_CR2, e->exc.cr2);
	vmm.ops->inject_exception(v, e->exc.vector, e->exc.has_err, e->exc.err);
	return ACT_RESUME;
}
