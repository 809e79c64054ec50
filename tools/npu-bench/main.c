/*
 * npu-bench: run zoo networks (or model files) on a device and report
 * cycles against the network's bound (npu_model_cost(): max over the PW
 * array, the DW engine and DRAM of work / rate), MAC utilization, DRAM
 * traffic, CPU fallback time and simulation speed; check every output
 * byte-exact against the cpu device.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npu.h"
#include "tools/common/profile_out.h"
#include "zoo/zoo.h"

#define EXIT_USAGE 2

static const char usage_text[] =
        "usage: npu-bench [options] [NET|MODEL.npu ...]\n"
        "\n"
        "Run networks on a device and print, per network: MACs, NPU cycles, the\n"
        "physical bound (max over PW array, DW engine and DRAM of work/rate),\n"
        "cycles/bound, MAC utilization, DRAM traffic, CPU fallback time, host\n"
        "time per inference, simulated MACs per host second, and whether the\n"
        "output equals the cpu device's byte for byte.\n"
        "\n"
        "NET is a zoo name (npu-zoo list) or a guideline variant; default: all\n"
        "eight zoo nets.\n"
        "\n"
        "options:\n"
        "  -d, --device URI    device (default: $NPU_DEVICE, else sim)\n"
        "  -s, --size S        input size S x S (default 224; zoo nets 32..1024)\n"
        "  -j, --json FILE     write the table as JSON\n"
        "      --svg-dir DIR   write DIR/NET.svg (per-layer bars, roofline) and\n"
        "                      DIR/NET.trace.json (Perfetto) for each network\n"
        "      --no-check      skip the comparison with the cpu device\n"
        "      --guidelines    run ShuffleNet v2's four guideline experiments\n"
        "                      instead (G1 channel ratio, G2 groups, G3\n"
        "                      fragmentation, G4 element-wise ops: families of\n"
        "                      equal-MAC networks of 10 blocks on a S x S map,\n"
        "                      default S = 28) and print each variant's cycles\n"
        "                      per MAC against its family's first variant\n"
        "  -h, --help          this text\n"
        "\n"
        "Cycles and bound are NPU clock cycles; times at the nominal clock the\n"
        "device reports. Exit status: 0 ok, 1 a run failed or an output differs\n"
        "from cpu, 2 bad command line.\n";

struct row {
	char name[64];
	uint64_t macs, cycles, bound, dram, cpu_ns;
	double host_s, util, clock_mhz;
	int exact; /* 1 equal, 0 differs, -1 not checked */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what, int rc)
{
	const char *d = npu_last_error();

	fprintf(stderr, "npu-bench: %s: %s: %s%s%s\n", what, npu_status_name(rc), npu_strerror(rc),
	        d[0] ? ": " : "", d);
	return rc;
}

/* Model bytes for a zoo name or a file path. */
static int model_bytes(const char *name, int size, void **data, size_t *len)
{
	struct zoo_opts o;
	struct npui_graph *g;
	char why[160];
	int rc;

	if (!zoo_find(name) && !zoo_guideline_find(name)) {
		FILE *f = fopen(name, "rb");
		long n;
		if (!f) {
			fprintf(stderr, "npu-bench: %s: not a zoo net and not a readable file\n",
			        name);
			return NPU_ERR_IO;
		}
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		*data = malloc(n > 0 ? (size_t)n : 1);
		if (!*data || n < 0 || fread(*data, 1, (size_t)n, f) != (size_t)n) {
			fclose(f);
			free(*data);
			fprintf(stderr, "npu-bench: %s: read error\n", name);
			return NPU_ERR_IO;
		}
		fclose(f);
		*len = (size_t)n;
		return NPU_OK;
	}
	zoo_opts_default(&o);
	o.size = size;
	o.calib = zoo_default_calib(size);
	if (zoo_guideline_find(name))
		rc = zoo_guideline_build(name, size, o.seed, 2, &g, why, sizeof(why));
	else
		rc = zoo_build(name, &o, &g, why, sizeof(why));
	if (rc != NPU_OK) {
		fprintf(stderr, "npu-bench: %s: %s: %s\n", name, npu_status_name(rc), why);
		return rc;
	}
	rc = npui_model_serialize(g, data, len);
	npui_graph_free(g);
	return rc;
}

