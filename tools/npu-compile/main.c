/*
 * npu-compile: an ONNX model (torch.onnx.export, opset 13, or QDQ) to an
 * lwnpu int8 model file. The work is lib/compile; this file is the command
 * line: reading the model, the calibration .npy files and the labels.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "compile/compile.h"
#include "ir/graph.h"
#include "tools/common/npy.h"

/* Exit codes: 0 ok, 1 the compile or a file failed, 2 bad command line. */
#define EXIT_FAIL       1
#define EXIT_USAGE      2
#define MAX_ONNX_BYTES  ((size_t)1 << 31)
#define MAX_CALIB_FILES 4096

static const char usage[] =
        "usage: npu-compile MODEL.onnx -o OUT.npu [options]\n"
        "       npu-compile MODEL.npu -o OUT.npu --color C [--mean/--std/--resize/--layout]\n"
        "\n"
        "Lowers an ONNX model (NCHW float, as torch.onnx.export writes it at opset 13,\n"
        "or QDQ-quantized) to an lwnpu int8 model (NHWC) with post-training\n"
        "quantization. See docs/COMPILE.md for the supported ops and patterns.\n"
        "\n"
        "  -o FILE                model file to write (required)\n"
        "  --calib FILE.npy|DIR   calibration inputs: float32 [N,C,H,W] (or [C,H,W]),\n"
        "                         NCHW exactly as the ONNX model takes them, i.e. after\n"
        "                         the model's preprocessing (for torchvision: RGB in\n"
        "                         [0,1], minus mean, over std); a DIR means every *.npy\n"
        "                         in it, in name order. Required unless the model is QDQ.\n"
        "  --calib-method M       minmax (default) or percentile\n"
        "  --percentile P         percentile of |x| kept by 'percentile' (default 99.99)\n"
        "  --labels FILE          class labels, one per line, stored in the model\n"
        "  --input-size HxW       input size when the model's H, W are symbolic\n"
        "  --name NAME            graph name (default: the ONNX graph's)\n"
        "\n"
        "input metadata (docs/MODEL_FORMAT.md, \"Metadata section\"): how an 8-bit\n"
        "image becomes the model's input, x = (p / 255 - mean[c]) / std[c]; stored\n"
        "when --color is given (the file is then format version 2):\n"
        "  --color gray|rgb|bgr   what the input channels hold (gray: luma in each)\n"
        "  --mean M[,M...]        per input channel, or one for all (default 0)\n"
        "  --std S[,S...]         per input channel, or one for all (default 1)\n"
        "  --resize stretch|crop:F  whole image to HxW (default), or a centred crop\n"
        "                         keeping the fraction F of each side, then resize\n"
        "  --layout nchw|nhwc     the source framework's layout (default nchw, ONNX's)\n"
        "Given an lwnpu model file (MODEL.npu) instead of ONNX, npu-compile only\n"
        "rewrites its metadata: the graph (tensors, layers, weights, labels) stays\n"
        "as it was, so the model computes the same bytes.\n"
        "\n"
        "  -q, --quiet            no summary on stdout\n"
        "  -h, --help             this text\n"
        "\n"
        "At run time the model takes NHWC float input (npu_run with NPU_IO_FLOAT32)\n"
        "with the same preprocessing as the calibration inputs.\n"
        "\n"
        "Exit status: 0 success, 1 compile or file error, 2 bad command line.\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "npu-compile: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see npu-compile --help)\n");
	return EXIT_USAGE;
}

