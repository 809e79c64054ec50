/*
 * npui_graph_validate rule by rule: start from a valid graph, break one
 * thing, expect the specific error code and a reason naming the culprit.
 */
#include <cmath>
#include <functional>
#include <limits>

#include "graph_builder.h"

using namespace modeltest;

namespace
{

/* Index of the first layer named name (abort if absent: a test bug). */
uint32_t layer_named(const npui_graph *g, const char *name)
{
	for (uint32_t i = 0; i < g->num_layers; i++)
		if (!strcmp(g->layers[i].name, name))
			return i;
	abort();
}

struct Breakage {
	const char *what;
	int graph;         /* 0 mobile, 1 shuffle, 2 labeled */
	const char *layer; /* the layer to break, or nullptr */
	std::function<void(npui_graph *, npui_layer *)> edit;
	int err;
	const char *why_has; /* substring the reason must contain */
};

/* gtest names a failing case by this rather than by its raw bytes. */
void PrintTo(const Breakage &b, std::ostream *os)
{
	*os << b.what;
}

class GraphValidate : public ::testing::TestWithParam<Breakage>
{
};

TEST_P(GraphValidate, RuleIsEnforced)
{
	const Breakage &p = GetParam();
	GraphPtr g = p.graph == 0   ? mobile_graph()
	             : p.graph == 1 ? shuffle_graph()
	                            : labeled_graph();
	char why[256] = "";
	ASSERT_EQ(NPU_OK, npui_graph_validate(g.get(), why, sizeof(why))) << why;
	npui_layer *l = p.layer ? &g->layers[layer_named(g.get(), p.layer)] : nullptr;
	p.edit(g.get(), l);
	EXPECT_EQ(p.err, npui_graph_validate(g.get(), why, sizeof(why))) << why;
	EXPECT_NE(nullptr, strstr(why, p.why_has)) << "reason: " << why;
	EXPECT_EQ(nullptr, strchr(why, '\n')) << "one line";
}

using G = npui_graph;
using L = npui_layer;
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

const Breakage kCases[] = {
	/* graph level */
	{"graph_name", 0, nullptr, [](G *g, L *) { memset(g->name, 'a', sizeof(g->name)); },
	 NPU_ERR_MODEL_GRAPH, "name"},
	{"no_layers", 0, nullptr,
	 [](G *g, L *) {
		 /* npui_graph_free walks num_layers: release the weights now */
		 for (uint32_t i = 0; i < g->num_layers; i++) {
			 free(g->layers[i].weights);
			 free(g->layers[i].bias);
			 free(g->layers[i].w_scale);
		 }
		 g->num_layers = 0;
	 },
	 NPU_ERR_MODEL_LAYER, "layers"},
	{"one_tensor", 0, nullptr, [](G *g, L *) { g->num_tensors = 1; }, NPU_ERR_MODEL_TENSOR,
	 "tensors"},
	{"input_range", 0, nullptr, [](G *g, L *) { g->input = -1; }, NPU_ERR_MODEL_GRAPH,
	 "input"},
	{"output_range", 0, nullptr, [](G *g, L *) { g->output = 1000; }, NPU_ERR_MODEL_GRAPH,
	 "output"},
	{"input_is_output", 0, nullptr, [](G *g, L *) { g->output = g->input; },
	 NPU_ERR_MODEL_GRAPH, "one tensor"},
	{"output_unwritten", 0, nullptr,
	 [](G *g, L *) {
		 /* drop the classifier: its output is now written by nobody */
		 L *last = &g->layers[--g->num_layers];
		 free(last->weights);
		 free(last->bias);
		 free(last->w_scale);
	 },
	 NPU_ERR_MODEL_GRAPH, "written by no layer"},
	/* tensors */
	{"tensor_name", 0, nullptr, [](G *g, L *) { memset(g->tensors[3].name, 'a', 32); },
	 NPU_ERR_MODEL_TENSOR, "tensor 3"},
	{"tensor_zero_dim", 0, nullptr, [](G *g, L *) { g->tensors[3].w = 0; },
	 NPU_ERR_MODEL_TENSOR, "project"},
	{"tensor_big_dim", 0, nullptr, [](G *g, L *) { g->tensors[3].c = 32769; },
	 NPU_ERR_MODEL_TENSOR, "1..32768"},
	{"tensor_elements", 0, nullptr,
	 [](G *g, L *) {
		 g->tensors[3].h = 32768;
		 g->tensors[3].w = 32768;
	 },
	 NPU_ERR_MODEL_TENSOR, "2^28"},
	{"tensor_scale_nan", 0, nullptr, [](G *g, L *) { g->tensors[0].q.scale = kNaN; },
	 NPU_ERR_MODEL_TENSOR, "scale"},
	{"tensor_scale_inf", 0, nullptr, [](G *g, L *) { g->tensors[0].q.scale = kInf; },
	 NPU_ERR_MODEL_TENSOR, "scale"},
	{"tensor_scale_neg", 0, nullptr, [](G *g, L *) { g->tensors[0].q.scale = -1.0f; },
	 NPU_ERR_MODEL_TENSOR, "scale"},
	{"tensor_scale_zero", 0, nullptr, [](G *g, L *) { g->tensors[0].q.scale = 0.0f; },
	 NPU_ERR_MODEL_TENSOR, "scale"},
	{"tensor_zp_high", 0, nullptr, [](G *g, L *) { g->tensors[1].q.zero_point = 128; },
	 NPU_ERR_MODEL_TENSOR, "zero point"},
	{"tensor_zp_low", 0, nullptr, [](G *g, L *) { g->tensors[1].q.zero_point = -129; },
	 NPU_ERR_MODEL_TENSOR, "zero point"},
	/* layer generics */
	{"layer_name", 0, "dw", [](G *, L *l) { memset(l->name, 'q', 32); }, NPU_ERR_MODEL_LAYER,
	 "layer 1"},
	{"unknown_op", 0, "dw", [](G *, L *l) { l->op = 0; }, NPU_ERR_MODEL_LAYER, "unknown op"},
	{"op_too_big", 0, "dw", [](G *, L *l) { l->op = NPUI_OP_COUNT; }, NPU_ERR_MODEL_LAYER,
	 "unknown op"},
	{"conv_two_inputs", 0, "dw", [](G *, L *l) { l->num_inputs = 2; }, NPU_ERR_MODEL_LAYER,
	 "'dw'"},
	{"add_one_input", 0, "residual", [](G *, L *l) { l->num_inputs = 1; },
	 NPU_ERR_MODEL_LAYER, "inputs"},
	{"concat_one_input", 1, "concat", [](G *, L *l) { l->num_inputs = 1; },
	 NPU_ERR_MODEL_LAYER, "inputs"},
	{"concat_nine_inputs", 1, "concat", [](G *, L *l) { l->num_inputs = 9; },
	 NPU_ERR_MODEL_LAYER, "inputs"},
	{"input_id_range", 0, "dw", [](G *, L *l) { l->inputs[0] = 99; }, NPU_ERR_MODEL_GRAPH,
	 "tensor 99"},
	{"output_id_range", 0, "dw", [](G *, L *l) { l->output = -2; }, NPU_ERR_MODEL_GRAPH,
	 "'dw'"},
	{"reads_future", 0, "dw", [](G *, L *l) { l->inputs[0] = 3; }, NPU_ERR_MODEL_GRAPH,
	 "order"},
	{"writes_input", 0, "dw", [](G *g, L *l) { l->output = g->input; }, NPU_ERR_MODEL_GRAPH,
	 "graph input"},
	{"two_writers", 0, "dw", [](G *, L *l) { l->output = 1; }, NPU_ERR_MODEL_GRAPH,
	 "already written"},
	{"act_unknown", 0, "stem", [](G *, L *l) { l->act = 3; }, NPU_ERR_MODEL_LAYER, "act"},
	{"act_on_gap", 0, "gap", [](G *, L *l) { l->act = NPUI_ACT_RELU; }, NPU_ERR_MODEL_LAYER,
	 "activation"},
	{"act_on_lut", 0, "hswish", [](G *, L *l) { l->act = NPUI_ACT_RELU6; },
	 NPU_ERR_MODEL_LAYER, "activation"},
	{"act_on_concat", 1, "concat", [](G *, L *l) { l->act = NPUI_ACT_RELU; },
	 NPU_ERR_MODEL_LAYER, "activation"},
	/* conv window */
	{"kernel_zero", 0, "stem", [](G *, L *l) { l->kw = 0; }, NPU_ERR_MODEL_LAYER, "kernel"},
	{"kernel_16", 0, "stem", [](G *, L *l) { l->kh = 16; }, NPU_ERR_MODEL_LAYER, "kernel"},
	{"stride_zero", 0, "stem", [](G *, L *l) { l->stride_w = 0; }, NPU_ERR_MODEL_LAYER,
	 "stride"},
	{"stride_9", 0, "stem", [](G *, L *l) { l->stride_h = 9; }, NPU_ERR_MODEL_LAYER,
	 "stride"},
	{"pad_eq_kernel", 0, "stem", [](G *, L *l) { l->pad_b = 3; }, NPU_ERR_MODEL_LAYER,
	 "pads"},
	{"wrong_out_h", 0, "stem", [](G *g, L *l) { g->tensors[l->output].h = 5; },
	 NPU_ERR_MODEL_LAYER, "window"},
	{"kernel_bigger_than_input", 0, "classifier",
	 [](G *, L *l) {
		 /* make the FC a conv: its 1x1 input cannot fit a 3x3 window */
		 l->op = NPUI_OP_CONV;
		 l->kh = l->kw = 3;
		 l->stride_h = l->stride_w = 1;
		 l->groups = 1;
	 },
	 NPU_ERR_MODEL_LAYER, "larger than padded input"},
	{"groups_zero", 0, "stem", [](G *, L *l) { l->groups = 0; }, NPU_ERR_MODEL_LAYER,
	 "groups"},
	{"groups_not_dividing_cin", 0, "stem", [](G *, L *l) { l->groups = 3; },
	 NPU_ERR_MODEL_LAYER, "groups"},
	{"groups_not_dividing_cout", 1, "group",
	 [](G *g, L *l) {
		 l->groups = 8;
		 g->tensors[l->output].c = 12;
	 },
	 NPU_ERR_MODEL_LAYER, "groups"},
	/* weights */
	{"weights_missing", 0, "stem",
	 [](G *, L *l) {
		 free(l->weights);
		 l->weights = nullptr;
	 },
	 NPU_ERR_MODEL_WEIGHTS, "required"},
	{"bias_missing", 0, "classifier",
	 [](G *, L *l) {
		 free(l->bias);
		 l->bias = nullptr;
	 },
	 NPU_ERR_MODEL_WEIGHTS, "required"},
	{"weights_count", 0, "dw", [](G *, L *l) { l->weights_count--; }, NPU_ERR_MODEL_WEIGHTS,
	 "weights"},
	{"dw_groups_changed", 0, "dw",
	 [](G *, L *l) {
		 /* groups 16 -> 8: shapes now need twice the weights */
		 l->groups = 8;
	 },
	 NPU_ERR_MODEL_WEIGHTS, "shapes need 288"},
	{"w_scale_nan", 0, "dw", [](G *, L *l) { l->w_scale[3] = kNaN; }, NPU_ERR_MODEL_WEIGHTS,
	 "w_scale[3]"},
	{"w_scale_zero", 0, "classifier", [](G *, L *l) { l->w_scale[9] = 0.0f; },
	 NPU_ERR_MODEL_WEIGHTS, "w_scale[9]"},
	{"w_scale_neg_inf", 0, "classifier", [](G *, L *l) { l->w_scale[0] = -kInf; },
	 NPU_ERR_MODEL_WEIGHTS, "w_scale[0]"},
	{"bias_overflow", 0, "project", [](G *, L *l) { l->bias[0] = INT32_MAX - 10; },
	 NPU_ERR_MODEL_WEIGHTS, "overflow"},
	{"weights_on_add", 0, "residual",
	 [](G *, L *l) { l->bias = static_cast<int32_t *>(malloc(4)); }, NPU_ERR_MODEL_WEIGHTS,
	 "no weights"},
	{"weights_count_on_gap", 0, "gap", [](G *, L *l) { l->weights_count = 1; },
	 NPU_ERR_MODEL_WEIGHTS, "no weights"},
	/* fc / gap */
	{"fc_out_not_1x1", 0, "classifier", [](G *g, L *l) { g->tensors[l->output].w = 2; },
	 NPU_ERR_MODEL_LAYER, "1x1"},
	{"gap_out_not_1x1", 0, "gap", [](G *g, L *l) { g->tensors[l->output].h = 2; },
	 NPU_ERR_MODEL_LAYER, "1x1"},
	{"gap_channels", 0, "gap", [](G *g, L *l) { g->tensors[l->output].c = 8; },
	 NPU_ERR_MODEL_LAYER, "channels"},
	/* pools */
	{"maxpool_channels", 0, "maxpool", [](G *g, L *l) { g->tensors[l->output].c = 8; },
	 NPU_ERR_MODEL_LAYER, "channels"},
	{"maxpool_quant", 0, "maxpool", [](G *g, L *l) { g->tensors[l->output].q.scale *= 2; },
	 NPU_ERR_MODEL_LAYER, "quant"},
	{"avgpool_cip", 0, "avgpool", [](G *, L *l) { l->count_include_pad = 2; },
	 NPU_ERR_MODEL_LAYER, "count_include_pad"},
	{"avgpool_pad", 1, "avgpool", [](G *, L *l) { l->pad_r = 3; }, NPU_ERR_MODEL_LAYER,
	 "pads"},
	{"pool_stride_changes_shape", 0, "maxpool", [](G *, L *l) { l->stride_w = 1; },
	 NPU_ERR_MODEL_LAYER, "window"},
	/* add / mul */
	{"add_shape", 0, "residual", [](G *, L *l) { l->inputs[1] = 4; }, NPU_ERR_MODEL_LAYER,
	 "one shape"},
	{"mul_out_shape", 0, "se_scale", [](G *g, L *l) { g->tensors[l->output].c = 8; },
	 NPU_ERR_MODEL_LAYER, "input 0's shape"},
	{"mul_in1_shape", 0, "se_scale", [](G *, L *l) { l->inputs[1] = 5; /* 1x1x4 */ },
	 NPU_ERR_MODEL_LAYER, "input 1"},
	/* concat */
	{"concat_hw", 1, "concat3", [](G *g, L *l) { g->tensors[l->output].h = 4; },
	 NPU_ERR_MODEL_LAYER, "H and W"},
	{"concat_sum", 1, "concat", [](G *g, L *l) { g->tensors[l->output].c = 9; },
	 NPU_ERR_MODEL_LAYER, "sum"},
	/* shuffle */
	{"shuffle_groups_zero", 1, "shuffle", [](G *, L *l) { l->groups = 0; },
	 NPU_ERR_MODEL_LAYER, "groups"},
	{"shuffle_groups_divide", 1, "shuffle", [](G *, L *l) { l->groups = 3; },
	 NPU_ERR_MODEL_LAYER, "groups"},
	{"shuffle_shape", 1, "shuffle", [](G *g, L *l) { g->tensors[l->output].w = 5; },
	 NPU_ERR_MODEL_LAYER, "shape"},
	{"shuffle_quant", 1, "shuffle",
	 [](G *g, L *l) { g->tensors[l->output].q.zero_point ^= 1; }, NPU_ERR_MODEL_LAYER,
	 "quant"},
	/* split */
	{"split_negative", 1, "right", [](G *, L *l) { l->split_begin = -1; },
	 NPU_ERR_MODEL_LAYER, "outside"},
	{"split_past_end", 1, "right", [](G *, L *l) { l->split_begin = 5; },
	 NPU_ERR_MODEL_LAYER, "outside"},
	{"split_huge", 1, "right", [](G *, L *l) { l->split_begin = INT32_MAX; },
	 NPU_ERR_MODEL_LAYER, "outside"},
	{"split_hw", 1, "left", [](G *g, L *l) { g->tensors[l->output].h = 3; },
	 NPU_ERR_MODEL_LAYER, "H and W"},
	{"split_quant", 1, "left", [](G *g, L *l) { g->tensors[l->output].q.scale = 1.0f; },
	 NPU_ERR_MODEL_LAYER, "quant"},
	/* lut */
	{"lut_fn_zero", 0, "hswish", [](G *, L *l) { l->lut_fn = 0; }, NPU_ERR_MODEL_LAYER,
	 "lut_fn"},
	{"lut_fn_six", 0, "hswish", [](G *, L *l) { l->lut_fn = 6; }, NPU_ERR_MODEL_LAYER,
	 "lut_fn"},
	{"lut_shape", 0, "hswish", [](G *g, L *l) { g->tensors[l->output].c = 15; },
	 NPU_ERR_MODEL_LAYER, "shape"},
	/* labels */
	{"label_too_long", 2, nullptr,
	 [](G *g, L *) {
		 free(g->labels[0]);
		 g->labels[0] = strdup(std::string(256, 'y').c_str());
	 },
	 NPU_ERR_MODEL_LABELS, "label 0"},
	{"label_null", 2, nullptr,
	 [](G *g, L *) {
		 free(g->labels[2]);
		 g->labels[2] = nullptr;
	 },
	 NPU_ERR_MODEL_LABELS, "label 2"},
	{"label_bad_utf8", 2, nullptr, [](G *g, L *) { g->labels[1][3] = '\xff'; },
	 NPU_ERR_MODEL_LABELS, "UTF-8"},
	{"label_surrogate", 2, nullptr,
	 [](G *g, L *) {
		 free(g->labels[1]);
		 g->labels[1] = strdup("\xed\xa0\x80");
	 },
	 NPU_ERR_MODEL_LABELS, "UTF-8"},
	{"label_overlong", 2, nullptr,
	 [](G *g, L *) {
		 free(g->labels[1]);
		 g->labels[1] = strdup("\xe0\x80\xaf");
	 },
	 NPU_ERR_MODEL_LABELS, "UTF-8"},
};

INSTANTIATE_TEST_SUITE_P(Rules, GraphValidate, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Breakage> &i) {
	                         return std::string(i.param.what);
                         });

