/*
 * Models: load (parse + validate + prepare for the device), activation
 * memory planning and execution contexts, introspection, profile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"
#include "ir/arena.h"
#include "ref/ref.h"

/* Largest model file accepted from disk: far above any light-weight CNN. */
#define MODEL_FILE_MAX ((size_t)1 << 30)

_Static_assert(NPUI_NO_BYTES == NPUI_ARENA_NONE, "the planner marks unplaced tensors so");

/*
 * The model's activation plan (lib/ir/arena.c): base lifetimes, placed by
 * footprint. Only offsets: each execution context gets an arena of this
 * plan.
 */
static int arena_plan(npu_model *m)
{
	const struct npui_graph *g = m->g;
	uint32_t nt = g->num_tensors;
	int64_t *first = malloc(nt * sizeof(*first)), *last = malloc(nt * sizeof(*last));
	int rc = NPU_ERR_NO_MEM;

	m->arena_off = malloc(nt * sizeof(*m->arena_off));
	if (!first || !last || !m->arena_off)
		goto out;
	npui_arena_lifetimes(g, first, last);
	rc = npui_arena_plan(g, first, last, NPUI_ARENA_BY_FOOTPRINT, m->arena_off, &m->arena_size);
out:
	free(first);
	free(last);
	return rc;
}

/* Per-context memory that does not depend on the device: tensor pointers
 * and profile records; host arenas when the device has no memory of its
 * own (model_prepare NULL). */
static int contexts_alloc(npu_model *m)
{
	uint32_t nl = m->g->num_layers ? m->g->num_layers : 1;

	m->num_ctx = m->dev->num_lanes > 1 ? NPUI_MODEL_CONTEXTS : 1;
	for (unsigned i = 0; i < m->num_ctx; i++) {
		struct npui_ctx *c = &m->ctx[i];

		c->index = i;
		c->bufs = calloc(m->g->num_tensors ? m->g->num_tensors : 1, sizeof(*c->bufs));
		c->run_prof = calloc(nl, sizeof(*c->run_prof));
		if (!c->bufs || !c->run_prof)
			return NPU_ERR_NO_MEM;
		if (m->dev->ops->model_prepare)
			continue;
		c->arena = aligned_alloc(NPUI_ARENA_ALIGN, m->arena_size);
		if (!c->arena)
			return NPU_ERR_NO_MEM;
		for (uint32_t t = 0; t < m->g->num_tensors; t++)
			if (m->arena_off[t] != NPUI_NO_BYTES)
				c->bufs[t] = c->arena + m->arena_off[t];
	}
	if (!m->dev->ops->model_prepare) {
		/* The whole graph is one step on the CPU lane. */
		m->step_lane = malloc(1);
		if (!m->step_lane)
			return NPU_ERR_NO_MEM;
		m->step_lane[0] = NPUI_LANE_CPU;
		m->num_steps = 1;
	}
	return NPU_OK;
}

static void model_destroy(npu_model *m)
{
	if (m->dev_priv && m->dev->ops->model_release)
		m->dev->ops->model_release(m->dev, m);
	for (unsigned i = 0; i < NPUI_MODEL_CONTEXTS; i++) {
		free(m->ctx[i].arena);
		free(m->ctx[i].bufs);
		free(m->ctx[i].run_prof);
	}
	free(m->step_lane);
	free(m->prof);
	free(m->arena_off);
	npui_ref_plan_free(m->plan);
	npui_graph_free(m->g);
	free(m);
}

int npu_model_load_memory(npu_device *dev, const void *data, size_t size, npu_model **out)
{
	char why[160];
	npu_model *m;
	int rc;

	if (!dev || !data || !out)
		return NPU_ERR_INVALID_ARG;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NPU_ERR_NO_MEM;
	m->dev = dev;

	why[0] = 0;
	npui_set_detail("%s", "");
	rc = npui_model_parse(data, size, &m->g, why, sizeof(why));
	if (rc != NPU_OK)
		goto err;
	rc = npui_ref_prepare(m->g, &m->plan, why, sizeof(why));
	if (rc != NPU_OK)
		goto err;
	rc = arena_plan(m);
	if (rc != NPU_OK)
		goto err;
	rc = NPU_ERR_NO_MEM;
	m->prof = calloc(m->g->num_layers ? m->g->num_layers : 1, sizeof(*m->prof));
	if (!m->prof)
		goto err;
	rc = contexts_alloc(m);
	if (rc != NPU_OK)
		goto err;
	if (dev->ops->model_prepare) {
		rc = dev->ops->model_prepare(dev, m);
		if (rc != NPU_OK)
			goto err;
	}

	pthread_mutex_lock(&dev->lock);
	dev->num_models++;
	dev->users++;
	pthread_mutex_unlock(&dev->lock);
	*out = m;
	return NPU_OK;
err:
	npui_set_detail("%s", why);
	model_destroy(m);
	return rc;
}

