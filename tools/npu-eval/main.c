/*
 * npu-eval: accuracy of a classifier model on a data set's test split,
 * through npu_run() on any device, with a confusion matrix.
 *
 * The preprocessing is the one of tools/train/fmnist.py, bit for bit in
 * intent (float32 rounding order may differ in the last ulp): keep the two
 * identical.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "npu.h"
#include "tools/common/npy.h"

#define EXIT_USAGE 2

#define FMNIST_DIR     "/usr/share/datasets/fashion-mnist"
#define FMNIST_SIDE    28
#define FMNIST_CLASSES 10
/* The training set's pixel mean and standard deviation (fmnist.py). */
#define FMNIST_MEAN 0.2860f
#define FMNIST_STD  0.3530f

static const char *const fmnist_classes[FMNIST_CLASSES] = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

static const char usage_text[] =
        "usage: npu-eval MODEL --dataset fashion-mnist [options]\n"
        "\n"
        "Run every test image of a data set through an lwnpu classifier model\n"
        "(npu_run() with float input) and print the top-1 accuracy and the\n"
        "confusion matrix. Progress goes to stderr.\n"
        "\n"
        "options:\n"
        "      --dataset NAME     the data set: fashion-mnist (required)\n"
        "      --data-dir DIR     the directory of t10k-images-idx3-ubyte[.gz] and\n"
        "                         t10k-labels-idx1-ubyte[.gz] (default\n"
        "                         " FMNIST_DIR "); .gz files are read\n"
        "                         through `gzip -dc`, others as they are\n"
        "  -d, --device URI       device to run on (default: $NPU_DEVICE, else cpu);\n"
        "                         backends: %s\n"
        "  -n, --limit N          only the first N test images (default all 10000)\n"
        "      --size S           check that the model's input is S x S (it always tells\n"
        "                         S; this only guards against the wrong model)\n"
        "  -p, --predictions F    write the predicted class of each image, one per line\n"
        "      --logits F.npy     write the model's outputs, dequantized, as float32\n"
        "                         [N,10] (row i: image i); the output's scale and zero\n"
        "                         point are printed in the report\n"
        "  -h, --help             this text\n"
        "\n"
        "preprocessing (identical to tools/train/fmnist.py): the 28x28 grey image,\n"
        "pixels p in 0..255, is resized to the model's S x S bilinearly with\n"
        "half-pixel centres (PyTorch align_corners=False, no antialiasing), then\n"
        "x = (p / 255 - 0.2860) / 0.3530, copied to every input channel.\n"
        "\n"
        "exit status: 0 ok; 1 the model, data set or device failed (one line on\n"
        "stderr naming the error, e.g. NPU_ERR_IO); 2 bad command line.\n";

static void usage(FILE *f)
{
	char names[256] = "";
	const char *const *b = npu_backend_names();

	for (; *b; b++) {
		if (names[0])
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
		strncat(names, *b, sizeof(names) - strlen(names) - 1);
	}
	fprintf(f, usage_text, names);
}

static int fail(const char *what, int rc)
{
	const char *detail = npu_last_error();

	fprintf(stderr, "npu-eval: %s: %s: %s%s%s\n", what, npu_status_name(rc), npu_strerror(rc),
	        detail[0] ? ": " : "", detail);
	return 1;
}

/* ---- IDX files ----------------------------------------------------------- */

/*
 * Read all of path into a malloc'ed buffer. A path ending in ".gz" is
 * decompressed by `gzip -dc` in a child process (no zlib dependency).
 * Returns 0, or -1 after printing why.
 */
static int slurp(const char *path, unsigned char **data, size_t *size)
{
	size_t len = strlen(path), cap = 1 << 20, n = 0;
	int gz = len > 3 && strcmp(path + len - 3, ".gz") == 0;
	unsigned char *buf = NULL;
	FILE *f = NULL;
	pid_t pid = -1;
	int fd[2], status;

	if (gz) {
		if (pipe(fd) != 0) {
			fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: pipe: %s\n", path,
			        strerror(errno));
			return -1;
		}
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: fork: %s\n", path,
			        strerror(errno));
			close(fd[0]);
			close(fd[1]);
			return -1;
		}
		if (pid == 0) {
			dup2(fd[1], STDOUT_FILENO);
			close(fd[0]);
			close(fd[1]);
			execlp("gzip", "gzip", "-dc", "--", path, (char *)NULL);
			fprintf(stderr, "npu-eval: gzip: %s\n", strerror(errno));
			_exit(127);
		}
		close(fd[1]);
		f = fdopen(fd[0], "rb");
		if (!f)
			close(fd[0]);
	} else {
		f = fopen(path, "rb");
	}
	if (!f) {
		fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: %s\n", path, strerror(errno));
		goto err_wait;
	}
	buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "npu-eval: %s: NPU_ERR_NO_MEM: out of memory\n", path);
			goto err_close;
		}
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		unsigned char *nb = realloc(buf, cap * 2);
		if (!nb)
			free(buf);
		buf = nb;
		cap *= 2;
	}
	if (ferror(f)) {
		fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: read failed\n", path);
		goto err_close;
	}
	fclose(f);
	if (gz) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: `gzip -dc` failed\n", path);
			free(buf);
			return -1;
		}
	}
	*data = buf;
	*size = n;
	return 0;

