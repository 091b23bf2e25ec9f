/* SPDX-License-Identifier: MIT */
/*
 * tvmm_snprintf against the host C library: the same format and arguments
 * must give the same bytes and the same return value, at every buffer size.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "lib/format.h"
#include "test.h"

#define CANARY 0x5a

/* Without the format attribute, so tests can pass formats gcc would refuse. */
static int raw_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = tvmm_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * Formats with both implementations into a 256-byte buffer, then again at
 * every size from 0 to one past the full length, checking the bytes past
 * n are never touched and the output is a NUL-terminated prefix.
 */
#define SAME(...)                                                                                  \
	do {                                                                                       \
		char mine_[256], libc_[256];                                                       \
		int rm_ = tvmm_snprintf(mine_, sizeof(mine_), __VA_ARGS__);                        \
		int rl_ = snprintf(libc_, sizeof(libc_), __VA_ARGS__);                             \
		CHECK_EQ(rm_, rl_);                                                                \
		if (CHECK(rm_ >= 0 && rm_ < (int)sizeof(mine_)) &&                                 \
		    CHECK(memcmp(mine_, libc_, (size_t)rm_ + 1) == 0))                             \
			CHECK_STREQ(mine_, libc_); /* for the message */                           \
		for (size_t n_ = 0; rm_ >= 0 && n_ <= (size_t)rm_ + 1; n_++) {                     \
			char t_[258];                                                              \
			memset(t_, CANARY, sizeof(t_));                                            \
			CHECK_EQ(tvmm_snprintf(t_, n_, __VA_ARGS__), rm_);                         \
			check_truncated(t_, sizeof(t_), n_, libc_, __LINE__);                      \
		}                                                                                  \
	} while (0)

static void check_truncated(const char *t, size_t size, size_t n, const char *full, int line)
{
	size_t keep = n > 0 ? n - 1 : 0;

	if (n > 0 && (!CHECK(memcmp(t, full, keep) == 0) || !CHECK_EQ(t[keep], '\0')))
		fprintf(stderr, "  (line %d, n=%zu)\n", line, n);
	for (size_t i = n; i < size; i++) {
		if (!CHECK_EQ((unsigned char)t[i], CANARY)) {
			fprintf(stderr, "  (line %d, n=%zu, wrote byte %zu)\n", line, n, i);
			break;
		}
	}
}

TEST(format_plain)
{
	SAME("%s", "");
	SAME("hello, world");
	SAME("100%% sure %%");
	SAME("%s", "tab\tnewline\n");
}

