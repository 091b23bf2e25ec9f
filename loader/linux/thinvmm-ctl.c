// SPDX-License-Identifier: MIT
/*
 * thinvmm-ctl: the guest's view of the VMM, through /dev/thinvmm.
 *   thinvmm-ctl status [--json]   version, CPUs, exits by reason, memory, lock
 *   thinvmm-ctl log               the VMM's log ring
 *   thinvmm-ctl lock POLICY.bin   look up the policy's symbols in /proc/kallsyms,
 *                                 hand it to the VMM and lock it (for good)
 *   thinvmm-ctl events [--follow] [--json]   violation records
 */
#include <cpuid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <thinvmm/abi.h>

#include "uapi/thinvmm_ioctl.h"
#include "uapi/thinvmm_tpmlog.h"

static const char *const exit_names[TVMM_EXIT_NR] = TVMM_EXIT_NAMES;

/* The signature leaf, from user space too: is a VMM there without its channel? */
static int vmm_signature(void)
{
	unsigned a, b, c, d;
	__cpuid(TVMM_CPUID_LEAF, a, b, c, d);
	(void)a;
	return b == TVMM_SIG_EBX && c == TVMM_SIG_ECX && d == TVMM_SIG_EDX;
}

static int dev_open(void)
{
	int fd = open("/dev/thinvmm", O_RDWR);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT && vmm_signature())
		fprintf(stderr,
			"thinvmm-ctl: thinvmm runs (CPUID signature) but its channel "
			"/dev/thinvmm is gone: the module was unloaded (by force, if a policy "
			"was locked: the VMM and its protections stay); insmod thinvmm.ko "
			"loads the channel again\n");
	else
		fprintf(stderr, "thinvmm-ctl: /dev/thinvmm: %s (is the thinvmm module loaded?)\n",
			strerror(errno));
	return fd;
}

static int call(int fd, struct tvmm_ioc_call *c)
{
	if (ioctl(fd, TVMM_IOC_CALL, c)) {
		fprintf(stderr, "thinvmm-ctl: hypercall %#x: %s\n", c->nr, strerror(errno));
		return -1;
	}
	if (c->ret) {
		fprintf(stderr, "thinvmm-ctl: hypercall %#x: VMM error %" PRId64 "\n", c->nr,
			(int64_t)c->ret);
		return -1;
	}
	return 0;
}

static const char *backend_name(uint32_t b)
{
	return b == TVMM_BACKEND_SVM ? "svm" : b == TVMM_BACKEND_VMX ? "vmx" : "unknown";
}

/* The VMM's reason, printable (it is the VMM's bytes, not ours). */
static void dma_why(const struct tvmm_status *s, char *out, size_t n)
{
	size_t i = 0;
	for (; i + 1 < n && i < sizeof(s->dma_why) && s->dma_why[i]; i++)
		out[i] = isprint((unsigned char)s->dma_why[i]) && s->dma_why[i] != '"'
			     ? s->dma_why[i]
			     : '?';
	out[i] = 0;
}

static void print_dma(const struct tvmm_status *s)
{
	char why[sizeof(s->dma_why) + 1];
	dma_why(s, why, sizeof(why));
	if (s->dma_state == TVMM_DMA_PROTECTED)
		printf("dma: protected (vt-d, %u unit%s, %" PRIu64 " faults)\n", s->dma_units,
		       s->dma_units == 1 ? "" : "s", s->dma_faults);
	else
		printf("dma: unprotected (%s)\n", why[0] ? why : "no IOMMU");
}

