/*
 * ONNX importer, part 1: the value table, error reporting, TensorProto
 * decoding, attributes, and the evaluator that folds constant subgraphs
 * (the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains that
 * torch.onnx.export writes for view() and flatten()).
 *
 * Constants are held as double whatever their ONNX type: exact for every
 * float32 and for integers below 2^53, which covers shapes and indices.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "compile/import.h"

/* ---- errors ------------------------------------------------------------- */

static const char *node_label(const struct imp *ip, char *buf, size_t len)
{
	const Onnx__NodeProto *n = ip->node;

	if (n->name && n->name[0])
		return n->name;
	if (n->n_output && n->output[0] && n->output[0][0])
		return n->output[0];
	snprintf(buf, len, "#%u", ip->node_index);
	return buf;
}

static int vfail(struct imp *ip, int status, const char *mid, const char *fmt, va_list ap)
{
	char msg[200], nb[16];

	if (ip->err)
		return ip->err;
	ip->err = status;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (ip->node)
		snprintf(ip->why, sizeof(ip->why), "node '%s' (%s): %s%s%s",
		         node_label(ip, nb, sizeof(nb)),
		         ip->node->op_type ? ip->node->op_type : "?", mid,
		         mid[0] && msg[0] ? ": " : "", msg);
	else
		snprintf(ip->why, sizeof(ip->why), "%s", msg);
	return status;
}

int imp_fail(struct imp *ip, int status, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ip, status, "", fmt, ap);
	va_end(ap);
	return rc;
}

int imp_unsupported(struct imp *ip, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ip, NPU_ERR_NOT_SUPPORTED, "not supported by lwnpu", fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- value table -------------------------------------------------------- */

static uint64_t name_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	while (*s)
		h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
	return h;
}

static int rehash(struct imp *ip, size_t nslot)
{
	int32_t *slot = malloc(nslot * sizeof(*slot));
	size_t i;

	if (!slot)
		return -1;
	for (i = 0; i < nslot; i++)
		slot[i] = -1;
	for (i = 0; i < ip->nv; i++) {
		size_t k = name_hash(ip->v[i].name) & (nslot - 1);

		while (slot[k] >= 0)
			k = (k + 1) & (nslot - 1);
		slot[k] = (int32_t)i;
	}
	free(ip->slot);
	ip->slot = slot;
	ip->nslot = nslot;
	return 0;
}

struct cv *imp_find(struct imp *ip, const char *name)
{
	size_t k;

	if (!ip->nslot)
		return NULL;
	for (k = name_hash(name) & (ip->nslot - 1); ip->slot[k] >= 0; k = (k + 1) & (ip->nslot - 1))
		if (!strcmp(ip->v[ip->slot[k]].name, name))
			return &ip->v[ip->slot[k]];
	return NULL;
}

struct cv *imp_value(struct imp *ip, const char *name)
{
	struct cv *c = imp_find(ip, name);

	if (c)
		return c;
	if (ip->nv == ip->capv) {
		size_t cap = ip->capv ? 2 * ip->capv : 256;
		void *nv = realloc(ip->v, cap * sizeof(*ip->v));

		if (!nv)
			return NULL;
		ip->v = nv;
		ip->capv = cap;
	}
	if (2 * (ip->nv + 1) > ip->nslot && rehash(ip, ip->nslot ? 2 * ip->nslot : 512))
		return NULL;
	c = &ip->v[ip->nv];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->first_consumer = -1;
	c->t = -1;
	{
		size_t k = name_hash(name) & (ip->nslot - 1);

		while (ip->slot[k] >= 0)
			k = (k + 1) & (ip->nslot - 1);
		ip->slot[k] = (int32_t)ip->nv++;
	}
	return c;
}

struct cv *imp_input(struct imp *ip, const Onnx__NodeProto *n, size_t k)
{
	if (k >= n->n_input || !n->input[k] || !n->input[k][0])
		return NULL;
	return imp_find(ip, n->input[k]);
}

struct cv *imp_output(struct imp *ip, const Onnx__NodeProto *n, size_t k)
{
	struct cv *c;

	if (k >= n->n_output || !n->output[k] || !n->output[k][0]) {
		imp_fail(ip, NPU_ERR_INVALID_ARG, "output %zu missing", k);
		return NULL;
	}
	c = imp_value(ip, n->output[k]);
	if (!c) {
		imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		return NULL;
	}
	if (c->kind != CV_UNDEF) {
		imp_fail(ip, NPU_ERR_INVALID_ARG, "output '%s' is produced twice", c->name);
		return NULL;
	}
	return c;
}

/* ---- constants ------------------------------------------------------------ */

void imp_const_free(struct cv *c)
{
	free(c->d);
	free(c->qscale);
	c->d = NULL;
	c->qscale = NULL;
	c->nqscale = 0;
}