static int read_all(const char *path, void **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return -1;
	do {
		if (len == cap) {
			char *nb;

			cap = cap ? 2 * cap : 1 << 16;
			nb = cap <= MAX_ONNX_BYTES ? realloc(buf, cap) : NULL;
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*data = buf;
	*size = len;
	return 0;
}

struct calib_set {
	float *x;
	int n, c, h, w;
};

/* Append one .npy file's inputs ([N,C,H,W] or [C,H,W] float32). */
static int calib_add(struct calib_set *cs, const char *path)
{
	struct npui_npy a;
	char why[200] = "";
	size_t per, nin;
	int rc = npui_npy_read(path, &a, why, sizeof(why)), c, h, w;
	float *nx;

	if (rc) {
		fprintf(stderr, "npu-compile: error: %s: %s%s%s\n", path, npu_strerror(rc),
		        why[0] ? ": " : "", why);
		return -1;
	}
	if (a.dtype != NPUI_NPY_F32 || (a.ndim != 4 && a.ndim != 3)) {
		fprintf(stderr, "npu-compile: error: %s: need float32 [N,C,H,W] or [C,H,W]\n",
		        path);
		npui_npy_free(&a);
		return -1;
	}
	nin = a.ndim == 4 ? a.shape[0] : 1;
	c = (int)a.shape[a.ndim - 3];
	h = (int)a.shape[a.ndim - 2];
	w = (int)a.shape[a.ndim - 1];
	if (cs->n && (c != cs->c || h != cs->h || w != cs->w)) {
		fprintf(stderr,
		        "npu-compile: error: %s: inputs are %dx%dx%d, earlier ones %dx%dx%d\n",
		        path, c, h, w, cs->c, cs->h, cs->w);
		npui_npy_free(&a);
		return -1;
	}
	per = (size_t)c * h * w;
	if (nin > (size_t)(1 << 20) - cs->n) {
		fprintf(stderr, "npu-compile: error: %s: too many calibration inputs\n", path);
		npui_npy_free(&a);
		return -1;
	}
	nx = realloc(cs->x, (cs->n + nin) * per * sizeof(float));
	if (!nx) {
		fprintf(stderr, "npu-compile: error: out of memory for calibration inputs\n");
		npui_npy_free(&a);
		return -1;
	}
	cs->x = nx;
	memcpy(cs->x + (size_t)cs->n * per, a.data, nin * per * sizeof(float));
	cs->n += (int)nin;
	cs->c = c;
	cs->h = h;
	cs->w = w;
	npui_npy_free(&a);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int calib_load(struct calib_set *cs, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t nn = 0, i;
	int rc = 0;

	if (!d)
		return calib_add(cs, path); /* a file, or its error */
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **nv;

		if (len < 5 || strcmp(e->d_name + len - 4, ".npy"))
			continue;
		if (nn == MAX_CALIB_FILES) {
			fprintf(stderr, "npu-compile: error: %s: more than %d .npy files\n", path,
			        MAX_CALIB_FILES);
			rc = -1;
			break;
		}
		nv = realloc(names, (nn + 1) * sizeof(*names));
		if (!nv || asprintf(&nv[nn], "%s/%s", path, e->d_name) < 0) {
			names = nv ? nv : names;
			rc = -1;
			break;
		}
		names = nv;
		nn++;
	}
	closedir(d);
	if (!rc && !nn) {
		fprintf(stderr, "npu-compile: error: %s: no .npy files\n", path);
		rc = -1;
	}
	if (!rc)
		qsort(names, nn, sizeof(*names), cmp_str);
	for (i = 0; i < nn; i++) {
		if (!rc)
			rc = calib_add(cs, names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* One label per line; a final newline does not add an empty label. */
static int labels_load(const char *path, char ***out, unsigned *count)
{
	void *data;
	size_t size, i, start = 0;
	char **v = NULL, *s;
	unsigned n = 0;

	if (read_all(path, &data, &size)) {
		fprintf(stderr, "npu-compile: error: %s: %s\n", path, strerror(errno));
		return -1;
	}
	s = data;
	for (i = 0; i <= size; i++) {
		size_t end = i;
		char **nv;

		if (i < size && s[i] != '\n')
			continue;
		if (i == size && start == size)
			break;
		if (end > start && s[end - 1] == '\r')
			end--;
		if (n >= NPUI_MAX_LABELS || end - start > NPUI_MAX_LABEL_LEN) {
			fprintf(stderr,
			        "npu-compile: error: %s: line %u: too many or too long labels\n",
			        path, n + 1);
			goto fail;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			goto fail;
		v = nv;
		v[n] = strndup(s + start, end - start);
		if (!v[n])
			goto fail;
		n++;
		start = i + 1;
	}
	free(data);
	*out = v;
	*count = n;
	return 0;
fail:
	while (n)
		free(v[--n]);
	free(v);
	free(data);
	return -1;
}

/* The metadata options, as given. */
struct meta_args {
	const char *color, *mean, *std, *resize, *layout;
};

/* "a,b,c": 1 .. NPUI_META_CHANNELS finite floats. Returns the count or -1. */
static int float_list(const char *s, float *v)
{
	int n = 0;

	for (;;) {
		char *end;

		if (n == NPUI_META_CHANNELS)
			return -1;
		errno = 0;
		v[n] = strtof(s, &end);
		if (errno || end == s || !isfinite(v[n]))
			return -1;
		n++;
		if (!*end)
			return n;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

/*
 * Set g's metadata from the options (its input's channel count known).
 * Returns 0, or prints one line and returns EXIT_USAGE / EXIT_FAIL.
 */
static int meta_apply(const struct meta_args *a, struct npui_graph *g)
{
	struct npui_input_meta m;
	int32_t c = g->tensors[g->input].c;
	float mean[NPUI_META_CHANNELS] = {0}, std[NPUI_META_CHANNELS] = {1, 1, 1, 1};
	int nm = 1, ns = 1, k, rc;
	char why[200], tail;

	memset(&m, 0, sizeof(m));
	if (!strcmp(a->color, "gray") || !strcmp(a->color, "grey"))
		m.color = NPUI_COLOR_GRAY;
	else if (!strcmp(a->color, "rgb"))
		m.color = NPUI_COLOR_RGB;
	else if (!strcmp(a->color, "bgr"))
		m.color = NPUI_COLOR_BGR;
	else
		return bad_usage("--color '%s': need gray, rgb or bgr", a->color);
	if (a->mean && (nm = float_list(a->mean, mean)) < 0)
		return bad_usage("--mean '%s': need 1 to 4 numbers, comma-separated", a->mean);
	if (a->std && (ns = float_list(a->std, std)) < 0)
		return bad_usage("--std '%s': need 1 to 4 numbers, comma-separated", a->std);
	m.resize = NPUI_RESIZE_STRETCH;
	if (a->resize && strcmp(a->resize, "stretch")) {
		if (sscanf(a->resize, "crop:%f%c", &m.crop, &tail) != 1 ||
		    !(m.crop > 0 && m.crop <= 1))
			return bad_usage("--resize '%s': need stretch or crop:F, 0 < F <= 1",
			                 a->resize);
		m.resize = NPUI_RESIZE_CROP;
	}
	m.layout = NPUI_LAYOUT_NCHW;
	if (a->layout && !strcmp(a->layout, "nhwc"))
		m.layout = NPUI_LAYOUT_NHWC;
	else if (a->layout && strcmp(a->layout, "nchw"))
		return bad_usage("--layout '%s': need nchw or nhwc", a->layout);
	if ((nm != 1 && nm != c) || (ns != 1 && ns != c)) {
		fprintf(stderr,
		        "npu-compile: error: --mean/--std: %d and %d values for an input of %d "
		        "channels (give one or %d)\n",
		        nm, ns, (int)c, (int)c);
		return EXIT_FAIL;
	}
	for (k = 0; k < c && k < NPUI_META_CHANNELS; k++) {
		m.mean[k] = mean[nm == 1 ? 0 : k];
		m.std[k] = std[ns == 1 ? 0 : k];
	}
	g->has_meta = 1;
	g->meta = m;
	rc = npui_graph_validate(g, why, sizeof(why));
	if (rc) {
		fprintf(stderr, "npu-compile: error: metadata: %s\n", why);
		return EXIT_FAIL;
	}
	return 0;
}

static void print_summary(const char *out_path, const struct npui_graph *g,
                          const struct npuc_stats *st, size_t bytes)
{
	static const char *const names[] = {"",    "conv", "fc",     "maxpool", "avgpool", "gap",
	                                    "add", "mul",  "concat", "shuffle", "split",   "lut"};
	unsigned count[NPUI_OP_COUNT] = {0}, i;
	const struct npui_tensor *ti = &g->tensors[g->input], *to = &g->tensors[g->output];
	const char *sep = "";

	for (i = 0; i < g->num_layers; i++)
		if (g->layers[i].op < NPUI_OP_COUNT)
			count[g->layers[i].op]++;
	printf("npu-compile: wrote %s (%zu bytes): %u layers (", out_path, bytes, g->num_layers);
	for (i = 1; i < NPUI_OP_COUNT; i++) {
		if (count[i]) {
			printf("%s%s %u", sep, names[i], count[i]);
			sep = ", ";
		}
	}
	printf(")\n");
	printf("  input  %dx%dx%d (NHWC) scale %g zp %d; output %dx%dx%d scale %g zp %d\n", ti->h,
	       ti->w, ti->c, (double)ti->q.scale, ti->q.zero_point, to->h, to->w, to->c,
	       (double)to->q.scale, to->q.zero_point);
	printf("  from %u ONNX nodes: %u constant-folded, %u BatchNorm folded, %u activations "
	       "fused, %u bias/scale folded, %u removed, %u quants from QDQ\n",
	       st->onnx_nodes, st->const_folded, st->bn_folded, st->act_fused, st->bias_folded,
	       st->removed, st->qdq_quants);
}

int main(int argc, char **argv)
{
	const char *model = NULL, *out_path = NULL, *calib = NULL, *labels = NULL;
	struct meta_args ma = {NULL, NULL, NULL, NULL, NULL};
	int is_npu = 0;
	struct calib_set cs = {NULL, 0, 0, 0, 0};
	struct npuc_options o;
	struct npuc_stats st;
	struct npui_graph *g = NULL;
	char **lab = NULL, why[300];
	unsigned nlab = 0, li;
	int quiet = 0, i, rc, ret = EXIT_FAIL;
	void *onnx = NULL, *bytes = NULL;
	size_t onnx_size, nbytes;
	FILE *f;

	npuc_options_default(&o);
	o.stats = &st;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--calib") || !strcmp(a, "--labels") ||
		           !strcmp(a, "--calib-method") || !strcmp(a, "--input-size") ||
		           !strcmp(a, "--name") || !strcmp(a, "--percentile") ||
		           !strcmp(a, "--color") || !strcmp(a, "--mean") || !strcmp(a, "--std") ||
		           !strcmp(a, "--resize") || !strcmp(a, "--layout")) {
			const char *v;

			if (!has_val)
				return bad_usage("%s needs a value", a);
			v = argv[++i];
			if (!strcmp(a, "-o")) {
				out_path = v;
			} else if (!strcmp(a, "--calib")) {
				calib = v;
			} else if (!strcmp(a, "--labels")) {
				labels = v;
			} else if (!strcmp(a, "--name")) {
				o.name = v;
			} else if (!strcmp(a, "--color")) {
				ma.color = v;
			} else if (!strcmp(a, "--mean")) {
				ma.mean = v;
			} else if (!strcmp(a, "--std")) {
				ma.std = v;
			} else if (!strcmp(a, "--resize")) {
				ma.resize = v;
			} else if (!strcmp(a, "--layout")) {
				ma.layout = v;
			} else if (!strcmp(a, "--calib-method")) {
				if (!strcmp(v, "minmax"))
					o.calib_method = NPUC_CALIB_MINMAX;
				else if (!strcmp(v, "percentile"))
					o.calib_method = NPUC_CALIB_PERCENTILE;
				else
					return bad_usage("unknown calibration method '%s'", v);
			} else if (!strcmp(a, "--percentile")) {
				char *end;

				o.percentile = strtod(v, &end);
				if (end == v || *end || !(o.percentile > 0 && o.percentile <= 100))
					return bad_usage("--percentile '%s': need 0 < P <= 100", v);
			} else {
				char tail;

				if (sscanf(v, "%dx%d%c", &o.input_h, &o.input_w, &tail) != 2 ||
				    o.input_h < 1 || o.input_w < 1 || o.input_h > NPUI_MAX_DIM ||
				    o.input_w > NPUI_MAX_DIM)
					return bad_usage("--input-size '%s': need HxW, e.g. 64x64",
					                 v);
			}
		} else if (a[0] == '-' && a[1]) {
			return bad_usage("unknown option '%s'", a);
		} else if (model) {
			return bad_usage("more than one model: '%s'", a);
		} else {
			model = a;
		}
	}
	if (!model)
		return bad_usage("%s", "missing MODEL.onnx");
	if (!out_path)
		return bad_usage("%s", "missing -o OUT.npu");
	if (!ma.color && (ma.mean || ma.std || ma.resize || ma.layout))
		return bad_usage("%s", "--mean, --std, --resize and --layout need --color");

	if (read_all(model, &onnx, &onnx_size)) {
		fprintf(stderr, "npu-compile: error: %s: %s\n", model, strerror(errno));
		goto out;
	}
	is_npu = npui_model_has_magic(onnx, onnx_size);
	if (is_npu) {
		/* Metadata only: parse, set it, write the graph back. */
		if (!ma.color || calib || labels || o.name) {
			ret = bad_usage("%s",
			                "an lwnpu model takes --color (and the other metadata "
			                "options) only");
			goto out;
		}
		rc = npui_model_parse(onnx, onnx_size, &g, why, sizeof(why));
		if (rc) {
			fprintf(stderr, "npu-compile: error: %s: %s: %s\n", model,
			        npu_status_name(rc), why);
			goto out;
		}
	} else {
		if (calib && calib_load(&cs, calib))
			goto out;
		if (labels && labels_load(labels, &lab, &nlab))
			goto out;
		o.calib = cs.x;
		o.calib_count = cs.n;
		o.calib_c = cs.c;
		o.calib_h = cs.h;
		o.calib_w = cs.w;
		o.labels = (const char *const *)lab;
		o.num_labels = nlab;
		rc = npuc_compile_onnx(onnx, onnx_size, &o, &g, why, sizeof(why));
		if (rc) {
			fprintf(stderr, "npu-compile: error: %s\n", why);
			goto out;
		}
	}
	if (ma.color) {
		rc = meta_apply(&ma, g);
		if (rc) {
			ret = rc;
			goto out;
		}
	}
	rc = npui_model_serialize(g, &bytes, &nbytes);
	if (rc) {
		fprintf(stderr, "npu-compile: error: cannot serialize: %s\n", npu_strerror(rc));
		goto out;
	}
	f = fopen(out_path, "wb");
	if (!f) {
		fprintf(stderr, "npu-compile: error: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	rc = fwrite(bytes, 1, nbytes, f) != nbytes;
	if (fclose(f) || rc) {
		fprintf(stderr, "npu-compile: error: %s: write failed\n", out_path);
		remove(out_path);
		goto out;
	}
	if (!quiet && !is_npu)
		print_summary(out_path, g, &st, nbytes);
	else if (!quiet)
		printf("npu-compile: wrote %s (%zu bytes): %s with new input metadata\n", out_path,
		       nbytes, model);
	ret = 0;
out:
	free(bytes);
	npui_graph_free(g);
	for (li = 0; li < nlab; li++)
		free(lab[li]);
	free(lab);
	free(cs.x);
	free(onnx);
	return ret;
}
