/* SPDX-License-Identifier: MIT */
/*
 * thinvmm-policy: check, compile, dump and digest thinvmm policies (docs/policy.md).
 * Exit status: 0 ok, 1 policy errors or a bad blob, 2 usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "parse.h"

#define EXIT_POLICY 1
#define EXIT_IO	    2

static int usage(void)
{
	fprintf(stderr, "usage: thinvmm-policy check FILE\n"
			"       thinvmm-policy compile FILE -o OUT\n"
			"       thinvmm-policy dump BLOB\n"
			"       thinvmm-policy digest BLOB   (SHA-256 as measured into PCR18)\n");
	return EXIT_IO;
}

/*
 * Read at most limit + 1 bytes of `path` into a new buffer (so the caller
 * can tell "too large" from "exactly the limit"). 0, or -1 after a message.
 */
static int read_file(const char *path, size_t limit, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: error: not a regular file\n", path);
		close(fd);
		return -1;
	}
	char *b = malloc(limit + 1);
	size_t n = 0;
	if (!b) {
		fprintf(stderr, "%s: error: out of memory\n", path);
		close(fd);
		return -1;
	}
	while (n < limit + 1) {
		ssize_t r = read(fd, b + n, limit + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: error: read: %s\n", path, strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

/* Parse FILE; errors to stderr. NULL on I/O error (*rc set). */
static struct pol_result *parse_file(const char *path, int *rc)
{
	char *buf;
	size_t len;
	struct pol_result *res = malloc(sizeof(*res));
	if (!res) {
		fprintf(stderr, "%s: error: out of memory\n", path);
		*rc = EXIT_IO;
		return 0;
	}
	if (read_file(path, POL_MAX_FILE, &buf, &len)) {
		free(res);
		*rc = EXIT_IO;
		return 0;
	}
	*rc = pol_parse(buf, len, path, res) ? EXIT_POLICY : 0;
	free(buf);
	for (uint32_t i = 0; i < res->nerrors; i++)
		fprintf(stderr, "%s\n", res->errors[i].text);
	if (res->more_errors)
		fprintf(stderr, "%s: too many errors; only the first %u are shown\n", path,
			POL_MAX_ERRORS);
	if (!*rc) {
		/* The parser already checks its output; a second look costs nothing. */
		struct pol_error e;
		if (pol_check(res->blob, res->blob_len, POL_SOURCE, &e)) {
			fprintf(stderr, "%s: internal error: compiled policy fails its check: %s\n",
				path, e.why);
			*rc = EXIT_POLICY;
		}
	}
	return res;
}

static int cmd_check(const char *path)
{
	int rc;
	struct pol_result *res = parse_file(path, &rc);
	if (res && !rc)
		printf("%s: ok, %u rules, %u records\n", path, res->nstatements, res->nrecords);
	free(res);
	return rc;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write OUT as a whole or not at all: a temporary file beside it, then rename. */
static int write_atomic(const char *out, const void *data, size_t len)
{
	size_t n = strlen(out) + sizeof(".tmp.XXXXXX");
	char *tmp = malloc(n);
	const char *what = "create a temporary file";
	int fd = -1;
	if (!tmp) {
		fprintf(stderr, "%s: error: out of memory\n", out);
		return -1;
	}
	snprintf(tmp, n, "%s.tmp.XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto fail_nofile;
	mode_t mask = umask(0);
	umask(mask);
	what = "write";
	if (fchmod(fd, 0644 & ~mask) || write_all(fd, data, len) || fsync(fd))
		goto fail;
	what = "close";
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename into place";
	if (rename(tmp, out))
		goto fail;
	free(tmp);
	return 0;
fail:
	fprintf(stderr, "%s: error: cannot %s: %s\n", out, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
fail_nofile:
	fprintf(stderr, "%s: error: cannot %s: %s\n", out, what, strerror(errno));
	free(tmp);
	return -1;
}

static int cmd_compile(const char *path, const char *out)
{
	int rc;
	struct pol_result *res = parse_file(path, &rc);
	if (res && !rc && write_atomic(out, res->blob, res->blob_len))
		rc = EXIT_IO;
	free(res);
	return rc;
}

/* A compiled policy from a file, in an aligned buffer (the checker reads it as structs). */
static int load_blob(const char *path, void **blob, size_t *len)
{
	char *buf;
	if (read_file(path, POL_BLOB_MAX, &buf, len))
		return EXIT_IO;
	if (*len > POL_BLOB_MAX) {
		fprintf(stderr, "%s: error: not a valid compiled policy: larger than %zu bytes\n",
			path, (size_t)POL_BLOB_MAX);
		free(buf);
		return EXIT_POLICY;
	}
	*blob = aligned_alloc(8, POL_BLOB_MAX);
	if (*blob)
		memcpy(*blob, buf, *len);
	free(buf);
	return *blob ? 0 : EXIT_IO;
}

static int bad_blob(const char *path, const struct pol_error *e)
{
	if (e->rule >= 0)
		fprintf(stderr, "%s: error: not a valid compiled policy: record %lld: %s\n", path,
			(long long)e->rule, e->why);
	else
		fprintf(stderr, "%s: error: not a valid compiled policy: %s\n", path, e->why);
	return EXIT_POLICY;
}

static int cmd_dump(const char *path)
{
	char *text;
	void *blob;
	size_t len;
	struct pol_error e;
	int rc = load_blob(path, &blob, &len);
	if (rc)
		return rc;
	long n = pol_unparse(blob, len, 0, 0, &e);
	if (n < 0) {
		free(blob);
		return bad_blob(path, &e);
	}
	text = malloc((size_t)n + 1);
	if (!text) {
		free(blob);
		return EXIT_IO;
	}
	pol_unparse(blob, len, text, (size_t)n + 1, &e);
	printf("# %s: %u records, %zu bytes\n%s", path,
	       ((const struct tvmm_pol_header *)blob)->nrules, len, text);
	free(text);
	free(blob);
	return fflush(stdout) ? EXIT_IO : 0;
}

/*
 * The reference value for PCR18: SHA-256 of the compiled policy as its file
 * holds it, which is what `thinvmm-ctl lock` hands the VMM next to the
 * resolved copy (docs/evidence.md).
 */
static int cmd_digest(const char *path)
{
	void *blob;
	size_t len;
	struct pol_error e;
	unsigned char d[32];
	int rc = load_blob(path, &blob, &len);
	if (rc)
		return rc;
	if (pol_check(blob, len, POL_SOURCE, &e)) {
		free(blob);
		return bad_blob(path, &e);
	}
	rc = mbedtls_sha256_ret(blob, len, d, 0);
	free(blob);
	if (rc)
		return EXIT_IO;
	for (unsigned i = 0; i < sizeof(d); i++)
		printf("%02x", d[i]);
	printf("  %s\n", path);
	return fflush(stdout) ? EXIT_IO : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "digest"))
		return cmd_digest(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "compile")) {
		if (!strcmp(argv[3], "-o"))
			return cmd_compile(argv[2], argv[4]);
		if (!strcmp(argv[2], "-o"))
			return cmd_compile(argv[4], argv[3]);
	}
	return usage();
}