int imp_const_alloc(struct imp *ip, struct cv *out, int ndim, const int64_t *dims, int is_int)
{
	uint64_t n = 1;
	int k;

	if (ndim < 0 || ndim > NPUC_MAX_DIMS)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "'%s': rank %d exceeds %d", out->name,
		                ndim, NPUC_MAX_DIMS);
	for (k = 0; k < ndim; k++) {
		if (dims[k] < 0 || (dims[k] > 0 && n > NPUC_MAX_ELEMENTS / (uint64_t)dims[k]))
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "'%s': bad or huge dimensions",
			                out->name);
		n *= (uint64_t)dims[k];
	}
	imp_const_free(out);
	out->kind = CV_CONST;
	out->ndim = ndim;
	for (k = 0; k < ndim; k++)
		out->dims[k] = dims[k];
	out->count = (size_t)n;
	out->is_int = is_int;
	out->dtype = is_int ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64
	                    : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	out->d = calloc(n ? (size_t)n : 1, sizeof(double));
	if (!out->d)
		return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
	return NPU_OK;
}

static size_t dtype_width(int32_t t)
{
	switch (t) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
		return 4;
	case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
		return 8;
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
		return 1;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
		return 2;
	default:
		return 0;
	}
}

/* One little-endian element of raw_data. */
static double raw_value(int32_t t, const uint8_t *p)
{
	uint64_t u = 0;
	size_t w = dtype_width(t), k;

	for (k = w; k > 0; k--)
		u = u << 8 | p[k - 1];
	switch (t) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
		uint32_t b = (uint32_t)u;
		float f;

		memcpy(&f, &b, 4);
		return f;
	}
	case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
		double f;

		memcpy(&f, &u, 8);
		return f;
	}
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
		return (int8_t)u;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
		return (int16_t)u;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
		return (int32_t)u;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
		return (double)(int64_t)u;
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
		return u != 0;
	default: /* UINT8, UINT16 */
		return (double)u;
	}
}

static int is_float_type(int32_t t)
{
	return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
	       t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
}

int imp_const_from_proto(struct imp *ip, struct cv *out, const Onnx__TensorProto *tp)
{
	int32_t t = tp->has_data_type ? tp->data_type : 0;
	size_t w = dtype_width(t), n, k;
	int rc;

	if (!w)
		return imp_fail(ip, NPU_ERR_NOT_SUPPORTED,
		                "tensor '%s': data type %d not supported", out->name, (int)t);
	if (tp->n_external_data ||
	    (tp->has_data_location &&
	     tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
		return imp_fail(ip, NPU_ERR_NOT_SUPPORTED,
		                "tensor '%s': external data files are not supported", out->name);
	if (tp->n_dims > NPUC_MAX_DIMS)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "tensor '%s': rank %zu exceeds %d",
		                out->name, tp->n_dims, NPUC_MAX_DIMS);
	rc = imp_const_alloc(ip, out, (int)tp->n_dims, tp->dims, !is_float_type(t));
	if (rc)
		return rc;
	out->dtype = t;
	n = out->count;
	if (tp->has_raw_data && tp->raw_data.len) {
		if (tp->raw_data.len != n * w)
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "tensor '%s': raw_data has %zu bytes, its dims need %zu",
			                out->name, tp->raw_data.len, n * w);
		for (k = 0; k < n; k++)
			out->d[k] = raw_value(t, tp->raw_data.data + k * w);
	} else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
		if (tp->n_float_data != n)
			goto count_mismatch;
		for (k = 0; k < n; k++)
			out->d[k] = tp->float_data[k];
	} else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
		if (tp->n_double_data != n)
			goto count_mismatch;
		for (k = 0; k < n; k++)
			out->d[k] = tp->double_data[k];
	} else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
		if (tp->n_int64_data != n)
			goto count_mismatch;
		for (k = 0; k < n; k++)
			out->d[k] = (double)tp->int64_data[k];
	} else {
		if (tp->n_int32_data != n)
			goto count_mismatch;
		for (k = 0; k < n; k++) {
			int32_t v = tp->int32_data[k];

			switch (t) {
			case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
				out->d[k] = (uint8_t)v;
				break;
			case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
				out->d[k] = (int8_t)v;
				break;
			case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
				out->d[k] = (uint16_t)v;
				break;
			case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
				out->d[k] = (int16_t)v;
				break;
			case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
				out->d[k] = v != 0;
				break;
			default:
				out->d[k] = v;
			}
		}
	}
	for (k = 0; k < n; k++)
		if (!isfinite(out->d[k]))
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "tensor '%s' holds NaN or infinity", out->name);
	return NPU_OK;

count_mismatch:
	return imp_fail(ip, NPU_ERR_INVALID_ARG,
	                "tensor '%s': element count does not match its dims (%zu)", out->name, n);
}

/* ---- attributes ------------------------------------------------------------ */

