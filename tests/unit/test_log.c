/* SPDX-License-Identifier: MIT */
/*
 * The log: line format, truncation, and the ring read by cursor. The
 * expected stream is built here with the host's snprintf, and checked
 * against both the ring (log_read) and the console (fake_console.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "test.h"

#define PREFIX "thinvmm: "
#define PLEN   9
/* A line is at most 255 bytes with its newline: the prefix and 245 of the message. */
#define MAX_MSG 245

#define SHADOW_SIZE (512u * 1024u)
static char shadow[SHADOW_SIZE];
static size_t shadow_len;

static void reset(void)
{
	static struct vcpu v;

	fake_reset(&v);
	shadow_len = 0;
}

/* Logs `msg` (through %s) and appends what the line should be to the shadow. */
static void log_msg(const char *msg)
{
	size_t n = strlen(msg);

	if (n > MAX_MSG)
		n = MAX_MSG;
	if (!CHECK(shadow_len + PLEN + n + 1 <= SHADOW_SIZE))
		return;
	vmm_log("%s", msg);
	memcpy(shadow + shadow_len, PREFIX, PLEN);
	memcpy(shadow + shadow_len + PLEN, msg, n);
	shadow[shadow_len + PLEN + n] = '\n';
	shadow_len += PLEN + n + 1;
}

/* A message of exactly n characters, different at every position. */
static const char *msg_of(size_t n, unsigned seed)
{
	static char m[2048];

	if (n >= sizeof(m))
		n = sizeof(m) - 1;
	for (size_t i = 0; i < n; i++)
		m[i] = (char)('!' + (i * 7 + seed) % 90);
	m[n] = '\0';
	return m;
}

/* log_read(cursor, len) into a canaried buffer; checks bytes against the shadow. */
static uint64_t read_check(uint64_t cursor, uint64_t len, uint64_t want_n, uint64_t want_next,
			   uint64_t want_lost, int line)
{
	static char buf[VMM_LOG_SIZE + 64];
	uint64_t next = 0x5a5a, lost = 0x5a5a, n;
	bool ok = true;

	if (!CHECK(len + 64 <= sizeof(buf)))
		return 0;
	memset(buf, 0x7f, len + 64);
	n = log_read(cursor, buf, len, &next, &lost);
	ok &= CHECK_EQ(n, want_n);
	ok &= CHECK_EQ(next, want_next);
	ok &= CHECK_EQ(lost, want_lost);
	if (ok && want_n)
		ok &= CHECK(memcmp(buf, shadow + next - n, n) == 0);
	for (uint64_t i = n; i < len + 64; i++)
		if (buf[i] != 0x7f) {
			ok &= CHECK_EQ(i, n); /* a byte past what was returned */
			break;
		}
	if (!ok)
		fprintf(stderr, "  (line %d: cursor %llu len %llu)\n", line,
			(unsigned long long)cursor, (unsigned long long)len);
	return n;
}

#define READ(cursor, len, n, next, lost) read_check(cursor, len, n, next, lost, __LINE__)

TEST(log_line_format)
{
	reset();
	vmm_log("hello %d from cpu %u", 42, 7u);
	CHECK_STREQ(fake_console, "thinvmm: hello 42 from cpu 7\n");
	CHECK_EQ(fake_console_writes, 1);
	CHECK_EQ(log_bytes(), strlen("thinvmm: hello 42 from cpu 7\n"));
	vmm_log("%s", "");
	CHECK_STREQ(fake_console, "thinvmm: hello 42 from cpu 7\nthinvmm: \n");
	CHECK_EQ(fake_console_writes, 2);
	CHECK_EQ(log_bytes(), fake_console_len);
	/* The ring holds the same bytes. */
	memcpy(shadow, fake_console, fake_console_len);
	shadow_len = fake_console_len;
	READ(0, 4096, shadow_len, shadow_len, 0);
}

/* Overlong messages are cut, and the line still ends in a newline. */
TEST(log_truncation)
{
	static const size_t lens[] = {0, 1, 100, MAX_MSG - 1, MAX_MSG, MAX_MSG + 1, 246, 300, 1500};

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		const char *m;
		size_t want;

		reset();
		m = msg_of(lens[i], i);
		log_msg(m);
		want = PLEN + (lens[i] < MAX_MSG ? lens[i] : MAX_MSG) + 1;
		CHECK_EQ(shadow_len, want);
		if (!CHECK_EQ(fake_console_len, want) ||
		    !CHECK(memcmp(fake_console, shadow, want) == 0))
			fprintf(stderr, "  (message of %zu: \"%s\")\n", lens[i], fake_console);
		CHECK_EQ(fake_console[want - 1], '\n');
		CHECK_EQ(log_bytes(), want);
		READ(0, 1024, want, want, 0);
	}
	/* Formatting output past the limit is cut the same way. */
	reset();
	vmm_log("%0300d|", 5);
	CHECK_EQ(fake_console_len, PLEN + MAX_MSG + 1);
	CHECK_EQ(fake_console[PLEN + MAX_MSG - 1], '0');
	CHECK_EQ(fake_console[PLEN + MAX_MSG], '\n');
}

