/*
 * ShuffleNet v2's four design guidelines as controlled experiments on
 * lwnpu (docs/PERFORMANCE.md "The ShuffleNet v2 guidelines on lwnpu").
 *
 * Each experiment is a family of small networks of the same MACs: BLOCKS
 * repeats of one building block over a size x size feature map, every
 * conv 1x1 (but G4's 3x3), every conv with a fused ReLU, no stem and no
 * classifier, so that the only difference between the members of a
 * family is the one the guideline is about. The channel counts are the
 * ShuffleNet v2 paper's where it gives them (G1: c1:c2 = 1:1, 1:2, 1:6,
 * 1:12 as 128:128, 90:180, 52:312, 36:432; G2: groups 1, 2, 4, 8 at 128,
 * 180, 256, 360 channels) and chosen here to hold MACs equal where it does
 * not (G3, G4: below, with the MACs of each variant).
 */
#include <stdio.h>
#include <string.h>

#include "npu.h"
#include "quant/zb.h"
#include "zoo/zoo.h"

/* Building blocks per network, as in the paper's experiments. */
#define GL_BLOCKS 10

/* c: the channels of the block input; p: G1 c2, G2 groups, G3 fragments
 * (negative: in parallel), G4 flags (1 ReLU, 2 shortcut). */
static const struct zoo_guideline variants[] = {
        {"g1_1_1", 1, "c1:c2 = 1:1 (128:128), two 1x1 convs a block", 128, 128},
        {"g1_1_2", 1, "c1:c2 = 1:2 (90:180)", 90, 180},
        {"g1_1_6", 1, "c1:c2 = 1:6 (52:312)", 52, 312},
        {"g1_1_12", 1, "c1:c2 = 1:12 (36:432)", 36, 432},
        {"g2_g1", 2, "1x1 conv, 1 group, 128 channels", 128, 1},
        {"g2_g2", 2, "1x1 group conv, 2 groups, 180 channels", 180, 2},
        {"g2_g4", 2, "1x1 group conv, 4 groups, 256 channels", 256, 4},
        {"g2_g8", 2, "1x1 group conv, 8 groups, 360 channels", 360, 8},
        {"g3_a", 3, "(a) 1 fragment: one 1x1 conv 128->128", 128, 1},
        {"g3_b", 3, "(b) 2 fragments in series: two 1x1 convs 90->90", 90, 2},
        {"g3_c", 3, "(c) 4 fragments in series: four 1x1 convs 64->64", 64, 4},
        {"g3_d", 3, "(d) 2 fragments in parallel: two 1x1 convs 128->64, concat", 128, -2},
        {"g3_e", 3, "(e) 4 fragments in parallel: four 1x1 convs 128->32, concat", 128, -4},
        {"g4_relu_add", 4, "bottleneck 128->32->32->128 with ReLU and shortcut add", 128, 3},
        {"g4_add", 4, "the same without ReLU", 128, 2},
        {"g4_relu", 4, "the same without shortcut", 128, 1},
        {"g4_none", 4, "the same without ReLU and shortcut", 128, 0},
};

const struct zoo_guideline *zoo_guidelines(unsigned *count)
{
	if (count)
		*count = sizeof(variants) / sizeof(variants[0]);
	return variants;
}

const struct zoo_guideline *zoo_guideline_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(variants) / sizeof(variants[0]); i++)
		if (!strcmp(variants[i].name, name))
			return &variants[i];
	return NULL;
}

