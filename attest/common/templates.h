/* SPDX-License-Identifier: MIT */
/* Key templates: the TCG EK profile's RSA 2048 EK (template L-1) and the AK. The verifier
 * checks a presented AK against the same attributes. */
#ifndef TVEV_TEMPLATES_H
#define TVEV_TEMPLATES_H

#include <tss2/tss2_tpm2_types.h>

#define AK_ATTRS                                                                                   \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
	 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
/* Attributes the verifier insists on (userWithAuth is the agent's business). */
#define AK_REQUIRED_ATTRS                                                                          \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
	 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
#define EK_ATTRS                                                                                   \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
	 TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)
#define EK_CERT_NV_RSA 0x01c00002u
#define EK_CERT_NV_ECC 0x01c00016u

/* PolicySecret(TPM_RH_ENDORSEMENT), SHA-256: the EK profile's default EK policy. */
static const uint8_t ek_policy_sha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

#endif