static void print_text(const struct tvmm_status *s)
{
	printf("thinvmm %s (ABI %u.%u), backend %s\n", s->version, s->abi_version >> 16,
	       s->abi_version & 0xffff, backend_name(s->backend));
	printf("virtualized: %u/%ld\n", s->nvirt, sysconf(_SC_NPROCESSORS_ONLN));
	printf("memory: %" PRIu64 " KiB used of %" PRIu64 " KiB\n", s->mem_used >> 10,
	       s->mem_total >> 10);
	printf("nested map: %" PRIu64 " table pages, leaves 1G=%" PRIu64 " 2M=%" PRIu64
	       " 4K=%" PRIu64 "\n",
	       s->nested_pages, s->nested_1g, s->nested_2m, s->nested_4k);
	printf("policy: %s\n", (s->flags & TVMM_STATUS_LOCKED) ? "locked" : "none");
	print_dma(s);
	if (s->flags & TVMM_STATUS_XLAT_UNSUPPORTED)
		printf("translations: NOT protected (this CPU's page walker writes page tables on "
		       "every walk, as QEMU's TCG does: they cannot be write-protected)\n");
	else if (s->xlat_ranges)
		printf(
		    "translations: %u locked range(s) through %u page-table page(s) below the top "
		    "level (the top level and CR3 are not covered)\n",
		    s->xlat_ranges, s->xlat_pages);
	else
		printf("translations: not locked\n");
	for (uint32_t i = 0; i < s->ncpus; i++) {
		const struct tvmm_status_cpu *c = &s->cpu[i];
		printf("cpu %u (apic %u): %s, exits %" PRIu64, c->cpu, c->apic_id,
		       c->state == TVMM_CPU_RUNNING ? "virtualized" : "off", c->exits_total);
		for (int r = 0; r < TVMM_EXIT_NR; r++)
			if (c->exits[r])
				printf(" %s=%" PRIu64, exit_names[r], c->exits[r]);
		printf("\n");
	}
}

static void print_json(const struct tvmm_status *s)
{
	printf("{\"version\":\"%s\",\"abi\":\"%u.%u\",\"backend\":\"%s\",\"virtualized\":%u,"
	       "\"online\":%ld,\"mem_total\":%" PRIu64 ",\"mem_used\":%" PRIu64
	       ",\"nested\":{\"table_pages\":%" PRIu64 ",\"leaves_1g\":%" PRIu64
	       ",\"leaves_2m\":%" PRIu64 ",\"leaves_4k\":%" PRIu64 "},\"locked\":%s,",
	       s->version, s->abi_version >> 16, s->abi_version & 0xffff, backend_name(s->backend),
	       s->nvirt, sysconf(_SC_NPROCESSORS_ONLN), s->mem_total, s->mem_used, s->nested_pages,
	       s->nested_1g, s->nested_2m, s->nested_4k,
	       (s->flags & TVMM_STATUS_LOCKED) ? "true" : "false");
	char why[sizeof(s->dma_why) + 1];
	dma_why(s, why, sizeof(why));
	printf("\"translations\":{\"ranges\":%u,\"pages\":%u},", s->xlat_ranges, s->xlat_pages);
	printf("\"dma\":{\"state\":\"%s\",\"reason\":\"%s\",\"units\":%u,\"faults\":%" PRIu64
	       ",\"lost\":%" PRIu64 ",\"table_pages\":%" PRIu64 ",\"invalidations\":%" PRIu64
	       "},\"cpus\":[",
	       s->dma_state == TVMM_DMA_PROTECTED ? "protected" : "unprotected",
	       s->dma_state == TVMM_DMA_PROTECTED ? ""
	       : why[0]				  ? why
						  : "no IOMMU",
	       s->dma_units, s->dma_faults, s->dma_lost, s->dma_table_pages, s->dma_invalidations);
	for (uint32_t i = 0; i < s->ncpus; i++) {
		const struct tvmm_status_cpu *c = &s->cpu[i];
		printf("%s{\"cpu\":%u,\"apic_id\":%u,\"virtualized\":%s,\"exits_total\":%" PRIu64
		       ",\"exits\":{",
		       i ? "," : "", c->cpu, c->apic_id,
		       c->state == TVMM_CPU_RUNNING ? "true" : "false", c->exits_total);
		for (int r = 0; r < TVMM_EXIT_NR; r++)
			printf("%s\"%s\":%" PRIu64, r ? "," : "", exit_names[r], c->exits[r]);
		printf("}}");
	}
	printf("]}\n");
}

