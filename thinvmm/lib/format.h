/* SPDX-License-Identifier: MIT */
/*
 * printf-style formatting for the VMM's logs and serial console. There is
 * no libc underneath the VMM, so this is the one formatter everything uses.
 *
 * Semantics follow C99 snprintf: the output is always NUL-terminated when
 * n > 0 and the return value is the length the full output would have had,
 * so callers detect truncation with `ret >= n`. Returns -1 only if that
 * length does not fit in an int.
 *
 * Conversions: d i u o x X c s p %. Flags: - 0 + space #. Width and
 * precision, each either digits or '*'. Length modifiers: hh h l ll z j t.
 * A conversion this formatter does not know is copied to the output as
 * written, so a bad format string garbles a log line instead of reading
 * random varargs. %s with NULL prints "(null)", %p with NULL "(nil)".
 */
#ifndef THINVMM_LIB_FORMAT_H
#define THINVMM_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

int tvmm_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int tvmm_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
