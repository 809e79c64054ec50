/*
 * The "cpu" device: every layer on the reference kernels (lib/ref/).
 * It needs no hardware and is the golden model every backend must match
 * byte for byte.
 */
#include <string.h>

#include "core/runtime.h"
#include "ref/ref.h"

static int cpu_open(npu_device *dev, const char *args)
{
	(void)dev;
	/* "cpu" takes no options: reject rather than silently ignore. */
	if (args && *args) {
		npui_set_detail("cpu: unknown option '%s' (the cpu device takes none)", args);
		return NPU_ERR_INVALID_ARG;
	}
	return NPU_OK;
}

static void cpu_close(npu_device *dev)
{
	(void)dev;
}

/* The cpu device's single step: runs on its one lane (CPU), one frame at
 * a time, in context c. */
int npui_run_cpu(npu_device *dev, npu_model *m, struct npui_ctx *c)
{
	const struct npui_graph *g = m->g;

	(void)dev;
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		struct npu_layer_profile *p = &c->run_prof[i];
		uint64_t t0 = npui_now_ns();

		npui_ref_run_layer(m->plan, g, i, c->bufs);

		memset(p, 0, sizeof(*p));
		memcpy(p->name, l->name, sizeof(p->name));
		p->name[sizeof(p->name) - 1] = 0;
		strncpy(p->op, npui_op_name(l), sizeof(p->op) - 1);
		strcpy(p->engine, "cpu");
		p->cpu_ns = npui_now_ns() - t0;
		p->macs = npui_layer_macs(g, l);
	}
	return NPU_OK;
}

const struct npui_device_ops npui_cpu_device_ops = {
        .name = "cpu",
        .summary = "reference CPU kernels (bit-exact golden model)",
        .open = cpu_open,
        .close = cpu_close,
};
