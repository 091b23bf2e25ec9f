/* SPDX-License-Identifier: MIT */
/*
 * A small vsnprintf. Freestanding: it is the VMM's only formatter, and it
 * also builds hosted so the unit tests can compare it with the C library.
 */
#include <stdbool.h>
#include <stdint.h>

#include "format.h"

#define INT_MAX_ __INT_MAX__

enum {
	F_LEFT = 1u << 0,  /* '-' */
	F_ZERO = 1u << 1,  /* '0' */
	F_PLUS = 1u << 2,  /* '+' */
	F_SPACE = 1u << 3, /* ' ' */
	F_ALT = 1u << 4,   /* '#' */
	F_UPPER = 1u << 5, /* %X */
};

struct spec {
	unsigned flags;
	int width; /* 0 when absent */
	int prec;  /* -1 when absent */
	char len;  /* length modifier; 'H' is hh and 'L' is ll */
};

/*
 * The output cursor keeps counting past the end of the buffer, because the
 * return value is the length the whole output would have had.
 */
struct out {
	char *buf;
	size_t cap; /* characters that fit, leaving room for the NUL */
	size_t len; /* characters produced, stored or not */
};

static void put(struct out *o, char c)
{
	if (o->len < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

/* Counted rather than looped past the buffer, so a huge width costs nothing. */
static void put_rep(struct out *o, char c, size_t count)
{
	while (count > 0 && o->len < o->cap) {
		o->buf[o->len++] = c;
		count--;
	}
	o->len += count;
}

static void put_mem(struct out *o, const char *s, size_t n)
{
	while (n-- > 0)
		put(o, *s++);
}

static size_t pad_for(const struct spec *s, size_t used)
{
	return (size_t)s->width > used ? (size_t)s->width - used : 0;
}

/* %s, %c and "(nil)": padding only, no zeros. */
static void emit_text(struct out *o, const struct spec *s, const char *p, size_t n)
{
	size_t pad = pad_for(s, n);

	if (!(s->flags & F_LEFT))
		put_rep(o, ' ', pad);
	put_mem(o, p, n);
	if (s->flags & F_LEFT)
		put_rep(o, ' ', pad);
}

/* Bounded by the precision so %.*s works on arrays without a terminator. */
static size_t text_len(const char *p, int prec)
{
	size_t n = 0;

	while ((prec < 0 || n < (size_t)prec) && p[n] != '\0')
		n++;
	return n;
}

static void emit_string(struct out *o, const struct spec *s, const char *p)
{
	if (p == NULL)
		p = "(null)";
	emit_text(o, s, p, text_len(p, s->prec));
}

/* Digits of mag in reverse order; returns how many. */
static int to_digits(char *d, uint64_t mag, unsigned base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	do {
		d[n++] = set[mag % base];
		mag /= base;
	} while (mag != 0);
	return n;
}

static int sign_prefix(char *pre, const struct spec *s, uint64_t mag, bool neg, unsigned base)
{
	int n = 0;

	if (neg)
		pre[n++] = '-';
	else if (s->flags & F_PLUS)
		pre[n++] = '+';
	else if (s->flags & F_SPACE)
		pre[n++] = ' ';
	if ((s->flags & F_ALT) && base == 16 && mag != 0) {
		pre[n++] = '0';
		pre[n++] = (s->flags & F_UPPER) ? 'X' : 'x';
	}
	return n;
}

/*
 * C99 7.19.6.1: precision is the minimum number of digits (and ".0" with a
 * zero value prints no digits at all); '0' pads to the width only when no
 * precision is given; '#' with octal forces a leading zero digit.
 */
static void emit_number(struct out *o, const struct spec *s, uint64_t mag, bool neg, unsigned base)
{
	char digits[24], pre[3];
	int nd = 0, np = sign_prefix(pre, s, mag, neg, base);
	size_t zeros = 0, used;

	if (!(mag == 0 && s->prec == 0))
		nd = to_digits(digits, mag, base, s->flags & F_UPPER);
	if (s->prec > nd)
		zeros = (size_t)(s->prec - nd);
	if ((s->flags & F_ALT) && base == 8 && zeros == 0 && (nd == 0 || digits[nd - 1] != '0'))
		zeros = 1;
	used = (size_t)np + zeros + (size_t)nd;
	if (s->prec < 0 && (s->flags & F_ZERO) && !(s->flags & F_LEFT)) {
		zeros += pad_for(s, used);
		used = (size_t)np + zeros + (size_t)nd;
	}
	if (!(s->flags & F_LEFT))
		put_rep(o, ' ', pad_for(s, used));
	put_mem(o, pre, (size_t)np);
	put_rep(o, '0', zeros);
	while (nd > 0)
		put(o, digits[--nd]);
	if (s->flags & F_LEFT)
		put_rep(o, ' ', pad_for(s, used));
}

/* Narrow types arrive promoted to int; the casts undo the promotion. */
static int64_t arg_signed(va_list *ap, char len)
{
	switch (len) {
	case 'H':
		return (signed char)va_arg(*ap, int);
	case 'h':
		return (short)va_arg(*ap, int);
	case 'l':
		return va_arg(*ap, long);
	case 'L':
		return va_arg(*ap, long long);
	case 'z':
		return (int64_t)va_arg(*ap, size_t);
	case 'j':
		return va_arg(*ap, intmax_t);
	case 't':
		return va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, int);
	}
}

static uint64_t arg_unsigned(va_list *ap, char len)
{
	switch (len) {
	case 'H':
		return (unsigned char)va_arg(*ap, unsigned int);
	case 'h':
		return (unsigned short)va_arg(*ap, unsigned int);
	case 'l':
		return va_arg(*ap, unsigned long);
	case 'L':
		return va_arg(*ap, unsigned long long);
	case 'z':
		return va_arg(*ap, size_t);
	case 'j':
		return va_arg(*ap, uintmax_t);
	case 't':
		return (uint64_t)va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static void conv_signed(struct out *o, const struct spec *s, va_list *ap)
{
	int64_t v = arg_signed(ap, s->len);
	/* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	emit_number(o, s, mag, v < 0, 10);
}

static void conv_unsigned(struct out *o, struct spec *s, va_list *ap, unsigned base)
{
	s->flags &= ~(unsigned)(F_PLUS | F_SPACE);
	emit_number(o, s, arg_unsigned(ap, s->len), false, base);
}

/* Matches glibc, so host and VMM logs read the same. */
static void conv_pointer(struct out *o, struct spec *s, va_list *ap)
{
	const void *p = va_arg(*ap, const void *);

	if (p == NULL) {
		emit_text(o, s, "(nil)", 5);
		return;
	}
	s->flags = (s->flags & F_LEFT) | F_ALT;
	emit_number(o, s, (uintptr_t)p, false, 16);
}

static void conv_char(struct out *o, const struct spec *s, va_list *ap)
{
	char c = (char)va_arg(*ap, int);

	emit_text(o, s, &c, 1);
}

static const char *parse_flags(const char *p, unsigned *flags)
{
	for (;; p++) {
		switch (*p) {
		case '-':
			*flags |= F_LEFT;
			break;
		case '0':
			*flags |= F_ZERO;
			break;
		case '+':
			*flags |= F_PLUS;
			break;
		case ' ':
			*flags |= F_SPACE;
			break;
		case '#':
			*flags |= F_ALT;
			break;
		default:
			return p;
		}
	}
}

/* Saturates instead of overflowing; an absurd width then fails the int return. */
static const char *parse_int(const char *p, int *val)
{
	int v = 0;

	while (*p >= '0' && *p <= '9') {
		int d = *p++ - '0';

		v = v > (INT_MAX_ - d) / 10 ? INT_MAX_ : v * 10 + d;
	}
	*val = v;
	return p;
}

static const char *parse_width(const char *p, struct spec *s, va_list *ap)
{
	int w;

	if (*p != '*')
		return parse_int(p, &s->width);
	/* A negative '*' width means '-' with the absolute value (C99). */
	w = va_arg(*ap, int);
	if (w < 0) {
		s->flags |= F_LEFT;
		w = w < -INT_MAX_ ? INT_MAX_ : -w;
	}
	s->width = w;
	return p + 1;
}

static const char *parse_prec(const char *p, struct spec *s, va_list *ap)
{
	int pr;

	if (*p != '.')
		return p;
	p++;
	if (*p != '*')
		return parse_int(p, &s->prec);
	/* A negative '*' precision is taken as if omitted (C99). */
	pr = va_arg(*ap, int);
	s->prec = pr < 0 ? -1 : pr;
	return p + 1;
}

static const char *parse_length(const char *p, char *len)
{
	switch (*p) {
	case 'h':
	case 'l':
		if (p[1] == p[0]) {
			*len = p[0] == 'h' ? 'H' : 'L';
			return p + 2;
		}
		*len = *p;
		return p + 1;
	case 'z':
	case 'j':
	case 't':
		*len = *p;
		return p + 1;
	default:
		*len = 0;
		return p;
	}
}

/* Returns the conversion character's position. */
static const char *parse_spec(const char *p, struct spec *s, va_list *ap)
{
	s->flags = 0;
	s->width = 0;
	s->prec = -1;
	p = parse_flags(p, &s->flags);
	p = parse_width(p, s, ap);
	p = parse_prec(p, s, ap);
	return parse_length(p, &s->len);
}

/* Formats one conversion starting at '%'; returns where the text resumes. */
static const char *convert(struct out *o, const char *pct, va_list *ap)
{
	struct spec s;
	const char *p = parse_spec(pct + 1, &s, ap);

	switch (*p) {
	case 'd':
	case 'i':
		conv_signed(o, &s, ap);
		break;
	case 'u':
		conv_unsigned(o, &s, ap, 10);
		break;
	case 'o':
		conv_unsigned(o, &s, ap, 8);
		break;
	case 'X':
		s.flags |= F_UPPER;
		/* fall through */
	case 'x':
		conv_unsigned(o, &s, ap, 16);
		break;
	case 'p':
		conv_pointer(o, &s, ap);
		break;
	case 'c':
		conv_char(o, &s, ap);
		break;
	case 's':
		emit_string(o, &s, va_arg(*ap, const char *));
		break;
	case '%':
		put(o, '%');
		break;
	case '\0':
		/* The format ended inside a conversion: show what was there. */
		put_mem(o, pct, (size_t)(p - pct));
		return p;
	default:
		/* Unknown: copy it out rather than guess at the argument's type. */
		put_mem(o, pct, (size_t)(p + 1 - pct));
		break;
	}
	return p + 1;
}

int tvmm_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = {buf, n > 0 ? n - 1 : 0, 0};
	va_list aq;

	if (fmt == NULL)
		fmt = "";
	/* A copy, because only a real va_list object can be passed by address. */
	va_copy(aq, ap);
	while (*fmt != '\0') {
		if (*fmt == '%')
			fmt = convert(&o, fmt, &aq);
		else
			put(&o, *fmt++);
	}
	va_end(aq);
	if (n > 0)
		buf[o.len < o.cap ? o.len : o.cap] = '\0';
	return o.len > (size_t)INT_MAX_ ? -1 : (int)o.len;
}

int tvmm_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = tvmm_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return ret;
}
