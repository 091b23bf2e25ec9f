/* SPDX-License-Identifier: MIT */
/*
 * Hypercalls. Every argument is hostile: a buffer is accepted only if it
 * lies wholly in guest RAM, does not wrap, is not too large and does not
 * touch the VMM's own memory. Results go to the registers named in abi.h.
 */
#include "core/vmm.h"
#include "lib/string.h"

int hc_check_buffer(uint64_t gpa, uint64_t len)
{
	if (!len || len > TVMM_HC_MAX_BUF || gpa + len < gpa)
		return TVMM_ERANGE;
	if (vmm_owns_range(gpa, len))
		return TVMM_EPERM;
	if (!guest_ram_range(gpa, len))
		return TVMM_EFAULT;
	return TVMM_OK;
}

static uint32_t status_cpus(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < TVMM_MAX_CPUS; i++)
		if (vmm.vcpus[i])
			n++;
	return n;
}

static int64_t hc_status(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	uint64_t need = sizeof(struct tvmm_status) + status_cpus() * sizeof(struct tvmm_status_cpu);
	int rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	if (gpa & 7) /* the VMM writes it as a struct of 64-bit fields */
		return TVMM_EINVAL;
	v->regs[GREG_RBX] = need;
	if (len < need)
		return TVMM_ETOOSMALL;
	struct tvmm_status *s = phys_ptr(gpa);
	memset(s, 0, need);
	s->abi_version = TVMM_ABI_VERSION;
	s->size = (uint32_t)need;
	memcpy(s->version, TVMM_VERSION,
	       sizeof(TVMM_VERSION) < sizeof(s->version) ? sizeof(TVMM_VERSION)
							 : sizeof(s->version) - 1);
	s->backend = vmm.ops->id;
	s->mem_total = vmm.mem_total;
	s->mem_used = vmm.alloc_next;
	s->nested_pages = vmm.nested.table_pages;
	s->nested_1g = vmm.nested.leaves[3];
	s->nested_2m = vmm.nested.leaves[2];
	s->nested_4k = vmm.nested.leaves[1];
	s->log_bytes = log_bytes();
	s->flags = vmm.pol.locked ? TVMM_STATUS_LOCKED : 0;
	s->image_hash = vmm_image_hash();
	s->nchunks = vmm.ho.nchunks;
	memcpy(s->chunk_pa, vmm.ho.chunk_pa, sizeof(s->chunk_pa));
	iommu_status(s);
	bool xlat_gave_up;
	xlat_status(&s->xlat_ranges, &s->xlat_pages, &xlat_gave_up);
	if (xlat_gave_up)
		s->flags |= TVMM_STATUS_XLAT_UNSUPPORTED;
	uint32_t k = 0;
	for (uint32_t i = 0; i < TVMM_MAX_CPUS; i++) {
		const struct vcpu *c = vmm.vcpus[i];
		if (!c)
			continue;
		struct tvmm_status_cpu *o = &s->cpu[k++];
		o->cpu = c->cpu;
		o->apic_id = c->apic_id;
		o->state = c->state;
		o->exits_total = c->exits_total;
		memcpy(o->exits, c->exits, sizeof(o->exits));
		if (c->state == TVMM_CPU_RUNNING)
			s->nvirt++;
	}
	s->ncpus = k;
	return TVMM_OK;
}

static int64_t hc_log(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t cursor)
{
	int rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	uint64_t next, lost;
	v->regs[GREG_RBX] = log_read(cursor, phys_ptr(gpa), len, &next, &lost);
	v->regs[GREG_RCX] = next;
	v->regs[GREG_RDX] = lost;
	return TVMM_OK;
}

static int64_t hc_events(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t from)
{
	int rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	if (gpa & 7)
		return TVMM_EINVAL;
	v->regs[GREG_RBX] = sizeof(struct tvmm_events);
	if (len < sizeof(struct tvmm_events))
		return TVMM_ETOOSMALL;
	struct tvmm_events *ev = phys_ptr(gpa);
	memset(ev, 0, sizeof(*ev));
	ev->locked = vmm.pol.locked;
	ev->rules = vmm.pol.nrules;
	ev->nested_splits = vmm.pol.splits;
	ev->patches = vmm.pol.patches;
	ev->sites = vmm.pol.nsites;
	memcpy(ev->policy, vmm.pol.name, sizeof(ev->policy));
	v->regs[GREG_RBX] = events_read(ev, len, from);
	return TVMM_OK;
}

enum action hypercall_dispatch(struct vcpu *v, const struct exit *e)
{
	uint64_t *r = v->regs;
	uint64_t nr = r[GREG_RAX], a0 = r[GREG_RBX], a1 = r[GREG_RCX], a2 = r[GREG_RDX];
	enum action act = ACT_RESUME;
	int64_t ret;
	iommu_poll(v); /* blocked DMA becomes events before anyone reads them */
	switch (nr) {
	case TVMM_HC_VERSION:
		r[GREG_RBX] = TVMM_ABI_VERSION;
		r[GREG_RCX] = 0;
		r[GREG_RDX] = vmm.ops->id;
		ret = TVMM_OK;
		break;
	case TVMM_HC_STATUS:
		ret = hc_status(v, a0, a1);
		break;
	case TVMM_HC_LOG:
		ret = hc_log(v, a0, a1, a2);
		break;
	case TVMM_HC_DEVIRT:
		ret = a0 ? TVMM_EINVAL : TVMM_OK;
		if (!ret && vmm.pol.locked) {
			policy_refused_call(v, nr);
			ret = TVMM_EDENIED;
		}
		if (!ret)
			act = ACT_DEVIRT;
		break;
	case TVMM_HC_LOCK:
		ret = policy_lock(v, a0, a1, a2);
		break;
	case TVMM_HC_EVENTS:
		ret = hc_events(v, a0, a1, a2);
		break;
	case TVMM_HC_TPMLOG:
		ret = tpm_hc_log(v, a0, a1, a2);
		break;
	case TVMM_HC_LOCK_XLAT:
		ret = a2 ? TVMM_EINVAL : xlat_lock(v, a0, a1);
		break;
	default:
		ret = TVMM_ENOSYS;
	}
	r[GREG_RAX] = (uint64_t)ret;
	vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + e->insn_len);
	return act;
}