/* Lines of chosen lengths until the stream is exactly `total` bytes long. */
static void fill_to(uint64_t total)
{
	unsigned seed = 0;

	while (shadow_len < total) {
		uint64_t left = total - shadow_len, line;

		if (!CHECK(left >= PLEN + 1))
			return;
		/* Whole lines of 255, leaving a last one (or two) that fit exactly. */
		if (left <= PLEN + MAX_MSG + 1)
			line = left;
		else if (left < 2 * (PLEN + MAX_MSG + 1) && left - (PLEN + MAX_MSG + 1) < PLEN + 1)
			line = left / 2;
		else
			line = PLEN + MAX_MSG + 1;
		log_msg(msg_of(line - PLEN - 1, seed++));
	}
	CHECK_EQ(shadow_len, total);
}

TEST(log_ring_exactly_full)
{
	reset();
	fill_to(VMM_LOG_SIZE);
	CHECK_EQ(log_bytes(), VMM_LOG_SIZE);
	CHECK(memcmp(fake_console, shadow, shadow_len) == 0);
	READ(0, VMM_LOG_SIZE, VMM_LOG_SIZE, VMM_LOG_SIZE, 0);
	READ(1, VMM_LOG_SIZE, VMM_LOG_SIZE - 1, VMM_LOG_SIZE, 0);
	/* One line more: the oldest bytes of it are gone. */
	log_msg("x");
	const uint64_t head = VMM_LOG_SIZE + PLEN + 2, lost = PLEN + 2;
	CHECK_EQ(log_bytes(), head);
	READ(0, VMM_LOG_SIZE, VMM_LOG_SIZE, head, lost);
	READ(lost - 1, 4, 4, lost + 4, 1);
	READ(lost, 4, 4, lost + 4, 0);
}

TEST(log_ring_wraps)
{
	reset();
	while (shadow_len < 3 * VMM_LOG_SIZE + 12345)
		log_msg(msg_of(37 + shadow_len % 200, (unsigned)shadow_len));
	const uint64_t head = shadow_len, oldest = head - VMM_LOG_SIZE;

	CHECK_EQ(log_bytes(), head);
	CHECK(memcmp(fake_console, shadow, shadow_len) == 0);
	/* From the start of time: the whole ring, and how much was lost. */
	READ(0, VMM_LOG_SIZE, VMM_LOG_SIZE, head, oldest);
	READ(0, 100, 100, oldest + 100, oldest);
	READ(oldest - 1, 100, 100, oldest + 100, 1);
	READ(oldest, 100, 100, oldest + 100, 0);
	READ(oldest + 1, VMM_LOG_SIZE, VMM_LOG_SIZE - 1, head, 0);
	/* Across the ring's end in one read. */
	const uint64_t edge = 3 * VMM_LOG_SIZE;
	READ(edge - 5, 10, 10, edge + 5, 0);
	READ(edge - 1, 2, 2, edge + 1, 0);
	/* Near, at and past the head. */
	READ(head - 10, 100, 10, head, 0);
	READ(head - 1, 1, 1, head, 0);
	READ(head, 100, 0, head, 0);
	READ(head + 1, 100, 0, head, 0);
	READ(~0ull, 100, 0, head, 0);
	/* Zero-length reads still say where the reader stands. */
	READ(head - 10, 0, 0, head - 10, 0);
	READ(0, 0, 0, oldest, oldest);
	/* Reading it all back in small pieces gives the stream. */
	uint64_t cursor = oldest, total = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t n = READ(cursor, 999, head - cursor < 999 ? head - cursor : 999,
				  cursor + (head - cursor < 999 ? head - cursor : 999), 0);
		if (n == 0)
			break;
		cursor += n;
		total += n;
	}
	CHECK_EQ(cursor, head);
	CHECK_EQ(total, VMM_LOG_SIZE);
}

/* A reader that keeps up loses nothing while the ring wraps under it. */
TEST(log_reader_keeps_up)
{
	uint64_t cursor = 0;

	reset();
	for (int i = 0; i < 2000; i++) {
		log_msg(msg_of(10 + (size_t)i % 230, (unsigned)i));
		if (i % 50 == 49) {
			uint64_t want = shadow_len - cursor;
			CHECK(want <= VMM_LOG_SIZE);
			READ(cursor, VMM_LOG_SIZE, want, shadow_len, 0);
			cursor = shadow_len;
		}
	}
	CHECK(shadow_len > 4 * VMM_LOG_SIZE);
}

TEST(log_init_resets)
{
	reset();
	vmm_log("before");
	CHECK(log_bytes() > 0);
	log_init();
	CHECK_EQ(log_bytes(), 0);
	shadow_len = 0;
	READ(0, 100, 0, 0, 0);
	READ(50, 100, 0, 0, 0);
	log_msg("after");
	READ(0, 100, shadow_len, shadow_len, 0);
}
