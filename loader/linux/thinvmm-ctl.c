// SPDX-License-Identifier: MIT
/*
 * thinvmm-ctl: the guest's view of the VMM, through /dev/thinvmm.
 *   thinvmm-ctl status [--json]   version, CPUs, exits by reason, memory
 *   thinvmm-ctl log               the VMM's log ring
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <thinvmm/abi.h>

#include "uapi/thinvmm_ioctl.h"

static const char *const exit_names[TVMM_EXIT_NR] = TVMM_EXIT_NAMES;

static int dev_open(void)
{
	int fd = open("/dev/thinvmm", O_RDWR);
	if (fd < 0)
		fprintf(stderr, "thinvmm-ctl: /dev/thinvmm: %s (is the thinvmm module loaded?)\n",
			strerror(errno));
	return fd;
}

static int call(int fd, struct tvmm_ioc_call *c)
{
	if (ioctl(fd, TVMM_IOC_CALL, c)) {
		fprintf(stderr, "thinvmm-ctl: hypercall %#x: %s\n", c->nr, strerror(errno));
		return -1;
	}
	if (c->ret) {
		fprintf(stderr, "thinvmm-ctl: hypercall %#x: VMM error %" PRId64 "\n", c->nr,
			(int64_t)c->ret);
		return -1;
	}
	return 0;
}

static const char *backend_name(uint32_t b)
{
	return b == TVMM_BACKEND_SVM ? "svm" : b == TVMM_BACKEND_VMX ? "vmx" : "unknown";
}

static void print_text(const struct tvmm_status *s)
{
	printf("thinvmm %s (ABI %u.%u), backend %s\n", s->version, s->abi_version >> 16,
	       s->abi_version & 0xffff, backend_name(s->backend));
	printf("virtualized: %u/%ld\n", s->nvirt, sysconf(_SC_NPROCESSORS_ONLN));
	printf("memory: %" PRIu64 " KiB used of %" PRIu64 " KiB\n", s->mem_used >> 10,
	       s->mem_total >> 10);
	printf("nested map: %" PRIu64 " table pages, leaves 1G=%" PRIu64 " 2M=%" PRIu64
	       " 4K=%" PRIu64 "\n",
	       s->nested_pages, s->nested_1g, s->nested_2m, s->nested_4k);
	for (uint32_t i = 0; i < s->ncpus; i++) {
		const struct tvmm_status_cpu *c = &s->cpu[i];
		printf("cpu %u (apic %u): %s, exits %" PRIu64, c->cpu, c->apic_id,
		       c->state == TVMM_CPU_RUNNING ? "virtualized" : "off", c->exits_total);
		for (int r = 0; r < TVMM_EXIT_NR; r++)
			if (c->exits[r])
				printf(" %s=%" PRIu64, exit_names[r], c->exits[r]);
		printf("\n");
	}
}

static void print_json(const struct tvmm_status *s)
{
	printf("{\"version\":\"%s\",\"abi\":\"%u.%u\",\"backend\":\"%s\",\"virtualized\":%u,"
	       "\"online\":%ld,\"mem_total\":%" PRIu64 ",\"mem_used\":%" PRIu64
	       ",\"nested\":{\"table_pages\":%" PRIu64 ",\"leaves_1g\":%" PRIu64
	       ",\"leaves_2m\":%" PRIu64 ",\"leaves_4k\":%" PRIu64 "},\"cpus\":[",
	       s->version, s->abi_version >> 16, s->abi_version & 0xffff, backend_name(s->backend),
	       s->nvirt, sysconf(_SC_NPROCESSORS_ONLN), s->mem_total, s->mem_used, s->nested_pages,
	       s->nested_1g, s->nested_2m, s->nested_4k);
	for (uint32_t i = 0; i < s->ncpus; i++) {
		const struct tvmm_status_cpu *c = &s->cpu[i];
		printf("%s{\"cpu\":%u,\"apic_id\":%u,\"virtualized\":%s,\"exits_total\":%" PRIu64
		       ",\"exits\":{",
		       i ? "," : "", c->cpu, c->apic_id,
		       c->state == TVMM_CPU_RUNNING ? "true" : "false", c->exits_total);
		for (int r = 0; r < TVMM_EXIT_NR; r++)
			printf("%s\"%s\":%" PRIu64, r ? "," : "", exit_names[r], c->exits[r]);
		printf("}}");
	}
	printf("]}\n");
}

static int cmd_status(int fd, int json)
{
	static uint64_t buf[TVMM_IOC_MAX_BUF / 8];
	struct tvmm_ioc_call c = {.nr = TVMM_HC_STATUS, .len = sizeof(buf), .buf = (uintptr_t)buf};
	if (call(fd, &c))
		return 1;
	const struct tvmm_status *s = (const void *)buf;
	if (s->size < sizeof(*s) || s->size > sizeof(buf) ||
	    s->ncpus > (s->size - sizeof(*s)) / sizeof(s->cpu[0])) {
		fprintf(stderr, "thinvmm-ctl: malformed status from the VMM\n");
		return 1;
	}
	if (json)
		print_json(s);
	else
		print_text(s);
	return 0;
}

static int cmd_log(int fd)
{
	static char buf[TVMM_IOC_MAX_BUF];
	uint64_t cursor = 0;
	for (;;) {
		struct tvmm_ioc_call c = {
		    .nr = TVMM_HC_LOG, .len = sizeof(buf), .buf = (uintptr_t)buf, .arg = cursor};
		if (call(fd, &c))
			return 1;
		if (c.out[2])
			printf("[... %llu bytes of log lost ...]\n", (unsigned long long)c.out[2]);
		if (c.out[0] > sizeof(buf))
			return 1;
		fwrite(buf, 1, c.out[0], stdout);
		if (!c.out[0])
			return 0;
		cursor = c.out[1];
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: thinvmm-ctl status [--json] | log\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	int json = argc == 3 && !strcmp(argv[2], "--json");
	if (!strcmp(argv[1], "status") && (argc == 2 || json)) {
		int fd = dev_open();
		return fd < 0 ? 1 : cmd_status(fd, json);
	}
	if (!strcmp(argv[1], "log") && argc == 2) {
		int fd = dev_open();
		return fd < 0 ? 1 : cmd_log(fd);
	}
	return usage();
}