static int run_one(npu_device *dev, npu_device *cpu, const char *name, int size,
                   const char *svg_dir, struct row *r)
{
	struct npu_tensor_info in, out;
	struct npu_model_cost cost;
	npu_model *m = NULL, *mc = NULL;
	struct npu_layer_profile *p = NULL;
	int8_t *x = NULL, *y = NULL, *yc = NULL;
	void *data = NULL;
	size_t len = 0;
	unsigned n = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->exact = -1;
	rc = model_bytes(name, size, &data, &len);
	if (rc != NPU_OK)
		return rc;
	rc = npu_model_load_memory(dev, data, len, &m);
	if (rc != NPU_OK) {
		fail(name, rc);
		goto out;
	}
	npu_model_input(m, &in);
	npu_model_output(m, &out);
	x = malloc(in.elements);
	y = malloc(out.elements);
	yc = malloc(out.elements);
	p = calloc(npu_model_num_layers(m) + 1, sizeof(*p));
	rc = NPU_ERR_NO_MEM;
	if (!x || !y || !yc || !p)
		goto out;
	/* A deterministic input spanning the int8 range. */
	for (size_t i = 0; i < in.elements; i++)
		x[i] = (int8_t)((i * 2654435761u) >> 13);

	struct npu_io io = {NPU_IO_INT8, x, in.elements, NPU_IO_INT8, y, out.elements};
	double t0 = now_s();
	rc = npu_run(m, &io);
	r->host_s = now_s() - t0;
	if (rc != NPU_OK) {
		fail(name, rc);
		goto out;
	}
	npu_model_profile(m, p, npu_model_num_layers(m), &n);
	npu_model_cost(m, &cost);
	r->macs = cost.macs;
	r->bound = cost.bound_cycles;
	r->clock_mhz = cost.clock_mhz;
	for (unsigned i = 0; i < n; i++) {
		r->cycles += p[i].cycles;
		r->dram += p[i].dram_bytes;
		if (!strcmp(p[i].engine, "cpu"))
			r->cpu_ns += p[i].cpu_ns;
	}
	if (r->cycles && cost.peak_macs_per_cycle)
		r->util = (double)r->macs / ((double)r->cycles * cost.peak_macs_per_cycle);

	if (svg_dir) {
		struct npui_profile_info info;
		char path[1024];

		memset(&info, 0, sizeof(info));
		info.model = name;
		info.device = npu_device_uri(dev);
		npui_profile_info_set_cost(&info, &cost);
		snprintf(path, sizeof(path), "%s/%s.svg", svg_dir, name);
		if (npui_profile_save(path, NPUI_PROFILE_SVG, &info, p, n) != NPU_OK)
			fprintf(stderr, "npu-bench: cannot write %s\n", path);
		snprintf(path, sizeof(path), "%s/%s.trace.json", svg_dir, name);
		if (npui_profile_save(path, NPUI_PROFILE_TRACE, &info, p, n) != NPU_OK)
			fprintf(stderr, "npu-bench: cannot write %s\n", path);
	}

	if (cpu) {
		rc = npu_model_load_memory(cpu, data, len, &mc);
		if (rc != NPU_OK) {
			fail(name, rc);
			goto out;
		}
		struct npu_io cio = {NPU_IO_INT8, x, in.elements, NPU_IO_INT8, yc, out.elements};
		rc = npu_run(mc, &cio);
		if (rc != NPU_OK) {
			fail(name, rc);
			goto out;
		}
		r->exact = memcmp(y, yc, out.elements) == 0;
	}
	rc = NPU_OK;
out:
	npu_model_free(mc);
	npu_model_free(m);
	free(p);
	free(yc);
	free(y);
	free(x);
	free(data);
	return rc;
}

static void print_row(const struct row *r)
{
	double ratio = r->bound ? (double)r->cycles / r->bound : 0;
	double us = r->clock_mhz > 0 ? r->cycles / r->clock_mhz : 0;

	printf("%-20s %6.1f %10.2f %9.2f ", r->name, r->macs / 1e6, r->cycles / 1e6,
	       r->bound / 1e6);
	if (r->bound)
		printf("%6.2f %5.1f%%", ratio, r->util * 100);
	else
		printf("%6s %6s", "-", "-");
	printf(" %8.2f %9.1f %9.1f %8.1f %9.1f %s\n", r->dram / 1e6, us / 1e3, r->cpu_ns / 1e6,
	       r->host_s * 1e3, r->host_s > 0 ? r->macs / r->host_s / 1e6 : 0,
	       r->exact < 0 ? "-"
	       : r->exact   ? "yes"
	                    : "NO");
}

/* Per guideline family: each variant's cycles per MAC against the first
 * variant's (1.00 = as fast per MAC; the paper's networks hold MACs equal
 * within a family). */
static void print_guidelines(const char *const *names, const struct row *rows, int n)
{
	int first = 0;

	printf("\nguideline  variant       MMACs  Mcycles  cycles/MAC  rel   what\n");
	for (int i = 0; i < n; i++) {
		const struct zoo_guideline *v = zoo_guideline_find(names[i]);
		double cpm, cpm0;

		if (!v)
			continue;
		if (i == 0 || !zoo_guideline_find(names[i - 1]) ||
		    zoo_guideline_find(names[i - 1])->guideline != v->guideline)
			first = i;
		cpm = rows[i].macs ? (double)rows[i].cycles / rows[i].macs : 0;
		cpm0 = rows[first].macs ? (double)rows[first].cycles / rows[first].macs : 0;
		printf("G%d         %-12s %6.1f %8.2f %11.4f %5.2f  %s\n", v->guideline, v->name,
		       rows[i].macs / 1e6, rows[i].cycles / 1e6, cpm, cpm0 > 0 ? cpm / cpm0 : 0,
		       v->description);
	}
}

