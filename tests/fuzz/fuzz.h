/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: REQUIRE states a property the code under
 * test promises; a broken one aborts, so libFuzzer keeps the input.
 */
#ifndef TVMM_FUZZ_H
#define TVMM_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