const Onnx__AttributeProto *imp_attr(const Onnx__NodeProto *n, const char *name)
{
	size_t k;

	for (k = 0; k < n->n_attribute; k++)
		if (n->attribute[k] && n->attribute[k]->name &&
		    !strcmp(n->attribute[k]->name, name))
			return n->attribute[k];
	return NULL;
}

int64_t imp_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = imp_attr(n, name);

	return a && a->has_i ? a->i : def;
}

float imp_attr_float(const Onnx__NodeProto *n, const char *name, float def)
{
	const Onnx__AttributeProto *a = imp_attr(n, name);

	return a && a->has_f ? a->f : def;
}

const int64_t *imp_attr_ints(const Onnx__NodeProto *n, const char *name, size_t *count)
{
	const Onnx__AttributeProto *a = imp_attr(n, name);

	*count = a ? a->n_ints : 0;
	return a && a->n_ints ? a->ints : NULL;
}

/* ---- shapes ------------------------------------------------------------------ */

int imp_shape_of(struct imp *ip, const struct cv *v, int64_t *dims, int *ndim)
{
	const struct npui_tensor *t;
	int k;

	if (v->kind == CV_CONST) {
		*ndim = v->ndim;
		for (k = 0; k < v->ndim; k++)
			dims[k] = v->dims[k];
		return NPU_OK;
	}
	if (v->kind == CV_UNDEF || v->t < 0)
		return imp_fail(ip, NPU_ERR_INTERNAL, "'%s' has no shape", v->name);
	t = &zb_graph(ip->b)->tensors[v->t];
	dims[0] = 1;
	switch (v->kind) {
	case CV_FLAT:
		*ndim = 2;
		dims[1] = (int64_t)t->h * t->w * t->c;
		break;
	case CV_SHUF5:
	case CV_SHUF5T:
		*ndim = 5;
		dims[1] = v->kind == CV_SHUF5 ? v->groups : t->c / v->groups;
		dims[2] = v->kind == CV_SHUF5 ? t->c / v->groups : v->groups;
		dims[3] = t->h;
		dims[4] = t->w;
		break;
	default:
		*ndim = 4;
		dims[1] = t->c;
		dims[2] = t->h + v->pad[0] + v->pad[2]; /* a folded Pad's zeros */
		dims[3] = t->w + v->pad[1] + v->pad[3];
	}
	return NPU_OK;
}

/* ---- constant evaluation ------------------------------------------------------- */

static size_t strides_of(int ndim, const int64_t *dims, size_t *st)
{
	size_t s = 1;
	int k;

	for (k = ndim - 1; k >= 0; k--) {
		st[k] = s;
		s *= (size_t)dims[k];
	}
	return s;
}

/* Normalize an axis for rank r; -1 when out of range. */
static int norm_axis(int64_t a, int r)
{
	if (a < 0)
		a += r;
	return a < 0 || a >= r ? -1 : (int)a;
}

static struct cv *out0(struct imp *ip, const Onnx__NodeProto *n)
{
	return imp_output(ip, n, 0);
}

/* Output 0 as a constant of the given shape. */
static struct cv *new_const(struct imp *ip, const Onnx__NodeProto *n, int ndim, const int64_t *dims,
                            int is_int)
{
	struct cv *o = out0(ip, n);

	if (!o || imp_const_alloc(ip, o, ndim, dims, is_int))
		return NULL;
	return o;
}

static int need_const(struct imp *ip, const Onnx__NodeProto *n, size_t k, struct cv **c)
{
	*c = imp_input(ip, n, k);
	if (!*c || (*c)->kind != CV_CONST)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "input %zu must be a constant", k);
	return NPU_OK;
}

static double binop(const char *op, double a, double b, int is_int)
{
	if (!strcmp(op, "Add"))
		return a + b;
	if (!strcmp(op, "Sub"))
		return a - b;
	if (!strcmp(op, "Mul"))
		return a * b;
	if (!strcmp(op, "Pow"))
		return pow(a, b);
	/* Div: integer division truncates, as onnxruntime does. */
	if (is_int)
		return b != 0 ? trunc(a / b) : 0;
	return a / b;
}