static int cmd_status(int fd, int json)
{
	static uint64_t buf[TVMM_IOC_MAX_BUF / 8];
	struct tvmm_ioc_call c = {.nr = TVMM_HC_STATUS, .len = sizeof(buf), .buf = (uintptr_t)buf};
	if (call(fd, &c))
		return 1;
	const struct tvmm_status *s = (const void *)buf;
	if (s->size < sizeof(*s) || s->size > sizeof(buf) ||
	    s->ncpus > (s->size - sizeof(*s)) / sizeof(s->cpu[0])) {
		fprintf(stderr, "thinvmm-ctl: malformed status from the VMM\n");
		return 1;
	}
	if (json)
		print_json(s);
	else
		print_text(s);
	return 0;
}

static int cmd_log(int fd)
{
	static char buf[TVMM_IOC_MAX_BUF];
	uint64_t cursor = 0;
	for (;;) {
		struct tvmm_ioc_call c = {
		    .nr = TVMM_HC_LOG, .len = sizeof(buf), .buf = (uintptr_t)buf, .arg = cursor};
		if (call(fd, &c))
			return 1;
		if (c.out[2])
			printf("[... %llu bytes of log lost ...]\n", (unsigned long long)c.out[2]);
		if (c.out[0] > sizeof(buf))
			return 1;
		fwrite(buf, 1, c.out[0], stdout);
		if (!c.out[0])
			return 0;
		cursor = c.out[1];
	}
}

/* ---- lock ---- */

static int read_file(const char *path, void *buf, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "thinvmm-ctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	*len = fread(buf, 1, max, f);
	int big = fgetc(f) != EOF, err = ferror(f);
	fclose(f);
	if (big || err) {
		fprintf(stderr, "thinvmm-ctl: %s: %s\n", path, big ? "too large" : "read error");
		return -1;
	}
	return 0;
}

/* The symbols a policy names, looked up in one pass over /proc/kallsyms (it is long). */
static struct {
	char name[TVMM_POL_SYM_LEN]; /* a copy: the rules' own names are cleared as resolved */
	uint64_t addr;
	int seen, zero;
} want[2 * TVMM_POL_MAX_RULES];
static unsigned nwant;

static void want_symbol(const char *name)
{
	if (!name[0] || nwant == sizeof(want) / sizeof(want[0]))
		return;
	for (unsigned i = 0; i < nwant; i++)
		if (!strcmp(want[i].name, name))
			return;
	snprintf(want[nwant++].name, TVMM_POL_SYM_LEN, "%s", name);
}

static void kallsyms_load(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, sym[256];
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3)
			continue;
		for (unsigned i = 0; i < nwant; i++)
			if (!want[i].seen && !strcmp(want[i].name, sym)) {
				want[i].seen = 1; /* the first of equal names, as before */
				want[i].addr = addr;
				want[i].zero = !addr;
			}
	}
	fclose(f);
}

/* The address of a wanted kernel symbol; 0 if absent. */
static uint64_t kallsyms(const char *name, int *zeroes)
{
	for (unsigned i = 0; i < nwant; i++)
		if (!strcmp(want[i].name, name)) {
			*zeroes |= want[i].zero;
			return want[i].addr;
		}
	return 0;
}

static int resolve_rule(struct tvmm_pol_rule *r)
{
	int zeroes = 0;
	uint64_t start = kallsyms(r->sym[0], &zeroes), end;
	if (!start) {
		fprintf(stderr, "thinvmm-ctl: rule '%.32s' (line %u): symbol %.64s %s\n", r->name,
			r->line, r->sym[0],
			zeroes ? "shows address 0 in /proc/kallsyms (kptr_restrict? run as root)"
			       : "not in /proc/kallsyms");
		return -1;
	}
	start += r->a;
	if (r->sym[1][0]) {
		end = kallsyms(r->sym[1], &zeroes);
		if (!end || end <= start) {
			fprintf(stderr,
				"thinvmm-ctl: rule '%.32s' (line %u): end symbol %.64s %s\n",
				r->name, r->line, r->sym[1],
				end ? "is not after the start" : "not found");
			return -1;
		}
	} else {
		end = start + r->b;
	}
	if (r->kind == TVMM_RULE_MEM_SYM)
		r->kind =
		    TVMM_RULE_MEM_VA; /* a patch rule keeps its kind, now with the table's VA */
	r->a = start;
	r->b = end - start;
	memset(r->sym, 0, sizeof(r->sym));
	return 0;
}

