/*
 * Layer-level CPU execution: derive every constant of a validated graph
 * once (npui_ref_prepare), then run layers from those constants
 * (npui_ref_run_layer) without further allocation or failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "npu.h"
#include "ref/quant.h"
#include "ref/ref.h"

struct ref_layer {
	/* CONV/FC: [out_c]; AVGPOOL: [kh*kw]; owned. */
	int32_t *mult;
	int32_t *shift;
	union {
		struct npu_ref_conv_params conv;
		struct npu_ref_fc_params fc;
		struct npu_ref_pool_params pool;
		struct npu_ref_gap_params gap;
		struct npu_ref_add_params add;
		struct npu_ref_mul_params mul;
		struct npu_ref_concat_input cat[NPUI_MAX_INPUTS];
		int8_t lut[256];
	} u;
};

struct npui_ref_plan {
	uint32_t num_layers;
	struct ref_layer *layers;
};

void npui_ref_plan_free(struct npui_ref_plan *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->num_layers; i++) {
		free(p->layers[i].mult);
		free(p->layers[i].shift);
	}
	free(p->layers);
	free(p);
}

static int alloc_mults(struct ref_layer *rl, size_t n)
{
	rl->mult = calloc(n, sizeof(*rl->mult));
	rl->shift = calloc(n, sizeof(*rl->shift));
	return rl->mult && rl->shift ? NPU_OK : NPU_ERR_NO_MEM;
}

static int prepare_layer(const struct npui_graph *g, const struct npui_layer *l,
                         struct ref_layer *rl, const char **what)
{
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	const struct npui_tensor *out = &g->tensors[l->output];
	int32_t lo, hi;
	int rc;

	*what = "activation";
	rc = npu_ref_act_bounds(l->act, &out->q, &lo, &hi);
	if (rc != NPU_OK)
		return rc;

	switch (l->op) {
	case NPUI_OP_CONV: {
		struct npu_ref_conv_params *c = &rl->u.conv;

		*what = "conv multiplier";
		if (alloc_mults(rl, (size_t)out->c) != NPU_OK)
			return NPU_ERR_NO_MEM;
		rc = npu_ref_conv_multipliers(in->q.scale, l->w_scale, out->q.scale, out->c,
		                              rl->mult, rl->shift);
		c->in_h = in->h;
		c->in_w = in->w;
		c->in_c = in->c;
		c->out_h = out->h;
		c->out_w = out->w;
		c->out_c = out->c;
		c->kh = l->kh;
		c->kw = l->kw;
		c->stride_h = l->stride_h;
		c->stride_w = l->stride_w;
		c->pad_t = l->pad_t;
		c->pad_l = l->pad_l;
		c->groups = l->groups ? l->groups : 1;
		c->in_zp = in->q.zero_point;
		c->out_zp = out->q.zero_point;
		c->act_min = lo;
		c->act_max = hi;
		c->mult = rl->mult;
		c->shift = rl->shift;
		return rc;
	}
	case NPUI_OP_FC: {
		struct npu_ref_fc_params *f = &rl->u.fc;

		*what = "fc multiplier";
		if (alloc_mults(rl, (size_t)out->c) != NPU_OK)
			return NPU_ERR_NO_MEM;
		rc = npu_ref_conv_multipliers(in->q.scale, l->w_scale, out->q.scale, out->c,
		                              rl->mult, rl->shift);
		f->k = in->h * in->w * in->c;
		f->out_c = out->c;
		f->in_zp = in->q.zero_point;
		f->out_zp = out->q.zero_point;
		f->act_min = lo;
		f->act_max = hi;
		f->mult = rl->mult;
		f->shift = rl->shift;
		return rc;
	}
	case NPUI_OP_MAXPOOL:
	case NPUI_OP_AVGPOOL: {
		struct npu_ref_pool_params *pp = &rl->u.pool;

		pp->in_h = in->h;
		pp->in_w = in->w;
		pp->c = in->c;
		pp->out_h = out->h;
		pp->out_w = out->w;
		pp->kh = l->kh;
		pp->kw = l->kw;
		pp->stride_h = l->stride_h;
		pp->stride_w = l->stride_w;
		pp->pad_t = l->pad_t;
		pp->pad_l = l->pad_l;
		pp->count_include_pad = l->count_include_pad;
		pp->in_zp = in->q.zero_point;
		pp->out_zp = out->q.zero_point;
		pp->act_min = lo;
		pp->act_max = hi;
		if (l->op == NPUI_OP_MAXPOOL)
			return NPU_OK;
		*what = "avgpool multiplier";
		if (alloc_mults(rl, (size_t)l->kh * l->kw) != NPU_OK)
			return NPU_ERR_NO_MEM;
		pp->mult = rl->mult;
		pp->shift = rl->shift;
		return npu_ref_avgpool_multipliers(in->q.scale, out->q.scale, l->kh * l->kw,
		                                   rl->mult, rl->shift);
	}
	case NPUI_OP_GAP: {
		struct npu_ref_gap_params *gp = &rl->u.gap;
		int sh;

		*what = "gap multiplier";
		gp->h = in->h;
		gp->w = in->w;
		gp->c = in->c;
		gp->in_zp = in->q.zero_point;
		gp->out_zp = out->q.zero_point;
		gp->act_min = lo;
		gp->act_max = hi;
		sh = 0;
		rc = npui_quantize_multiplier(
		        (double)in->q.scale / ((double)out->q.scale * ((double)in->h * in->w)),
		        &gp->mult, &sh);
		gp->shift = sh;
		return rc;
	}
	case NPUI_OP_ADD:
		*what = "add multiplier";
		return npu_ref_add_init(&rl->u.add, &in->q, &g->tensors[l->inputs[1]].q, &out->q,
		                        l->act);
	case NPUI_OP_MUL:
		*what = "mul multiplier";
		return npu_ref_mul_init(&rl->u.mul, &in->q, &g->tensors[l->inputs[1]].q, &out->q,
		                        l->act);
	case NPUI_OP_CONCAT:
		*what = "concat multiplier";
		for (unsigned k = 0; k < l->num_inputs; k++) {
			const struct npui_tensor *t = &g->tensors[l->inputs[k]];
			struct npu_ref_concat_input *ci = &rl->u.cat[k];
			int sh = 0;

			ci->c = t->c;
			ci->zp = t->q.zero_point;
			ci->identity =
			        t->q.scale == out->q.scale && t->q.zero_point == out->q.zero_point;
			ci->mult = 0;
			ci->shift = 0;
			if (ci->identity)
				continue;
			rc = npui_quantize_multiplier((double)t->q.scale / (double)out->q.scale,
			                              &ci->mult, &sh);
			if (rc != NPU_OK)
				return rc;
			ci->shift = sh;
		}
		return NPU_OK;
	case NPUI_OP_SHUFFLE:
	case NPUI_OP_SPLIT:
		return NPU_OK;
	case NPUI_OP_LUT:
		*what = "lut function";
		return npu_ref_lut_build(l->lut_fn, &in->q, &out->q, rl->u.lut);
	default:
		*what = "op";
		return NPU_ERR_INVALID_ARG;
	}
}

