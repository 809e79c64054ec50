/*
 * classify: label one image file with an lwnpu classifier model.
 *
 *     classify [--device URI] [--top N] MODEL IMAGE
 *
 * The example of docs/API.md's "Model metadata": everything about the
 * input comes from the model file (npu_model_input_info): its size, the
 * colour it wants, how to resize, and the per-channel mean and standard
 * deviation. The image is a PNG (libpng) or a JPEG (libjpeg-turbo).
 *
 * Steps: decode to 8-bit grey or RGB; one 8-bit plane per model channel
 * (grey: the luma, BT.601 weights, in every channel; RGB/BGR: the colour
 * planes in that order); bilinear resize with half-pixel centres
 * (PyTorch's align_corners=False, no antialiasing) of the whole image or
 * of a centred crop; x = (p / 255 - mean[c]) / std[c]; npu_run() with
 * float input; softmax; the top N classes. For a 28x28 Fashion-MNIST
 * image the arithmetic is npu-eval's, operation for operation, so the
 * scores are its scores.
 *
 * Exit status: 0 ok; 1 the model, image or device failed (one line on
 * stderr); 2 bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "npu.h"

#define EXIT_USAGE 2
#define MAX_SIDE   16384 /* decoded images larger than this are refused */

static const char usage_text[] =
        "usage: classify [options] MODEL IMAGE\n"
        "\n"
        "Classify a PNG or JPEG image with an lwnpu model and print the top\n"
        "classes. The preprocessing (size, colour, resize, mean and std) is the\n"
        "one stored in the model file (docs/MODEL_FORMAT.md, \"Metadata section\").\n"
        "\n"
        "options:\n"
        "  -d, --device URI   device to run on (default: $NPU_DEVICE, else cpu)\n"
        "  -k, --top N        how many classes to print (default 5)\n"
        "  -h, --help         this text\n"
        "\n"
        "output: one line per class, best first: rank, probability (softmax),\n"
        "score (the model's dequantized output), class index, label.\n"
        "exit status: 0 ok; 1 the model, image or device failed; 2 bad command line.\n";

static const char *prog = "classify";

/* A decoded image: w x h pixels of ch (1 grey, 3 RGB) bytes each. */
struct image {
	int w, h, ch;
	uint8_t *px;
	const char *kind; /* "PNG", "JPEG" */
};

static int die(const char *what, const char *fmt, const char *detail)
{
	fprintf(stderr, "%s: %s: ", prog, what);
	fprintf(stderr, fmt, detail);
	fputc('\n', stderr);
	return 1;
}

/* ---- decoding -------------------------------------------------------- */

static int read_png(const char *path, struct image *img)
{
	png_image pi;

	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path))
		return die(path, "not a valid PNG image: %s", pi.message);
	/* 8 bits per channel, alpha composited on black by libpng. */
	pi.format = pi.format & PNG_FORMAT_FLAG_COLOR ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	if (pi.width < 1 || pi.height < 1 || pi.width > MAX_SIDE || pi.height > MAX_SIDE) {
		png_image_free(&pi);
		return die(path, "%s", "PNG size out of range (1 .. 16384 pixels a side)");
	}
	img->w = (int)pi.width;
	img->h = (int)pi.height;
	img->ch = pi.format == PNG_FORMAT_RGB ? 3 : 1;
	img->px = malloc(PNG_IMAGE_SIZE(pi));
	if (!img->px) {
		png_image_free(&pi);
		return die(path, "%s", "out of memory");
	}
	if (!png_image_finish_read(&pi, NULL, img->px, 0, NULL)) {
		free(img->px);
		img->px = NULL;
		return die(path, "not a valid PNG image: %s", pi.message);
	}
	img->kind = "PNG";
	return 0;
}

struct jpeg_fail {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
};

static void jpeg_error_exit(j_common_ptr cinfo)
{
	struct jpeg_fail *f = (struct jpeg_fail *)cinfo->err;

	f->mgr.format_message(cinfo, f->msg);
	longjmp(f->jump, 1);
}

/* Warnings (level -1: corrupt data, premature end) fail too: a damaged
 * file is reported, not classified from libjpeg's filler pixels. */
static void jpeg_emit_message(j_common_ptr cinfo, int level)
{
	if (level < 0)
		jpeg_error_exit(cinfo);
}

