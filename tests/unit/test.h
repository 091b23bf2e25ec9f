/* SPDX-License-Identifier: MIT */
/*
 * A minimal unit-test framework for the hosted build.
 *
 *   TEST(name) { CHECK(x > 0); CHECK_EQ(f(1), 2); CHECK_STREQ(buf, "ok"); }
 *
 * Tests register themselves from a constructor, so a new test_*.c file
 * needs no list to be edited. A failed CHECK records the failure, prints
 * file:line and the values, and lets the test go on, so one run shows
 * every broken case. Test names must be unique across the binary.
 */
#ifndef TVMM_TESTS_UNIT_TEST_H
#define TVMM_TESTS_UNIT_TEST_H

#include <stdbool.h>

struct unit_test {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_test_register(struct unit_test *t);
void unit_check_failed(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                                                 \
	static void test_fn_##name(void);                                                          \
	static struct unit_test test_desc_##name = {#name, __FILE__, test_fn_##name, 0};           \
	__attribute__((constructor)) static void test_reg_##name(void)                             \
	{                                                                                          \
		unit_test_register(&test_desc_##name);                                             \
	}                                                                                          \
	static void test_fn_##name(void)

/* Evaluates cond once; true if it held, so a test can skip what depends on it. */
#define CHECK(cond)                                                                                \
	({                                                                                         \
		bool check_ok_ = (cond);                                                           \
		if (!check_ok_)                                                                    \
			unit_check_failed(__FILE__, __LINE__, "CHECK(%s)", #cond);                 \
		check_ok_;                                                                         \
	})

/*
 * Integers of any width or signedness, compared as 64-bit patterns, so
 * CHECK_EQ(x, -1) matches an all-ones uint64_t: compare like with like.
 */
#define CHECK_EQ(a, b)                                                                             \
	({                                                                                         \
		unsigned long long check_a_ = (unsigned long long)(a);                             \
		unsigned long long check_b_ = (unsigned long long)(b);                             \
		bool check_ok_ = check_a_ == check_b_;                                             \
		if (!check_ok_)                                                                    \
			unit_check_failed(                                                         \
			    __FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld (%#llx) != %lld (%#llx)",  \
			    #a, #b, (long long)check_a_, check_a_, (long long)check_b_, check_b_); \
		check_ok_;                                                                         \
	})

/* NUL-terminated strings; NULL compares equal only to NULL. */
#define CHECK_STREQ(a, b)                                                                          \
	({                                                                                         \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		bool check_ok_ = unit_streq(check_a_, check_b_);                                   \
		if (!check_ok_)                                                                    \
			unit_check_failed(                                                         \
			    __FILE__, __LINE__, "CHECK_STREQ(%s, %s): \"%s\" != \"%s\"", #a, #b,   \
			    check_a_ ? check_a_ : "(NULL)", check_b_ ? check_b_ : "(NULL)");       \
		check_ok_;                                                                         \
	})

bool unit_streq(const char *a, const char *b);

#endif
