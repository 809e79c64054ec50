/*
 * npu-run: run one model on one device, print the top-5 classes, and
 * optionally write the logits (.npy) and a per-layer profile (JSON, SVG,
 * trace; tools/common/profile_out.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npu.h"
#include "tools/common/npy.h"
#include "tools/common/profile_out.h"

#define EXIT_USAGE 2

static const char usage_text[] =
        "usage: npu-run MODEL [options]\n"
        "\n"
        "Run an lwnpu model (.npu file) once or more on a device and print the\n"
        "top-5 classes.\n"
        "\n"
        "options:\n"
        "  -d, --device URI     device to run on (default: $NPU_DEVICE, else cpu);\n"
        "                       backends: %s\n"
        "  -i, --input X.npy    input tensor: float32 (quantized with the model's input\n"
        "                       scale) or int8 (raw), shape [1,H,W,C] or [H,W,C];\n"
        "                       without it a deterministic input from --seed is used\n"
        "      --nchw           the --input array is [1,C,H,W] / [C,H,W] (PyTorch order)\n"
        "  -s, --seed N         seed of the generated input (default 1): uniform in\n"
        "                       [-1, 1), NHWC\n"
        "  -o, --output Y.npy   write the output as float32 [1,C] (dequantized logits)\n"
        "  -p, --profile P.json write the per-layer profile of the last run as JSON\n"
        "      --svg P.svg      draw it: per-layer cycles against the bound, and a\n"
        "                       roofline (MACs/cycle against MACs per DRAM byte)\n"
        "      --trace P.json   write it as a Chrome/Perfetto trace (Trace Event Format),\n"
        "                       one lane per engine, layers back to back at the nominal\n"
        "                       clock; open in ui.perfetto.dev or chrome://tracing\n"
        "  -r, --repeat N       run N times (default 1); prints the median host time\n"
        "  -v, --verbose        print the model's tensors and a per-layer table\n"
        "  -h, --help           this text\n"
        "\n"
        "exit status: 0 ok; 1 the model, input or device failed (one line on stderr\n"
        "naming the error, e.g. NPU_ERR_MODEL_CHECKSUM); 2 bad command line.\n";

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

	fprintf(stderr, "npu-run: %s: %s: %s%s%s\n", what, npu_status_name(rc), npu_strerror(rc),
	        detail[0] ? ": " : "", detail);
	return 1;
}

/* splitmix64: a tiny, well-mixed, portable generator for the demo input. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void seeded_input(float *x, size_t n, uint64_t seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++)
		x[i] = (float)((double)(splitmix64(&s) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Write the profile in each format asked for; 0 or prints why and returns -1. */
static int write_profiles(const char *const paths[3], const char *model_path, const npu_device *dev,
                          const npu_model *m, const struct npu_layer_profile *p, unsigned n)
{
	static const struct {
		enum npui_profile_format fmt;
		const char *opt;
	} outs[3] = {
	        {NPUI_PROFILE_JSON, "--profile"},
	        {NPUI_PROFILE_SVG, "--svg"},
	        {NPUI_PROFILE_TRACE, "--trace"},
	};
	struct npui_profile_info info = {
	        .model = model_path,
	        .device = npu_device_uri(dev),
	};
	struct npu_model_cost cost = {0};

	/* Clock, roofs and the network bound: the device's own figures. */
	npu_model_cost(m, &cost);
	npui_profile_info_set_cost(&info, &cost);
	for (int i = 0; i < 3; i++) {
		int rc;

		if (!paths[i])
			continue;
		rc = npui_profile_save(paths[i], outs[i].fmt, &info, p, n);
		if (rc != NPU_OK) {
			fprintf(stderr, "npu-run: %s: %s: cannot write %s\n", outs[i].opt,
			        npu_status_name(rc), paths[i]);
			return -1;
		}
	}
	return 0;
}

