/*
 * Profile outputs shared by the tools (npu-run, npu-bench): the per-layer
 * records of npu_model_profile() written as JSON, as an SVG picture
 * (per-layer cycles against the bound, and a roofline plot) and as a
 * Chrome/Perfetto trace (Trace Event Format). docs/API.md, "Profile
 * outputs", describes the three formats.
 *
 * Time is never taken from host timers here: NPU layers are converted with
 * the nominal clock; CPU-fallback layers keep their cpu_ns.
 */
#ifndef NPUI_PROFILE_OUT_H
#define NPUI_PROFILE_OUT_H

#include <stdio.h>

#include "npu.h"

#ifdef __cplusplus
extern "C" {
#endif

enum npui_profile_format {
	NPUI_PROFILE_JSON = 1,  /* the --profile JSON: totals and a layers array */
	NPUI_PROFILE_SVG = 2,   /* bar chart against the bound, and a roofline */
	NPUI_PROFILE_TRACE = 3, /* Trace Event Format JSON (chrome://tracing, Perfetto) */
};

/* What the caller knows about the run besides the layer records. */
struct npui_profile_info {
	const char *model;  /* model path as given; NULL is "" */
	const char *device; /* device URI; NULL is "" */
	double clock_mhz;   /* nominal NPU clock, > 0 */
	/*
	 * Roofs of the roofline, from the device's CAPS: peak MACs per cycle
	 * of the fastest array and DRAM bytes per cycle. 0 when unknown: the
	 * points are drawn without roofs and the picture says so.
	 */
	double peak_macs_per_cycle;
	double dram_bytes_per_cycle;
	/*
	 * The whole network's bound, npu_model_cost().bound_cycles: max over
	 * the PW array, the DW engine and DRAM of work / rate. 0 when unknown
	 * (the cpu device): the pictures say so. Not the sum of the layers'
	 * bounds, which each pay their own activation traffic.
	 */
	uint64_t network_bound_cycles;
};

/*
 * Fill info's clock, roofs and network bound from npu_model_cost() of the
 * model being profiled. A device without an NPU clock (cpu) gets the
 * nominal NPU_HW_NOMINAL_CLOCK_MHZ, so that its CPU layers can still be
 * drawn in cycles, and no roofs and no network bound.
 */
void npui_profile_info_set_cost(struct npui_profile_info *info, const struct npu_model_cost *cost);

/*
 * Write n layer records (n may be 0) in the given format to f. f stays
 * open. Returns NPU_OK, NPU_ERR_INVALID_ARG (f or info NULL, p NULL with
 * n > 0, clock_mhz not > 0, unknown format), NPU_ERR_IO (a write failed),
 * NPU_ERR_NO_MEM.
 */
int npui_profile_write(FILE *f, enum npui_profile_format fmt, const struct npui_profile_info *info,
                       const struct npu_layer_profile *p, unsigned n);

/*
 * As npui_profile_write, to a file created (or truncated) at path.
 * Returns the same codes; NPU_ERR_IO also when path cannot be opened or
 * closed.
 */
int npui_profile_save(const char *path, enum npui_profile_format fmt,
                      const struct npui_profile_info *info, const struct npu_layer_profile *p,
                      unsigned n);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_PROFILE_OUT_H */