TEST(GraphValidateEdges, LegalCornersPass)
{
	GraphPtr g = mobile_graph();
	char why[256] = "";
	/* Extremes that are allowed. */
	g->tensors[0].q.zero_point = -128;
	g->tensors[1].q.zero_point = 127;
	g->tensors[1].q.scale = std::numeric_limits<float>::denorm_min();
	g->layers[layer_named(g.get(), "se_fc1")].act = NPUI_ACT_RELU6;
	g->layers[layer_named(g.get(), "maxpool")].act = NPUI_ACT_RELU;
	EXPECT_EQ(NPU_OK, npui_graph_validate(g.get(), why, sizeof(why))) << why;
	/* MUL with an element-wise second input of input 0's shape. */
	g->layers[layer_named(g.get(), "se_scale")].inputs[1] = 1;
	EXPECT_EQ(NPU_OK, npui_graph_validate(g.get(), why, sizeof(why))) << why;
	/* why may be NULL or tiny. */
	g->tensors[0].q.zero_point = 999;
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, npui_graph_validate(g.get(), nullptr, 0));
	char tiny[4];
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, npui_graph_validate(g.get(), tiny, sizeof(tiny)));
	EXPECT_EQ(3u, strlen(tiny));
}

TEST(GraphValidateEdges, LargestLegalTensorAndKernel)
{
	GraphBuilder b("edges", 9);
	int in = b.tensor("in", 16384, 16384, 1); /* exactly 2^28 elements */
	int p = b.pool("pool", NPUI_OP_MAXPOOL, in, 15, 8, 7);
	GraphPtr g = b.build(in, p);
	char why[256] = "";
	EXPECT_EQ(NPU_OK, npui_graph_validate(g.get(), why, sizeof(why))) << why;
	g->tensors[0].c = 2;
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, npui_graph_validate(g.get(), why, sizeof(why)));
}

