/*
 * Model files, versions 1 and 2: writer and parser (docs/MODEL_FORMAT.md).
 * Version 2 adds the input-metadata section; the writer uses it exactly
 * when the graph has metadata, so a graph still has one encoding.
 *
 * The parser treats the image as hostile. It checks, in this order: that a
 * header fits, magic, version, declared size, CRC; then the header fields
 * and section table (every offset and size bounds-checked without
 * overflow before anything in the section is read); then each record; and
 * last the whole graph through npui_graph_validate. No allocation is sized
 * by a number that has not been bounded by the file's own length first.
 *
 * The writer emits the one canonical encoding of a graph: fields an op
 * does not use are zero, names are zero-padded, sections follow the header
 * in table order, and blob entries are 16-byte aligned with zero padding.
 * Serializing twice gives identical bytes.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "ir/crc32.h"
#include "ir/graph.h"
#include "ir/model_format.h"

struct span {
	uint64_t off, size;
};

__attribute__((format(printf, 4, 5))) static int fail(char *why, size_t why_len, int code,
                                                      const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return code;
}

uint32_t npui_fmt_file_crc(const uint8_t *data, size_t file_size)
{
	static const uint8_t zero[4];
	uint32_t crc;

	crc = npui_crc32(0, data, NPUI_FMT_HDR_CRC);
	crc = npui_crc32(crc, zero, sizeof(zero));
	return npui_crc32(crc, data + NPUI_FMT_HDR_CRC + 4, file_size - NPUI_FMT_HDR_CRC - 4);
}

static uint64_t align_up(uint64_t n)
{
	return (n + NPUI_FMT_ALIGN - 1) & ~(uint64_t)(NPUI_FMT_ALIGN - 1);
}

/* ---- writer ----------------------------------------------------------- */

/* Copy a name up to its NUL and zero the rest of the field. */
static void put_name(uint8_t *p, const char *name)
{
	size_t n = strnlen(name, NPUI_NAME_MAX - 1);

	memcpy(p, name, n);
	memset(p + n, 0, NPUI_NAME_MAX - n);
}

static void put_span(uint8_t *p, uint64_t off, uint64_t size)
{
	npui_le_put64(p, off);
	npui_le_put64(p + 8, size);
}

static void put_tensor(uint8_t *p, const struct npui_tensor *t)
{
	put_name(p + NPUI_FMT_TEN_NAME, t->name);
	npui_le_puti32(p + NPUI_FMT_TEN_H, t->h);
	npui_le_puti32(p + NPUI_FMT_TEN_W, t->w);
	npui_le_puti32(p + NPUI_FMT_TEN_C, t->c);
	npui_le_putf32(p + NPUI_FMT_TEN_SCALE, t->q.scale);
	npui_le_puti32(p + NPUI_FMT_TEN_ZP, t->q.zero_point);
	/* flags and reserved stay zero (the buffer is calloc'ed) */
}

/* Writes the record and the layer's blob entries at *blob_pos (relative to
 * blob), advancing it. */
