/* SPDX-License-Identifier: MIT */
/*
 * Runner: runs every registered test (or those whose name contains one of
 * the arguments), prints PASS/FAIL per test and a final "N passed, M
 * failed" line, and exits 1 if anything failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

/* Failure messages after this many in one test are counted, not printed. */
#define MAX_REPORTS 20

static struct unit_test *head, **tail = &head;
static unsigned current_failures;

void unit_test_register(struct unit_test *t)
{
	t->next = NULL;
	*tail = t;
	tail = &t->next;
}

void unit_check_failed(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (current_failures++ >= MAX_REPORTS)
		return;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool unit_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool selected(const struct unit_test *t, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]) != NULL)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	for (struct unit_test *t = head; t != NULL; t = t->next) {
		if (!selected(t, argc, argv))
			continue;
		current_failures = 0;
		t->fn();
		/* Interleave cleanly with the failure details on stderr. */
		fflush(stderr);
		if (current_failures == 0) {
			printf("PASS %s\n", t->name);
			passed++;
		} else {
			if (current_failures > MAX_REPORTS)
				fprintf(stderr, "  (%u more failures)\n",
					current_failures - MAX_REPORTS);
			fflush(stderr);
			printf("FAIL %s\n", t->name);
			failed++;
		}
		fflush(stdout);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed > 0;
}