err_close:
	free(buf);
	fclose(f);
err_wait:
	if (gz && pid > 0)
		waitpid(pid, &status, 0);
	return -1;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Load DIR/NAME or, when absent, DIR/NAME.gz, and check its IDX header: magic
 * 0x00000800 | ndim (unsigned bytes), dims as given (0 = any, returned in
 * *count for the first). On success *body points at the data inside *file.
 */
static int idx_load(const char *dir, const char *name, int ndim, const uint32_t *dims,
                    unsigned char **file, const unsigned char **body, uint32_t *count)
{
	char path[4096];
	struct stat st;
	unsigned char *d;
	size_t size, hdr = 4 + 4 * (size_t)ndim, want = 1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) != 0) {
		snprintf(path, sizeof(path), "%s/%s.gz", dir, name);
		if (stat(path, &st) != 0) {
			fprintf(stderr,
			        "npu-eval: %s/%s[.gz]: NPU_ERR_IO: %s (install Debian's "
			        "dataset-fashion-mnist or pass --data-dir)\n",
			        dir, name, strerror(errno));
			return -1;
		}
	}
	if (slurp(path, &d, &size))
		return -1;
	if (size < hdr || be32(d) != (0x800u | (uint32_t)ndim)) {
		fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: not an IDX file of %d dimension%s\n",
		        path, ndim, ndim > 1 ? "s" : "");
		goto err_free;
	}
	for (int i = 0; i < ndim; i++) {
		uint32_t v = be32(d + 4 + 4 * i);
		if (dims[i] && v != dims[i]) {
			fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: dimension %d is %u, want %u\n",
			        path, i, v, dims[i]);
			goto err_free;
		}
		want *= v;
	}
	if (size - hdr != want) {
		fprintf(stderr, "npu-eval: %s: NPU_ERR_IO: %zu data bytes, header says %zu\n", path,
		        size - hdr, want);
		goto err_free;
	}
	*file = d;
	*body = d + hdr;
	*count = be32(d + 4);
	return 0;

err_free:
	free(d);
	return -1;
}

/* ---- preprocessing (tools/train/fmnist.py) ------------------------------- */

/* One output coordinate of the half-pixel bilinear resize: two taps. */
struct tap {
	int i0, i1;
	float w0, w1;
};

static void resize_taps(struct tap *t, int size)
{
	double scale = (double)FMNIST_SIDE / size;

	for (int o = 0; o < size; o++) {
		double s = ((double)o + 0.5) * scale - 0.5;
		if (s < 0)
			s = 0;
		t[o].i0 = (int)floor(s);
		t[o].i1 = t[o].i0 + 1 < FMNIST_SIDE ? t[o].i0 + 1 : FMNIST_SIDE - 1;
		t[o].w1 = (float)(s - t[o].i0);
		t[o].w0 = (float)(1.0 - (s - t[o].i0));
	}
}

/* 28x28 bytes -> size x size x channels floats, NHWC. */
static void preprocess(const unsigned char *img, const struct tap *t, int size, int channels,
                       float *rows, float *out)
{
	/* rows[o][x]: the row pass; then the column pass straight to out. */
	for (int o = 0; o < size; o++)
		for (int x = 0; x < FMNIST_SIDE; x++)
			rows[o * FMNIST_SIDE + x] =
			        t[o].w0 * (float)img[t[o].i0 * FMNIST_SIDE + x] +
			        t[o].w1 * (float)img[t[o].i1 * FMNIST_SIDE + x];
	for (int o = 0; o < size; o++)
		for (int p = 0; p < size; p++) {
			const float *r = rows + o * FMNIST_SIDE;
			float v = t[p].w0 * r[t[p].i0] + t[p].w1 * r[t[p].i1];
			v = (v / 255.0f - FMNIST_MEAN) / FMNIST_STD;
			for (int c = 0; c < channels; c++)
				out[((size_t)o * size + p) * channels + c] = v;
		}
}