static int write_json(const char *path, const char *uri, const struct row *rows, int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "{\n  \"device\": \"%s\",\n  \"nets\": [", uri);
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		fprintf(f,
		        "%s\n    {\"name\": \"%s\", \"macs\": %llu, \"cycles\": %llu, "
		        "\"network_bound_cycles\": %llu, \"cycles_per_bound\": %.4f, "
		        "\"mac_util\": %.4f, \"dram_bytes\": %llu, \"cpu_ns\": %llu, "
		        "\"host_s\": %.3f, \"clock_mhz\": %.1f, \"sim_macs_per_host_s\": %.0f, "
		        "\"exact\": %s}",
		        i ? "," : "", r->name, (unsigned long long)r->macs,
		        (unsigned long long)r->cycles, (unsigned long long)r->bound,
		        r->bound ? (double)r->cycles / r->bound : 0.0, r->util,
		        (unsigned long long)r->dram, (unsigned long long)r->cpu_ns, r->host_s,
		        r->clock_mhz, r->host_s > 0 ? r->macs / r->host_s : 0.0,
		        r->exact < 0 ? "null"
		        : r->exact   ? "true"
		                     : "false");
	}
	fprintf(f, "\n  ]\n}\n");
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"device", required_argument, NULL, 'd'}, {"size", required_argument, NULL, 's'},
	        {"json", required_argument, NULL, 'j'},   {"svg-dir", required_argument, NULL, 'S'},
	        {"no-check", no_argument, NULL, 'n'},     {"guidelines", no_argument, NULL, 'g'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *uri = NULL, *json = NULL, *svg_dir = NULL;
	int size = 0, check = 1, guidelines = 0, opt, status = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, "d:s:j:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			uri = optarg;
			break;
		case 's':
			size = (int)strtol(optarg, &end, 10);
			if (*end || size < 8 || size > 1024) {
				fprintf(stderr, "npu-bench: --size: want 8..1024, got %s\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = optarg;
			break;
		case 'S':
			svg_dir = optarg;
			break;
		case 'n':
			check = 0;
			break;
		case 'g':
			guidelines = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (!uri && !getenv("NPU_DEVICE"))
		uri = "sim";

	unsigned nz, ng;
	const struct zoo_net *zn = zoo_nets(&nz);
	const struct zoo_guideline *gl = zoo_guidelines(&ng);
	int nnets = optind < argc ? argc - optind : guidelines ? (int)ng : (int)nz;
	struct row *rows = calloc((size_t)nnets, sizeof(*rows));
	const char **names = calloc((size_t)nnets, sizeof(*names));
	npu_device *dev, *cpu = NULL;
	int rc;

	if (!rows || !names) {
		free(rows);
		free(names);
		return 1;
	}
	for (int i = 0; i < nnets; i++)
		names[i] = optind < argc ? argv[optind + i] : guidelines ? gl[i].name : zn[i].name;
	if (!size)
		size = guidelines ? 28 : 224;
	rc = npu_open(uri, &dev);
	if (rc != NPU_OK) {
		fail(uri ? uri : "default device", rc);
		free(names);
		free(rows);
		return 1;
	}
	if (check && (rc = npu_open("cpu", &cpu)) != NPU_OK) {
		fail("cpu", rc);
		npu_close(dev);
		free(names);
		free(rows);
		return 1;
	}

	printf("device %s, input %dx%d\n", npu_device_uri(dev), size, size);
	printf("%-20s %6s %10s %9s %6s %6s %8s %9s %9s %8s %9s %s\n", "net", "MMACs", "Mcycles",
	       "Mbound", "c/b", "util", "DRAM MB", "NPU ms", "CPU ms", "host ms", "MMAC/hs",
	       "exact");
	for (int i = 0; i < nnets; i++) {
		if (run_one(dev, cpu, names[i], size, svg_dir, &rows[i]) != NPU_OK ||
		    rows[i].exact == 0)
			status = 1;
		print_row(&rows[i]);
		fflush(stdout);
	}
	printf("(NPU ms at the nominal clock; MMAC/hs: simulated MMACs per host second)\n");
	print_guidelines(names, rows, nnets);
	if (json && write_json(json, npu_device_uri(dev), rows, nnets)) {
		fprintf(stderr, "npu-bench: --json: NPU_ERR_IO: cannot write %s\n", json);
		status = 1;
	}
	npu_close(cpu);
	npu_close(dev);
	free(names);
	free(rows);
	return status;
}