/* G1: a 1x1 conv c1 -> c2 and one back, c1*c2 held about equal. */
static int g1_net(struct zb *b, int x, int c1, int c2)
{
	char n[32];

	for (int i = 0; i < GL_BLOCKS; i++) {
		snprintf(n, sizeof(n), "b%d.up", i);
		x = zb_conv(b, n, x, c2, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
		snprintf(n, sizeof(n), "b%d.down", i);
		x = zb_conv(b, n, x, c1, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
	}
	return x;
}

/* G2: 1x1 group convs c -> c with g groups, c*c/g held about equal. */
static int g2_net(struct zb *b, int x, int c, int g)
{
	char n[32];

	for (int i = 0; i < GL_BLOCKS; i++) {
		snprintf(n, sizeof(n), "b%d.gconv", i);
		x = zb_conv(b, n, x, c, 1, 1, 0, g, NPUI_ACT_RELU, ZB_BN);
	}
	return x;
}

/* G3: `frags` 1x1 convs in series (c -> c each) or in parallel (each
 * c -> c/frags, concatenated back to c). */
static int g3_net(struct zb *b, int x, int c, int frags, int parallel)
{
	char n[32];

	for (int i = 0; i < GL_BLOCKS; i++) {
		if (!parallel) {
			for (int f = 0; f < frags; f++) {
				snprintf(n, sizeof(n), "b%d.f%d", i, f);
				x = zb_conv(b, n, x, c, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
			}
			continue;
		}
		int outs[4];

		for (int f = 0; f < frags; f++) {
			snprintf(n, sizeof(n), "b%d.f%d", i, f);
			outs[f] = zb_conv(b, n, x, c / frags, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
		}
		snprintf(n, sizeof(n), "b%d.concat", i);
		x = zb_concat(b, n, frags, outs);
	}
	return x;
}

/* G4: ResNet's bottleneck unit, 1x1 c -> c/4, 3x3 c/4 -> c/4, 1x1 c/4 -> c,
 * with or without the ReLUs and the shortcut add. */
static int g4_net(struct zb *b, int x, int c, int relu, int shortcut)
{
	enum npui_act act = relu ? NPUI_ACT_RELU : NPUI_ACT_NONE;
	char n[32];

	for (int i = 0; i < GL_BLOCKS; i++) {
		int y;

		snprintf(n, sizeof(n), "b%d.reduce", i);
		y = zb_conv(b, n, x, c / 4, 1, 1, 0, 1, act, ZB_BN);
		snprintf(n, sizeof(n), "b%d.conv3x3", i);
		y = zb_conv(b, n, y, c / 4, 3, 1, 1, 1, act, ZB_BN);
		snprintf(n, sizeof(n), "b%d.expand", i);
		y = zb_conv(b, n, y, c, 1, 1, 0, 1, shortcut ? NPUI_ACT_NONE : act, ZB_BN);
		if (shortcut) {
			snprintf(n, sizeof(n), "b%d.add", i);
			y = zb_add(b, n, y, x, act);
		}
		x = y;
	}
	return x;
}

int zoo_guideline_build(const char *name, int size, uint64_t seed, int calib,
                        struct npui_graph **out, char *why, size_t why_len)
{
	const struct zoo_guideline *v = zoo_guideline_find(name);
	struct zb *b;
	int x, rc;

	if (!out || !v || size < 1 || size > ZOO_MAX_SIZE || calib < 0 || calib > ZOO_MAX_CALIB) {
		if (why && why_len)
			snprintf(
			        why, why_len, "%s",
			        !v ? "unknown guideline variant (npu-bench --guidelines lists them)"
			           : "bad size, calib or output");
		return NPU_ERR_INVALID_ARG;
	}
	b = zb_new_input(name, size, size, v->c, seed);
	if (!b)
		return NPU_ERR_NO_MEM;
	x = zb_input(b);
	switch (v->guideline) {
	case 1:
		x = g1_net(b, x, v->c, v->p);
		break;
	case 2:
		x = g2_net(b, x, v->c, v->p);
		break;
	case 3:
		x = g3_net(b, x, v->c, v->p < 0 ? -v->p : v->p, v->p < 0);
		break;
	default:
		x = g4_net(b, x, v->c, v->p & 1, v->p & 2);
		break;
	}
	rc = zb_finish(b, x, calib, out, why, why_len);
	zb_free(b);
	return rc;
}
