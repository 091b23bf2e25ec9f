/* SPDX-License-Identifier: MIT */
#include "crypto.h"
#include "../common/util.h"

#include <mbedtls/aes.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <tss2/tss2_mu.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

int crypto_init(void)
{
	static const char pers[] = "thinvmm-verifier";

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	return mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
				     (const unsigned char *)pers, sizeof(pers) - 1);
}

int crypto_random(uint8_t *out, size_t n)
{
	return mbedtls_ctr_drbg_random(&drbg, out, n);
}

int sha256(const void *buf, size_t len, uint8_t out[32])
{
	return mbedtls_sha256_ret(buf, len, out, 0);
}

/* P-256, loaded once: mbedtls keeps the precomputed table of multiples of the generator in the
 * group (MBEDTLS_ECP_FIXED_POINT_OPTIM), so every verification after the first skips building
 * it. Never freed: the process ends. */
static mbedtls_ecp_group *p256(void)
{
	static mbedtls_ecp_group grp;
	static int loaded;

	if (!loaded) {
		mbedtls_ecp_group_init(&grp);
		if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1))
			return NULL;
		loaded = 1;
	}
	return &grp;
}

int verify_ecdsa(const TPMT_PUBLIC *pub, const uint8_t *msg, size_t len, const TPMT_SIGNATURE *sig,
		 char *err, size_t errlen)
{
	mbedtls_ecp_group *grp = p256();
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	uint8_t h[32];
	int ret = -1;

	if (sig->sigAlg != TPM2_ALG_ECDSA || sig->signature.ecdsa.hash != TPM2_ALG_SHA256)
		return fail(err, errlen, "signature is not ECDSA/SHA-256 (alg 0x%04x)",
			    sig->sigAlg);
	if (pub->type != TPM2_ALG_ECC || pub->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
		return fail(err, errlen, "key is not ECC P-256");
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (!grp ||
	    mbedtls_mpi_read_binary(&q.X, pub->unique.ecc.x.buffer, pub->unique.ecc.x.size) ||
	    mbedtls_mpi_read_binary(&q.Y, pub->unique.ecc.y.buffer, pub->unique.ecc.y.size) ||
	    mbedtls_mpi_lset(&q.Z, 1) || mbedtls_ecp_check_pubkey(grp, &q)) {
		fail(err, errlen, "key is not a valid P-256 point");
		goto out;
	}
	if (mbedtls_mpi_read_binary(&r, sig->signature.ecdsa.signatureR.buffer,
				    sig->signature.ecdsa.signatureR.size) ||
	    mbedtls_mpi_read_binary(&s, sig->signature.ecdsa.signatureS.buffer,
				    sig->signature.ecdsa.signatureS.size) ||
	    sha256(msg, len, h)) {
		fail(err, errlen, "internal error");
		goto out;
	}
	if (mbedtls_ecdsa_verify(grp, h, sizeof(h), &q, &r, &s) != 0) {
		fail(err, errlen, "ECDSA signature does not verify with the enrolled AK");
		goto out;
	}
	ret = 0;
out:
	mbedtls_ecp_point_free(&q);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

/* Every *.pem / *.crt in ca_dir: self-signed ones are trust anchors, the rest intermediates. */
static int load_ca_dir(const char *dir, mbedtls_x509_crt *roots, mbedtls_x509_crt *inter)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char path[4096];
		mbedtls_x509_crt one, *c;

		if (l < 5 ||
		    (strcmp(de->d_name + l - 4, ".pem") && strcmp(de->d_name + l - 4, ".crt")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		mbedtls_x509_crt_init(&one);
		if (mbedtls_x509_crt_parse_file(&one, path) < 0) {
			mbedtls_x509_crt_free(&one);
			continue; /* private keys and other PEM files */
		}
		for (c = &one; c && c->raw.len; c = c->next) {
			int self = c->issuer_raw.len == c->subject_raw.len &&
				   !memcmp(c->issuer_raw.p, c->subject_raw.p, c->issuer_raw.len);

			if (mbedtls_x509_crt_parse_der(self ? roots : inter, c->raw.p,
						       c->raw.len) == 0)
				n += self;
		}
		mbedtls_x509_crt_free(&one);
	}
	closedir(d);
	return n > 0 ? 0 : -1;
}

int verify_ek_cert(const uint8_t *der, size_t len, const char *ca_dir, const TPMT_PUBLIC *ek,
		   char *err, size_t errlen)
{
	mbedtls_x509_crt chain, roots;
	uint8_t n[512], e[8];
	uint32_t flags = 0, exp;
	int ret = -1;
	mbedtls_rsa_context *rsa;

	mbedtls_x509_crt_init(&chain);
	mbedtls_x509_crt_init(&roots);
	if (mbedtls_x509_crt_parse_der(&chain, der, len) != 0) {
		fail(err, errlen, "EK certificate does not parse");
		goto out;
	}
	if (load_ca_dir(ca_dir, &roots, &chain)) {
		fail(err, errlen, "no CA certificate in %s", ca_dir);
		goto out;
	}
	if (mbedtls_x509_crt_verify(&chain, &roots, NULL, NULL, &flags, NULL, NULL) != 0) {
		char info[256];

		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = 0;
		fail(err, errlen, "EK certificate does not chain to %s: %s", ca_dir, info);
		goto out;
	}
	if (mbedtls_pk_get_type(&chain.pk) != MBEDTLS_PK_RSA) {
		fail(err, errlen, "EK certificate key is not RSA");
		goto out;
	}
	rsa = mbedtls_pk_rsa(chain.pk);
	if (mbedtls_rsa_get_len(rsa) != ek->unique.rsa.size || ek->unique.rsa.size > sizeof(n) ||
	    mbedtls_rsa_export_raw(rsa, n, ek->unique.rsa.size, NULL, 0, NULL, 0, NULL, 0, e,
				   sizeof(e)) != 0 ||
	    memcmp(n, ek->unique.rsa.buffer, ek->unique.rsa.size) != 0) {
		fail(err, errlen, "EK public key is not the certificate's key");
		goto out;
	}
	exp = ek->parameters.rsaDetail.exponent ? ek->parameters.rsaDetail.exponent : 65537;
	if (((uint32_t)e[4] << 24 | (uint32_t)e[5] << 16 | (uint32_t)e[6] << 8 | e[7]) != exp ||
	    e[0] | e[1] | e[2] | e[3]) {
		fail(err, errlen, "EK exponent differs from the certificate's");
		goto out;
	}
	ret = 0;
out:
	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&roots);
	return ret;
}

/* KDFa (TPM 2.0 Part 1, 11.4.10.2) with HMAC-SHA-256; the label's NUL is hashed. */
static int kdfa(const uint8_t *key, size_t klen, const char *label, const uint8_t *u, size_t ulen,
		uint32_t bits, uint8_t *out)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t c;
	uint32_t i = 1, bytes = bits / 8, done = 0;
	uint8_t tmp[32], be[4],
	    bb[4] = {(uint8_t)(bits >> 24), (uint8_t)(bits >> 16), (uint8_t)(bits >> 8),
		     (uint8_t)bits};
	int ret = 0;

	mbedtls_md_init(&c);
	if (mbedtls_md_setup(&c, md, 1)) {
		mbedtls_md_free(&c);
		return -1;
	}
	for (; done < bytes; i++) {
		uint32_t n = bytes - done < 32 ? bytes - done : 32;

		be[0] = (uint8_t)(i >> 24);
		be[1] = (uint8_t)(i >> 16);
		be[2] = (uint8_t)(i >> 8);
		be[3] = (uint8_t)i;
		ret |= mbedtls_md_hmac_starts(&c, key, klen);
		ret |= mbedtls_md_hmac_update(&c, be, 4);
		ret |= mbedtls_md_hmac_update(&c, (const uint8_t *)label, strlen(label) + 1);
		if (ulen)
			ret |= mbedtls_md_hmac_update(&c, u, ulen);
		ret |= mbedtls_md_hmac_update(&c, bb, 4);
		ret |= mbedtls_md_hmac_finish(&c, tmp);
		memcpy(out + done, tmp, n);
		done += n;
	}
	mbedtls_md_free(&c);
	return ret ? -1 : 0;
}

