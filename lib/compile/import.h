/*
 * Internal to lib/compile: the ONNX importer's value table and the
 * constant evaluator shared by onnx_const.c and onnx_import.c.
 */
#ifndef NPUC_IMPORT_H
#define NPUC_IMPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/compile.h"
#include "onnx/onnx.pb-c.h"
#include "quant/zb.h"

#define NPUC_MAX_DIMS 8
/* Elements of one constant: far above any light-weight CNN's largest
 * weight (a 1000-class FC has 1.3M), low enough that hostile dims cannot
 * ask for gigabytes. */
#define NPUC_MAX_ELEMENTS (UINT64_C(1) << 26)

/* What an ONNX value name stands for during lowering. */
enum cv_kind {
	CV_UNDEF = 0, /* not produced yet */
	CV_CONST,     /* a known tensor: initializers, shape math */
	CV_ACT,       /* an lwnpu tensor seen as NCHW [1, C, H, W] */
	CV_FLAT,      /* an lwnpu tensor [H, W, C] seen as [1, C*H*W] in
	               * NCHW flatten order (Flatten, FC outputs) */
	CV_SHUF5,     /* [1, C, H, W] reshaped to [1, g, C/g, H, W] */
	CV_SHUF5T,    /* ... then transposed to [1, C/g, g, H, W] */
};

struct cv {
	const char *name; /* owned by the unpacked ModelProto */
	enum cv_kind kind;
	int consumers;      /* node inputs reading it (Shape excepted), graph outputs */
	int first_consumer; /* index of the first node reading it, or -1 */

	/* CV_CONST */
	int ndim;
	int64_t dims[NPUC_MAX_DIMS];
	size_t count;
	int is_int;    /* integer or bool data: integer semantics */
	int dtype;     /* ONNX TensorProto data type it came from */
	double *d;     /* count values */
	float *qscale; /* from DequantizeLinear of int8 data: its scales */
	size_t nqscale;
	int qaxis;

	/* activations */
	int t;      /* zb tensor id */
	int groups; /* CV_SHUF5, CV_SHUF5T */
	int excl;   /* every value on the alias chain from the layer output
	             * has a single reader: the layer may be changed */
	int pad[4]; /* CV_ACT through a Pad: zero rows/columns still to add
	             * (top, left, bottom, right); its only reader, a Conv or
	             * AveragePool, takes them as window padding */
};

struct imp {
	const Onnx__GraphProto *gp;
	struct zb *b;
	struct cv *v;
	size_t nv, capv;
	int32_t *slot; /* open-addressing hash of names -> index into v */
	size_t nslot;
	int64_t opset;
	const Onnx__NodeProto *node; /* the node being lowered, for errors */
	unsigned node_index;
	unsigned char *skip; /* [n_node]: absorbed by a pattern, already lowered */
	int err;
	char why[256];
	struct npuc_stats st;
};

/* A double from a constant as an index or size: clamped to +-2^62 so that
 * hostile values cannot overflow the conversion or later arithmetic. */
static inline int64_t imp_i64(double v)
{
	if (!(v > -4.6e18))
		return v != v ? 0 : -(INT64_C(1) << 62);
	if (v > 4.6e18)
		return INT64_C(1) << 62;
	return (int64_t)v;
}

/* Record the first error; prefixed by "node 'NAME' (OP): " while a node is
 * being lowered. Returns the status. */
int imp_fail(struct imp *ip, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* "...: not supported by lwnpu[: detail]" for the current node. */
int imp_unsupported(struct imp *ip, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value of a name, creating an undefined one; NULL only on ENOMEM. */
struct cv *imp_value(struct imp *ip, const char *name);
/* An existing value or NULL. */
struct cv *imp_find(struct imp *ip, const char *name);

/* Decode a TensorProto into a CV_CONST value (dims, data, type checks). */
int imp_const_from_proto(struct imp *ip, struct cv *out, const Onnx__TensorProto *tp);
/* Allocate out's data for the given dims (count = product). */
int imp_const_alloc(struct imp *ip, struct cv *out, int ndim, const int64_t *dims, int is_int);
void imp_const_free(struct cv *c);

/* Attributes. */
const Onnx__AttributeProto *imp_attr(const Onnx__NodeProto *n, const char *name);
int64_t imp_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def);
float imp_attr_float(const Onnx__NodeProto *n, const char *name, float def);
/* ints attribute: *count and the array (NULL when absent). */
const int64_t *imp_attr_ints(const Onnx__NodeProto *n, const char *name, size_t *count);

/* The shape of any defined value (constants and activation views). */
int imp_shape_of(struct imp *ip, const struct cv *v, int64_t *dims, int *ndim);

/*
 * Evaluate the current node on constant inputs, defining its outputs.
 * Returns 1 when the op is one the evaluator knows (then ip->err says
 * whether it worked), 0 when it does not know the op.
 */
int imp_const_eval(struct imp *ip, const Onnx__NodeProto *n);

/* Slice inputs (opset >= 10) or attributes (opset 1): per-axis start,
 * step and size for a tensor of the given shape. */
int imp_slice_params(struct imp *ip, const Onnx__NodeProto *n, int ndim, const int64_t *dims,
                     int64_t *start, int64_t *step, int64_t *size);
/* Reshape target: 0 copies the input dim (allowzero = 0), -1 is inferred;
 * the element count must be kept. */
int imp_reshape_target(struct imp *ip, const struct cv *shape, int ndim_in, const int64_t *in,
                       int *ndim, int64_t *dims);

/* A node input by position: NULL when absent or "" (optional). */
struct cv *imp_input(struct imp *ip, const Onnx__NodeProto *n, size_t k);
/* Define output k of the current node; fails if already defined. */
struct cv *imp_output(struct imp *ip, const Onnx__NodeProto *n, size_t k);

#endif /* NPUC_IMPORT_H */