int npui_ref_prepare(const struct npui_graph *g, struct npui_ref_plan **out, char *why,
                     size_t why_len)
{
	struct npui_ref_plan *p;
	int rc;

	if (!g || !out)
		return NPU_ERR_INVALID_ARG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NPU_ERR_NO_MEM;
	p->layers = calloc(g->num_layers ? g->num_layers : 1, sizeof(*p->layers));
	if (!p->layers) {
		rc = NPU_ERR_NO_MEM;
		goto err_free_plan;
	}
	p->num_layers = g->num_layers;
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		const char *what = "";

		rc = prepare_layer(g, l, &p->layers[i], &what);
		if (rc == NPU_ERR_NO_MEM)
			goto err_free_plan;
		if (rc != NPU_OK) {
			if (why && why_len)
				snprintf(why, why_len, "layer %u '%.*s': %s out of range", i,
				         NPUI_NAME_MAX, l->name, what);
			rc = NPU_ERR_MODEL_LAYER;
			goto err_free_plan;
		}
	}
	*out = p;
	return NPU_OK;

err_free_plan:
	npui_ref_plan_free(p);
	return rc;
}

void npui_ref_run_layer(const struct npui_ref_plan *p, const struct npui_graph *g, uint32_t layer,
                        int8_t *const *bufs)
{
	const struct npui_layer *l = &g->layers[layer];
	const struct ref_layer *rl = &p->layers[layer];
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	const struct npui_tensor *ot = &g->tensors[l->output];
	const int8_t *x = bufs[l->inputs[0]];
	int8_t *y = bufs[l->output];
	const size_t hw = (size_t)in->h * in->w;

	switch (l->op) {
	case NPUI_OP_CONV:
		npu_ref_s8_conv2d(&rl->u.conv, x, l->weights, l->bias, y);
		break;
	case NPUI_OP_FC:
		npu_ref_s8_fc(&rl->u.fc, x, l->weights, l->bias, y);
		break;
	case NPUI_OP_MAXPOOL:
		npu_ref_s8_maxpool(&rl->u.pool, x, y);
		break;
	case NPUI_OP_AVGPOOL:
		npu_ref_s8_avgpool(&rl->u.pool, x, y);
		break;
	case NPUI_OP_GAP:
		npu_ref_s8_gap(&rl->u.gap, x, y);
		break;
	case NPUI_OP_ADD:
		npu_ref_s8_add(&rl->u.add, hw * in->c, x, bufs[l->inputs[1]], y);
		break;
	case NPUI_OP_MUL: {
		const struct npui_tensor *b = &g->tensors[l->inputs[1]];

		if ((size_t)b->h * b->w == hw)
			npu_ref_s8_mul(&rl->u.mul, hw * in->c, x, bufs[l->inputs[1]], y);
		else
			npu_ref_s8_mul_bcast(&rl->u.mul, hw, in->c, x, bufs[l->inputs[1]], y);
		break;
	}
	case NPUI_OP_CONCAT: {
		struct npu_ref_concat_input ins[NPUI_MAX_INPUTS];

		for (unsigned k = 0; k < l->num_inputs; k++) {
			ins[k] = rl->u.cat[k];
			ins[k].data = bufs[l->inputs[k]];
		}
		npu_ref_s8_concat(hw, ins, l->num_inputs, ot->c, ot->q.zero_point, y);
		break;
	}
	case NPUI_OP_SHUFFLE:
		npu_ref_s8_shuffle(hw, in->c, l->groups, x, y);
		break;
	case NPUI_OP_SPLIT:
		npu_ref_s8_split(hw, in->c, l->split_begin, ot->c, x, y);
		break;
	case NPUI_OP_LUT:
		npu_ref_s8_lut(rl->u.lut, hw * in->c, x, y);
		break;
	default:
		/* npui_ref_prepare rejected every other op. */
		break;
	}
}