static void put_layer(uint8_t *p, const struct npui_graph *g, const struct npui_layer *l,
                      uint8_t *blob, uint64_t *blob_pos)
{
	unsigned uses = npui_op_uses(l->op);
	unsigned k;

	put_name(p + NPUI_FMT_LAY_NAME, l->name);
	npui_le_put16(p + NPUI_FMT_LAY_OP, l->op);
	p[NPUI_FMT_LAY_ACT] = l->act;
	p[NPUI_FMT_LAY_NUM_INPUTS] = l->num_inputs;
	for (k = 0; k < NPUI_MAX_INPUTS; k++)
		npui_le_puti32(p + NPUI_FMT_LAY_INPUTS + 4 * k,
		               k < l->num_inputs ? l->inputs[k] : -1);
	npui_le_puti32(p + NPUI_FMT_LAY_OUTPUT, l->output);
	if (uses & NPUI_USES_WINDOW) {
		npui_le_put16(p + NPUI_FMT_LAY_KH, l->kh);
		npui_le_put16(p + NPUI_FMT_LAY_KW, l->kw);
		npui_le_put16(p + NPUI_FMT_LAY_STRIDE_H, l->stride_h);
		npui_le_put16(p + NPUI_FMT_LAY_STRIDE_W, l->stride_w);
		npui_le_put16(p + NPUI_FMT_LAY_PAD_T, l->pad_t);
		npui_le_put16(p + NPUI_FMT_LAY_PAD_L, l->pad_l);
		npui_le_put16(p + NPUI_FMT_LAY_PAD_B, l->pad_b);
		npui_le_put16(p + NPUI_FMT_LAY_PAD_R, l->pad_r);
	}
	if (uses & NPUI_USES_GROUPS)
		npui_le_put16(p + NPUI_FMT_LAY_GROUPS, l->groups);
	if (uses & NPUI_USES_COUNT_PAD)
		p[NPUI_FMT_LAY_COUNT_PAD] = l->count_include_pad;
	if (uses & NPUI_USES_LUT)
		p[NPUI_FMT_LAY_LUT_FN] = l->lut_fn;
	if (uses & NPUI_USES_SPLIT)
		npui_le_puti32(p + NPUI_FMT_LAY_SPLIT_BEGIN, l->split_begin);
	if (uses & NPUI_USES_WEIGHTS) {
		int32_t c, cout = g->tensors[l->output].c;
		uint64_t vec = 4 * (uint64_t)cout;

		memcpy(blob + *blob_pos, l->weights, l->weights_count);
		put_span(p + NPUI_FMT_LAY_WEIGHTS, *blob_pos, l->weights_count);
		*blob_pos = align_up(*blob_pos + l->weights_count);

		for (c = 0; c < cout; c++)
			npui_le_puti32(blob + *blob_pos + 4 * c, l->bias[c]);
		put_span(p + NPUI_FMT_LAY_BIAS, *blob_pos, vec);
		*blob_pos = align_up(*blob_pos + vec);

		for (c = 0; c < cout; c++)
			npui_le_putf32(blob + *blob_pos + 4 * c, l->w_scale[c]);
		put_span(p + NPUI_FMT_LAY_W_SCALE, *blob_pos, vec);
		*blob_pos = align_up(*blob_pos + vec);
	}
}

static void put_meta(uint8_t *p, const struct npui_input_meta *m)
{
	int c;

	p[NPUI_FMT_META_COLOR] = m->color;
	p[NPUI_FMT_META_RESIZE] = m->resize;
	p[NPUI_FMT_META_LAYOUT] = m->layout;
	for (c = 0; c < NPUI_META_CHANNELS; c++) {
		npui_le_putf32(p + NPUI_FMT_META_MEAN + 4 * c, m->mean[c]);
		npui_le_putf32(p + NPUI_FMT_META_STD + 4 * c, m->std[c]);
	}
	npui_le_putf32(p + NPUI_FMT_META_CROP, m->crop);
	/* reserved0, flags and reserved1 stay zero */
}

static uint64_t blob_bytes(const struct npui_graph *g)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		uint64_t vec;

		if (!(npui_op_uses(l->op) & NPUI_USES_WEIGHTS))
			continue;
		vec = 4 * (uint64_t)g->tensors[l->output].c;
		n += align_up(l->weights_count) + 2 * align_up(vec);
	}
	return n;
}