int make_credential(const TPMT_PUBLIC *ek, const uint8_t *name, size_t namelen,
		    const uint8_t cred[32], uint8_t *out, size_t cap, size_t *outlen, char *err,
		    size_t errlen)
{
	static const uint8_t exp65537[3] = {1, 0, 1};
	uint8_t seed[32], symkey[16], hmackey[32], iv[16] = {0}, plain[34], enc[34], mac[32];
	uint8_t e[4];
	size_t elen, off = 0;
	size_t ivoff = 0;
	TPM2B_ID_OBJECT id = {0};
	TPM2B_ENCRYPTED_SECRET secret = {0};
	mbedtls_rsa_context rsa;
	mbedtls_aes_context aes;
	mbedtls_md_context_t md;
	int ret = -1;

	if (ek->type != TPM2_ALG_RSA || ek->nameAlg != TPM2_ALG_SHA256 ||
	    ek->parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_AES ||
	    ek->parameters.rsaDetail.symmetric.keyBits.aes != 128 ||
	    ek->parameters.rsaDetail.symmetric.mode.aes != TPM2_ALG_CFB)
		return fail(err, errlen, "EK is not RSA/SHA-256/AES-128-CFB");
	if (ek->parameters.rsaDetail.exponent) {
		uint32_t x = ek->parameters.rsaDetail.exponent;

		e[0] = (uint8_t)(x >> 24);
		e[1] = (uint8_t)(x >> 16);
		e[2] = (uint8_t)(x >> 8);
		e[3] = (uint8_t)x;
		elen = 4;
	} else {
		memcpy(e, exp65537, 3);
		elen = 3;
	}
	mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
	mbedtls_aes_init(&aes);
	mbedtls_md_init(&md);
	if (crypto_random(seed, sizeof(seed)) ||
	    mbedtls_rsa_import_raw(&rsa, ek->unique.rsa.buffer, ek->unique.rsa.size, NULL, 0, NULL,
				   0, NULL, 0, e, elen) ||
	    mbedtls_rsa_complete(&rsa) || mbedtls_rsa_get_len(&rsa) > sizeof(secret.secret)) {
		fail(err, errlen, "EK RSA key unusable");
		goto out;
	}
	/* The seed, RSA-OAEP(SHA-256) encrypted to the EK with label "IDENTITY\0". */
	if (mbedtls_rsa_rsaes_oaep_encrypt(&rsa, mbedtls_ctr_drbg_random, &drbg, MBEDTLS_RSA_PUBLIC,
					   (const uint8_t *)"IDENTITY", 9, sizeof(seed), seed,
					   secret.secret)) {
		fail(err, errlen, "RSA-OAEP failed");
		goto out;
	}
	secret.size = (uint16_t)mbedtls_rsa_get_len(&rsa);
	if (kdfa(seed, sizeof(seed), "STORAGE", name, namelen, 128, symkey) ||
	    kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, 256, hmackey)) {
		fail(err, errlen, "KDFa failed");
		goto out;
	}
	plain[0] = 0;
	plain[1] = 32;
	memcpy(plain + 2, cred, 32);
	if (mbedtls_aes_setkey_enc(&aes, symkey, 128) ||
	    mbedtls_aes_crypt_cfb128(&aes, MBEDTLS_AES_ENCRYPT, sizeof(plain), &ivoff, iv, plain,
				     enc)) {
		fail(err, errlen, "AES-CFB failed");
		goto out;
	}
	if (mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) ||
	    mbedtls_md_hmac_starts(&md, hmackey, sizeof(hmackey)) ||
	    mbedtls_md_hmac_update(&md, enc, sizeof(enc)) ||
	    mbedtls_md_hmac_update(&md, name, namelen) || mbedtls_md_hmac_finish(&md, mac)) {
		fail(err, errlen, "HMAC failed");
		goto out;
	}
	id.size = 2 + 32 + sizeof(enc);
	id.credential[0] = 0;
	id.credential[1] = 32;
	memcpy(id.credential + 2, mac, 32);
	memcpy(id.credential + 34, enc, sizeof(enc));
	if (cap < 8) {
		fail(err, errlen, "buffer too small");
		goto out;
	}
	memcpy(out, "\xba\xdc\xc0\xde\x00\x00\x00\x01", 8);
	off = 8;
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(&id, out, cap, &off) ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&secret, out, cap, &off)) {
		fail(err, errlen, "marshalling failed");
		goto out;
	}
	*outlen = off;
	ret = 0;
out:
	mbedtls_rsa_free(&rsa);
	mbedtls_aes_free(&aes);
	mbedtls_md_free(&md);
	return ret;
}
