/*
 * npu-zoo: write the zoo's networks as lwnpu model files, or list them
 * with their cost against the reference figures. The builder lives in
 * lib/zoo/ so that tests/zoo can call it; this file is the command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "ir/graph.h"
#include "zoo/zoo.h"

/* Exit codes: 0 ok, 1 the build or the write failed, 2 bad command line. */
#define EXIT_USAGE 2

static const char usage[] =
        "usage: npu-zoo list\n"
        "       npu-zoo NAME -o FILE [--width A] [--groups G] [--seed N] [--calib N] [--size S]\n"
        "       npu-zoo --help\n"
        "\n"
        "Builds one of the eight target light-weight CNNs as an int8 lwnpu model with\n"
        "seeded He-init weights and calibrated quantization (docs/ZOO.md).\n"
        "\n"
        "  list          print every net: conv+FC MACs and weights at 1x224x224x3,\n"
        "                the reference figures (docs/ZOO.md) and the deviation\n"
        "  NAME          squeezenet1_0 squeezenet1_1 mobilenet_v1 shufflenet_v1_g3\n"
        "                mobilenet_v2 mobilenet_v3_large mobilenet_v3_small\n"
        "                shufflenet_v2_x1_0\n"
        "  -o FILE       model file to write (required)\n"
        "  --width A     mobilenet_v1 only: width multiplier 0.25, 0.5, 0.75, 1.0\n"
        "                (default 1.0)\n"
        "  --groups G    shufflenet_v1_g3 only: groups 1, 2, 3, 4, 8 (default 3)\n"
        "  --seed N      weight and calibration-input seed, 0 .. 2^64-1 (default 1)\n"
        "  --calib N     calibration inputs, uniform in [-1, 1), 0 .. 16 (default 16,\n"
        "                fewer above S = 256: 1048576 / S^2); 0 skips calibration:\n"
        "                placeholder quant, structure only; calib * S * S must be\n"
        "                <= 1048576 (the batch runs at once)\n"
        "  --size S      input is 1 x S x S x 3, 32 .. 1024 (default 224)\n"
        "  -h, --help    this text\n"
        "\n"
        "Exit status: 0 success, 1 build or write failed, 2 bad command line.\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "npu-zoo: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see npu-zoo --help)\n");
	return EXIT_USAGE;
}

static int parse_long(const char *s, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end;
}

static double deviation(uint64_t got, uint64_t ref)
{
	return ref ? 100.0 * ((double)got - (double)ref) / (double)ref : 0.0;
}

static int cmd_list(void)
{
	const struct zoo_net *nets;
	struct zoo_opts o;
	unsigned n, i;

	zoo_opts_default(&o);
	o.calib = 0; /* costs need the structure only */
	nets = zoo_nets(&n);
	printf("%-20s %12s %12s %8s %10s %10s %8s\n", "name", "macs", "ref_macs", "dev", "weights",
	       "ref_wts", "dev");
	for (i = 0; i < n; i++) {
		struct npui_graph *g;
		uint64_t macs, weights;
		char why[200];
		int rc = zoo_build(nets[i].name, &o, &g, why, sizeof(why));

		if (rc) {
			fprintf(stderr, "npu-zoo: %s: %s: %s\n", nets[i].name, npu_strerror(rc),
			        why);
			return 1;
		}
		zoo_graph_cost(g, &macs, &weights);
		printf("%-20s %12llu %12llu %+7.3f%% %10llu %10llu %+7.3f%%\n", nets[i].name,
		       (unsigned long long)macs, (unsigned long long)nets[i].ref_macs,
		       deviation(macs, nets[i].ref_macs), (unsigned long long)weights,
		       (unsigned long long)nets[i].ref_weights,
		       deviation(weights, nets[i].ref_weights));
		npui_graph_free(g);
	}
	return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	const struct zoo_net *net;
	const char *out_path = NULL;
	int width_set = 0, groups_set = 0, calib_set = 0, i, rc;
	struct npui_graph *g;
	struct zoo_opts o;
	char why[200];
	void *data;
	size_t size;

	if (argc < 2)
		return bad_usage("%s", "missing command: list or a net name");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "list")) {
		if (argc > 2)
			return bad_usage("list takes no arguments, got '%s'", argv[2]);
		return cmd_list();
	}
	net = zoo_find(argv[1]);
	if (!net)
		return bad_usage("unknown net or command '%s'", argv[1]);

	zoo_opts_default(&o);
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i], *val;
		long v;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(opt, "-o") && strcmp(opt, "--width") && strcmp(opt, "--groups") &&
		    strcmp(opt, "--seed") && strcmp(opt, "--calib") && strcmp(opt, "--size"))
			return bad_usage("unknown option '%s'", opt);
		if (i + 1 >= argc)
			return bad_usage("%s needs a value", opt);
		val = argv[++i];
		if (!strcmp(opt, "-o")) {
			out_path = val;
		} else if (!strcmp(opt, "--width")) {
			char *end;

			errno = 0;
			o.width = strtof(val, &end);
			if (errno || end == val || *end)
				return bad_usage("--width: not a number: '%s'", val);
			width_set = 1;
		} else if (!strcmp(opt, "--seed")) {
			char *end;

			errno = 0;
			o.seed = strtoull(val, &end, 0);
			if (errno || end == val || *end || val[0] == '-')
				return bad_usage("--seed: not an unsigned integer: '%s'", val);
		} else {
			if (parse_long(val, &v) || v < -1000000 || v > 1000000)
				return bad_usage("%s: not an integer", opt);
			if (!strcmp(opt, "--groups")) {
				o.groups = (int)v;
				groups_set = 1;
			} else if (!strcmp(opt, "--calib")) {
				o.calib = (int)v;
				calib_set = 1;
			} else {
				o.size = (int)v;
			}
		}
	}
	if (width_set && !net->uses_width)
		return bad_usage("--width applies to mobilenet_v1 only, not %s", net->name);
	if (groups_set && !net->uses_groups)
		return bad_usage("--groups applies to shufflenet_v1_g3 only, not %s", net->name);
	if (!out_path)
		return bad_usage("%s", "missing -o FILE");
	if (!calib_set)
		o.calib = zoo_default_calib(o.size);
	if (zoo_opts_check(&o, why, sizeof(why)))
		return bad_usage("%s", why);

	rc = zoo_build(net->name, &o, &g, why, sizeof(why));
	if (rc) {
		fprintf(stderr, "npu-zoo: %s: %s: %s\n", net->name, npu_strerror(rc), why);
		return 1;
	}
	rc = npui_model_serialize(g, &data, &size);
	npui_graph_free(g);
	if (rc) {
		fprintf(stderr, "npu-zoo: %s: serialize: %s\n", net->name, npu_strerror(rc));
		return 1;
	}
	if (write_file(out_path, data, size)) {
		fprintf(stderr, "npu-zoo: %s: %s\n", out_path, strerror(errno));
		free(data);
		return 1;
	}
	free(data);
	return 0;
}