static int eval_binary(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *a, *b, *o;
	int64_t dims[NPUC_MAX_DIMS];
	size_t sa[NPUC_MAX_DIMS], sb[NPUC_MAX_DIMS], so[NPUC_MAX_DIMS], i;
	size_t ta[NPUC_MAX_DIMS], tb[NPUC_MAX_DIMS];
	int r, k;

	if (need_const(ip, n, 0, &a) || need_const(ip, n, 1, &b))
		return ip->err;
	r = a->ndim > b->ndim ? a->ndim : b->ndim;
	for (k = 0; k < r; k++) {
		int ka = k - (r - a->ndim), kb = k - (r - b->ndim);
		int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;

		if (da != db && da != 1 && db != 1)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "shapes do not broadcast");
		dims[k] = da == 1 ? db : da;
	}
	strides_of(a->ndim, a->dims, ta);
	strides_of(b->ndim, b->dims, tb);
	for (k = 0; k < r; k++) {
		int ka = k - (r - a->ndim), kb = k - (r - b->ndim);

		sa[k] = ka >= 0 && a->dims[ka] != 1 ? ta[ka] : 0;
		sb[k] = kb >= 0 && b->dims[kb] != 1 ? tb[kb] : 0;
	}
	o = new_const(ip, n, r, dims, a->is_int && b->is_int);
	if (!o)
		return ip->err;
	strides_of(r, dims, so);
	for (i = 0; i < o->count; i++) {
		size_t rem = i, ia = 0, ib = 0;

		for (k = 0; k < r; k++) {
			size_t idx = rem / so[k];

			rem %= so[k];
			ia += idx * sa[k];
			ib += idx * sb[k];
		}
		o->d[i] = binop(n->op_type, a->d[ia], b->d[ib], o->is_int);
	}
	return NPU_OK;
}

static int eval_unary(struct imp *ip, const Onnx__NodeProto *n)
{
	const char *op = n->op_type;
	struct cv *a, *o;
	size_t i;

	if (need_const(ip, n, 0, &a))
		return ip->err;
	o = new_const(ip, n, a->ndim, a->dims, a->is_int);
	if (!o)
		return ip->err;
	for (i = 0; i < a->count; i++) {
		double x = a->d[i];

		if (!strcmp(op, "Floor"))
			x = floor(x);
		else if (!strcmp(op, "Ceil"))
			x = ceil(x);
		else if (!strcmp(op, "Neg"))
			x = -x;
		else if (!strcmp(op, "Sqrt"))
			x = sqrt(x);
		else if (!strcmp(op, "Reciprocal"))
			x = 1.0 / x;
		o->d[i] = x;
	}
	return NPU_OK;
}

static int copy_const(struct imp *ip, const Onnx__NodeProto *n, const struct cv *a, int ndim,
                      const int64_t *dims)
{
	struct cv *o = new_const(ip, n, ndim, dims, a->is_int);

	if (!o)
		return ip->err;
	if (o->count != a->count)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "element count changes");
	memcpy(o->d, a->d, a->count * sizeof(double));
	o->dtype = a->dtype;
	return NPU_OK;
}

static int eval_cast(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t to = imp_attr_int(n, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
	struct cv *a, *o;
	size_t i;

	if (need_const(ip, n, 0, &a))
		return ip->err;
	if (!dtype_width((int32_t)to))
		return imp_unsupported(ip, "cast to data type %lld", (long long)to);
	o = new_const(ip, n, a->ndim, a->dims, !is_float_type((int32_t)to));
	if (!o)
		return ip->err;
	o->dtype = (int)to;
	for (i = 0; i < a->count; i++) {
		double x = a->d[i];

		if (to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
			x = x != 0;
		else if (o->is_int)
			x = trunc(x);
		else if (to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
			x = (float)x;
		o->d[i] = x;
	}
	return NPU_OK;
}

/* Axes from input k (opset >= 13) or the "axes" attribute. Returns the
 * count, or -1 after an error. */
static int get_axes(struct imp *ip, const Onnx__NodeProto *n, size_t k, int64_t *axes, int max)
{
	struct cv *c = imp_input(ip, n, k);
	const int64_t *a;
	size_t cnt, i;

	if (c) {
		if (c->kind != CV_CONST || c->count > (size_t)max) {
			imp_fail(ip, NPU_ERR_INVALID_ARG, "axes must be a constant of <= %d values",
			         max);
			return -1;
		}
		for (i = 0; i < c->count; i++)
			axes[i] = imp_i64(c->d[i]);
		return (int)c->count;
	}
	a = imp_attr_ints(n, "axes", &cnt);
	if (cnt > (size_t)max) {
		imp_fail(ip, NPU_ERR_INVALID_ARG, "too many axes");
		return -1;
	}
	for (i = 0; i < cnt; i++)
		axes[i] = a[i];
	return (int)cnt;
}

static int eval_unsqueeze(struct imp *ip, const Onnx__NodeProto *n, int squeeze)
{
	int64_t axes[NPUC_MAX_DIMS], dims[NPUC_MAX_DIMS];
	int na, r, k, j, nd = 0;
	int mark[NPUC_MAX_DIMS] = {0};
	struct cv *a;

	if (need_const(ip, n, 0, &a))
		return ip->err;
	na = get_axes(ip, n, 1, axes, NPUC_MAX_DIMS);
	if (na < 0)
		return ip->err;
	r = squeeze ? a->ndim : a->ndim + na;
	if (r > NPUC_MAX_DIMS)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "rank too large");
	for (k = 0; k < na; k++) {
		int ax = norm_axis(axes[k], r);

		if (ax < 0 || mark[ax] || (squeeze && a->dims[ax] != 1))
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad axis %lld",
			                (long long)axes[k]);
		mark[ax] = 1;
	}
	if (squeeze) {
		for (k = 0; k < r; k++)
			if (!(na ? mark[k] : a->dims[k] == 1))
				dims[nd++] = a->dims[k];
	} else {
		for (k = 0, j = 0; k < r; k++)
			dims[nd++] = mark[k] ? 1 : a->dims[j++];
	}
	return copy_const(ip, n, a, nd, dims);
}

static int eval_concat(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t dims[NPUC_MAX_DIMS];
	struct cv *a, *o;
	size_t k, outer = 1, pos = 0, i;
	int ax, j;

	if (!n->n_input || need_const(ip, n, 0, &a))
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "needs constant inputs");
	ax = norm_axis(imp_attr_int(n, "axis", 0), a->ndim);
	if (ax < 0)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad axis");
	for (j = 0; j < a->ndim; j++)
		dims[j] = a->dims[j];
	dims[ax] = 0;
	for (k = 0; k < n->n_input; k++) {
		struct cv *c;

		if (need_const(ip, n, k, &c))
			return ip->err;
		if (c->ndim != a->ndim)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "ranks differ");
		for (j = 0; j < a->ndim; j++)
			if (j != ax && c->dims[j] != a->dims[j])
				return imp_fail(ip, NPU_ERR_INVALID_ARG, "shapes differ");
		dims[ax] += c->dims[ax];
	}
	o = new_const(ip, n, a->ndim, dims, a->is_int);
	if (!o)
		return ip->err;
	for (j = 0; j < ax; j++)
		outer *= (size_t)dims[j];
	for (i = 0; i < outer; i++) {
		for (k = 0; k < n->n_input; k++) {
			struct cv *c = imp_input(ip, n, k);
			size_t chunk = outer ? c->count / outer : 0;

			memcpy(o->d + pos, c->d + i * chunk, chunk * sizeof(double));
			pos += chunk;
		}
	}
	return NPU_OK;
}