int npui_model_serialize(const struct npui_graph *g, void **data, size_t *size)
{
	struct span sec[NPUI_FMT_SEC_COUNT2];
	uint64_t file_size, blob_pos = 0, pos;
	uint8_t *buf, *p;
	uint32_t i;
	int rc, s, nsec, hdr;

	if (!g || !data || !size)
		return NPU_ERR_INVALID_ARG;
	rc = npui_graph_validate(g, NULL, 0);
	if (rc)
		return rc;

	/* A valid graph is bounded (65536 records of each kind, weights sized
	 * by dims <= 32768), so none of these sums can wrap 64 bits. */
	nsec = g->has_meta ? NPUI_FMT_SEC_COUNT2 : NPUI_FMT_SEC_COUNT;
	hdr = g->has_meta ? NPUI_FMT_HDR2_SIZE : NPUI_FMT_HDR_SIZE;
	sec[NPUI_FMT_SEC_TENSORS].off = (uint64_t)hdr;
	sec[NPUI_FMT_SEC_TENSORS].size = (uint64_t)g->num_tensors * NPUI_FMT_TEN_SIZE;
	sec[NPUI_FMT_SEC_LAYERS].size = (uint64_t)g->num_layers * NPUI_FMT_LAY_SIZE;
	sec[NPUI_FMT_SEC_BLOB].size = blob_bytes(g);
	sec[NPUI_FMT_SEC_LABELS].size = 4;
	for (i = 0; i < g->num_labels; i++)
		sec[NPUI_FMT_SEC_LABELS].size += 2 + strlen(g->labels[i]);
	sec[NPUI_FMT_SEC_META].size = NPUI_FMT_META_SIZE;
	for (s = 1; s < nsec; s++)
		sec[s].off = align_up(sec[s - 1].off + sec[s - 1].size);
	file_size = sec[nsec - 1].off + sec[nsec - 1].size;
	if (file_size > SIZE_MAX)
		return NPU_ERR_NO_MEM;

	buf = calloc(1, (size_t)file_size);
	if (!buf)
		return NPU_ERR_NO_MEM;

	memcpy(buf + NPUI_FMT_HDR_MAGIC, NPUI_FMT_MAGIC, NPUI_FMT_MAGIC_LEN);
	npui_le_put32(buf + NPUI_FMT_HDR_VERSION,
	              g->has_meta ? NPUI_FMT_VERSION2 : NPUI_FMT_VERSION);
	npui_le_put32(buf + NPUI_FMT_HDR_HEADER_SIZE, (uint32_t)hdr);
	npui_le_put64(buf + NPUI_FMT_HDR_FILE_SIZE, file_size);
	put_name(buf + NPUI_FMT_HDR_NAME, g->name);
	npui_le_put32(buf + NPUI_FMT_HDR_NUM_TENSORS, g->num_tensors);
	npui_le_put32(buf + NPUI_FMT_HDR_NUM_LAYERS, g->num_layers);
	npui_le_puti32(buf + NPUI_FMT_HDR_INPUT, g->input);
	npui_le_puti32(buf + NPUI_FMT_HDR_OUTPUT, g->output);
	for (s = 0; s < nsec; s++)
		put_span(buf + NPUI_FMT_SEC_OFFSET(s), sec[s].off, sec[s].size);

	p = buf + sec[NPUI_FMT_SEC_TENSORS].off;
	for (i = 0; i < g->num_tensors; i++)
		put_tensor(p + (size_t)i * NPUI_FMT_TEN_SIZE, &g->tensors[i]);
	p = buf + sec[NPUI_FMT_SEC_LAYERS].off;
	for (i = 0; i < g->num_layers; i++)
		put_layer(p + (size_t)i * NPUI_FMT_LAY_SIZE, g, &g->layers[i],
		          buf + sec[NPUI_FMT_SEC_BLOB].off, &blob_pos);
	assert(blob_pos == sec[NPUI_FMT_SEC_BLOB].size);

	p = buf + sec[NPUI_FMT_SEC_LABELS].off;
	npui_le_put32(p + NPUI_FMT_LABELS_COUNT, g->num_labels);
	pos = 4;
	for (i = 0; i < g->num_labels; i++) {
		size_t n = strlen(g->labels[i]);

		npui_le_put16(p + pos, (uint16_t)n);
		memcpy(p + pos + 2, g->labels[i], n);
		pos += 2 + n;
	}
	if (g->has_meta)
		put_meta(buf + sec[NPUI_FMT_SEC_META].off, &g->meta);

	npui_le_put32(buf + NPUI_FMT_HDR_CRC, npui_fmt_file_crc(buf, (size_t)file_size));
	*data = buf;
	*size = (size_t)file_size;
	return NPU_OK;
}

/* ---- parser ----------------------------------------------------------- */

struct pctx {
	const uint8_t *base; /* the file image, file_size bytes */
	uint64_t file_size;
	uint32_t version;
	uint32_t hdr_size; /* NPUI_FMT_HDR_SIZE or NPUI_FMT_HDR2_SIZE */
	int nsec;          /* NPUI_FMT_SEC_COUNT or NPUI_FMT_SEC_COUNT2 */
	struct span sec[NPUI_FMT_SEC_COUNT2];
	char *why;
	size_t why_len;
};

static const char *const sec_names[NPUI_FMT_SEC_COUNT2] = {"tensors", "layers", "blob", "labels",
                                                           "metadata"};
static const int sec_errors[NPUI_FMT_SEC_COUNT2] = {
        NPU_ERR_MODEL_TENSOR, NPU_ERR_MODEL_LAYER,    NPU_ERR_MODEL_WEIGHTS,
        NPU_ERR_MODEL_LABELS, NPU_ERR_MODEL_METADATA,
};

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--) {
		if (*p++)
			return false;
	}
	return true;
}

