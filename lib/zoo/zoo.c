/*
 * The seed's eight networks, each as a table that reads against its source
 * (torchvision 0.14 for six, the papers for MobileNet v1 and ShuffleNet v1)
 * plus a short function that turns the table into zb_* layers.
 *
 * BatchNorm is folded: every conv that torchvision follows with BN is a conv
 * with bias here (ZB_BN); dropout is gone (inference).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "npu.h"
#include "quant/zb.h"
#include "zoo/zoo.h"

#define RELU  NPUI_ACT_RELU
#define RELU6 NPUI_ACT_RELU6
#define NOACT NPUI_ACT_NONE

/* ---- SqueezeNet 1.0 / 1.1 (torchvision squeezenet.py) ------------------- */

/* One row of `features` after conv1: squeeze == 0 is MaxPool2d(3, 2,
 * ceil_mode=True), else Fire(squeeze, expand1x1, expand3x3). */
struct sq_row {
	int squeeze, e1, e3;
};

#define SQ_POOL                                                                                    \
	{                                                                                          \
		0, 0, 0                                                                            \
	}

static const struct sq_row sq10_rows[] = {
        SQ_POOL,        {16, 64, 64},   {16, 64, 64},   {32, 128, 128},
        SQ_POOL,        {32, 128, 128}, {48, 192, 192}, {48, 192, 192},
        {64, 256, 256}, SQ_POOL,        {64, 256, 256},
};

static const struct sq_row sq11_rows[] = {
        SQ_POOL, {16, 64, 64},   {16, 64, 64},   SQ_POOL,        {32, 128, 128}, {32, 128, 128},
        SQ_POOL, {48, 192, 192}, {48, 192, 192}, {64, 256, 256}, {64, 256, 256},
};

static int squeezenet(struct zb *b, int conv1_c, int conv1_k, const struct sq_row *rows, int n)
{
	char nm[NPUI_NAME_MAX];
	int x, i, fire = 2, pool = 1;

	/* SqueezeNet has no BN: ZB_PLAIN only rescales He-init per layer. */
	x = zb_conv(b, "conv1", zb_input(b), conv1_c, conv1_k, 2, 0, 1, RELU, ZB_PLAIN);
	for (i = 0; i < n; i++) {
		const struct sq_row *r = &rows[i];
		int s, cat[2];

		if (!r->squeeze) {
			snprintf(nm, sizeof(nm), "maxpool%d", pool++);
			x = zb_maxpool(b, nm, x, 3, 2, 0, 1);
			continue;
		}
		snprintf(nm, sizeof(nm), "fire%d.squeeze", fire);
		s = zb_conv(b, nm, x, r->squeeze, 1, 1, 0, 1, RELU, ZB_PLAIN);
		snprintf(nm, sizeof(nm), "fire%d.expand1x1", fire);
		cat[0] = zb_conv(b, nm, s, r->e1, 1, 1, 0, 1, RELU, ZB_PLAIN);
		snprintf(nm, sizeof(nm), "fire%d.expand3x3", fire);
		cat[1] = zb_conv(b, nm, s, r->e3, 3, 1, 1, 1, RELU, ZB_PLAIN);
		snprintf(nm, sizeof(nm), "fire%d.concat", fire);
		x = zb_concat(b, nm, 2, cat);
		fire++;
	}
	/* classifier: Dropout, Conv2d(512, 1000, 1), ReLU, AdaptiveAvgPool. */
	x = zb_conv(b, "conv10", x, ZOO_CLASSES, 1, 1, 0, 1, RELU, ZB_PLAIN);
	return zb_gap(b, "avgpool", x);
}

static int build_squeezenet1_0(struct zb *b, const struct zoo_opts *o)
{
	(void)o;
	return squeezenet(b, 96, 7, sq10_rows, (int)(sizeof(sq10_rows) / sizeof(sq10_rows[0])));
}