/* ---- report --------------------------------------------------------------- */

static void print_confusion(const unsigned conf[FMNIST_CLASSES][FMNIST_CLASSES])
{
	printf("\nconfusion matrix (rows: true class, columns: predicted class)\n");
	printf("%-14s", "");
	for (int j = 0; j < FMNIST_CLASSES; j++)
		printf(" %5d", j);
	printf("  recall\n");
	for (int i = 0; i < FMNIST_CLASSES; i++) {
		unsigned row = 0;
		printf("%d %-12s", i, fmnist_classes[i]);
		for (int j = 0; j < FMNIST_CLASSES; j++) {
			printf(" %5u", conf[i][j]);
			row += conf[i][j];
		}
		if (row)
			printf("  %.4f\n", (double)conf[i][i] / row);
		else
			printf("  -\n");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"dataset", required_argument, NULL, 'D'},
	        {"data-dir", required_argument, NULL, 'R'},
	        {"device", required_argument, NULL, 'd'},
	        {"limit", required_argument, NULL, 'n'},
	        {"size", required_argument, NULL, 'S'},
	        {"predictions", required_argument, NULL, 'p'},
	        {"logits", required_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *uri = NULL, *dataset = NULL, *dir = FMNIST_DIR, *pred_path = NULL;
	const char *logits_path = NULL;
	long limit = 0, size_check = 0;
	int opt, rc, status = 1;
	char *end;

	while ((opt = getopt_long(argc, argv, "d:n:p:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			dataset = optarg;
			break;
		case 'R':
			dir = optarg;
			break;
		case 'd':
			uri = optarg;
			break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*end || !*optarg || limit < 1) {
				fprintf(stderr, "npu-eval: --limit: want a number >= 1, got %s\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			size_check = strtol(optarg, &end, 10);
			if (*end || !*optarg || size_check < 1 || size_check > 4096) {
				fprintf(stderr, "npu-eval: --size: want 1..4096, got %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			pred_path = optarg;
			break;
		case 'L':
			logits_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "npu-eval: expected exactly one MODEL argument (try --help)\n");
		return EXIT_USAGE;
	}
	if (!dataset) {
		fprintf(stderr, "npu-eval: --dataset is required (fashion-mnist)\n");
		return EXIT_USAGE;
	}
	if (strcmp(dataset, "fashion-mnist") != 0) {
		fprintf(stderr, "npu-eval: --dataset: unknown data set %s (known: fashion-mnist)\n",
		        dataset);
		return EXIT_USAGE;
	}
	const char *model_path = argv[optind];

	static const uint32_t img_dims[3] = {0, FMNIST_SIDE, FMNIST_SIDE};
	uint32_t lab_dims[1], n_img, n_lab;
	unsigned char *img_file = NULL, *lab_file = NULL;
	const unsigned char *images, *labels;
	unsigned conf[FMNIST_CLASSES][FMNIST_CLASSES] = {{0}};
	npu_device *dev;
	npu_model *m;
	struct npu_tensor_info in, out;
	struct tap *taps = NULL;
	float *rows = NULL, *x = NULL, *logits = NULL, *all_logits = NULL;
	FILE *pf = NULL;

	if (idx_load(dir, "t10k-images-idx3-ubyte", 3, img_dims, &img_file, &images, &n_img))
		return 1;
	lab_dims[0] = n_img;
	if (idx_load(dir, "t10k-labels-idx1-ubyte", 1, lab_dims, &lab_file, &labels, &n_lab))
		goto out_images;
	if (limit && (uint32_t)limit < n_img)
		n_img = (uint32_t)limit;

	rc = npu_open(uri, &dev);
	if (rc != NPU_OK) {
		fail(uri ? uri : "default device", rc);
		goto out_labels;
	}
	rc = npu_model_load_file(dev, model_path, &m);
	if (rc != NPU_OK) {
		fail(model_path, rc);
		goto out_close;
	}
	npu_model_input(m, &in);
	npu_model_output(m, &out);
	if (in.h != in.w || in.h < 1 || in.h > 4096 || (in.c != 3 && in.c != 1)) {
		fprintf(stderr,
		        "npu-eval: %s: NPU_ERR_SHAPE: input is [1,%d,%d,%d]; want a square grey "
		        "or RGB image [1,S,S,1|3]\n",
		        model_path, in.h, in.w, in.c);
		goto out_model;
	}
	if (size_check && in.h != size_check) {
		fprintf(stderr, "npu-eval: %s: NPU_ERR_SHAPE: input is %dx%d, --size says %ld\n",
		        model_path, in.h, in.w, size_check);
		goto out_model;
	}
	if (out.elements != FMNIST_CLASSES) {
		fprintf(stderr, "npu-eval: %s: NPU_ERR_SHAPE: %zu outputs, want %d classes\n",
		        model_path, out.elements, FMNIST_CLASSES);
		goto out_model;
	}
	if (pred_path && !(pf = fopen(pred_path, "w"))) {
		fprintf(stderr, "npu-eval: --predictions: NPU_ERR_IO: %s: %s\n", pred_path,
		        strerror(errno));
		goto out_model;
	}

	int size = in.h;
	taps = malloc((size_t)size * sizeof(*taps));
	rows = malloc((size_t)size * FMNIST_SIDE * sizeof(*rows));
	x = malloc(in.elements * sizeof(*x));
	logits = malloc(out.elements * sizeof(*logits));
	/* Kept for the whole run: the .npy is written only once it is complete. */
	if (logits_path)
		all_logits = malloc((size_t)n_img * out.elements * sizeof(*all_logits));
	if (!taps || !rows || !x || !logits || (logits_path && !all_logits)) {
		fail("buffers", NPU_ERR_NO_MEM);
		goto out_free;
	}
	resize_taps(taps, size);

	struct npu_io io = {NPU_IO_FLOAT32, x,      in.elements * sizeof(*x),
	                    NPU_IO_FLOAT32, logits, out.elements * sizeof(*logits)};
	struct timespec t0, t1;
	unsigned correct = 0, step = n_img / 100 ? n_img / 100 : 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < n_img; i++) {
		if (labels[i] >= FMNIST_CLASSES) {
			fprintf(stderr,
			        "\nnpu-eval: %s/t10k-labels-idx1-ubyte: NPU_ERR_IO: label "
			        "%u of image %u out of range\n",
			        dir, labels[i], i);
			goto out_free;
		}
		preprocess(images + (size_t)i * FMNIST_SIDE * FMNIST_SIDE, taps, size, in.c, rows,
		           x);
		rc = npu_run(m, &io);
		if (rc != NPU_OK) {
			fputc('\n', stderr);
			fail("run", rc);
			goto out_free;
		}
		int best = 0;
		for (int k = 1; k < FMNIST_CLASSES; k++)
			if (logits[k] > logits[best])
				best = k;
		if (all_logits)
			memcpy(all_logits + (size_t)i * out.elements, logits,
			       out.elements * sizeof(*logits));
		conf[labels[i]][best]++;
		correct += best == labels[i];
		if (pf)
			fprintf(pf, "%d\n", best);
		if ((i + 1) % step == 0 || i + 1 == n_img)
			fprintf(stderr, "\rnpu-eval: %u/%u images, accuracy so far %.4f", i + 1,
			        n_img, (double)correct / (i + 1));
	}
	fputc('\n', stderr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (pf) {
		int bad = ferror(pf);
		if (fclose(pf) != 0 || bad) {
			pf = NULL;
			fprintf(stderr, "npu-eval: --predictions: NPU_ERR_IO: cannot write %s\n",
			        pred_path);
			goto out_free;
		}
		pf = NULL;
	}
	if (all_logits) {
		size_t shape[2] = {n_img, out.elements};
		if (npui_npy_write(logits_path, NPUI_NPY_F32, shape, 2, all_logits) != NPU_OK) {
			fprintf(stderr, "npu-eval: --logits: NPU_ERR_IO: cannot write %s\n",
			        logits_path);
			goto out_free;
		}
	}

	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("model %s on %s: input %dx%dx%d, fashion-mnist test images 0..%u of %s\n",
	       model_path, npu_device_uri(dev), size, size, in.c, n_img - 1, dir);
	/* %.9g: enough digits to give back the float32 scale exactly. */
	printf("output: scale %.9g, zero point %d\n", (double)out.scale, (int)out.zero_point);
	printf("accuracy: %.4f (%u/%u)\n", (double)correct / n_img, correct, n_img);
	print_confusion(conf);
	printf("\nhost time: %.1f s, %.2f ms per image\n", secs, secs * 1e3 / n_img);
	status = 0;
out_free:
	if (pf)
		fclose(pf);
	free(all_logits);
	free(logits);
	free(x);
	free(rows);
	free(taps);
out_model:
	npu_model_free(m);
out_close:
	npu_close(dev);
out_labels:
	free(lab_file);
out_images:
	free(img_file);
	return status;
}
