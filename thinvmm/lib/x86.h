/* SPDX-License-Identifier: MIT */
/* Thin wrappers around the x86 instructions the VMM itself executes. */
#ifndef TVMM_X86_H
#define TVMM_X86_H

#include <stdint.h>

#define MSR_EFER	    0xc0000080u
#define MSR_STAR	    0xc0000081u
#define MSR_LSTAR	    0xc0000082u
#define MSR_CSTAR	    0xc0000083u
#define MSR_SFMASK	    0xc0000084u
#define MSR_FS_BASE	    0xc0000100u
#define MSR_GS_BASE	    0xc0000101u
#define MSR_KERNEL_GS_BASE  0xc0000102u
#define MSR_PAT		    0x00000277u
#define MSR_APIC_BASE	    0x0000001bu
#define MSR_X2APIC_ICR	    0x00000830u
#define MSR_FEATURE_CONTROL 0x0000003au

#define EFER_SCE      (1ull << 0)
#define EFER_LME      (1ull << 8)
#define EFER_LMA      (1ull << 10)
#define EFER_NXE      (1ull << 11)
#define EFER_SVME     (1ull << 12)
#define EFER_LMSLE    (1ull << 13)
#define EFER_FFXSR    (1ull << 14)
#define EFER_TCE      (1ull << 15)
#define EFER_AUTOIBRS (1ull << 21)

#define CR0_PE	 (1ull << 0)
#define CR0_WP	 (1ull << 16)
#define CR0_PG	 (1ull << 31)
#define CR4_PAE	 (1ull << 5)
#define CR4_LA57 (1ull << 12)

#define RFLAGS_IF (1ull << 9)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};

#ifndef TVMM_HOSTED
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	__asm__ volatile("cpuid"
			 : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
			 : "a"(leaf), "c"(sub));
}

#define DEFINE_READ_CR(n)                                                                          \
	static inline uint64_t read_cr##n(void)                                                    \
	{                                                                                          \
		uint64_t v;                                                                        \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                  \
		return v;                                                                          \
	}
DEFINE_READ_CR(0)
DEFINE_READ_CR(2)
DEFINE_READ_CR(3)
DEFINE_READ_CR(4)
#undef DEFINE_READ_CR

static inline uint64_t read_dr6(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_dr7(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void sgdt(struct dtr *d)
{
	__asm__ volatile("sgdt %0" : "=m"(*d));
}

static inline void sidt(struct dtr *d)
{
	__asm__ volatile("sidt %0" : "=m"(*d));
}

#define DEFINE_READ_SEG(n)                                                                         \
	static inline uint16_t read_##n(void)                                                      \
	{                                                                                          \
		uint16_t v;                                                                        \
		__asm__ volatile("mov %%" #n ", %0" : "=r"(v));                                    \
		return v;                                                                          \
	}
DEFINE_READ_SEG(cs)
DEFINE_READ_SEG(ss)
DEFINE_READ_SEG(ds)
DEFINE_READ_SEG(es)
#undef DEFINE_READ_SEG

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void xsetbv(uint32_t idx, uint64_t v)
{
	__asm__ volatile("xsetbv" ::"c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void wbinvd(void)
{
	__asm__ volatile("wbinvd" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline __attribute__((noreturn)) void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
#endif /* TVMM_HOSTED */

#endif