/* NUL-terminated within the field and zero after the NUL: one encoding per
 * name, and nothing hidden in the padding. */
static bool name_field_ok(const uint8_t *p)
{
	const uint8_t *nul = memchr(p, 0, NPUI_NAME_MAX);

	return nul && all_zero(nul, (size_t)(p + NPUI_NAME_MAX - nul));
}

/* [off, off + size) inside [0, limit), without computing off + size. */
static bool span_in(uint64_t off, uint64_t size, uint64_t limit)
{
	return size <= limit && off <= limit - size;
}

static int parse_sections(struct pctx *c)
{
	int s, t;

	for (s = 0; s < c->nsec; s++) {
		struct span *sp = &c->sec[s];

		sp->off = npui_le_get64(c->base + NPUI_FMT_SEC_OFFSET(s));
		sp->size = npui_le_get64(c->base + NPUI_FMT_SEC_SIZE(s));
		if (sp->off % NPUI_FMT_ALIGN)
			return fail(c->why, c->why_len, sec_errors[s],
			            "%s section offset %llu not %d-byte aligned", sec_names[s],
			            (unsigned long long)sp->off, NPUI_FMT_ALIGN);
		if (sp->off < c->hdr_size)
			return fail(c->why, c->why_len, sec_errors[s],
			            "%s section at %llu overlaps the header", sec_names[s],
			            (unsigned long long)sp->off);
		if (!span_in(sp->off, sp->size, c->file_size))
			return fail(c->why, c->why_len, sec_errors[s],
			            "%s section [%llu, +%llu) outside the %llu-byte file",
			            sec_names[s], (unsigned long long)sp->off,
			            (unsigned long long)sp->size, (unsigned long long)c->file_size);
	}
	/* Overlapping sections would let one byte mean two things. */
	for (s = 0; s < c->nsec; s++) {
		for (t = s + 1; t < c->nsec; t++) {
			const struct span *a = &c->sec[s], *b = &c->sec[t];

			if (a->size && b->size && a->off < b->off + b->size &&
			    b->off < a->off + a->size)
				return fail(c->why, c->why_len, sec_errors[t],
				            "%s section overlaps the %s section", sec_names[t],
				            sec_names[s]);
		}
	}
	return NPU_OK;
}

static int parse_tensor(struct pctx *c, uint32_t i, struct npui_tensor *t)
{
	const uint8_t *p =
	        c->base + c->sec[NPUI_FMT_SEC_TENSORS].off + (size_t)i * NPUI_FMT_TEN_SIZE;

	if (!name_field_ok(p + NPUI_FMT_TEN_NAME))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_TENSOR,
		            "tensor %u: name not NUL-terminated and zero-padded", i);
	memcpy(t->name, p + NPUI_FMT_TEN_NAME, NPUI_NAME_MAX);
	if (npui_le_get32(p + NPUI_FMT_TEN_FLAGS) || !all_zero(p + NPUI_FMT_TEN_RESERVED, 8))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_TENSOR,
		            "tensor %u '%s': non-zero flags or reserved bytes", i, t->name);
	/* Ranges: npui_tensor_check, right after. */
	t->h = npui_le_geti32(p + NPUI_FMT_TEN_H);
	t->w = npui_le_geti32(p + NPUI_FMT_TEN_W);
	t->c = npui_le_geti32(p + NPUI_FMT_TEN_C);
	t->q.scale = npui_le_getf32(p + NPUI_FMT_TEN_SCALE);
	t->q.zero_point = npui_le_geti32(p + NPUI_FMT_TEN_ZP);
	return NPU_OK;
}

/* One blob entry of layer i: bounds and alignment; returns its start. */
static int blob_entry(struct pctx *c, uint32_t i, const uint8_t *field, const char *what,
                      uint64_t want_size, const uint8_t **start, uint64_t *size)
{
	const struct span *blob = &c->sec[NPUI_FMT_SEC_BLOB];
	uint64_t off = npui_le_get64(field), n = npui_le_get64(field + 8);

	/* want_size 0: any non-zero size (weights; validation checks it). */
	if (want_size ? n != want_size : n == 0)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_WEIGHTS,
		            "layer %u: %s is %llu bytes, expected %s%llu", i, what,
		            (unsigned long long)n, want_size ? "" : "> ",
		            (unsigned long long)want_size);
	if (off % NPUI_FMT_ALIGN || !span_in(off, n, blob->size))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_WEIGHTS,
		            "layer %u: %s [%llu, +%llu) misaligned or outside the %llu-byte blob",
		            i, what, (unsigned long long)off, (unsigned long long)n,
		            (unsigned long long)blob->size);
	*start = c->base + blob->off + off;
	*size = n;
	return NPU_OK;
}