static int read_jpeg(const char *path, FILE *f, struct image *img)
{
	struct jpeg_decompress_struct ci;
	struct jpeg_fail err;
	uint8_t *volatile px = NULL;

	memset(&ci, 0, sizeof(ci));
	ci.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = jpeg_error_exit;
	err.mgr.emit_message = jpeg_emit_message;
	if (setjmp(err.jump)) {
		jpeg_destroy_decompress(&ci);
		free(px);
		return die(path, "not a valid JPEG image: %s", err.msg);
	}
	jpeg_create_decompress(&ci);
	jpeg_stdio_src(&ci, f);
	jpeg_read_header(&ci, TRUE);
	if (ci.num_components != 1 && ci.num_components != 3) {
		jpeg_destroy_decompress(&ci);
		return die(path, "%s", "JPEG colour space not supported (want grey or YCbCr/RGB)");
	}
	ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&ci);
	if (ci.output_width > MAX_SIDE || ci.output_height > MAX_SIDE) {
		jpeg_destroy_decompress(&ci);
		return die(path, "%s", "JPEG size out of range (1 .. 16384 pixels a side)");
	}
	img->w = (int)ci.output_width;
	img->h = (int)ci.output_height;
	img->ch = ci.output_components;
	px = malloc((size_t)img->w * img->h * img->ch);
	if (!px) {
		jpeg_destroy_decompress(&ci);
		return die(path, "%s", "out of memory");
	}
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW row = px + (size_t)ci.output_scanline * img->w * img->ch;
		jpeg_read_scanlines(&ci, &row, 1);
	}
	jpeg_finish_decompress(&ci);
	jpeg_destroy_decompress(&ci);
	img->px = px;
	img->kind = "JPEG";
	return 0;
}

static int read_image(const char *path, struct image *img)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	uint8_t sig[8] = {0};
	size_t n;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (!f)
		return die(path, "%s", strerror(errno));
	n = fread(sig, 1, sizeof(sig), f);
	if (n == sizeof(sig) && !memcmp(sig, png_sig, sizeof(sig))) {
		fclose(f);
		return read_png(path, img);
	}
	if (n >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff) {
		rewind(f);
		rc = read_jpeg(path, f, img);
		fclose(f);
		return rc;
	}
	fclose(f);
	return die(path, "%s", "not a PNG or JPEG image (unknown signature)");
}

/* ---- preprocessing ---------------------------------------------------- */

/* One output coordinate of the half-pixel bilinear resize: two taps. */
struct tap {
	int i0, i1;
	float w0, w1;
};

/* dst taps over source positions [off, off + len) of a size-n axis. With
 * off 0 and len n this is npu-eval's resize_taps() exactly. */
static void taps_fill(struct tap *t, int dst, int n, double off, double len)
{
	double scale = len / dst;

	for (int o = 0; o < dst; o++) {
		double s = off + ((double)o + 0.5) * scale - 0.5;
		if (s < 0)
			s = 0;
		if (s > n - 1)
			s = n - 1;
		t[o].i0 = (int)floor(s);
		t[o].i1 = t[o].i0 + 1 < n ? t[o].i0 + 1 : n - 1;
		t[o].w1 = (float)(s - t[o].i0);
		t[o].w0 = (float)(1.0 - (s - t[o].i0));
	}
}

/* Plane k of the model's channel: grey gets the luma (BT.601, rounded;
 * exact for R = G = B), RGB and BGR a colour channel. */
static void plane(const struct image *img, enum npu_color color, int k, uint8_t *out)
{
	size_t n = (size_t)img->w * img->h;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = img->px + i * img->ch;
		if (img->ch == 1)
			out[i] = p[0];
		else if (color == NPU_COLOR_GRAY)
			out[i] =
			        (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
		else
			out[i] = p[color == NPU_COLOR_BGR ? 2 - k : k];
	}
}

/*
 * The model's float input, NHWC. Per channel: the row pass (rows[o][x],
 * every source column), then the column pass, then the normalization, in
 * npu-eval's order and float types.
 */
static int preprocess(const struct image *img, const struct npu_input_info *in, float *x)
{
	int H = in->h, W = in->w, C = in->c;
	double ox = 0, oy = 0, bw = img->w, bh = img->h;
	struct tap *tx = malloc(sizeof(*tx) * (size_t)W), *ty = malloc(sizeof(*ty) * (size_t)H);
	float *rows = malloc(sizeof(*rows) * (size_t)H * img->w);
	uint8_t *pl = malloc((size_t)img->w * img->h);
	int rc = -1;

	if (!tx || !ty || !rows || !pl)
		goto out;
	if (in->resize == NPU_RESIZE_CENTER_CROP) {
		/* The largest centred box of the input's aspect, times crop. */
		double aspect = (double)W / H;
		if ((double)img->w / img->h > aspect)
			bw = img->h * aspect;
		else
			bh = img->w / aspect;
		bw *= in->crop;
		bh *= in->crop;
		ox = (img->w - bw) / 2;
		oy = (img->h - bh) / 2;
	}
	taps_fill(tx, W, img->w, ox, bw);
	taps_fill(ty, H, img->h, oy, bh);

	for (int c = 0; c < C; c++) {
		const int iw = img->w;
		plane(img, in->color, c, pl);
		for (int o = 0; o < H; o++)
			for (int xx = 0; xx < iw; xx++)
				rows[o * iw + xx] = ty[o].w0 * (float)pl[ty[o].i0 * iw + xx] +
				                    ty[o].w1 * (float)pl[ty[o].i1 * iw + xx];
		for (int o = 0; o < H; o++)
			for (int p = 0; p < W; p++) {
				const float *r = rows + o * iw;
				float v = tx[p].w0 * r[tx[p].i0] + tx[p].w1 * r[tx[p].i1];
				v = (v / 255.0f - in->mean[c]) / in->std[c];
				x[((size_t)o * W + p) * C + c] = v;
			}
	}
	rc = 0;
out:
	free(pl);
	free(rows);
	free(ty);
	free(tx);
	return rc;
}

