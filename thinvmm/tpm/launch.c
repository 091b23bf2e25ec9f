/* SPDX-License-Identifier: MIT */
/*
 * tpm_init: the parts of the emulated late launch that need the real
 * machine (the image's own bytes, a switch to the VMM's page tables at
 * init); tpm/tpm.c does the measuring, and is what the unit tests drive.
 */
#include "mbedtls/sha256.h"

#include "core/vmm.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "tpm/tpm.h"

#define HIDDEN __attribute__((visibility("hidden")))
extern char __image_start[] HIDDEN;
struct tpm_rela {
	uint64_t offset, info;
	int64_t addend;
};
extern const struct tpm_rela __rela_start[] HIDDEN, __rela_end[] HIDDEN;

/*
 * SHA-256 of the image as the file has it: code, constant data and the
 * relocation table, [__image_start, __rela_end), with the R_X86_64_RELATIVE
 * relocations undone (the file holds the addend there, linked at 0). So a
 * verifier computes the reference from thinvmm.bin: its first __rela_end
 * bytes (the QUAD at offset 48 of the header).
 */
static void image_digest(uint8_t out[32])
{
	static uint8_t block[4096];
	const uint8_t *start = (const uint8_t *)__image_start;
	uint64_t size = (uint64_t)((const uint8_t *)__rela_end - start);
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	for (uint64_t at = 0; at < size; at += sizeof(block)) {
		uint64_t n = size - at < sizeof(block) ? size - at : sizeof(block);
		memcpy(block, start + at, n);
		for (const struct tpm_rela *r = __rela_start; r < __rela_end; r++) {
			if ((r->info & 0xffffffffu) != 8 /* R_X86_64_RELATIVE */)
				continue;
			for (unsigned k = 0; k < 8; k++) {
				uint64_t b = r->offset + k;
				if (b >= at && b < at + n)
					block[b - at] = (uint8_t)((uint64_t)r->addend >> (8 * k));
			}
		}
		mbedtls_sha256_update_ret(&c, block, n);
	}
	mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
}

static uint8_t image_sha[32];

static void launch_on_host(void)
{
	tpm_launch(image_sha);
}

void tpm_init(void)
{
	if (tpm_setup())
		return;
	image_digest(image_sha);
	if (vmm_on_host(launch_on_host))
		return;
	tpm_launched(image_sha);
}
