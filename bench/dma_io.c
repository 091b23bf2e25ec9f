/*
 * tvmm-dma-io MIB KIB REPS DEV...   (built static by bench/run-dma.sh)
 *
 * REPS times: for each DEV in turn (the order reversed on every other repetition) write MIB
 * MiB from offset 0 with O_DIRECT in KIB-KiB requests, then read them back the same way; then
 * the CPU control: MIB MiB read from /dev/zero into the same buffer (the kernel's clear_user:
 * as many bytes written to memory by the CPU, no device, no DMA). Only CLOCK_MONOTONIC around
 * each transfer is inside a timed window. Every 4 KiB block written carries a stamp (repetition,
 * block number) in its first 8 bytes; the read checks them all (OK 1 or 0). Then one line each:
 *   io REP DEV OP NS BYTES OK          OP: write, read or zero (DEV "-" for zero)
 * REPS 0: start, print nothing, exit (the cost of one exec, for the exit calibration).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXDEV 8
#define MAXREC 4096

struct rec {
	int rep, dev;
	const char *op;
	long long ns;
	long long bytes;
	int ok;
};
static struct rec recs[MAXREC];
static int nrec;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void add(int rep, int dev, const char *op, long long ns, long long bytes, int ok)
{
	if (nrec < MAXREC)
		recs[nrec++] = (struct rec){rep, dev, op, ns, bytes, ok};
}

static uint64_t stamp(int rep, long long block)
{
	return 0x54564d4d00000000ull ^ ((uint64_t)rep << 40) ^ (uint64_t)block;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: tvmm-dma-io MIB KIB REPS DEV...\n");
		return 2;
	}
	long mib = atol(argv[1]), kib = atol(argv[2]), reps = atol(argv[3]);
	int ndev = argc - 4;
	if (mib <= 0 || kib <= 0 || reps < 0 || ndev > MAXDEV || (mib * 1024) % kib) {
		fprintf(stderr, "tvmm-dma-io: bad arguments\n");
		return 2;
	}
	if (reps == 0)
		return 0;
	size_t bs = (size_t)kib * 1024;
	long long total = mib * 1048576LL, nreq = total / (long long)bs;
	unsigned char *buf;
	if (posix_memalign((void **)&buf, 4096, bs)) {
		fprintf(stderr, "tvmm-dma-io: out of memory\n");
		return 1;
	}
	memset(buf, 0xa5, bs);
	int fd[MAXDEV], zero = open("/dev/zero", O_RDONLY);
	for (int d = 0; d < ndev; d++) {
		fd[d] = open(argv[4 + d], O_RDWR | O_DIRECT);
		if (fd[d] < 0) {
			fprintf(stderr, "tvmm-dma-io: %s: %s\n", argv[4 + d], strerror(errno));
			return 1;
		}
	}
	if (zero < 0) {
		perror("tvmm-dma-io: /dev/zero");
		return 1;
	}
	int rc = 0;
	for (int r = 1; r <= reps; r++) {
		for (int k = 0; k < ndev; k++) {
			int d = (r % 2) ? k : ndev - 1 - k;
			int ok = 1;
			long long t0 = now_ns();
			for (long long q = 0; q < nreq && ok; q++) {
				for (size_t o = 0; o < bs; o += 4096) {
					uint64_t s =
					    stamp(r, (q * (long long)bs + (long long)o) / 4096);
					memcpy(buf + o, &s, 8);
				}
				ok = pwrite(fd[d], buf, bs, q * (off_t)bs) == (ssize_t)bs;
			}
			long long t1 = now_ns();
			add(r, d, "write", t1 - t0, total, ok);
			rc |= !ok;
			ok = 1;
			t0 = now_ns();
			for (long long q = 0; q < nreq; q++) {
				if (pread(fd[d], buf, bs, q * (off_t)bs) != (ssize_t)bs) {
					ok = 0;
					break;
				}
				for (size_t o = 0; o < bs; o += 4096) {
					uint64_t s = stamp(r, (q * (long long)bs + (long long)o) /
								  4096),
						 g;
					memcpy(&g, buf + o, 8);
					ok &= g == s;
				}
			}
			t1 = now_ns();
			add(r, d, "read", t1 - t0, total, ok);
			rc |= !ok;
		}
		int ok = 1;
		long long t0 = now_ns();
		for (long long q = 0; q < nreq && ok; q++)
			ok = read(zero, buf, bs) == (ssize_t)bs;
		long long t1 = now_ns();
		add(r, -1, "zero", t1 - t0, total, ok);
		rc |= !ok;
	}
	for (int i = 0; i < nrec; i++)
		printf("io %d %s %s %lld %lld %d\n", recs[i].rep,
		       recs[i].dev < 0 ? "-" : argv[4 + recs[i].dev], recs[i].op, recs[i].ns,
		       recs[i].bytes, recs[i].ok);
	return rc;
}