static int parse_weights(struct pctx *c, uint32_t i, const uint8_t *p, const struct npui_graph *g,
                         struct npui_layer *l)
{
	const uint8_t *src;
	uint64_t n;
	int32_t cout, k;
	int rc;

	/* The bias and scale vectors have no count of their own: it is the
	 * output tensor's C (already range-checked), once the id is. */
	if (l->output < 0 || (uint32_t)l->output >= g->num_tensors)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_GRAPH,
		            "layer %u: output is tensor %d, only %u tensors", i, l->output,
		            g->num_tensors);
	cout = g->tensors[l->output].c;
	assert(cout >= 1 && cout <= NPUI_MAX_DIM); /* npui_tensor_check passed */

	rc = blob_entry(c, i, p + NPUI_FMT_LAY_WEIGHTS, "weights", 0, &src, &n);
	if (rc)
		return rc;
	l->weights = malloc((size_t)n);
	if (!l->weights)
		return fail(c->why, c->why_len, NPU_ERR_NO_MEM, "out of memory");
	memcpy(l->weights, src, (size_t)n);
	l->weights_count = (size_t)n;

	rc = blob_entry(c, i, p + NPUI_FMT_LAY_BIAS, "bias", 4 * (uint64_t)cout, &src, &n);
	if (rc)
		return rc;
	l->bias = malloc(sizeof(*l->bias) * (size_t)cout);
	if (!l->bias)
		return fail(c->why, c->why_len, NPU_ERR_NO_MEM, "out of memory");
	for (k = 0; k < cout; k++)
		l->bias[k] = npui_le_geti32(src + 4 * k);

	rc = blob_entry(c, i, p + NPUI_FMT_LAY_W_SCALE, "w_scale", 4 * (uint64_t)cout, &src, &n);
	if (rc)
		return rc;
	l->w_scale = malloc(sizeof(*l->w_scale) * (size_t)cout);
	if (!l->w_scale)
		return fail(c->why, c->why_len, NPU_ERR_NO_MEM, "out of memory");
	for (k = 0; k < cout; k++)
		l->w_scale[k] = npui_le_getf32(src + 4 * k);
	return NPU_OK;
}

