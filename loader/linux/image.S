/* SPDX-License-Identifier: MIT */
/* The flat VMM image, built from thinvmm/ and carried inside the module. */
	.section .rodata
	.balign 4096
	.globl tvmm_image, tvmm_image_end
tvmm_image:
	.incbin TVMM_IMAGE_PATH
tvmm_image_end:
