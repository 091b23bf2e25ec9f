/* SPDX-License-Identifier: MIT */
/*
 * The VMM's console: a 16550 or QEMU's debug console, on a port the loader
 * chose. Never the guest's own console port: a VMM that shares COM1 with
 * firmware or Linux corrupts both, and one that traps it hangs them.
 */
#include <thinvmm/handoff.h>

#include "lib/console.h"
#include "lib/x86.h"

static uint32_t con_kind, con_port;

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LSR_THRE 0x20

void console_init(uint32_t kind, uint32_t port)
{
	con_kind = kind;
	con_port = port;
	if (kind != TVMM_CONSOLE_UART)
		return;
	outb(port + UART_IER, 0x00); /* polled: no interrupts to the guest */
	outb(port + UART_LCR, 0x80);
	outb(port + UART_DLL, 1); /* 115200 */
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, 0x03); /* 8N1 */
	outb(port + UART_FCR, 0x07);
	outb(port + UART_MCR, 0x03);
}

static void uart_putc(char c)
{
	/* Bounded: a missing UART reads 0xff (THRE set) and never stalls us. */
	for (unsigned spin = 0; spin < 100000 && !(inb(con_port + UART_LSR) & LSR_THRE); spin++)
		cpu_relax();
	outb(con_port + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (con_kind == TVMM_CONSOLE_UART) {
			if (s[i] == '\n')
				uart_putc('\r');
			uart_putc(s[i]);
		} else if (con_kind == TVMM_CONSOLE_DEBUGCON) {
			outb(con_port, (uint8_t)s[i]);
		}
	}
}