static int eval_gather(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t dims[NPUC_MAX_DIMS];
	struct cv *a, *idx, *o;
	size_t outer = 1, inner = 1, i, j;
	int ax, r, k, nd = 0;

	if (need_const(ip, n, 0, &a) || need_const(ip, n, 1, &idx))
		return ip->err;
	ax = norm_axis(imp_attr_int(n, "axis", 0), a->ndim);
	r = a->ndim - 1 + idx->ndim;
	if (ax < 0 || r > NPUC_MAX_DIMS)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad axis or rank");
	for (k = 0; k < ax; k++) {
		dims[nd++] = a->dims[k];
		outer *= (size_t)a->dims[k];
	}
	for (k = 0; k < idx->ndim; k++)
		dims[nd++] = idx->dims[k];
	for (k = ax + 1; k < a->ndim; k++) {
		dims[nd++] = a->dims[k];
		inner *= (size_t)a->dims[k];
	}
	o = new_const(ip, n, nd, dims, a->is_int);
	if (!o)
		return ip->err;
	for (i = 0; i < outer; i++) {
		for (j = 0; j < idx->count; j++) {
			int64_t x = imp_i64(idx->d[j]);

			if (x < 0)
				x += a->dims[ax];
			if (x < 0 || x >= a->dims[ax])
				return imp_fail(ip, NPU_ERR_INVALID_ARG, "index %lld out of range",
				                (long long)idx->d[j]);
			memcpy(o->d + (i * idx->count + j) * inner,
			       a->d + (i * (size_t)a->dims[ax] + (size_t)x) * inner,
			       inner * sizeof(double));
		}
	}
	return NPU_OK;
}

/*
 * Slice parameters for one axis of size d, ONNX rules: negative starts and
 * ends count from the end, then clamp ([0, d] for step > 0, [-1, d-1] for
 * step < 0). Returns the number of elements.
 */
static int64_t slice_axis(int64_t d, int64_t st, int64_t en, int64_t step, int64_t *start)
{
	if (st < 0)
		st += d;
	if (en < 0)
		en += d;
	if (step > 0) {
		st = st < 0 ? 0 : (st > d ? d : st);
		en = en < 0 ? 0 : (en > d ? d : en);
		*start = st;
		return en > st ? (en - st + step - 1) / step : 0;
	}
	st = st < 0 ? -1 : (st > d - 1 ? d - 1 : st);
	en = en < -1 ? -1 : (en > d - 1 ? d - 1 : en);
	*start = st;
	return st > en ? (st - en - step - 1) / -step : 0;
}

