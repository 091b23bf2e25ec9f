/*
 * tvmm-bench-clock, for the guest's bench scenario (busybox date has no %N). Built static by
 * bench/run.sh.
 *
 *   tvmm-bench-clock            print CLOCK_MONOTONIC in nanoseconds
 *   tvmm-bench-clock cpuid N    run CPUID (leaf 0) N times, print the nanoseconds it took
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	fprintf(stderr, "usage: tvmm-bench-clock [cpuid N]\n");
	return 2;
}
