/* SPDX-License-Identifier: MIT */
/*
 * mbedtls configuration for the VMM: SHA-256 and nothing else (no
 * platform layer, no self test, no time, no file system).
 */
#ifndef TVMM_MBEDTLS_CONFIG_H
#define TVMM_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C

#include "mbedtls/check_config.h"

#endif
