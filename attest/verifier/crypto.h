/* SPDX-License-Identifier: MIT */
/* The verifier's uses of mbedtls: random numbers, SHA-256, ECDSA verification, EK certificate
 * chains, and TPM2_MakeCredential (KDFa, RSA-OAEP, AES-CFB, HMAC: all mbedtls primitives). */
#ifndef TVEV_CRYPTO_H
#define TVEV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

int crypto_init(void);
int crypto_random(uint8_t *out, size_t n);
int sha256(const void *buf, size_t len, uint8_t out[32]);
/* ECDSA P-256 / SHA-256 signature over msg by the ECC public key pub. 0 = valid. */
int verify_ecdsa(const TPMT_PUBLIC *pub, const uint8_t *msg, size_t len, const TPMT_SIGNATURE *sig,
		 char *err, size_t errlen);
/* DER certificate chained to the CA directory; its RSA key equals ek's. 0 = good. */
int verify_ek_cert(const uint8_t *der, size_t len, const char *ca_dir, const TPMT_PUBLIC *ek,
		   char *err, size_t errlen);
/* TPM2_MakeCredential for an RSA EK: writes the tpm2-tools challenge layout into out. */
int make_credential(const TPMT_PUBLIC *ek, const uint8_t *name, size_t namelen,
		    const uint8_t cred[32], uint8_t *out, size_t cap, size_t *outlen, char *err,
		    size_t errlen);

#endif