TEST(GraphValidateEdges, AccumulatorBoundIsExact)
{
	/* FC with K = 66306 inputs: 66306 * 255 * 127 = 2147330610, leaving
	 * 153037 of headroom below INT32_MAX for |bias|. */
	GraphBuilder b2("acc", 4);
	int in2 = b2.tensor("in", 3, 1, 22102);
	int out = b2.fc("fc", in2, 1);
	GraphPtr g = b2.build(in2, out);
	char why[256] = "";
	const int64_t room = INT32_MAX - int64_t(66306) * 255 * 127;
	g->layers[0].bias[0] = static_cast<int32_t>(room);
	EXPECT_EQ(NPU_OK, npui_graph_validate(g.get(), why, sizeof(why))) << why;
	g->layers[0].bias[0] = static_cast<int32_t>(-room - 1);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, npui_graph_validate(g.get(), why, sizeof(why)));
}

TEST(GraphValidateEdges, LabelCountLimit)
{
	GraphPtr g = labeled_graph();
	uint32_t n = g->num_labels;
	g->num_labels = NPUI_MAX_LABELS + 1;
	char why[256] = "";
	int rc = npui_graph_validate(g.get(), why, sizeof(why));
	g->num_labels = n; /* before npui_graph_free walks the array */
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, rc);
	EXPECT_NE(nullptr, strstr(why, "labels")) << why;
}

} // namespace
