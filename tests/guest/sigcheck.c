// SPDX-License-Identifier: MIT
/*
 * Runs CPUID 0x40000000 pinned to each online CPU in turn and prints what
 * each one answers. Exit 0 only if every online CPU shows the thinvmm
 * signature: a CPU that escaped the VMM is visible here.
 *
 * tvmm-sigcheck --user-hypercall: VMMCALL from user space must raise #UD
 * (SIGILL), as it would without a hypervisor. Exit 0 if it does.
 * tvmm-sigcheck --ud2: UD2 in user space must raise #UD (SIGILL), with or
 * without an exception rule trapping #UD on the way. Exit 0 if it does.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <thinvmm/abi.h>

static int is_intel(void)
{
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d);
	return b == 0x756e6547 && d == 0x49656e69; /* "GenuineIntel" */
}

/* Runs insn() in a child; 0 if the child died of SIGILL. */
static int sigill_in_child(void (*insn)(void), const char *what)
{
	pid_t pid = fork();
	if (pid == 0) {
		insn();
		_exit(0);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 2;
	int ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGILL;
	printf("%s: %s\n", what, ok ? "SIGILL (#UD)" : "did NOT raise #UD");
	return ok ? 0 : 1;
}

static void ud2(void)
{
	__asm__ volatile("ud2");
}

static int user_hypercall(void)
{
	int intel = is_intel();
	pid_t pid = fork();
	if (pid == 0) {
		/* The VMM's own instruction: it traps to the VMM, which must refuse CPL 3. */
		if (intel)
			__asm__ volatile("vmcall" ::"a"(TVMM_HC_VERSION)
					 : "rbx", "rcx", "rdx", "memory");
		else
			__asm__ volatile("vmmcall" ::"a"(TVMM_HC_VERSION)
					 : "rbx", "rcx", "rdx", "memory");
		_exit(0); /* the VMM answered a CPL 3 call: wrong */
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 2;
	int ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGILL;
	printf("user-space VMMCALL: %s\n",
	       ok ? "SIGILL (#UD), as without a hypervisor" : "did NOT raise #UD");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--user-hypercall"))
		return user_hypercall();
	if (argc == 2 && !strcmp(argv[1], "--ud2"))
		return sigill_in_child(ud2, "user-space UD2");
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int online = 0, signed_ok = 0;
	for (long cpu = 0; cpu < ncpu && cpu < CPU_SETSIZE; cpu++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			continue; /* offline */
		unsigned a, b, c, d;
		__cpuid(TVMM_CPUID_LEAF, a, b, c, d);
		char sig[13];
		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
		sig[12] = 0;
		for (int i = 0; i < 12; i++)
			if (sig[i] && (sig[i] < 32 || sig[i] > 126))
				sig[i] = '?';
		int ok = b == TVMM_SIG_EBX && c == TVMM_SIG_ECX && d == TVMM_SIG_EDX;
		printf("cpu %ld: leaf 0x40000000 eax=%#x signature \"%s\" %s\n", cpu, a, sig,
		       ok ? "thinvmm" : "NOT thinvmm");
		online++;
		signed_ok += ok;
	}
	printf("%d/%d online CPUs run under thinvmm\n", signed_ok, online);
	return online > 0 && signed_ok == online ? 0 : 1;
}
