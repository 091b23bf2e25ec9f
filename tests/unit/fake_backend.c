/* SPDX-License-Identifier: MIT */
/* A backend whose ops record what the core asked of them. */
#include <string.h>

#include "fake.h"
#include "test.h"

struct fake_backend fake;

static void seen(struct vcpu *v)
{
	if (v != fake.vcpu)
		fake.wrong_vcpu++;
}

static void fake_decode_exit(struct vcpu *v, struct exit *e)
{
	seen(v);
	fake.decodes++;
	*e = fake.next_exit;
}

static uint64_t fake_get(struct vcpu *v, enum gstate s)
{
	seen(v);
	fake.gets++;
	if (!CHECK((unsigned)s < GS_NR))
		return 0;
	return fake.gs[s];
}

static void fake_set(struct vcpu *v, enum gstate s, uint64_t val)
{
	seen(v);
	fake.sets++;
	if (!CHECK((unsigned)s < GS_NR))
		return;
	if (s == GS_RIP)
		fake.rip_sets++;
	fake.gs[s] = val;
}

static void fake_inject(struct vcpu *v, uint8_t vector, bool has_err, uint32_t err)
{
	seen(v);
	if (CHECK(fake.ninject < FAKE_MAX_INJECT))
		fake.inject[fake.ninject] = (struct fake_inject){vector, has_err, err};
	fake.ninject++;
}

static void fake_flush_nested(struct vcpu *v)
{
	seen(v);
	fake.flushes++;
}

static bool fake_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	seen(v);
	fake.msr_reads++;
	fake.msr_index = msr;
	if (fake.msr_ok)
		*val = fake.msr_read_val;
	return fake.msr_ok;
}

static bool fake_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	seen(v);
	fake.msr_writes++;
	fake.msr_index = msr;
	fake.msr_written = val;
	return fake.msr_ok;
}

static void fake_cpuid_hide(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	fake.hides++;
	fake.hide_leaf = leaf;
	fake.hide_sub = sub;
	for (int i = 0; i < 4; i++) {
		fake.hide_in[i] = r[i];
		r[i] ^= fake.hide_xor[i];
	}
}

static bool fake_cr_write(struct vcpu *v, unsigned cr, uint64_t val)
{
	if (v != fake.vcpu)
		fake.wrong_vcpu++;
	fake.cr_writes++;
	fake.cr_num = cr;
	fake.cr_val = val;
	return fake.cr_ok;
}

static bool fake_rule_supported(const struct tvmm_pol_rule *r)
{
	fake.rule_queries++;
	return !fake.refuse_kind || r->kind != fake.refuse_kind;
}

/* The last MSR intercept asked for (the count says how many). */
static void fake_msr_intercept(uint32_t msr, bool read, bool write)
{
	fake.msr_intercepts++;
	fake.intercept_msr = msr;
	fake.intercept_r = read;
	fake.intercept_w = write;
}

static void fake_apply_policy(struct vcpu *v)
{
	seen(v);
	fake.apply_policies++;
}

static bool fake_dt_emulate(struct vcpu *v, const struct exit *e)
{
	(void)e;
	seen(v);
	fake.dt_emulates++;
	return fake.dt_ok;
}

const struct backend_ops fake_ops = {
    .name = "fake",
    .id = FAKE_BACKEND_ID,
    .decode_exit = fake_decode_exit,
    .get = fake_get,
    .set = fake_set,
    .inject_exception = fake_inject,
    .nested_fmt = &pt_format_x86,
    .flush_nested = fake_flush_nested,
    .msr_read = fake_msr_read,
    .msr_write = fake_msr_write,
    .cpuid_hide = fake_cpuid_hide,
    .cr_write = fake_cr_write,
    .rule_supported = fake_rule_supported,
    .msr_intercept = fake_msr_intercept,
    .apply_policy = fake_apply_policy,
    .dt_emulate = fake_dt_emulate,
};

void fake_reset(struct vcpu *v)
{
	memset(&vmm, 0, sizeof(vmm));
	memset(&fake, 0, sizeof(fake));
	fake_mem_reset();
	fake_console_reset();
	log_init();
	fake_cpuid_calls = 0;
	vmm.ops = &fake_ops;
	fake.vcpu = v;
	fake.gs[GS_RIP] = FAKE_RIP;
	fake.gs[GS_CPL] = 0;
	fake.gs[GS_CS_LONG] = 1;
}