static const char *vmm_error(int64_t e)
{
	switch (e) {
	case TVMM_EINVAL:
		return "a rule is malformed or not supported by this backend";
	case TVMM_EFAULT:
		return "a range is not guest RAM";
	case TVMM_EPERM:
		return "a range touches the VMM's own memory";
	case TVMM_EDENIED:
		return "a policy is already locked";
	case TVMM_ENOMEM:
		return "the VMM has not enough memory for the page splits";
	case TVMM_ERANGE:
		return "the policy is too large";
	}
	return "error";
}

/*
 * kexec would start another kernel on CPUs that stay under this lock, over
 * ranges it no longer uses for the same things: Linux's one-way switch
 * turns it off for the rest of this boot (a crash kernel loaded before
 * stays loaded).
 */
static void disable_kexec(void)
{
	FILE *f = fopen("/proc/sys/kernel/kexec_load_disabled", "w");
	if (!f || fputs("1\n", f) < 0 || fclose(f))
		fprintf(stderr,
			"thinvmm-ctl: warning: kexec not disabled (%s): a kexec now would "
			"run another kernel under this lock\n",
			strerror(errno));
	else
		printf("kexec disabled for this boot (kernel.kexec_load_disabled=1)\n");
}

static int cmd_lock(const char *path)
{
	static uint64_t buf[TVMM_IOC_MAX_LOCK / 8];
	size_t len;
	if (read_file(path, buf, sizeof(buf) / 2, &len))
		return 1;
	struct tvmm_pol_header *h = (void *)buf;
	struct tvmm_pol_rule *r = (void *)(h + 1);
	if (len < sizeof(*h) || h->magic != TVMM_POL_MAGIC || h->version != TVMM_POL_VERSION ||
	    h->size != len || h->nrules > TVMM_POL_MAX_RULES ||
	    len != sizeof(*h) + h->nrules * sizeof(*r)) {
		fprintf(stderr,
			"thinvmm-ctl: %s: not a compiled thinvmm policy (thinvmm-policy "
			"compile makes one)\n",
			path);
		return 1;
	}
	/* The file as it is goes after the resolved copy: PCR18 measures it, not the copy. */
	memcpy((char *)buf + len, buf, len);
	for (uint32_t i = 0; i < h->nrules; i++)
		if (r[i].kind == TVMM_RULE_MEM_SYM || r[i].kind == TVMM_RULE_PATCH) {
			r[i].sym[0][TVMM_POL_SYM_LEN - 1] = r[i].sym[1][TVMM_POL_SYM_LEN - 1] = 0;
			want_symbol(r[i].sym[0]);
			want_symbol(r[i].sym[1]);
		}
	kallsyms_load();
	for (uint32_t i = 0; i < h->nrules; i++)
		if ((r[i].kind == TVMM_RULE_MEM_SYM || r[i].kind == TVMM_RULE_PATCH) &&
		    resolve_rule(&r[i]))
			return 1;
	int fd = dev_open();
	if (fd < 0)
		return 1;
	struct tvmm_ioc_lock l = {.buf = (uintptr_t)buf, .len = (uint32_t)(2 * len)};
	if (ioctl(fd, TVMM_IOC_LOCK, &l)) {
		const char *why = errno == EAGAIN     ? "not every online CPU runs under thinvmm"
				  : errno == EALREADY ? "a policy is already locked"
						      : strerror(errno);
		if (l.bad_rule < h->nrules)
			fprintf(stderr, "thinvmm-ctl: lock: rule '%.32s' (line %u): %s\n",
				r[l.bad_rule].name, r[l.bad_rule].line, why);
		else
			fprintf(stderr, "thinvmm-ctl: lock: %s\n", why);
		return 1;
	}
	if (l.ret) {
		if (l.bad_rule < h->nrules)
			fprintf(stderr,
				"thinvmm-ctl: lock refused by the VMM: rule '%.32s' (line %u): "
				"%s (code %lld)\n",
				r[l.bad_rule].name, r[l.bad_rule].line, vmm_error(l.ret),
				(long long)l.ret);
		else
			fprintf(stderr, "thinvmm-ctl: lock refused by the VMM: %s (code %lld)\n",
				vmm_error(l.ret), (long long)l.ret);
		return 1;
	}
	printf("locked policy '%.32s': %u rules, %u guest-physical ranges\n", h->name, h->nrules,
	       l.nranges);
	disable_kexec();
	return 0;
}

