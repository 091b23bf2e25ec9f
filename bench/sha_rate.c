/* SPDX-License-Identifier: MIT */
/*
 * mbedtls SHA-256 throughput on this host, natively: what the lock's contents
 * digest would cost outside an emulator. Usage: sha_rate MIB; prints "MiB/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 23;
	size_t n = mib << 20;
	unsigned char *buf = malloc(n), out[32];
	struct timespec a, b;
	if (!buf || !mib)
		return 1;
	memset(buf, 0x5a, n);
	clock_gettime(CLOCK_MONOTONIC, &a);
	mbedtls_sha256_ret(buf, n, out, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.1f MiB/s\n", (double)mib / s);
	free(buf);
	return 0;
}
