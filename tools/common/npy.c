/* .npy files: see npy.h. The header is a Python dict literal; we accept
 * exactly what NumPy writes for C-order float32 / int8 arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "tools/common/npy.h"

#define NPY_HEADER_MAX 65536

static int fail(char *why, size_t len, const char *path, const char *msg)
{
	if (why && len)
		snprintf(why, len, "%s: %s", path, msg);
	return NPU_ERR_INVALID_ARG;
}

/* Find 'key': in the dict text and return a pointer just past the colon. */
static const char *dict_value(const char *hdr, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "'%s'", key);
	p = strstr(hdr, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

static int parse_header(const char *hdr, struct npui_npy *n)
{
	const char *d = dict_value(hdr, "descr");
	const char *f = dict_value(hdr, "fortran_order");
	const char *s = dict_value(hdr, "shape");

	if (!d || !f || !s)
		return -1;
	if (!strncmp(d, "'<f4'", 5))
		n->dtype = NPUI_NPY_F32;
	else if (!strncmp(d, "'|i1'", 5) || !strncmp(d, "'i1'", 4))
		n->dtype = NPUI_NPY_I8;
	else
		return -2;
	if (strncmp(f, "False", 5))
		return -3;
	if (*s != '(')
		return -1;
	s++;
	n->ndim = 0;
	n->count = 1;
	for (;;) {
		while (*s == ' ' || *s == ',')
			s++;
		if (*s == ')')
			break;
		if (*s < '0' || *s > '9' || n->ndim == NPUI_NPY_MAX_DIMS)
			return -1;
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (v > ((size_t)1 << 31) || (n->count && v > ((size_t)1 << 34) / n->count))
			return -4;
		n->shape[n->ndim++] = (size_t)v;
		n->count *= (size_t)v;
		s = end;
	}
	return 0;
}

int npui_npy_read(const char *path, struct npui_npy *out, char *why, size_t why_len)
{
	unsigned char pre[12];
	struct npui_npy n;
	size_t hlen, esize, pre_len;
	char *hdr = NULL;
	FILE *f;
	int rc = NPU_ERR_IO;

	memset(&n, 0, sizeof(n));
	f = fopen(path, "rb");
	if (!f) {
		if (why && why_len)
			snprintf(why, why_len, "%s: cannot open", path);
		return NPU_ERR_IO;
	}
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
		rc = fail(why, why_len, path, "not a .npy file");
		goto out;
	}
	if (pre[6] == 1) {
		hlen = pre[8] | (size_t)pre[9] << 8;
		pre_len = 10;
	} else if (pre[6] == 2 || pre[6] == 3) {
		if (fread(pre + 10, 1, 2, f) != 2) {
			rc = fail(why, why_len, path, "truncated header");
			goto out;
		}
		hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
		pre_len = 12;
	} else {
		rc = fail(why, why_len, path, "unsupported .npy version");
		goto out;
	}
	(void)pre_len;
	if (hlen > NPY_HEADER_MAX) {
		rc = fail(why, why_len, path, "header too large");
		goto out;
	}
	hdr = malloc(hlen + 1);
	if (!hdr) {
		rc = NPU_ERR_NO_MEM;
		goto out;
	}
	if (fread(hdr, 1, hlen, f) != hlen) {
		rc = fail(why, why_len, path, "truncated header");
		goto out;
	}
	hdr[hlen] = 0;
	switch (parse_header(hdr, &n)) {
	case 0:
		break;
	case -2:
		rc = fail(why, why_len, path, "dtype must be float32 ('<f4') or int8 ('|i1')");
		goto out;
	case -3:
		rc = fail(why, why_len, path, "Fortran-order arrays are not supported");
		goto out;
	case -4:
		rc = fail(why, why_len, path, "array too large");
		goto out;
	default:
		rc = fail(why, why_len, path, "malformed header");
		goto out;
	}
	esize = n.dtype == NPUI_NPY_F32 ? 4 : 1;
	n.data = malloc(n.count ? n.count * esize : 1);
	if (!n.data) {
		rc = NPU_ERR_NO_MEM;
		goto out;
	}
	if (fread(n.data, esize, n.count, f) != n.count) {
		free(n.data);
		rc = fail(why, why_len, path, "data shorter than the shape says");
		goto out;
	}
	*out = n;
	rc = NPU_OK;
out:
	free(hdr);
	fclose(f);
	return rc;
}

int npui_npy_write(const char *path, enum npui_npy_dtype dtype, const size_t *shape, int ndim,
                   const void *data)
{
	char hdr[256];
	size_t count = 1, len, total;
	int pos;
	FILE *f;

	pos = snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, 'shape': (",
	               dtype == NPUI_NPY_F32 ? "<f4" : "|i1");
	for (int i = 0; i < ndim; i++) {
		pos += snprintf(hdr + pos, sizeof(hdr) - pos, "%zu%s", shape[i],
		                ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
		count *= shape[i];
	}
	pos += snprintf(hdr + pos, sizeof(hdr) - pos, "), }");
	len = (size_t)pos;
	/* Pad with spaces so that magic + header ends on a 64-byte boundary. */
	total = (10 + len + 1 + 63) / 64 * 64;
	while (10 + len + 1 < total)
		hdr[len++] = ' ';
	hdr[len++] = '\n';

	f = fopen(path, "wb");
	if (!f)
		return NPU_ERR_IO;
	unsigned char pre[10] = {0x93,
	                         'N',
	                         'U',
	                         'M',
	                         'P',
	                         'Y',
	                         1,
	                         0,
	                         (unsigned char)(len & 0xff),
	                         (unsigned char)(len >> 8)};
	int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, len, f) == len &&
	         fwrite(data, dtype == NPUI_NPY_F32 ? 4 : 1, count, f) == count;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? NPU_OK : NPU_ERR_IO;
}

void npui_npy_free(struct npui_npy *n)
{
	if (n) {
		free(n->data);
		n->data = NULL;
	}
}
