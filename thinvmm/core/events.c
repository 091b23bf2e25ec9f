/* SPDX-License-Identifier: MIT */
/*
 * Violation records. A hit that repeats one of the last few records (same
 * CPU, kind, rule, RIP, address and index) only bumps its count, so a storm
 * of one violation costs one record and a few compares per exit; distinct
 * hits overwrite the oldest records, and readers learn how many they lost.
 * Text lines in the log are rationed the same way: a record's first hit,
 * then its count each time it reaches a power of two. CR3 records (one per
 * address space) are the exception: only the 1st, 2nd, 4th, 8th... get a
 * line, since the serial console is slow. The records themselves are
 * complete.
 */
#include "core/vmm.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define FOLD_WINDOW 8u

static struct tvmm_event ring[TVMM_EVENTS_KEPT];
static uint64_t hits, records, cr3_records;
static struct spinlock lock;
static struct tvmm_rule_stat stats[TVMM_EVENTS_STATS];
static uint32_t nstats;

/* The counters for a new policy: the VMM's own, then each rule id once, in order. */
void events_set_rules(const struct tvmm_pol_rule *r, uint32_t n)
{
	spin_lock(&lock);
	memset(stats, 0, sizeof(stats));
	stats[0].id = TVMM_EV_NO_RULE;
	memcpy(stats[0].name, "thinvmm", 8);
	nstats = 1;
	for (uint32_t i = 0; i < n && nstats < TVMM_EVENTS_STATS; i++) {
		bool seen = false;
		for (uint32_t k = 1; k < nstats && !seen; k++)
			seen = stats[k].id == r[i].id;
		if (seen)
			continue;
		stats[nstats].id = r[i].id;
		memcpy(stats[nstats].name, r[i].name, sizeof(stats[nstats].name));
		nstats++;
	}
	spin_unlock(&lock);
}

static const char *const kind_names[TVMM_EV_KIND_COUNT] = TVMM_EV_KIND_NAMES;
static const char *const action_names[TVMM_ACT_COUNT] = TVMM_ACT_NAMES;

static bool same(const struct tvmm_event *a, const struct tvmm_event *b)
{
	return a->cpu == b->cpu && a->kind == b->kind && a->rule == b->rule && a->rip == b->rip &&
	       a->gpa == b->gpa && a->index == b->index && a->access == b->access &&
	       a->action == b->action &&
	       /* each address space a CR3 rule sees is worth its own record */
	       (a->kind != TVMM_EV_CR || a->index != 3 || a->value == b->value);
}

static void log_event(const struct tvmm_event *e)
{
	vmm_log("violation #%llu x%llu: cpu %u %s rule %u '%.32s' %s: rip %#llx gpa %#llx "
		"gva %#llx index %#x access %u value %#llx",
		(unsigned long long)e->seq, (unsigned long long)e->count, e->cpu,
		kind_names[e->kind < TVMM_EV_KIND_COUNT ? e->kind : 0], e->rule, e->rule_name,
		action_names[e->action < TVMM_ACT_COUNT ? e->action : 0],
		(unsigned long long)e->rip, (unsigned long long)e->gpa, (unsigned long long)e->gva,
		e->index, e->access, (unsigned long long)e->value);
}

void event_record(const struct tvmm_event *in)
{
	struct tvmm_event copy;
	bool print = false;
	spin_lock(&lock);
	hits++;
	for (uint32_t k = 0; k < nstats; k++)
		if (stats[k].id == in->rule) {
			stats[k].hits++;
			break;
		}
	uint64_t look = records < FOLD_WINDOW ? records : FOLD_WINDOW;
	struct tvmm_event *e = 0;
	for (uint64_t i = 0; i < look && !e; i++) {
		struct tvmm_event *r = &ring[(records - 1 - i) % TVMM_EVENTS_KEPT];
		if (same(r, in))
			e = r;
	}
	if (e) {
		e->count++;
		print = !(e->count & (e->count - 1));
	} else {
		e = &ring[records % TVMM_EVENTS_KEPT];
		*e = *in;
		e->seq = ++records;
		e->count = 1;
		print = true;
		if (e->kind == TVMM_EV_CR && e->index == 3) {
			cr3_records++;
			print = !(cr3_records & (cr3_records - 1));
		}
	}
	copy = *e;
	spin_unlock(&lock);
	if (print)
		log_event(&copy);
	tpm_event(in); /* PCR19 at a violation class's first hit (tpm/tpm.c) */
}

uint64_t events_hits(void)
{
	return __atomic_load_n(&hits, __ATOMIC_RELAXED);
}

/* Header and the records with seq >= from that fit in len bytes. */
uint64_t events_read(struct tvmm_events *out, uint64_t len, uint64_t from)
{
	spin_lock(&lock);
	uint64_t oldest = records > TVMM_EVENTS_KEPT ? records - TVMM_EVENTS_KEPT + 1 : 1;
	if (from < oldest)
		from = oldest;
	out->hits = hits;
	out->records = records;
	out->oldest = oldest;
	out->nstats = nstats;
	memcpy(out->stats, stats, sizeof(out->stats));
	uint32_t n = 0;
	for (uint64_t s = from; s <= records; s++, n++) {
		if (sizeof(*out) + (n + 1) * sizeof(out->rec[0]) > len)
			break;
		memcpy(&out->rec[n], &ring[(s - 1) % TVMM_EVENTS_KEPT], sizeof(out->rec[0]));
	}
	spin_unlock(&lock);
	out->n = n;
	out->size = (uint32_t)(sizeof(*out) + n * sizeof(out->rec[0]));
	return out->size;
}