static int parse_layer(struct pctx *c, uint32_t i, const struct npui_graph *g, struct npui_layer *l)
{
	const uint8_t *p =
	        c->base + c->sec[NPUI_FMT_SEC_LAYERS].off + (size_t)i * NPUI_FMT_LAY_SIZE;
	unsigned uses, k;

	if (!name_field_ok(p + NPUI_FMT_LAY_NAME))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LAYER,
		            "layer %u: name not NUL-terminated and zero-padded", i);
	memcpy(l->name, p + NPUI_FMT_LAY_NAME, NPUI_NAME_MAX);
	if (npui_le_get32(p + NPUI_FMT_LAY_FLAGS) || !all_zero(p + NPUI_FMT_LAY_RESERVED0, 4) ||
	    !all_zero(p + NPUI_FMT_LAY_RESERVED1, 8))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': non-zero flags or reserved bytes", i, l->name);
	l->op = npui_le_get16(p + NPUI_FMT_LAY_OP);
	uses = npui_op_uses(l->op);
	if (!uses)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LAYER, "layer %u '%s': unknown op %u",
		            i, l->name, l->op);
	l->act = p[NPUI_FMT_LAY_ACT];
	l->num_inputs = p[NPUI_FMT_LAY_NUM_INPUTS];
	if (l->num_inputs > NPUI_MAX_INPUTS)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': %u inputs, at most %d", i, l->name, l->num_inputs,
		            NPUI_MAX_INPUTS);
	for (k = 0; k < NPUI_MAX_INPUTS; k++) {
		l->inputs[k] = npui_le_geti32(p + NPUI_FMT_LAY_INPUTS + 4 * k);
		if (k >= l->num_inputs && l->inputs[k] != -1)
			return fail(c->why, c->why_len, NPU_ERR_MODEL_LAYER,
			            "layer %u '%s': unused input slot %u is %d, must be -1", i,
			            l->name, k, l->inputs[k]);
	}
	l->output = npui_le_geti32(p + NPUI_FMT_LAY_OUTPUT);
	l->kh = npui_le_get16(p + NPUI_FMT_LAY_KH);
	l->kw = npui_le_get16(p + NPUI_FMT_LAY_KW);
	l->stride_h = npui_le_get16(p + NPUI_FMT_LAY_STRIDE_H);
	l->stride_w = npui_le_get16(p + NPUI_FMT_LAY_STRIDE_W);
	l->pad_t = npui_le_get16(p + NPUI_FMT_LAY_PAD_T);
	l->pad_l = npui_le_get16(p + NPUI_FMT_LAY_PAD_L);
	l->pad_b = npui_le_get16(p + NPUI_FMT_LAY_PAD_B);
	l->pad_r = npui_le_get16(p + NPUI_FMT_LAY_PAD_R);
	l->groups = npui_le_get16(p + NPUI_FMT_LAY_GROUPS);
	l->count_include_pad = p[NPUI_FMT_LAY_COUNT_PAD];
	l->lut_fn = p[NPUI_FMT_LAY_LUT_FN];
	l->split_begin = npui_le_geti32(p + NPUI_FMT_LAY_SPLIT_BEGIN);

	if ((!(uses & NPUI_USES_WINDOW) &&
	     !all_zero(p + NPUI_FMT_LAY_KH, NPUI_FMT_LAY_GROUPS - NPUI_FMT_LAY_KH)) ||
	    (!(uses & NPUI_USES_GROUPS) && l->groups) ||
	    (!(uses & NPUI_USES_COUNT_PAD) && l->count_include_pad) ||
	    (!(uses & NPUI_USES_LUT) && l->lut_fn) || (!(uses & NPUI_USES_SPLIT) && l->split_begin))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': a parameter op %u does not use is non-zero", i, l->name,
		            l->op);

	if (uses & NPUI_USES_WEIGHTS)
		return parse_weights(c, i, p, g, l);
	if (!all_zero(p + NPUI_FMT_LAY_WEIGHTS, NPUI_FMT_LAY_RESERVED1 - NPUI_FMT_LAY_WEIGHTS))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_WEIGHTS,
		            "layer %u '%s': op %u has no weights but the record points at some", i,
		            l->name, l->op);
	return NPU_OK;
}

static int parse_labels(struct pctx *c, struct npui_graph *g)
{
	const uint8_t *p = c->base + c->sec[NPUI_FMT_SEC_LABELS].off;
	uint64_t size = c->sec[NPUI_FMT_SEC_LABELS].size, pos;
	uint32_t count, i;

	if (size < 4)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
		            "labels section is %llu bytes, needs at least 4",
		            (unsigned long long)size);
	count = npui_le_get32(p + NPUI_FMT_LABELS_COUNT);
	/* Each label takes at least its 2-byte length: bound the count by
	 * the section before allocating for it. */
	if (count > NPUI_MAX_LABELS || count > (size - 4) / 2)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
		            "%u labels do not fit a %llu-byte section (limit %d)", count,
		            (unsigned long long)size, NPUI_MAX_LABELS);
	pos = 4;
	if (count) {
		g->labels = calloc(count, sizeof(*g->labels));
		if (!g->labels)
			return fail(c->why, c->why_len, NPU_ERR_NO_MEM, "out of memory");
		g->num_labels = count;
	}
	for (i = 0; i < count; i++) {
		size_t n;

		if (size - pos < 2)
			return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
			            "label %u: length runs past the section end", i);
		n = npui_le_get16(p + pos);
		pos += 2;
		if (n > NPUI_MAX_LABEL_LEN)
			return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
			            "label %u: %zu bytes, at most %d", i, n, NPUI_MAX_LABEL_LEN);
		if (size - pos < n)
			return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
			            "label %u: %zu bytes run past the section end", i, n);
		if (memchr(p + pos, 0, n))
			return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
			            "label %u: contains a NUL byte", i);
		g->labels[i] = malloc(n + 1);
		if (!g->labels[i])
			return fail(c->why, c->why_len, NPU_ERR_NO_MEM, "out of memory");
		memcpy(g->labels[i], p + pos, n);
		g->labels[i][n] = '\0';
		pos += n;
	}
	if (pos != size)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_LABELS,
		            "%llu bytes after the last label", (unsigned long long)(size - pos));
	return NPU_OK;
}

/* The metadata record (version 2). Its values are checked with the graph
 * (npui_graph_validate: they depend on the input tensor's C). */