int npu_model_load_file(npu_device *dev, const char *path, npu_model **out)
{
	FILE *f;
	void *data = NULL;
	long len;
	int rc = NPU_ERR_IO;

	if (!dev || !path || !out)
		return NPU_ERR_INVALID_ARG;
	f = fopen(path, "rb");
	if (!f) {
		npui_set_detail("%s: %s", path, strerror(errno));
		return NPU_ERR_IO;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out_close;
	if ((size_t)len > MODEL_FILE_MAX) {
		npui_set_detail("%s: larger than the 1 GiB model size limit", path);
		goto out_close;
	}
	data = malloc(len ? (size_t)len : 1);
	if (!data) {
		rc = NPU_ERR_NO_MEM;
		goto out_close;
	}
	if (fread(data, 1, (size_t)len, f) != (size_t)len) {
		npui_set_detail("%s: read error", path);
		goto out_free;
	}
	rc = npu_model_load_memory(dev, data, (size_t)len, out);
out_free:
	free(data);
out_close:
	fclose(f);
	return rc;
}

void npu_model_free(npu_model *m)
{
	npu_device *dev;

	if (!m)
		return;
	dev = m->dev;
	pthread_mutex_lock(&dev->lock);
	while (m->pending)
		pthread_cond_wait(&dev->done_cv, &dev->lock);
	dev->num_models--;
	pthread_mutex_unlock(&dev->lock);
	/* The device outlives the model's release (model_release runs on it),
	 * even after npu_close(): the model is one of its users. */
	model_destroy(m);
	npui_device_put(dev);
}

static void tensor_info(const struct npui_tensor *t, struct npu_tensor_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->name, t->name, sizeof(info->name));
	info->name[sizeof(info->name) - 1] = 0;
	info->n = 1;
	info->h = t->h;
	info->w = t->w;
	info->c = t->c;
	info->scale = t->q.scale;
	info->zero_point = t->q.zero_point;
	info->elements = (size_t)t->h * t->w * t->c;
}

int npu_model_input(const npu_model *m, struct npu_tensor_info *info)
{
	if (!m || !info)
		return NPU_ERR_INVALID_ARG;
	tensor_info(&m->g->tensors[m->g->input], info);
	return NPU_OK;
}

int npu_model_output(const npu_model *m, struct npu_tensor_info *info)
{
	if (!m || !info)
		return NPU_ERR_INVALID_ARG;
	tensor_info(&m->g->tensors[m->g->output], info);
	return NPU_OK;
}

int npu_model_input_info(const npu_model *m, struct npu_input_info *info)
{
	const struct npui_tensor *t;
	const struct npui_input_meta *meta;

	if (!m || !info)
		return NPU_ERR_INVALID_ARG;
	t = &m->g->tensors[m->g->input];
	meta = &m->g->meta;
	memset(info, 0, sizeof(*info));
	info->h = t->h;
	info->w = t->w;
	info->c = t->c;
	if (!m->g->has_meta) {
		/* No preprocessing known: the identity on each channel. */
		for (int k = 0; k < 4 && k < t->c; k++)
			info->std[k] = 1.0f;
		return NPU_OK;
	}
	/* The public enums have the file's values (model_format.h). */
	info->color = (enum npu_color)meta->color;
	info->resize = (enum npu_resize)meta->resize;
	info->layout = (enum npu_layout)meta->layout;
	info->crop = meta->crop;
	memcpy(info->mean, meta->mean, sizeof(info->mean));
	memcpy(info->std, meta->std, sizeof(info->std));
	return NPU_OK;
}

unsigned npu_model_num_layers(const npu_model *m)
{
	return m ? m->g->num_layers : 0;
}

unsigned npu_model_num_labels(const npu_model *m)
{
	return m ? m->g->num_labels : 0;
}

const char *npu_model_label(const npu_model *m, unsigned i)
{
	if (!m || i >= m->g->num_labels)
		return NULL;
	return m->g->labels[i];
}

int npu_model_profile(const npu_model *m, struct npu_layer_profile *out, unsigned max,
                      unsigned *count)
{
	npu_device *dev;
	unsigned n;

	if (!m || !count || (max && !out))
		return NPU_ERR_INVALID_ARG;
	dev = m->dev;
	pthread_mutex_lock(&dev->lock);
	n = m->have_prof ? m->g->num_layers : 0;
	if (max > n)
		max = n;
	if (max)
		memcpy(out, m->prof, max * sizeof(*out));
	pthread_mutex_unlock(&dev->lock);
	*count = n;
	return NPU_OK;
}

int npui_model_overlap_stats(const npu_model *m, struct npui_overlap_stats *out)
{
	if (!m || !out)
		return NPU_ERR_INVALID_ARG;
	pthread_mutex_lock(&m->dev->lock);
	*out = m->ovl;
	pthread_mutex_unlock(&m->dev->lock);
	return NPU_OK;
}

int npu_model_cost(const npu_model *m, struct npu_model_cost *cost)
{
	if (!m || !cost)
		return NPU_ERR_INVALID_ARG;
	memset(cost, 0, sizeof(*cost));
	for (uint32_t i = 0; i < m->g->num_layers; i++)
		cost->macs += npui_layer_macs(m->g, &m->g->layers[i]);
	if (m->dev->ops->model_cost)
		m->dev->ops->model_cost(m->dev, m, cost);
	return NPU_OK;
}
