/* SPDX-License-Identifier: MIT */
/*
 * The VMM's own descriptor tables. The host never enables interrupts and
 * holds GIF=0 (or the VMX equivalent), so only exceptions can arrive here:
 * each is a VMM bug, reported and then the CPU stops rather than guessing.
 */
#include "core/vmm.h"
#include "lib/x86.h"

#define HOST_CS 0x08

static uint64_t gdt[3] __attribute__((aligned(16))) = {
    0, 0x00af9b000000ffffull, /* 64-bit code, DPL 0 */
    0x00cf93000000ffffull,    /* data, DPL 0 */
};

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
};

static struct idt_gate idt[32] __attribute__((aligned(16)));
struct dtr host_gdtr, host_idtr;
extern const uint64_t host_exc_stubs[32];

void host_idt_init(void)
{
	for (unsigned i = 0; i < 32; i++) {
		uint64_t a = host_exc_stubs[i];
		idt[i] = (struct idt_gate){.off0 = (uint16_t)a,
					   .sel = HOST_CS,
					   .type = 0x8e, /* present interrupt gate */
					   .off1 = (uint16_t)(a >> 16),
					   .off2 = (uint32_t)(a >> 32)};
	}
	host_gdtr.limit = sizeof(gdt) - 1;
	host_gdtr.base = (uint64_t)(uintptr_t)gdt;
	host_idtr.limit = sizeof(idt) - 1;
	host_idtr.base = (uint64_t)(uintptr_t)idt;
}

/* Called by the stubs with the frame the CPU pushed. */
__attribute__((noreturn)) void host_exception(uint64_t vector, uint64_t err, const uint64_t *frame)
{
	vmm_log("VMM BUG: exception %llu error %#llx at rip %#llx rsp %#llx cr2 %#llx; CPU stopped",
		(unsigned long long)vector, (unsigned long long)err, (unsigned long long)frame[0],
		(unsigned long long)frame[3], (unsigned long long)read_cr2());
	cpu_halt_forever();
}