static int parse_meta(struct pctx *c, struct npui_graph *g)
{
	const uint8_t *p = c->base + c->sec[NPUI_FMT_SEC_META].off;
	int k;

	if (c->sec[NPUI_FMT_SEC_META].size != NPUI_FMT_META_SIZE)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_METADATA,
		            "metadata section is %llu bytes, must be %d",
		            (unsigned long long)c->sec[NPUI_FMT_SEC_META].size, NPUI_FMT_META_SIZE);
	if (p[NPUI_FMT_META_RESERVED0] || npui_le_get32(p + NPUI_FMT_META_FLAGS) ||
	    !all_zero(p + NPUI_FMT_META_RESERVED1, NPUI_FMT_META_SIZE - NPUI_FMT_META_RESERVED1))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_METADATA,
		            "metadata flags or reserved bytes non-zero");
	g->has_meta = 1;
	g->meta.color = p[NPUI_FMT_META_COLOR];
	g->meta.resize = p[NPUI_FMT_META_RESIZE];
	g->meta.layout = p[NPUI_FMT_META_LAYOUT];
	for (k = 0; k < NPUI_META_CHANNELS; k++) {
		g->meta.mean[k] = npui_le_getf32(p + NPUI_FMT_META_MEAN + 4 * k);
		g->meta.std[k] = npui_le_getf32(p + NPUI_FMT_META_STD + 4 * k);
	}
	g->meta.crop = npui_le_getf32(p + NPUI_FMT_META_CROP);
	return NPU_OK;
}

/* Magic, version, size and CRC: whether this is an intact file at all. */
static int check_envelope(struct pctx *c, const uint8_t *d, size_t size)
{
	uint32_t version, crc;
	uint64_t file_size;

	if (size < NPUI_FMT_HDR_SIZE)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_TRUNCATED,
		            "%zu bytes, a header needs %d", size, NPUI_FMT_HDR_SIZE);
	if (memcmp(d + NPUI_FMT_HDR_MAGIC, NPUI_FMT_MAGIC, NPUI_FMT_MAGIC_LEN))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_MAGIC, "not an lwnpu model (magic)");
	version = npui_le_get32(d + NPUI_FMT_HDR_VERSION);
	if (version != NPUI_FMT_VERSION && version != NPUI_FMT_VERSION2)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_VERSION,
		            "format version %u, this library reads %d and %d", version,
		            NPUI_FMT_VERSION, NPUI_FMT_VERSION2);
	c->version = version;
	c->hdr_size = version == NPUI_FMT_VERSION ? NPUI_FMT_HDR_SIZE : NPUI_FMT_HDR2_SIZE;
	c->nsec = version == NPUI_FMT_VERSION ? NPUI_FMT_SEC_COUNT : NPUI_FMT_SEC_COUNT2;
	if (size < c->hdr_size)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_TRUNCATED,
		            "%zu bytes, a version %u header needs %u", size, version, c->hdr_size);
	file_size = npui_le_get64(d + NPUI_FMT_HDR_FILE_SIZE);
	if (file_size > size || file_size < c->hdr_size)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_TRUNCATED,
		            "header declares %llu bytes, have %zu", (unsigned long long)file_size,
		            size);
	/* Over the declared size: a corrupted (smaller) size field then
	 * shows up as a CRC mismatch, not as trailing garbage. */
	crc = npui_fmt_file_crc(d, (size_t)file_size);
	if (crc != npui_le_get32(d + NPUI_FMT_HDR_CRC))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_CHECKSUM,
		            "CRC-32 %08x, header says %08x", crc,
		            npui_le_get32(d + NPUI_FMT_HDR_CRC));
	if (file_size != size)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_GRAPH,
		            "%llu bytes after the declared end of file",
		            (unsigned long long)(size - file_size));
	c->base = d;
	c->file_size = file_size;
	return NPU_OK;
}

static int check_header(struct pctx *c)
{
	const uint8_t *d = c->base;
	uint32_t hs = npui_le_get32(d + NPUI_FMT_HDR_HEADER_SIZE);

	if (hs != c->hdr_size)
		return fail(c->why, c->why_len, NPU_ERR_MODEL_VERSION,
		            "header size %u, version %u headers are %u", hs, c->version,
		            c->hdr_size);
	/* reserved1 ends the header: after the 4 or 5 section entries. */
	if (npui_le_get32(d + NPUI_FMT_HDR_FLAGS) || !all_zero(d + NPUI_FMT_HDR_RESERVED0, 8) ||
	    !all_zero(d + c->hdr_size - 8, 8))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_GRAPH,
		            "header flags or reserved bytes non-zero");
	if (!name_field_ok(d + NPUI_FMT_HDR_NAME))
		return fail(c->why, c->why_len, NPU_ERR_MODEL_GRAPH,
		            "graph name not NUL-terminated and zero-padded");
	return NPU_OK;
}

