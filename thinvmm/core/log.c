/* SPDX-License-Identifier: MIT */
/*
 * The VMM's log: every line goes to the console and into a ring the guest
 * reads by hypercall. Readers hold a byte cursor into the endless stream,
 * so a reader that falls behind learns exactly how much it lost.
 */
#include <stdarg.h>

#include "core/vmm.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/spinlock.h"
#include "lib/string.h"

static char ring[VMM_LOG_SIZE];
static uint64_t head; /* bytes ever written */
static struct spinlock lock;

void log_init(void)
{
	head = 0;
}

uint64_t log_bytes(void)
{
	return __atomic_load_n(&head, __ATOMIC_ACQUIRE);
}

static void ring_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring[(head + i) % VMM_LOG_SIZE] = s[i];
	__atomic_store_n(&head, head + n, __ATOMIC_RELEASE);
}

void vmm_log(const char *fmt, ...)
{
	static const char prefix[] = "thinvmm: ";
	char line[256];
	size_t p = sizeof(prefix) - 1;
	memcpy(line, prefix, p);
	va_list ap;
	va_start(ap, fmt);
	int n = tvmm_vsnprintf(line + p, sizeof(line) - p - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	size_t len = p + ((size_t)n < sizeof(line) - p - 2 ? (size_t)n : sizeof(line) - p - 2);
	line[len++] = '\n';
	spin_lock(&lock);
	ring_put(line, len);
	console_write(line, len);
	spin_unlock(&lock);
}

uint64_t log_read(uint64_t cursor, char *dst, uint64_t len, uint64_t *next, uint64_t *lost)
{
	spin_lock(&lock);
	uint64_t h = head, oldest = h > VMM_LOG_SIZE ? h - VMM_LOG_SIZE : 0;
	*lost = 0;
	if (cursor > h)
		cursor = h;
	if (cursor < oldest) {
		*lost = oldest - cursor;
		cursor = oldest;
	}
	uint64_t n = h - cursor < len ? h - cursor : len;
	for (uint64_t i = 0; i < n; i++)
		dst[i] = ring[(cursor + i) % VMM_LOG_SIZE];
	spin_unlock(&lock);
	*next = cursor + n;
	return n;
}
