/* SPDX-License-Identifier: MIT */
#ifndef TVMM_CONSOLE_H
#define TVMM_CONSOLE_H
#include <stddef.h>
#include <stdint.h>
void console_init(uint32_t kind, uint32_t port);
void console_write(const char *s, size_t n);
#endif