int imp_slice_params(struct imp *ip, const Onnx__NodeProto *n, int ndim, const int64_t *dims,
                     int64_t *start, int64_t *step, int64_t *size)
{
	int64_t st[NPUC_MAX_DIMS], en[NPUC_MAX_DIMS], ax[NPUC_MAX_DIMS], sp[NPUC_MAX_DIMS];
	int cnt, k;
	size_t i, c;

	if (n->n_input >= 3) {
		struct cv *cs, *ce, *ca = imp_input(ip, n, 3), *cp = imp_input(ip, n, 4);

		if (need_const(ip, n, 1, &cs) || need_const(ip, n, 2, &ce))
			return ip->err;
		cnt = (int)cs->count;
		if (cs->count > NPUC_MAX_DIMS || ce->count != cs->count ||
		    (ca && (ca->kind != CV_CONST || ca->count != cs->count)) ||
		    (cp && (cp->kind != CV_CONST || cp->count != cs->count)))
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "starts/ends/axes/steps must be constants of one length");
		for (k = 0; k < cnt; k++) {
			st[k] = imp_i64(cs->d[k]);
			en[k] = imp_i64(ce->d[k]);
			ax[k] = ca ? imp_i64(ca->d[k]) : k;
			sp[k] = cp ? imp_i64(cp->d[k]) : 1;
		}
	} else {
		const int64_t *a = imp_attr_ints(n, "starts", &c), *b, *x;
		size_t cb, cx;

		b = imp_attr_ints(n, "ends", &cb);
		x = imp_attr_ints(n, "axes", &cx);
		if (c > NPUC_MAX_DIMS || cb != c || (x && cx != c))
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad starts/ends/axes");
		cnt = (int)c;
		for (i = 0; i < c; i++) {
			st[i] = a[i];
			en[i] = b[i];
			ax[i] = x ? x[i] : (int64_t)i;
			sp[i] = 1;
		}
	}
	for (k = 0; k < ndim; k++) {
		start[k] = 0;
		step[k] = 1;
		size[k] = dims[k];
	}
	for (k = 0; k < cnt; k++) {
		int a = norm_axis(ax[k], ndim);

		if (a < 0 || sp[k] == 0)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad axis or zero step");
		/* Larger steps than the axis act alike; keep the sums small. */
		if (sp[k] > dims[a] + 1)
			sp[k] = dims[a] + 1;
		if (sp[k] < -(dims[a] + 1))
			sp[k] = -(dims[a] + 1);
		st[k] = st[k] > (INT64_C(1) << 40)
		                ? (INT64_C(1) << 40)
		                : (st[k] < -(INT64_C(1) << 40) ? -(INT64_C(1) << 40) : st[k]);
		en[k] = en[k] > (INT64_C(1) << 40)
		                ? (INT64_C(1) << 40)
		                : (en[k] < -(INT64_C(1) << 40) ? -(INT64_C(1) << 40) : en[k]);
		step[a] = sp[k];
		size[a] = slice_axis(dims[a], st[k], en[k], sp[k], &start[a]);
	}
	return NPU_OK;
}

static int eval_slice(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t start[NPUC_MAX_DIMS], step[NPUC_MAX_DIMS], size[NPUC_MAX_DIMS];
	size_t si[NPUC_MAX_DIMS], so[NPUC_MAX_DIMS], i;
	struct cv *a, *o;
	int k;

	if (need_const(ip, n, 0, &a) ||
	    imp_slice_params(ip, n, a->ndim, a->dims, start, step, size))
		return ip->err;
	o = new_const(ip, n, a->ndim, size, a->is_int);
	if (!o)
		return ip->err;
	strides_of(a->ndim, a->dims, si);
	strides_of(a->ndim, size, so);
	for (i = 0; i < o->count; i++) {
		size_t rem = i, src = 0;

		for (k = 0; k < a->ndim; k++) {
			size_t idx = rem / so[k];

			rem %= so[k];
			src += (size_t)(start[k] + (int64_t)idx * step[k]) * si[k];
		}
		o->d[i] = a->d[src];
	}
	return NPU_OK;
}

int imp_reshape_target(struct imp *ip, const struct cv *shape, int ndim_in, const int64_t *in,
                       int *ndim, int64_t *dims)
{
	int64_t total = 1, known = 1;
	int k, infer = -1;

	if (!shape || shape->kind != CV_CONST || shape->ndim != 1 || shape->count > NPUC_MAX_DIMS)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "shape must be a constant 1-D tensor");
	for (k = 0; k < ndim_in; k++)
		total *= in[k];
	*ndim = (int)shape->count;
	for (k = 0; k < *ndim; k++) {
		double v = shape->d[k];

		if (v == 0 && k < ndim_in)
			dims[k] = in[k];
		else if (v == -1 && infer < 0)
			infer = k;
		else if (v >= 1 && v <= (double)NPUC_MAX_ELEMENTS)
			dims[k] = (int64_t)v;
		else
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad target dimension %g", v);
		if (k != infer)
			known *= dims[k];
		if (known > total && total > 0)
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "reshape changes the element count");
	}
	if (infer >= 0) {
		if (known == 0 || total % known)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "cannot infer -1");
		dims[infer] = total / known;
		known = total;
	}
	if (known != total)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "reshape changes the element count");
	return NPU_OK;
}

