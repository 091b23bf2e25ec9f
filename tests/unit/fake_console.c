/* SPDX-License-Identifier: MIT */
/* lib/console.c stand-in: keeps what the log writes, for the tests to read. */
#include <string.h>

#include "fake.h"
#include "lib/console.h"

char fake_console[FAKE_CONSOLE_SIZE + 1];
size_t fake_console_len;
int fake_console_writes;

void fake_console_reset(void)
{
	fake_console_len = 0;
	fake_console_writes = 0;
	fake_console[0] = '\0';
}

void console_write(const char *s, size_t n)
{
	size_t room = FAKE_CONSOLE_SIZE - fake_console_len;

	fake_console_writes++;
	if (n > room)
		n = room;
	memcpy(fake_console + fake_console_len, s, n);
	fake_console_len += n;
	fake_console[fake_console_len] = '\0';
}