static int build_squeezenet1_1(struct zb *b, const struct zoo_opts *o)
{
	(void)o;
	return squeezenet(b, 64, 3, sq11_rows, (int)(sizeof(sq11_rows) / sizeof(sq11_rows[0])));
}

/* ---- MobileNet v1 (Howard et al. 2017, Table 1) --------------------------- */

/* The 13 depthwise-separable blocks: pointwise output channels at alpha 1
 * and the depthwise stride. */
static const struct {
	int c, s;
} mnv1_rows[] = {
        {64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2},  {512, 1},
        {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
};

static int build_mobilenet_v1(struct zb *b, const struct zoo_opts *o)
{
	char nm[NPUI_NAME_MAX];
	int x, i;

	x = zb_conv(b, "conv1", zb_input(b), (int)lround(32 * o->width), 3, 2, 1, 1, RELU, ZB_BN);
	for (i = 0; i < (int)(sizeof(mnv1_rows) / sizeof(mnv1_rows[0])); i++) {
		snprintf(nm, sizeof(nm), "block%d.dw", i + 1);
		x = zb_dw(b, nm, x, 3, mnv1_rows[i].s, RELU, ZB_BN);
		snprintf(nm, sizeof(nm), "block%d.pw", i + 1);
		x = zb_conv(b, nm, x, (int)lround(mnv1_rows[i].c * o->width), 1, 1, 0, 1, RELU,
		            ZB_BN);
	}
	/* "Avg Pool 7x7" at 224; a global pool at any input size. */
	x = zb_gap(b, "avgpool", x);
	return zb_fc(b, "fc", x, ZOO_CLASSES, NOACT, ZB_PLAIN);
}

/* ---- ShuffleNet v1 (Zhang et al. 2017, Table 1) --------------------------- */

/* Output channels of stages 2, 3, 4 at complexity 1x, per group count. */
static const struct {
	int g, c[3];
} snv1_channels[] = {
        {1, {144, 288, 576}},  {2, {200, 400, 800}},  {3, {240, 480, 960}},
        {4, {272, 544, 1088}}, {8, {384, 768, 1536}},
};

static const int snv1_repeats[3] = {4, 8, 4};

/*
 * One ShuffleNet unit. Bottleneck = out / 4. Stride 2: the branch makes
 * out - in channels and is concatenated with a 3x3/2 average pool of the
 * input; the ReLU after the concat is fused into the branch's last conv
 * (the pooled input is already >= 0). Stride 1: add, then ReLU.
 */
static int snv1_unit(struct zb *b, const char *pfx, int x, int out, int stride, int g,
                     int first_grouped)
{
	char nm[NPUI_NAME_MAX];
	int in = zb_channels(b, x), mid = out / 4, y;

	snprintf(nm, sizeof(nm), "%.16s.gconv1", pfx);
	y = zb_conv(b, nm, x, mid, 1, 1, 0, first_grouped ? g : 1, RELU, ZB_BN);
	if (g > 1) {
		snprintf(nm, sizeof(nm), "%.16s.shuffle", pfx);
		y = zb_shuffle(b, nm, y, g);
	}
	snprintf(nm, sizeof(nm), "%.16s.dw", pfx);
	y = zb_dw(b, nm, y, 3, stride, NOACT, ZB_BN);
	snprintf(nm, sizeof(nm), "%.16s.gconv2", pfx);
	if (stride == 1) {
		y = zb_conv(b, nm, y, out, 1, 1, 0, g, NOACT, ZB_BN);
		snprintf(nm, sizeof(nm), "%.16s.add", pfx);
		return zb_add(b, nm, x, y, RELU);
	} else {
		int cat[2];

		cat[1] = zb_conv(b, nm, y, out - in, 1, 1, 0, g, RELU, ZB_BN);
		snprintf(nm, sizeof(nm), "%.16s.avgpool", pfx);
		cat[0] = zb_avgpool(b, nm, x, 3, 2, 1);
		snprintf(nm, sizeof(nm), "%.16s.concat", pfx);
		return zb_concat(b, nm, 2, cat);
	}
}

static int build_shufflenet_v1(struct zb *b, const struct zoo_opts *o)
{
	char nm[NPUI_NAME_MAX];
	const int *ch = NULL;
	int x, s, u, i;

	for (i = 0; i < (int)(sizeof(snv1_channels) / sizeof(snv1_channels[0])); i++)
		if (snv1_channels[i].g == o->groups)
			ch = snv1_channels[i].c;
	if (!ch) {
		zb_fail(b, NPU_ERR_INVALID_ARG, "shufflenet_v1: no channel table for %d groups",
		        o->groups);
		return -1;
	}
	x = zb_conv(b, "conv1", zb_input(b), 24, 3, 2, 1, 1, RELU, ZB_BN);
	x = zb_maxpool(b, "maxpool", x, 3, 2, 1, 0);
	for (s = 0; s < 3; s++) {
		for (u = 0; u < snv1_repeats[s]; u++) {
			snprintf(nm, sizeof(nm), "stage%d.%d", s + 2, u);
			/* Stage 2's first 1x1 sees only 24 channels: not grouped. */
			x = snv1_unit(b, nm, x, ch[s], u == 0 ? 2 : 1, o->groups, s || u);
		}
	}
	x = zb_gap(b, "avgpool", x);
	return zb_fc(b, "fc", x, ZOO_CLASSES, NOACT, ZB_PLAIN);
}

/* ---- MobileNet v2 (torchvision mobilenetv2.py) ---------------------------- */

/* inverted_residual_setting: expansion t, output channels c, repeats n,
 * first stride s. */
static const struct {
	int t, c, n, s;
} mnv2_rows[] = {
        {1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

static int build_mobilenet_v2(struct zb *b, const struct zoo_opts *o)
{
	char nm[NPUI_NAME_MAX];
	int x, r, i, blk = 1;

	(void)o;
	x = zb_conv(b, "conv1", zb_input(b), 32, 3, 2, 1, 1, RELU6, ZB_BN);
	for (r = 0; r < (int)(sizeof(mnv2_rows) / sizeof(mnv2_rows[0])); r++) {
		for (i = 0; i < mnv2_rows[r].n; i++, blk++) {
			int in = zb_channels(b, x), stride = i ? 1 : mnv2_rows[r].s, y = x;

			if (mnv2_rows[r].t != 1) {
				snprintf(nm, sizeof(nm), "block%d.expand", blk);
				y = zb_conv(b, nm, y, in * mnv2_rows[r].t, 1, 1, 0, 1, RELU6,
				            ZB_BN);
			}
			snprintf(nm, sizeof(nm), "block%d.dw", blk);
			y = zb_dw(b, nm, y, 3, stride, RELU6, ZB_BN);
			/* Linear bottleneck: no activation after the projection. */
			snprintf(nm, sizeof(nm), "block%d.project", blk);
			y = zb_conv(b, nm, y, mnv2_rows[r].c, 1, 1, 0, 1, NOACT, ZB_BN);
			if (stride == 1 && in == mnv2_rows[r].c) {
				snprintf(nm, sizeof(nm), "block%d.add", blk);
				y = zb_add(b, nm, x, y, NOACT);
			}
			x = y;
		}
	}
	x = zb_conv(b, "conv_last", x, 1280, 1, 1, 0, 1, RELU6, ZB_BN);
	x = zb_gap(b, "avgpool", x);
	return zb_fc(b, "fc", x, ZOO_CLASSES, NOACT, ZB_PLAIN);
}

/* ---- MobileNet v3 large / small (torchvision mobilenetv3.py) ------------- */

/* bneck_conf rows: kernel, expanded channels, output channels, SE,
 * activation (1: hard-swish, 0: ReLU), stride. Input channels chain. */
struct mnv3_row {
	int k, exp, out, se, hs, s;
};

static const struct mnv3_row mnv3_large_rows[] = {
        {3, 16, 16, 0, 0, 1},   {3, 64, 24, 0, 0, 2},   {3, 72, 24, 0, 0, 1},
        {5, 72, 40, 1, 0, 2},   {5, 120, 40, 1, 0, 1},  {5, 120, 40, 1, 0, 1},
        {3, 240, 80, 0, 1, 2},  {3, 200, 80, 0, 1, 1},  {3, 184, 80, 0, 1, 1},
        {3, 184, 80, 0, 1, 1},  {3, 480, 112, 1, 1, 1}, {3, 672, 112, 1, 1, 1},
        {5, 672, 160, 1, 1, 2}, {5, 960, 160, 1, 1, 1}, {5, 960, 160, 1, 1, 1},
};

static const struct mnv3_row mnv3_small_rows[] = {
        {3, 16, 16, 1, 0, 2},  {3, 72, 24, 0, 0, 2},  {3, 88, 24, 0, 0, 1},  {5, 96, 40, 1, 1, 2},
        {5, 240, 40, 1, 1, 1}, {5, 240, 40, 1, 1, 1}, {5, 120, 48, 1, 1, 1}, {5, 144, 48, 1, 1, 1},
        {5, 288, 96, 1, 1, 2}, {5, 576, 96, 1, 1, 1}, {5, 576, 96, 1, 1, 1},
};

/* torchvision _make_divisible(v, 8). */
static int make_divisible8(int v)
{
	int n = (v + 4) / 8 * 8;

	if (n < 8)
		n = 8;
	if (n * 10 < v * 9)
		n += 8;
	return n;
}

/* Conv + folded BN, then the block's activation: ReLU fused into the conv,
 * hard-swish as a table layer after it. */
static int mnv3_conv(struct zb *b, const char *nm, int x, int cout, int k, int stride, int groups,
                     int hs)
{
	char lut[NPUI_NAME_MAX];

	x = zb_conv(b, nm, x, cout, k, stride, (k - 1) / 2, groups, hs ? NOACT : RELU, ZB_BN);
	if (!hs)
		return x;
	snprintf(lut, sizeof(lut), "%.24s.hswish", nm);
	return zb_lut(b, lut, x, NPUI_LUT_HSWISH);
}

static int mnv3(struct zb *b, const struct mnv3_row *rows, int n, int last_fc)
{
	char nm[NPUI_NAME_MAX];
	int x, i;

	x = mnv3_conv(b, "conv1", zb_input(b), 16, 3, 2, 1, 1);
	for (i = 0; i < n; i++) {
		const struct mnv3_row *r = &rows[i];
		int in = zb_channels(b, x), y = x;

		if (r->exp != in) {
			snprintf(nm, sizeof(nm), "block%d.expand", i + 1);
			y = mnv3_conv(b, nm, y, r->exp, 1, 1, 1, r->hs);
		}
		snprintf(nm, sizeof(nm), "block%d.dw", i + 1);
		y = mnv3_conv(b, nm, y, r->exp, r->k, r->s, r->exp, r->hs);
		if (r->se) {
			/* SqueezeExcitation: GAP, fc1 + ReLU, fc2, h-sigmoid, scale.
			 * torchvision's fc1/fc2 are 1x1 convs with bias, no BN. */
			int s;

			snprintf(nm, sizeof(nm), "block%d.se.gap", i + 1);
			s = zb_gap(b, nm, y);
			snprintf(nm, sizeof(nm), "block%d.se.fc1", i + 1);
			s = zb_conv(b, nm, s, make_divisible8(r->exp / 4), 1, 1, 0, 1, RELU,
			            ZB_PLAIN);
			snprintf(nm, sizeof(nm), "block%d.se.fc2", i + 1);
			s = zb_conv(b, nm, s, r->exp, 1, 1, 0, 1, NOACT, ZB_PLAIN);
			snprintf(nm, sizeof(nm), "block%d.se.hsigmoid", i + 1);
			s = zb_lut(b, nm, s, NPUI_LUT_HSIGMOID);
			snprintf(nm, sizeof(nm), "block%d.se.mul", i + 1);
			y = zb_mul(b, nm, y, s);
		}
		snprintf(nm, sizeof(nm), "block%d.project", i + 1);
		y = zb_conv(b, nm, y, r->out, 1, 1, 0, 1, NOACT, ZB_BN);
		if (r->s == 1 && in == r->out) {
			snprintf(nm, sizeof(nm), "block%d.add", i + 1);
			y = zb_add(b, nm, x, y, NOACT);
		}
		x = y;
	}
	x = mnv3_conv(b, "conv_last", x, 6 * zb_channels(b, x), 1, 1, 1, 1);
	x = zb_gap(b, "avgpool", x);
	/* classifier: Linear, Hardswish, Dropout, Linear. */
	x = zb_fc(b, "fc1", x, last_fc, NOACT, ZB_PLAIN);
	x = zb_lut(b, "fc1.hswish", x, NPUI_LUT_HSWISH);
	return zb_fc(b, "fc2", x, ZOO_CLASSES, NOACT, ZB_PLAIN);
}

static int build_mobilenet_v3_large(struct zb *b, const struct zoo_opts *o)
{
	(void)o;
	return mnv3(b, mnv3_large_rows, (int)(sizeof(mnv3_large_rows) / sizeof(mnv3_large_rows[0])),
	            1280);
}

static int build_mobilenet_v3_small(struct zb *b, const struct zoo_opts *o)
{
	(void)o;
	return mnv3(b, mnv3_small_rows, (int)(sizeof(mnv3_small_rows) / sizeof(mnv3_small_rows[0])),
	            1024);
}

/* ---- ShuffleNet v2 x1.0 (torchvision shufflenetv2.py) --------------------- */

static const int snv2_repeats[3] = {4, 8, 4};
static const int snv2_channels[3] = {116, 232, 464};

/* branch2 (and branch1's pointwise): 1x1 + ReLU, dw 3x3 + BN, 1x1 + ReLU. */
static int snv2_branch2(struct zb *b, const char *pfx, int x, int bf, int stride)
{
	char nm[NPUI_NAME_MAX];

	snprintf(nm, sizeof(nm), "%.16s.b2.pw1", pfx);
	x = zb_conv(b, nm, x, bf, 1, 1, 0, 1, RELU, ZB_BN);
	snprintf(nm, sizeof(nm), "%.16s.b2.dw", pfx);
	x = zb_dw(b, nm, x, 3, stride, NOACT, ZB_BN);
	snprintf(nm, sizeof(nm), "%.16s.b2.pw2", pfx);
	return zb_conv(b, nm, x, bf, 1, 1, 0, 1, RELU, ZB_BN);
}

static int snv2_unit(struct zb *b, const char *pfx, int x, int out, int stride)
{
	char nm[NPUI_NAME_MAX];
	int bf = out / 2, cat[2];

	if (stride == 2) {
		snprintf(nm, sizeof(nm), "%.16s.b1.dw", pfx);
		cat[0] = zb_dw(b, nm, x, 3, 2, NOACT, ZB_BN);
		snprintf(nm, sizeof(nm), "%.16s.b1.pw", pfx);
		cat[0] = zb_conv(b, nm, cat[0], bf, 1, 1, 0, 1, RELU, ZB_BN);
		cat[1] = snv2_branch2(b, pfx, x, bf, 2);
	} else {
		/* x.chunk(2, dim=1): the first half passes through. */
		snprintf(nm, sizeof(nm), "%.16s.split1", pfx);
		cat[0] = zb_split(b, nm, x, 0, bf);
		snprintf(nm, sizeof(nm), "%.16s.split2", pfx);
		cat[1] = zb_split(b, nm, x, bf, bf);
		cat[1] = snv2_branch2(b, pfx, cat[1], bf, 1);
	}
	snprintf(nm, sizeof(nm), "%.16s.concat", pfx);
	x = zb_concat(b, nm, 2, cat);
	snprintf(nm, sizeof(nm), "%.16s.shuffle", pfx);
	return zb_shuffle(b, nm, x, 2);
}

static int build_shufflenet_v2_x1_0(struct zb *b, const struct zoo_opts *o)
{
	char nm[NPUI_NAME_MAX];
	int x, s, u;

	(void)o;
	x = zb_conv(b, "conv1", zb_input(b), 24, 3, 2, 1, 1, RELU, ZB_BN);
	x = zb_maxpool(b, "maxpool", x, 3, 2, 1, 0);
	for (s = 0; s < 3; s++) {
		for (u = 0; u < snv2_repeats[s]; u++) {
			snprintf(nm, sizeof(nm), "stage%d.%d", s + 2, u);
			x = snv2_unit(b, nm, x, snv2_channels[s], u == 0 ? 2 : 1);
		}
	}
	x = zb_conv(b, "conv5", x, 1024, 1, 1, 0, 1, RELU, ZB_BN);
	x = zb_gap(b, "avgpool", x);
	return zb_fc(b, "fc", x, ZOO_CLASSES, NOACT, ZB_PLAIN);
}

/* ---- the list ------------------------------------------------------------- */

#define TV "torchvision 0.14 "

static const struct zoo_net nets[] = {
        {"squeezenet1_0", TV "squeezenet1_0", 818924576, 1244448, 0, 0},
        {"squeezenet1_1", TV "squeezenet1_1", 349151936, 1231552, 0, 0},
        {"mobilenet_v1", "Howard et al. 2017, Table 1", 568740352, 4209088, 1, 0},
        {"shufflenet_v1_g3", "Zhang et al. 2017, Table 1 (1x)", 137460672, 1840248, 0, 1},
        {"mobilenet_v2", TV "mobilenet_v2", 300774272, 3469760, 0, 0},
        {"mobilenet_v3_large", TV "mobilenet_v3_large", 216589760, 5451272, 0, 0},
        {"mobilenet_v3_small", TV "mobilenet_v3_small", 56510400, 2525832, 0, 0},
        {"shufflenet_v2_x1_0", TV "shufflenet_v2_x1_0", 144907992, 2261424, 0, 0},
};

/* Same order as nets[]. */
static int (*const builders[])(struct zb *, const struct zoo_opts *) = {
        build_squeezenet1_0,      build_squeezenet1_1,      build_mobilenet_v1,
        build_shufflenet_v1,      build_mobilenet_v2,       build_mobilenet_v3_large,
        build_mobilenet_v3_small, build_shufflenet_v2_x1_0,
};

#define NUM_NETS (sizeof(nets) / sizeof(nets[0]))

const struct zoo_net *zoo_nets(unsigned *count)
{
	if (count)
		*count = NUM_NETS;
	return nets;
}

const struct zoo_net *zoo_find(const char *name)
{
	unsigned i;

	for (i = 0; name && i < NUM_NETS; i++)
		if (!strcmp(nets[i].name, name))
			return &nets[i];
	return NULL;
}

void zoo_opts_default(struct zoo_opts *o)
{
	o->width = 1.0f;
	o->groups = 3;
	o->seed = ZOO_DEFAULT_SEED;
	o->calib = ZOO_DEFAULT_CALIB;
	o->size = ZOO_DEFAULT_SIZE;
}

int zoo_default_calib(int size)
{
	long n = size > 0 ? ZOO_MAX_CALIB_PIXELS / ((long)size * size) : ZOO_MAX_CALIB;

	return n < 1 ? 1 : n > ZOO_MAX_CALIB ? ZOO_MAX_CALIB : (int)n;
}

static int fail(char *why, size_t why_len, const char *msg, double v)
{
	if (why && why_len)
		snprintf(why, why_len, msg, v);
	return NPU_ERR_INVALID_ARG;
}

int zoo_opts_check(const struct zoo_opts *o, char *why, size_t why_len)
{
	if (!o)
		return fail(why, why_len, "no options%.0f", 0);
	if (o->width != 0.25f && o->width != 0.5f && o->width != 0.75f && o->width != 1.0f)
		return fail(why, why_len, "width %g: must be 0.25, 0.5, 0.75 or 1.0", o->width);
	if (o->groups != 1 && o->groups != 2 && o->groups != 3 && o->groups != 4 && o->groups != 8)
		return fail(why, why_len, "groups %g: must be 1, 2, 3, 4 or 8", o->groups);
	if (o->size < ZOO_MIN_SIZE || o->size > ZOO_MAX_SIZE)
		return fail(why, why_len, "size %g: must be 32 .. 1024", o->size);
	if (o->calib < 0 || o->calib > ZOO_MAX_CALIB)
		return fail(why, why_len, "calib %g: must be 0 .. 16", o->calib);
	/* The calibration batch runs as one: bound its activation memory. */
	if ((double)o->calib * o->size * o->size > ZOO_MAX_CALIB_PIXELS)
		return fail(why, why_len,
		            "calib x size^2 = %.0f: must be <= 1048576 (fewer inputs)",
		            (double)o->calib * o->size * o->size);
	return NPU_OK;
}

int zoo_build(const char *name, const struct zoo_opts *o, struct npui_graph **out, char *why,
              size_t why_len)
{
	const struct zoo_net *net = zoo_find(name);
	char gname[NPUI_NAME_MAX];
	struct zb *b;
	int rc, x;

	if (!out)
		return fail(why, why_len, "no output graph%.0f", 0);
	if (!net) {
		if (why && why_len)
			snprintf(why, why_len, "unknown net '%s'", name ? name : "(null)");
		return NPU_ERR_INVALID_ARG;
	}
	rc = zoo_opts_check(o, why, why_len);
	if (rc)
		return rc;
	if (net->uses_width && o->width != 1.0f)
		snprintf(gname, sizeof(gname), "%s_x%g", net->name, o->width);
	else if (net->uses_groups)
		snprintf(gname, sizeof(gname), "shufflenet_v1_g%d", o->groups);
	else
		snprintf(gname, sizeof(gname), "%s", net->name);
	b = zb_new(gname, o->size, o->seed);
	if (!b)
		return NPU_ERR_NO_MEM;
	x = builders[net - nets](b, o);
	rc = zb_finish(b, x, o->calib, out, why, why_len);
	zb_free(b);
	if (rc == NPU_OK) {
		/* Input metadata (docs/MODEL_FORMAT.md): RGB, ImageNet's centre
		 * crop, and the range the nets were calibrated on, [-1, 1)
		 * (zoo_calib_input): x = (p / 255 - 0.5) / 0.5. */
		struct npui_input_meta *m = &(*out)->meta;

		(*out)->has_meta = 1;
		m->color = NPUI_COLOR_RGB;
		m->resize = NPUI_RESIZE_CROP;
		m->crop = 0.875f;
		m->layout = NPUI_LAYOUT_NHWC;
		for (int c = 0; c < 3; c++) {
			m->mean[c] = 0.5f;
			m->std[c] = 0.5f;
		}
	}
	return rc;
}

void zoo_graph_cost(const struct npui_graph *g, uint64_t *macs, uint64_t *weights)
{
	uint64_t m = 0, w = 0;
	uint32_t i;

	for (i = 0; i < g->num_layers; i++) {
		m += npui_layer_macs(g, &g->layers[i]);
		if (g->layers[i].op == NPUI_OP_CONV || g->layers[i].op == NPUI_OP_FC)
			w += g->layers[i].weights_count;
	}
	if (macs)
		*macs = m;
	if (weights)
		*weights = w;
}

void zoo_calib_input(uint64_t seed, int index, float *x, size_t n)
{
	zb_calib_input(seed, index, x, n);
}