static int eval_reshape(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t dims[NPUC_MAX_DIMS];
	struct cv *a;
	int nd;

	if (need_const(ip, n, 0, &a) ||
	    imp_reshape_target(ip, imp_input(ip, n, 1), a->ndim, a->dims, &nd, dims))
		return ip->err;
	return copy_const(ip, n, a, nd, dims);
}

static int eval_flatten(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t dims[2] = {1, 1};
	struct cv *a;
	int ax, k;

	if (need_const(ip, n, 0, &a))
		return ip->err;
	ax = (int)imp_attr_int(n, "axis", 1);
	if (ax < 0)
		ax += a->ndim;
	if (ax < 0 || ax > a->ndim)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad axis");
	for (k = 0; k < a->ndim; k++)
		dims[k < ax ? 0 : 1] *= a->dims[k];
	return copy_const(ip, n, a, 2, dims);
}

static int eval_transpose(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t dims[NPUC_MAX_DIMS], perm[NPUC_MAX_DIMS];
	size_t si[NPUC_MAX_DIMS], so[NPUC_MAX_DIMS], cnt, i;
	const int64_t *p = imp_attr_ints(n, "perm", &cnt);
	int seen[NPUC_MAX_DIMS] = {0};
	struct cv *a, *o;
	int k;

	if (need_const(ip, n, 0, &a))
		return ip->err;
	if (p && cnt != (size_t)a->ndim)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "perm has the wrong length");
	for (k = 0; k < a->ndim; k++) {
		perm[k] = p ? p[k] : a->ndim - 1 - k;
		if (perm[k] < 0 || perm[k] >= a->ndim || seen[perm[k]]++)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad perm");
		dims[k] = a->dims[perm[k]];
	}
	o = new_const(ip, n, a->ndim, dims, a->is_int);
	if (!o)
		return ip->err;
	strides_of(a->ndim, a->dims, si);
	strides_of(a->ndim, dims, so);
	for (i = 0; i < o->count; i++) {
		size_t rem = i, src = 0;

		for (k = 0; k < a->ndim; k++) {
			src += rem / so[k] * si[perm[k]];
			rem %= so[k];
		}
		o->d[i] = a->d[src];
	}
	return NPU_OK;
}

static int eval_shape(struct imp *ip, const Onnx__NodeProto *n)
{
	int64_t dims[NPUC_MAX_DIMS], one;
	int64_t start = imp_attr_int(n, "start", 0), end;
	struct cv *a = imp_input(ip, n, 0), *o;
	int nd, k;

	if (!a || imp_shape_of(ip, a, dims, &nd))
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "input has no known shape");
	end = imp_attr_int(n, "end", nd);
	if (start < 0)
		start += nd;
	if (end < 0)
		end += nd;
	start = start < 0 ? 0 : (start > nd ? nd : start);
	end = end < start ? start : (end > nd ? nd : end);
	one = end - start;
	o = new_const(ip, n, 1, &one, 1);
	if (!o)
		return ip->err;
	for (k = 0; k < one; k++)
		o->d[k] = (double)dims[start + k];
	return NPU_OK;
}

static int eval_constant(struct imp *ip, const Onnx__NodeProto *n)
{
	const Onnx__AttributeProto *a;
	struct cv *o;
	int64_t cnt;
	size_t i;

	if ((a = imp_attr(n, "value")) && a->t) {
		o = out0(ip, n);
		return o ? imp_const_from_proto(ip, o, a->t) : ip->err;
	}
	if ((a = imp_attr(n, "value_float")) || (a = imp_attr(n, "value_int"))) {
		int isf = !strcmp(a->name, "value_float");

		o = new_const(ip, n, 0, NULL, !isf);
		if (o)
			o->d[0] = isf ? a->f : (double)a->i;
		return ip->err;
	}
	if ((a = imp_attr(n, "value_floats")) || (a = imp_attr(n, "value_ints"))) {
		int isf = !strcmp(a->name, "value_floats");

		cnt = (int64_t)(isf ? a->n_floats : a->n_ints);
		o = new_const(ip, n, 1, &cnt, !isf);
		for (i = 0; o && i < (size_t)cnt; i++)
			o->d[i] = isf ? a->floats[i] : (double)a->ints[i];
		return ip->err;
	}
	return imp_unsupported(ip, "only tensor, float(s) and int(s) values");
}

static int eval_constant_of_shape(struct imp *ip, const Onnx__NodeProto *n)
{
	const Onnx__AttributeProto *a = imp_attr(n, "value");
	int64_t dims[NPUC_MAX_DIMS];
	struct cv *s, *o, val;
	size_t i;
	int k;

	memset(&val, 0, sizeof(val));
	val.name = "value";
	if (need_const(ip, n, 0, &s))
		return ip->err;
	if (s->count > NPUC_MAX_DIMS)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "rank too large");
	for (k = 0; k < (int)s->count; k++)
		dims[k] = imp_i64(s->d[k]);
	if (a && a->t && imp_const_from_proto(ip, &val, a->t))
		return ip->err;
	o = new_const(ip, n, (int)s->count, dims, a && a->t ? val.is_int : 0);
	for (i = 0; o && i < o->count; i++)
		o->d[i] = val.count ? val.d[0] : 0.0;
	imp_const_free(&val);
	return ip->err;
}

