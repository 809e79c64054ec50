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

void npui_prof_init(const npu_model *m, struct npu_layer_profile *p, uint32_t i, const char *engine)
{
	const struct npui_layer *l = &m->g->layers[i];

	memset(p, 0, sizeof(*p));
	memcpy(p->name, l->name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = 0;
	strncpy(p->op, npui_op_name(l), sizeof(p->op) - 1);
	strncpy(p->engine, engine, sizeof(p->engine) - 1);
	p->macs = npui_layer_macs(m->g, l);
}

int npui_run_cpu_layers(npu_model *m, struct npui_ctx *c, uint32_t first, uint32_t n)
{
	for (uint32_t i = first; i < first + n; i++) {
		uint64_t t0 = npui_now_ns();

		npui_ref_run_layer(m->plan, m->g, i, c->bufs);
		c->run_prof[i].cpu_ns = npui_now_ns() - t0;
	}
	return NPU_OK;
}

/* The cpu device's single step: runs on its one lane (CPU), one frame at
 * a time, in context c. */
int npui_run_cpu(npu_device *dev, npu_model *m, struct npui_ctx *c)
{
	(void)dev;
	for (uint32_t i = 0; i < m->g->num_layers; i++)
		npui_prof_init(m, &c->run_prof[i], i, "cpu");
	return npui_run_cpu_layers(m, c, 0, m->g->num_layers);
}

const struct npui_device_ops npui_cpu_device_ops = {
        .name = "cpu",
        .summary = "reference CPU kernels (bit-exact golden model)",
        .open = cpu_open,
        .close = cpu_close,
};