static void print_layers(const npu_model *m, const struct npu_layer_profile *p, unsigned n)
{
	struct npu_model_cost cost;
	uint64_t cycles = 0, bound = 0, cpu_ns = 0, dram = 0;
	unsigned on_cpu = 0, folded = 0;

	printf("\n%-4s %-28s %-9s %-6s %12s %12s %12s %10s\n", "#", "layer", "op", "engine", "MACs",
	       "cycles", "bound", "cpu_us");
	for (unsigned i = 0; i < n; i++) {
		printf("%-4u %-28.28s %-9s %-6s %12llu %12llu %12llu %10.1f%s\n", i, p[i].name,
		       p[i].op, p[i].engine, (unsigned long long)p[i].macs,
		       (unsigned long long)p[i].cycles, (unsigned long long)p[i].bound_cycles,
		       p[i].cpu_ns / 1e3, p[i].folded ? "  (folded)" : "");
		cycles += p[i].cycles;
		bound += p[i].bound_cycles;
		dram += p[i].dram_bytes;
		if (!strcmp(p[i].engine, "cpu")) {
			on_cpu++;
			cpu_ns += p[i].cpu_ns;
		}
		folded += p[i].folded;
	}
	npu_model_cost(m, &cost);
	printf("\n%u layers: %u on the CPU (%.2f ms host time), %u folded into addressing\n", n,
	       on_cpu, cpu_ns / 1e6, folded);
	if (cost.bound_cycles) {
		printf("NPU: %llu cycles, network bound %llu cycles: cycles/bound %.2f "
		       "(sum of layer bounds %llu cycles); DRAM %.2f MB (minimum %.2f MB)\n",
		       (unsigned long long)cycles, (unsigned long long)cost.bound_cycles,
		       (double)cycles / cost.bound_cycles, (unsigned long long)bound, dram / 1e6,
		       cost.min_dram_bytes / 1e6);
		printf("latency at the nominal %.0f MHz: %.3f ms on the NPU + the CPU fallback "
		       "above\n",
		       cost.clock_mhz, cycles / cost.clock_mhz / 1e3);
	}
}

/* Load --input into the model's input layout; returns 0 or prints why. */
static int load_input(const char *path, int nchw, const struct npu_tensor_info *in,
                      struct npu_io *io, void **buf)
{
	struct npui_npy a;
	char why[256];
	int rc = npui_npy_read(path, &a, why, sizeof(why));
	size_t h = (size_t)in->h, w = (size_t)in->w, c = (size_t)in->c;
	int lead = 0;