/* QuantizeLinear / DequantizeLinear on constants. Dequantizing int8 or
 * uint8 data records its scales (the weight scales of a QDQ model). */
static int eval_qdq(struct imp *ip, const Onnx__NodeProto *n, int quant)
{
	struct cv *x, *s, *z, *o;
	size_t i, inner = 1, ch = 1;
	int ax = 0, k, zdtype;

	if (need_const(ip, n, 0, &x) || need_const(ip, n, 1, &s))
		return ip->err;
	z = imp_input(ip, n, 2);
	if (z && (z->kind != CV_CONST || z->count != s->count))
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "zero point must match the scale");
	if (s->count > 1) {
		ax = norm_axis(imp_attr_int(n, "axis", 1), x->ndim);
		if (ax < 0 || s->ndim != 1 || (size_t)x->dims[ax] != s->count)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "per-axis scale does not fit");
		ch = s->count;
		for (k = ax + 1; k < x->ndim; k++)
			inner *= (size_t)x->dims[k];
	}
	for (i = 0; i < s->count; i++)
		if (!(s->d[i] > 0))
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "scale must be > 0");
	zdtype = z ? z->dtype : ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
	o = new_const(ip, n, x->ndim, x->dims, quant);
	if (!o)
		return ip->err;
	for (i = 0; i < x->count; i++) {
		size_t c = ch > 1 ? i / inner % ch : 0;
		double zp = z ? z->d[c] : 0, sc = (float)s->d[c];

		if (quant) {
			double q = nearbyint(x->d[i] / sc) + zp; /* ties to even */
			double lo = zdtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? -128 : 0;

			o->d[i] = q < lo ? lo : (q > lo + 255 ? lo + 255 : q);
		} else {
			o->d[i] = (float)((x->d[i] - zp) * sc);
		}
	}
	if (quant) {
		o->dtype = zdtype;
		return NPU_OK;
	}
	if ((x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ||
	     x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8) &&
	    (!z || z->d[0] == 0 || (zdtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8))) {
		o->qscale = malloc(s->count * sizeof(float));
		if (!o->qscale)
			return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		for (i = 0; i < s->count; i++)
			o->qscale[i] = (float)s->d[i];
		o->nqscale = s->count;
		o->qaxis = ax;
	}
	return NPU_OK;
}

int imp_const_eval(struct imp *ip, const Onnx__NodeProto *n)
{
	const char *op = n->op_type;
	static const char *const binary[] = {"Add", "Sub", "Mul", "Div", "Pow"};
	static const char *const unary[] = {"Floor", "Ceil", "Neg", "Sqrt", "Reciprocal"};
	size_t k;

	for (k = 0; k < sizeof(binary) / sizeof(binary[0]); k++)
		if (!strcmp(op, binary[k]))
			return eval_binary(ip, n), 1;
	for (k = 0; k < sizeof(unary) / sizeof(unary[0]); k++)
		if (!strcmp(op, unary[k]))
			return eval_unary(ip, n), 1;
	if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
		struct cv *a;

		if (!need_const(ip, n, 0, &a))
			copy_const(ip, n, a, a->ndim, a->dims);
		return 1;
	}
	if (!strcmp(op, "Cast"))
		return eval_cast(ip, n), 1;
	if (!strcmp(op, "Shape"))
		return eval_shape(ip, n), 1;
	if (!strcmp(op, "Gather"))
		return eval_gather(ip, n), 1;
	if (!strcmp(op, "Unsqueeze"))
		return eval_unsqueeze(ip, n, 0), 1;
	if (!strcmp(op, "Squeeze"))
		return eval_unsqueeze(ip, n, 1), 1;
	if (!strcmp(op, "Concat"))
		return eval_concat(ip, n), 1;
	if (!strcmp(op, "Slice"))
		return eval_slice(ip, n), 1;
	if (!strcmp(op, "Reshape"))
		return eval_reshape(ip, n), 1;
	if (!strcmp(op, "Flatten"))
		return eval_flatten(ip, n), 1;
	if (!strcmp(op, "Transpose"))
		return eval_transpose(ip, n), 1;
	if (!strcmp(op, "Constant"))
		return eval_constant(ip, n), 1;
	if (!strcmp(op, "ConstantOfShape"))
		return eval_constant_of_shape(ip, n), 1;
	if (!strcmp(op, "QuantizeLinear"))
		return eval_qdq(ip, n, 1), 1;
	if (!strcmp(op, "DequantizeLinear"))
		return eval_qdq(ip, n, 0), 1;
	return 0;
}