int npui_model_has_magic(const void *data, size_t size)
{
	return size >= NPUI_FMT_MAGIC_LEN && !memcmp(data, NPUI_FMT_MAGIC, NPUI_FMT_MAGIC_LEN);
}

int npui_model_parse(const void *data, size_t size, struct npui_graph **out, char *why,
                     size_t why_len)
{
	struct pctx c = {.why = why, .why_len = why_len};
	struct npui_graph *g;
	uint32_t nt, nl, i;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!out || (!data && size))
		return fail(why, why_len, NPU_ERR_INVALID_ARG, "NULL argument");
	rc = check_envelope(&c, data, size);
	if (rc)
		return rc;
	rc = check_header(&c);
	if (rc)
		return rc;
	rc = parse_sections(&c);
	if (rc)
		return rc;

	nt = npui_le_get32(c.base + NPUI_FMT_HDR_NUM_TENSORS);
	nl = npui_le_get32(c.base + NPUI_FMT_HDR_NUM_LAYERS);
	if (nt < 1 || nt > NPUI_MAX_TENSORS ||
	    c.sec[NPUI_FMT_SEC_TENSORS].size != (uint64_t)nt * NPUI_FMT_TEN_SIZE)
		return fail(why, why_len, NPU_ERR_MODEL_TENSOR,
		            "%u tensors (limit %d) in a %llu-byte section", nt, NPUI_MAX_TENSORS,
		            (unsigned long long)c.sec[NPUI_FMT_SEC_TENSORS].size);
	if (nl < 1 || nl > NPUI_MAX_LAYERS ||
	    c.sec[NPUI_FMT_SEC_LAYERS].size != (uint64_t)nl * NPUI_FMT_LAY_SIZE)
		return fail(why, why_len, NPU_ERR_MODEL_LAYER,
		            "%u layers (limit %d) in a %llu-byte section", nl, NPUI_MAX_LAYERS,
		            (unsigned long long)c.sec[NPUI_FMT_SEC_LAYERS].size);

	g = calloc(1, sizeof(*g));
	if (!g)
		return fail(why, why_len, NPU_ERR_NO_MEM, "out of memory");
	memcpy(g->name, c.base + NPUI_FMT_HDR_NAME, NPUI_NAME_MAX);
	g->input = npui_le_geti32(c.base + NPUI_FMT_HDR_INPUT);
	g->output = npui_le_geti32(c.base + NPUI_FMT_HDR_OUTPUT);
	/* Counts are set with their arrays so npui_graph_free can undo any
	 * partial parse. */
	g->tensors = calloc(nt, sizeof(*g->tensors));
	g->layers = calloc(nl, sizeof(*g->layers));
	if (!g->tensors || !g->layers) {
		rc = fail(why, why_len, NPU_ERR_NO_MEM, "out of memory");
		goto err_free_graph;
	}
	g->num_tensors = nt;
	g->num_layers = nl;

	/* Tensors are fully checked here, not only in the final validation:
	 * a layer's output C sizes its bias and scale vectors. */
	for (i = 0; i < nt; i++) {
		rc = parse_tensor(&c, i, &g->tensors[i]);
		if (!rc)
			rc = npui_tensor_check(&g->tensors[i], i, why, why_len);
		if (rc)
			goto err_free_graph;
	}
	for (i = 0; i < nl; i++) {
		rc = parse_layer(&c, i, g, &g->layers[i]);
		if (rc)
			goto err_free_graph;
	}
	rc = parse_labels(&c, g);
	if (rc)
		goto err_free_graph;
	if (c.version == NPUI_FMT_VERSION2) {
		rc = parse_meta(&c, g);
		if (rc)
			goto err_free_graph;
	}

	rc = npui_graph_validate(g, why, why_len);
	if (rc)
		goto err_free_graph;
	*out = g;
	return NPU_OK;

err_free_graph:
	npui_graph_free(g);
	return rc;
}
