/*
 * tvmm-bench-clock, for the guest's bench scenario (busybox date has no %N). Built static by
 * bench/run.sh.
 *
 *   tvmm-bench-clock            print CLOCK_MONOTONIC in nanoseconds
 *   tvmm-bench-clock cpuid N    run CPUID (leaf 0) N times, print the nanoseconds it took
 *
 * and, for the Bochs bench (bench/run-vmx.sh), the time stamp counter too. In Bochs the TSC is
 * the emulator's tick counter, one tick per instruction executed (plus the ticks it lets pass
 * while the CPU halts), so TSC differences count instructions:
 *   tvmm-bench-clock stamp      print "NS TSC": CLOCK_MONOTONIC in nanoseconds, then RDTSC
 *   tvmm-bench-clock cpuidt N   CPUID (leaf 0) N times; print "NS TSC_DELTA" of the loop
 *   tvmm-bench-clock spin N     a loop of exactly 2N instructions (dec; jnz), no memory access;
 *                               print "NS TSC_DELTA" of it: checks ticks against instructions
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static long count_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (n <= 0 || *end) {
		fprintf(stderr, "tvmm-bench-clock: bad count '%s'\n", s);
		exit(2);
	}
	return n;
}

static long long now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc == 1) {
		printf("%lld\n", now_ns());
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "stamp")) {
		long long ns = now_ns();
		uint64_t c = tsc();
		printf("%lld %llu\n", ns, (unsigned long long)c);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "cpuidt")) {
		long n = count_arg(argv[2]);
		long long t0 = now_ns();
		uint64_t c0 = tsc();
		for (long i = 0; i < n; i++) {
			uint32_t a = 0, b, c = 0, d;
			__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		}
		uint64_t c1 = tsc();
		printf("%lld %llu\n", now_ns() - t0, (unsigned long long)(c1 - c0));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "spin")) {
		long n = count_arg(argv[2]);
		long long t0 = now_ns();
		uint64_t c0 = tsc();
		__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
		uint64_t c1 = tsc();
		printf("%lld %llu\n", now_ns() - t0, (unsigned long long)(c1 - c0));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "cpuid")) {
		long n = strtol(argv[2], 0, 10);
		if (n <= 0) {
			fprintf(stderr, "tvmm-bench-clock: bad count '%s'\n", argv[2]);
			return 2;
		}
		long long t0 = now_ns();
		for (long i = 0; i < n; i++) {
			uint32_t a = 0, b, c = 0, d;
			__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		}
		printf("%lld\n", now_ns() - t0);
		return 0;
	}
	fprintf(stderr, "usage: tvmm-bench-clock [cpuid N | stamp | cpuidt N | spin N]\n");
	return 2;
}