/* ---- events ---- */

static const char *const kind_names[TVMM_EV_KIND_COUNT] = TVMM_EV_KIND_NAMES;
static const char *const action_names[TVMM_ACT_COUNT] = TVMM_ACT_NAMES;

static void print_event(const struct tvmm_event *e, int json)
{
	const char *kind = kind_names[e->kind < TVMM_EV_KIND_COUNT ? e->kind : 0];
	const char *act = action_names[e->action < TVMM_ACT_COUNT ? e->action : 0];
	char name[TVMM_POL_NAME_LEN + 1];
	size_t n = 0;
	for (; n < TVMM_POL_NAME_LEN && e->rule_name[n]; n++)
		name[n] = isprint((unsigned char)e->rule_name[n]) && e->rule_name[n] != '"'
			      ? e->rule_name[n]
			      : '?';
	name[n] = 0;
	if (json) {
		printf("{\"seq\":%" PRIu64 ",\"count\":%" PRIu64 ",\"cpu\":%u,\"kind\":\"%s\","
		       "\"rule\":%u,\"rule_name\":\"%s\",\"action\":\"%s\",\"rip\":\"%#" PRIx64
		       "\",\"gpa\":\"%#" PRIx64 "\",\"gva\":\"%#" PRIx64 "\",\"index\":\"%#x\","
		       "\"access\":%u,\"value\":\"%#" PRIx64 "\"}\n",
		       e->seq, e->count, e->cpu, kind, e->rule, name, act, e->rip, e->gpa, e->gva,
		       e->index, e->access, e->value);
		return;
	}
	if (e->rule == TVMM_EV_NO_RULE)
		printf("#%" PRIu64 " x%" PRIu64 " cpu %u %s %s %s rip %#" PRIx64, e->seq, e->count,
		       e->cpu, kind,
		       e->kind == TVMM_EV_DMA ? "(the VMM's own protection)" : "(the lock itself)",
		       act, e->rip);
	else
		printf("#%" PRIu64 " x%" PRIu64 " cpu %u %s rule %u '%s' %s rip %#" PRIx64, e->seq,
		       e->count, e->cpu, kind, e->rule, name, act, e->rip);
	if (e->kind == TVMM_EV_MEM || e->kind == TVMM_EV_DMA)
		printf(" gpa %#" PRIx64 " access %s%s%s", e->gpa, e->access & 1 ? "r" : "",
		       e->access & 2 ? "w" : "", e->access & 4 ? "x" : "");
	if (e->kind == TVMM_EV_DMA && e->index == TVMM_DMA_SRC_CPU)
		printf(" source=cpu");
	else if (e->kind == TVMM_EV_DMA && e->index == TVMM_DMA_SRC_LOST)
		printf(" source=unknown (faults the IOMMU dropped: its records were full)");
	else if (e->kind == TVMM_EV_DMA)
		printf(" source=%02x:%02x.%x", e->index >> 8 & 0xff, e->index >> 3 & 0x1f,
		       e->index & 7);
	if (e->gva != TVMM_EV_NO_GVA)
		printf(" gva %#" PRIx64, e->gva);
	if (e->kind != TVMM_EV_MEM && e->kind != TVMM_EV_DMA)
		printf(" index %#x", e->index);
	printf(" value %#" PRIx64 "\n", e->value);
}