	if (rc != NPU_OK) {
		fprintf(stderr, "npu-run: --input: %s: %s\n", npu_status_name(rc), why);
		return -1;
	}
	if (a.ndim == 4 && a.shape[0] == 1)
		lead = 1;
	if (a.ndim - lead != 3 ||
	    (!nchw && (a.shape[lead] != h || a.shape[lead + 1] != w || a.shape[lead + 2] != c)) ||
	    (nchw && (a.shape[lead] != c || a.shape[lead + 1] != h || a.shape[lead + 2] != w))) {
		fprintf(stderr,
		        "npu-run: --input: NPU_ERR_SHAPE: %s: expected shape %s[%zu,%zu,%zu] "
		        "(%s)\n",
		        path, lead ? "[1]+" : "", nchw ? c : h, nchw ? h : w, nchw ? w : c,
		        nchw ? "C,H,W" : "H,W,C");
		npui_npy_free(&a);
		return -1;
	}
	size_t es = a.dtype == NPUI_NPY_F32 ? 4 : 1;
	if (nchw) {
		unsigned char *t = malloc(a.count * es);
		if (!t) {
			npui_npy_free(&a);
			return -1;
		}
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++)
				for (size_t k = 0; k < c; k++)
					memcpy(t + ((y * w + x) * c + k) * es,
					       (unsigned char *)a.data + ((k * h + y) * w + x) * es,
					       es);
		free(a.data);
		a.data = t;
	}
	io->input_type = a.dtype == NPUI_NPY_F32 ? NPU_IO_FLOAT32 : NPU_IO_INT8;
	io->input = a.data;
	io->input_size = a.count * es;
	*buf = a.data;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"device", required_argument, NULL, 'd'}, {"input", required_argument, NULL, 'i'},
	        {"nchw", no_argument, NULL, 'N'},         {"seed", required_argument, NULL, 's'},
	        {"output", required_argument, NULL, 'o'}, {"profile", required_argument, NULL, 'p'},
	        {"repeat", required_argument, NULL, 'r'}, {"verbose", no_argument, NULL, 'v'},
	        {"svg", required_argument, NULL, 'S'},    {"trace", required_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *uri = NULL, *input = NULL, *output = NULL;
	const char *prof_out[3] = {NULL, NULL, NULL}; /* --profile, --svg, --trace */
	unsigned long long seed = 1;
	long repeat = 1;
	int verbose = 0, nchw = 0, opt, rc, status = 1;
	char *end;

	while ((opt = getopt_long(argc, argv, "d:i:s:o:p:r:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			uri = optarg;
			break;
		case 'i':
			input = optarg;
			break;
		case 'N':
			nchw = 1;
			break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end || !*optarg) {
				fprintf(stderr, "npu-run: --seed: not a number: %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			prof_out[0] = optarg;
			break;
		case 'S':
			prof_out[1] = optarg;
			break;
		case 'T':
			prof_out[2] = optarg;
			break;
		case 'r':
			repeat = strtol(optarg, &end, 10);
			if (*end || repeat < 1 || repeat > 1000000) {
				fprintf(stderr, "npu-run: --repeat: want 1..1000000, got %s\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			verbose = 1;
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
		fprintf(stderr, "npu-run: expected exactly one MODEL argument (try --help)\n");
		return EXIT_USAGE;
	}
	if (nchw && !input) {
		fprintf(stderr, "npu-run: --nchw needs --input\n");
		return EXIT_USAGE;
	}
	const char *model_path = argv[optind];

	npu_device *dev;
	npu_model *m;
	struct npu_tensor_info in, out;
	struct npu_io io;
	void *in_buf = NULL;
	float *logits = NULL, *prob = NULL;
	uint64_t *times = NULL;

	rc = npu_open(uri, &dev);
	if (rc != NPU_OK)
		return fail(uri ? uri : "default device", rc);
	rc = npu_model_load_file(dev, model_path, &m);
	if (rc != NPU_OK) {
		fail(model_path, rc);
		goto out_close;
	}
	npu_model_input(m, &in);
	npu_model_output(m, &out);

	memset(&io, 0, sizeof(io));
	if (input) {
		if (load_input(input, nchw, &in, &io, &in_buf))
			goto out_model;
	} else {
		in_buf = malloc(in.elements * sizeof(float));
		if (!in_buf) {
			fail("input", NPU_ERR_NO_MEM);
			goto out_model;
		}
		seeded_input(in_buf, in.elements, seed);
		io.input_type = NPU_IO_FLOAT32;
		io.input = in_buf;
		io.input_size = in.elements * sizeof(float);
	}
	logits = malloc(out.elements * sizeof(float));
	prob = malloc(out.elements * sizeof(float));
	times = malloc((size_t)repeat * sizeof(*times));
	if (!logits || !prob || !times) {
		fail("output", NPU_ERR_NO_MEM);
		goto out_free;
	}
	io.output_type = NPU_IO_FLOAT32;
	io.output = logits;
	io.output_size = out.elements * sizeof(float);

	if (verbose)
		printf("model %s on %s: input %s [1,%d,%d,%d] scale %g zp %d, output %s "
		       "[1,%d,%d,%d], %u layers\n",
		       model_path, npu_device_uri(dev), in.name, in.h, in.w, in.c, in.scale,
		       in.zero_point, out.name, out.h, out.w, out.c, npu_model_num_layers(m));

	for (long r = 0; r < repeat; r++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = npu_run(m, &io);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc != NPU_OK) {
			fail("run", rc);
			goto out_free;
		}
		times[r] = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
		           (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	}

	npu_softmax(logits, out.elements, prob);
	printf("top-5 (%s on %s):\n", model_path, npu_device_uri(dev));
	{
		size_t k = out.elements < 5 ? out.elements : 5;
		size_t idx[5];
		for (size_t j = 0; j < k; j++) {
			size_t best = (size_t)-1;
			for (size_t i = 0; i < out.elements; i++) {
				int taken = 0;
				for (size_t q = 0; q < j; q++)
					taken |= idx[q] == i;
				if (!taken && (best == (size_t)-1 || logits[i] > logits[best]))
					best = i;
			}
			idx[j] = best;
			const char *label = npu_model_label(m, (unsigned)best);
			printf("  %zu. class %-5zu p=%.4f logit=%+.4f%s%s\n", j + 1, best,
			       prob[best], logits[best], label ? "  " : "", label ? label : "");
		}
	}
	qsort(times, (size_t)repeat, sizeof(*times), cmp_u64);
	printf("host time per inference: median %.3f ms over %ld run%s\n", times[repeat / 2] / 1e6,
	       repeat, repeat > 1 ? "s" : "");

	if (verbose || prof_out[0] || prof_out[1] || prof_out[2]) {
		unsigned n = npu_model_num_layers(m), got;
		struct npu_layer_profile *p = calloc(n ? n : 1, sizeof(*p));
		if (!p) {
			fail("profile", NPU_ERR_NO_MEM);
			goto out_free;
		}
		npu_model_profile(m, p, n, &got);
		if (verbose)
			print_layers(m, p, got);
		if (write_profiles(prof_out, model_path, dev, m, p, got < n ? got : n)) {
			free(p);
			goto out_free;
		}
		free(p);
	}

	if (output) {
		size_t shape[2] = {1, out.elements};
		rc = npui_npy_write(output, NPUI_NPY_F32, shape, 2, logits);
		if (rc != NPU_OK) {
			fprintf(stderr, "npu-run: --output: NPU_ERR_IO: cannot write %s\n", output);
			goto out_free;
		}
	}
	status = 0;
out_free:
	free(times);
	free(prob);
	free(logits);
	free(in_buf);
out_model:
	npu_model_free(m);
out_close:
	npu_close(dev);
	return status;
}