/* ---- main ------------------------------------------------------------- */

static int npu_fail(const char *what, int rc)
{
	const char *detail = npu_last_error();

	fprintf(stderr, "%s: %s: %s: %s%s%s\n", prog, what, npu_status_name(rc), npu_strerror(rc),
	        detail[0] ? ": " : "", detail);
	return 1;
}

static const char *color_name(enum npu_color c)
{
	return c == NPU_COLOR_GRAY ? "grey" : c == NPU_COLOR_RGB ? "RGB" : "BGR";
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"device", required_argument, NULL, 'd'},
	        {"top", required_argument, NULL, 'k'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *uri = NULL, *model_path, *image_path;
	struct image img = {0, 0, 0, NULL, NULL};
	struct npu_input_info in;
	struct npu_tensor_info out;
	npu_device *dev = NULL;
	npu_model *m = NULL;
	float *x = NULL, *scores = NULL, *prob = NULL;
	unsigned *order = NULL;
	long top = 5;
	int opt, rc, status = 1;
	char *end;

	while ((opt = getopt_long(argc, argv, "d:k:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			uri = optarg;
			break;
		case 'k':
			top = strtol(optarg, &end, 10);
			if (*end || !*optarg || top < 1 || top > 100000) {
				fprintf(stderr, "%s: --top: want 1..100000, got %s\n", prog,
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: expected MODEL and IMAGE (try --help)\n", prog);
		return EXIT_USAGE;
	}
	model_path = argv[optind];
	image_path = argv[optind + 1];

	rc = npu_open(uri, &dev);
	if (rc != NPU_OK)
		return npu_fail(uri ? uri : "default device", rc);
	rc = npu_model_load_file(dev, model_path, &m);
	if (rc != NPU_OK) {
		npu_fail(model_path, rc);
		goto out;
	}
	npu_model_input_info(m, &in);
	npu_model_output(m, &out);
	if (in.color == NPU_COLOR_UNKNOWN) {
		die(model_path, "%s",
		    "the model carries no input metadata (docs/MODEL_FORMAT.md); add it with "
		    "npu-compile MODEL.npu -o OUT.npu --color ... --mean ... --std ...");
		goto out;
	}
	if (read_image(image_path, &img))
		goto out;

	x = malloc(sizeof(*x) * (size_t)in.h * in.w * in.c);
	scores = malloc(sizeof(*scores) * out.elements);
	prob = malloc(sizeof(*prob) * out.elements);
	order = malloc(sizeof(*order) * out.elements);
	if (!x || !scores || !prob || !order || preprocess(&img, &in, x)) {
		npu_fail("buffers", NPU_ERR_NO_MEM);
		goto out;
	}
	struct npu_io io = {
	        .input_type = NPU_IO_FLOAT32,
	        .input = x,
	        .input_size = sizeof(*x) * (size_t)in.h * in.w * in.c,
	        .output_type = NPU_IO_FLOAT32,
	        .output = scores,
	        .output_size = sizeof(*scores) * out.elements,
	};
	rc = npu_run(m, &io);
	if (rc != NPU_OK) {
		npu_fail("run", rc);
		goto out;
	}
	npu_softmax(scores, out.elements, prob);

	/* Partial selection sort: top is small. Ties keep the lower index,
	 * as npu-eval's argmax does. */
	for (size_t i = 0; i < out.elements; i++)
		order[i] = (unsigned)i;
	if ((size_t)top > out.elements)
		top = (long)out.elements;
	for (long r = 0; r < top; r++) {
		size_t best = (size_t)r;
		for (size_t i = (size_t)r + 1; i < out.elements; i++)
			if (scores[order[i]] > scores[order[best]] ||
			    (scores[order[i]] == scores[order[best]] && order[i] < order[best]))
				best = i;
		unsigned t = order[r];
		order[r] = order[best];
		order[best] = t;
	}

	printf("%s on %s: %s, %dx%d %s %s -> %dx%dx%d, %s, %s\n", model_path, npu_device_uri(dev),
	       image_path, img.w, img.h, img.ch == 1 ? "grey" : "RGB", img.kind, in.h, in.w, in.c,
	       color_name(in.color), in.resize == NPU_RESIZE_STRETCH ? "stretch" : "centre crop");
	for (long r = 0; r < top; r++) {
		unsigned k = order[r];
		const char *label = npu_model_label(m, k);
		/* %.9g: the float score exactly. */
		printf("%ld %.4f %.9g %u %s\n", r + 1, (double)prob[k], (double)scores[k], k,
		       label ? label : "-");
	}
	status = 0;
out:
	free(order);
	free(prob);
	free(scores);
	free(x);
	free(img.px);
	npu_model_free(m);
	npu_close(dev);
	return status;
}