/* The per-rule counters (complete, unlike the record ring), once per call. */
static void print_stats(const struct tvmm_events *ev, int json)
{
	uint32_t n = ev->nstats < TVMM_EVENTS_STATS ? ev->nstats : TVMM_EVENTS_STATS;
	for (uint32_t i = 0; i < n; i++) {
		const struct tvmm_rule_stat *s = &ev->stats[i];
		char name[TVMM_POL_NAME_LEN + 1];
		size_t k = 0;
		for (; k < TVMM_POL_NAME_LEN && s->name[k]; k++)
			name[k] = isprint((unsigned char)s->name[k]) && s->name[k] != '"'
				      ? s->name[k]
				      : '?';
		name[k] = 0;
		if (json)
			printf("{\"rule\":%u,\"rule_name\":\"%s\",\"hits\":%" PRIu64 "}\n", s->id,
			       s->id == TVMM_EV_NO_RULE ? "" : name, s->hits);
		else if (s->hits)
			printf("  %s: %" PRIu64 " hits\n",
			       s->id == TVMM_EV_NO_RULE ? "(the lock itself)" : name, s->hits);
	}
}

static int cmd_events(int fd, int follow, int json)
{
	static uint64_t buf[TVMM_IOC_MAX_BUF / 8];
	uint64_t from = 1, shown_hits = ~0ull;
	for (;;) {
		struct tvmm_ioc_call c = {
		    .nr = TVMM_HC_EVENTS, .len = sizeof(buf), .buf = (uintptr_t)buf, .arg = from};
		if (call(fd, &c))
			return 1;
		const struct tvmm_events *ev = (const void *)buf;
		if (ev->size > sizeof(buf) ||
		    ev->n > (ev->size - sizeof(*ev)) / sizeof(ev->rec[0])) {
			fprintf(stderr, "thinvmm-ctl: malformed events from the VMM\n");
			return 1;
		}
		if (shown_hits == ~0ull && !json)
			printf("policy: %s%.*s%s, %u rules, %" PRIu64
			       " nested splits, %u jump-label "
			       "sites, %" PRIu64 " patches; violations: %" PRIu64
			       " hits in %" PRIu64 " records\n",
			       ev->locked ? "locked '" : "none", ev->locked ? TVMM_POL_NAME_LEN : 0,
			       ev->policy, ev->locked ? "'" : "", ev->rules, ev->nested_splits,
			       ev->sites, ev->patches, ev->hits, ev->records);
		if (shown_hits == ~0ull)
			print_stats(ev, json);
		if (ev->n && ev->rec[0].seq > from && from > 1)
			printf("[... %" PRIu64 " records lost ...]\n", ev->rec[0].seq - from);
		for (uint32_t i = 0; i < ev->n; i++)
			print_event(&ev->rec[i], json);
		shown_hits = ev->hits;
		if (ev->n)
			from = ev->rec[ev->n - 1].seq + 1;
		if (ev->n && from <= ev->records)
			continue; /* more than fitted */
		if (!follow)
			return 0;
		fflush(stdout);
		usleep(200 * 1000);
	}
}

/* ---- tpmlog: the VMM's TCG event log (binary, to stdout) ---- */

static int cmd_tpmlog(int fd)
{
	static uint8_t buf[1u << 20];
	size_t len;
	if (tvmm_tpmlog_read(fd, "thinvmm-ctl", buf, sizeof(buf), &len))
		return 1;
	return fwrite(buf, 1, len, stdout) != len || fflush(stdout) ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: thinvmm-ctl status [--json] | log | lock POLICY.bin | "
			"events [--follow] [--json] | tpmlog > FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	int json = argc == 3 && !strcmp(argv[2], "--json");
	if (!strcmp(argv[1], "status") && (argc == 2 || json)) {
		int fd = dev_open();
		return fd < 0 ? 1 : cmd_status(fd, json);
	}
	if (!strcmp(argv[1], "log") && argc == 2) {
		int fd = dev_open();
		return fd < 0 ? 1 : cmd_log(fd);
	}
	if (!strcmp(argv[1], "lock") && argc == 3)
		return cmd_lock(argv[2]);
	if (!strcmp(argv[1], "tpmlog") && argc == 2) {
		int fd = dev_open();
		return fd < 0 ? 1 : cmd_tpmlog(fd);
	}
	if (!strcmp(argv[1], "events")) {
		int follow = 0;
		json = 0;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--follow"))
				follow = 1;
			else if (!strcmp(argv[i], "--json"))
				json = 1;
			else
				return usage();
		}
		int fd = dev_open();
		return fd < 0 ? 1 : cmd_events(fd, follow, json);
	}
	return usage();
}
