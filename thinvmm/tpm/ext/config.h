/* SPDX-License-Identifier: MIT */
/* tpm2-tss's autoconf config.h, for its MU sources built freestanding into the VMM: empty. */