/* An int wider than the length modifier is narrowed, as C requires. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
TEST(format_narrowing)
{
	SAME("%hhd %hhu %hhx", 300, 300, -1);
	SAME("%hd %hu %hx", 70000, 70000, -1);
}
#pragma GCC diagnostic pop

/* Ignored-flag combinations are part of what is compared; compilers warn. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
TEST(format_signed)
{
	SAME("%d %d %d", 0, 1, -1);
	SAME("%d|%d", INT_MAX, INT_MIN);
	SAME("%i|%i", 42, -42);
	SAME("[%5d][%-5d][%05d][%-05d]", 42, 42, 42, 42);
	SAME("[%5d][%-5d][%05d]", -42, -42, -42);
	SAME("[%.3d][%.3d][%.0d][%.0d][%5.0d]", 7, -7, 0, 1, 0);
	SAME("[%+d][%+d][% d][% d][%+ d]", 5, -5, 5, -5, 5);
	SAME("[%08.3d][%-8.3d][%+08d][% 08d]", 7, -7, 7, 7);
	SAME("[%1d][%2d]", 12345, -12345);
	SAME("[%.10d][%12.10d][%-12.10d]", -123, 123, -123);
}
#pragma GCC diagnostic pop

TEST(format_unsigned_hex_octal)
{
	SAME("%u %u %u", 0u, 1u, UINT_MAX);
	SAME("%x %X %x", 0xdeadbeefu, 0xdeadbeefu, 0u);
	SAME("[%#x][%#X][%#x][%#08x][%#-8x][%#.6x]", 0x1au, 0x1au, 0u, 0x1au, 0x1au, 0x1au);
	SAME("[%#.0x][%.0x][%08X][%8.4x]", 0u, 0u, 0xabcu, 0xabcu);
	SAME("%o %o %#o %#o %#.5o %#.0o %.0o", 8u, 0u, 8u, 0u, 8u, 0u, 0u);
	SAME("[%#5o][%-#5o][%05o]", 8u, 8u, 8u);
}

TEST(format_length_modifiers)
{
	SAME("%hhd %hhd %hhu %hhx", (signed char)-128, (signed char)127, (unsigned char)255,
	     (unsigned char)0xab);
	SAME("%hd %hd %hu %hx", (short)-32768, (short)32767, (unsigned short)65535,
	     (unsigned short)0xbeef);
	SAME("%ld %ld %lu %lx", LONG_MIN, LONG_MAX, ULONG_MAX, 0x123456789abcdefUL);
	SAME("%lld %lld %llu %llX", LLONG_MIN, LLONG_MAX, ULLONG_MAX, 0xfedcba9876543210ULL);
	SAME("%zu %zx %zd %zd", SIZE_MAX, (size_t)0x1000, (ssize_t)-1, (ssize_t)SSIZE_MAX);
	SAME("%jd %ju %td %td", INTMAX_MIN, UINTMAX_MAX, (ptrdiff_t)-5, PTRDIFF_MAX);
	SAME("[%-20lld][%020lld][%+.25lld]", LLONG_MIN, LLONG_MIN, LLONG_MAX);
	SAME("[%#llo][%llo]", ULLONG_MAX, ULLONG_MAX);
}

TEST(format_char_string)
{
	static const char unterminated[4] = {'a', 'b', 'c', 'd'};

	SAME("[%c][%3c][%-3c]", 'x', 'y', 'z');
	SAME("[%s][%10s][%-10s][%.3s][%10.3s][%-10.3s][%.0s]", "hello", "hello", "hello", "hello",
	     "hello", "hello", "hello");
	SAME("[%.*s][%.*s]", 2, unterminated, 4, unterminated);
	SAME("[%.*s]", -1, "negative precision means none");
	SAME("[%2s]", "longer than width");
	SAME("a%sb%dc%xd%ce", "S", -1, 255u, '!');
}

TEST(format_star)
{
	SAME("[%*d][%-*d][%*d]", 6, 42, 6, 42, -6, 42);
	SAME("[%.*d][%.*d][%*.*d]", 4, 42, -4, 42, 8, 4, -42);
	SAME("[%*s][%-*s]", 8, "ab", 8, "ab");
	SAME("[%0*x]", 10, 0xbeefu);
}

TEST(format_pointer)
{
	int x;

	SAME("%p", (void *)0x1234);
	SAME("%p", (void *)&x);
	SAME("[%20p][%-20p]", (void *)0xffff888000001000ULL, (void *)0x10);
	SAME("%p", (void *)UINTPTR_MAX);
	SAME("[%p][%10p][%-10p]", NULL, NULL, NULL);
}

TEST(format_char_nul)
{
	char a[8], b[8];

	memset(a, CANARY, sizeof(a));
	memset(b, CANARY, sizeof(b));
	CHECK_EQ(tvmm_snprintf(a, sizeof(a), "x%cy", 0), 3);
	CHECK_EQ(snprintf(b, sizeof(b), "x%cy", 0), 3);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
}

TEST(format_null_string)
{
	char buf[32];
	const char *volatile null = NULL;

	CHECK_EQ(tvmm_snprintf(buf, sizeof(buf), "%s", null), 6);
	CHECK_STREQ(buf, "(null)");
	CHECK_EQ(tvmm_snprintf(buf, sizeof(buf), "[%8s][%-8s]", null, null), 20);
	CHECK_STREQ(buf, "[  (null)][(null)  ]");
	/* Unlike glibc, which prints nothing for "%.3s" with NULL. */
	CHECK_EQ(tvmm_snprintf(buf, sizeof(buf), "[%.3s]", null), 5);
	CHECK_STREQ(buf, "[(nu]");
}

TEST(format_unknown_literal)
{
	char buf[64];
	int x = 12345;

	CHECK_EQ(raw_fmt(buf, sizeof(buf), "a%qb"), 4);
	CHECK_STREQ(buf, "a%qb");
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%-08.3lq|%d", 7), 10);
	CHECK_STREQ(buf, "%-08.3lq|7");
	/* %n would write through a pointer: never. */
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%n", &x), 2);
	CHECK_STREQ(buf, "%n");
	CHECK_EQ(x, 12345);
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%f %Lf %e %a"), 12);
	CHECK_STREQ(buf, "%f %Lf %e %a");
	/* A format that ends inside a conversion. */
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "abc%"), 4);
	CHECK_STREQ(buf, "abc%");
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%5.2ll"), 6);
	CHECK_STREQ(buf, "%5.2ll");
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%hh"), 3);
	CHECK_STREQ(buf, "%hh");
	CHECK_EQ(raw_fmt(buf, sizeof(buf), NULL), 0);
	CHECK_STREQ(buf, "");
}

TEST(format_truncation_edges)
{
	char buf[8];

	/* n == 0 writes nothing, so a NULL buffer sizes the output. */
	CHECK_EQ(tvmm_snprintf(NULL, 0, "%d-%s", 12345, "abcdef"), 12);
	memset(buf, CANARY, sizeof(buf));
	CHECK_EQ(tvmm_snprintf(buf, 1, "abc"), 3);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ((unsigned char)buf[1], CANARY);
	CHECK_EQ(tvmm_snprintf(buf, sizeof(buf), "0123456789"), 10);
	CHECK_STREQ(buf, "0123456");
	CHECK_EQ(tvmm_snprintf(buf, sizeof(buf), "%s", "1234567"), 7);
	CHECK_STREQ(buf, "1234567");
}

/* Huge widths are counted, not looped over, and overflow gives -1. */
TEST(format_huge_width)
{
	char buf[8];

	CHECK_EQ(tvmm_snprintf(buf, sizeof(buf), "%*d", 100000000, 1), 100000000);
	CHECK_STREQ(buf, "       ");
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%-*dx", INT_MIN, 1), -1);
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%99999999999999dx", 1), -1);
	CHECK_EQ(raw_fmt(buf, sizeof(buf), "%.99999999999999d", 1), INT_MAX);
	CHECK_STREQ(buf, "0000000");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64: reproducible, which a failing case needs to be. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Each numeric conversion gets its argument in the type its length names. */
static void random_number_case(char *fmt, size_t size)
{
	static const char *const lens[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
	static const char convs[] = "diuxXo";
	const char *len = lens[rng() % 8];
	char flags[6] = {0}, *f = flags;
	uint64_t v = rng() >> (rng() % 64);
	char mine[128], libc[128];
	int rm, rl;

	for (const char *c = "-0+ #"; *c; c++)
		if (rng() % 3 == 0)
			*f++ = *c;
	if (rng() % 2)
		snprintf(fmt, size, "<%%%s%d.%d%s%c>", flags, (int)(rng() % 30), (int)(rng() % 25),
			 len, convs[rng() % 6]);
	else
		snprintf(fmt, size, "<%%%s%d%s%c>", flags, (int)(rng() % 30), len,
			 convs[rng() % 6]);
	if (rng() % 4 == 0)
		v = -v;
#define BOTH(T)                                                                                    \
	do {                                                                                       \
		rm = raw_fmt(mine, sizeof(mine), fmt, (T)v);                                       \
		rl = snprintf(libc, sizeof(libc), fmt, (T)v);                                      \
	} while (0)
	if (!strcmp(len, "l"))
		BOTH(long);
	else if (!strcmp(len, "ll"))
		BOTH(long long);
	else if (!strcmp(len, "z"))
		BOTH(size_t);
	else if (!strcmp(len, "j"))
		BOTH(intmax_t);
	else if (!strcmp(len, "t"))
		BOTH(ptrdiff_t);
	else
		BOTH(int);
#undef BOTH
	if (!CHECK_EQ(rm, rl) || !CHECK_STREQ(mine, libc))
		fprintf(stderr, "  format \"%s\" value %#llx\n", fmt, (unsigned long long)v);
}

TEST(format_random_numbers_vs_libc)
{
	char fmt[64];

	for (int i = 0; i < 20000; i++)
		random_number_case(fmt, sizeof(fmt));
}

TEST(format_random_strings_vs_libc)
{
	static const char *const strs[] = {"", "a", "hello", "a much longer string here"};
	char fmt[64], mine[128], libc[128];

	for (int i = 0; i < 5000; i++) {
		const char *s = strs[rng() % 4];
		int rm, rl;

		snprintf(fmt, sizeof(fmt), "<%%%s%d.%ds|%%%s%dc>", rng() % 2 ? "-" : "",
			 (int)(rng() % 30), (int)(rng() % 30), rng() % 2 ? "-" : "",
			 (int)(rng() % 5));
		rm = raw_fmt(mine, sizeof(mine), fmt, s, 'q');
		rl = snprintf(libc, sizeof(libc), fmt, s, 'q');
		if (!CHECK_EQ(rm, rl) || !CHECK_STREQ(mine, libc))
			fprintf(stderr, "  format \"%s\" string \"%s\"\n", fmt, s);
	}
}
