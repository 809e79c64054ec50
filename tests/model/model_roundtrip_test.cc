/*
 * Model writer and parser on valid graphs: round trip, determinism, the
 * documented byte layout, argument checks; and the graph helpers
 * (op names, MACs, expected weight counts). CRC-32 known answers too.
 */
#include "graph_builder.h"

using namespace modeltest;

namespace
{

GraphPtr parse_bytes(const std::vector<uint8_t> &b, int *rc_out = nullptr)
{
	npui_graph *g = nullptr;
	char why[256] = "";
	int rc = npui_model_parse(b.data(), b.size(), &g, why, sizeof(why));
	if (rc_out)
		*rc_out = rc;
	else
		EXPECT_EQ(NPU_OK, rc) << why;
	return GraphPtr(g);
}

class ModelRoundTrip : public ::testing::TestWithParam<int>
{
      protected:
	GraphPtr make() const
	{
		switch (GetParam()) {
		case 0:
			return mobile_graph();
		case 1:
			return shuffle_graph();
		default:
			return labeled_graph();
		}
	}
};

TEST_P(ModelRoundTrip, BuiltGraphValidates)
{
	GraphPtr g = make();
	char why[256] = "";
	ASSERT_EQ(NPU_OK, npui_graph_validate(g.get(), why, sizeof(why))) << why;
}

TEST_P(ModelRoundTrip, ParseEqualsOriginal)
{
	GraphPtr g = make();
	ModelFile f(g.get());
	ASSERT_FALSE(f.b.empty());
	GraphPtr back = parse_bytes(f.b);
	ASSERT_TRUE(back);
	expect_graphs_equal(g.get(), back.get());
}

TEST_P(ModelRoundTrip, SerializeIsDeterministicAndIdempotent)
{
	GraphPtr g = make();
	ModelFile a(g.get()), b(g.get());
	ASSERT_EQ(a.b, b.b);
	/* The parsed graph writes the very same bytes: one encoding. */
	GraphPtr back = parse_bytes(a.b);
	ASSERT_TRUE(back);
	ModelFile c(back.get());
	ASSERT_EQ(a.b, c.b);
}

TEST_P(ModelRoundTrip, ParsesAtAnyAlignment)
{
	GraphPtr g = make();
	ModelFile f(g.get());
	for (size_t shift = 1; shift < 8; shift++) {
		std::vector<uint8_t> buf(f.b.size() + shift);
		memcpy(buf.data() + shift, f.b.data(), f.b.size());
		npui_graph *out = nullptr;
		ASSERT_EQ(NPU_OK,
		          npui_model_parse(buf.data() + shift, f.b.size(), &out, nullptr, 0))
		        << "shift " << shift;
		GraphPtr back(out);
		expect_graphs_equal(g.get(), back.get());
	}
}

TEST_P(ModelRoundTrip, LayoutMatchesTheDocument)
{
	GraphPtr g = make();
	ModelFile f(g.get());
	const uint8_t *d = f.b.data();
	ASSERT_EQ(0, memcmp(d, "\x89LWNPU\r\n", 8));
	EXPECT_EQ(1u, npui_le_get32(d + 8));
	EXPECT_EQ(160u, npui_le_get32(d + 12));
	EXPECT_EQ(f.b.size(), npui_le_get64(d + 16));
	EXPECT_EQ(0u, npui_le_get32(d + 28));
	EXPECT_EQ(g->num_tensors, npui_le_get32(d + 64));
	EXPECT_EQ(g->num_layers, npui_le_get32(d + 68));
	/* Sections follow the header in table order, 16-byte aligned. */
	uint64_t end = 160;
	for (int s = 0; s < NPUI_FMT_SEC_COUNT; s++) {
		EXPECT_EQ(0u, f.sec_off(s) % 16) << "section " << s;
		EXPECT_GE(f.sec_off(s), end) << "section " << s;
		EXPECT_LT(f.sec_off(s) - end, 16u) << "section " << s;
		end = f.sec_off(s) + f.sec_size(s);
	}
	EXPECT_EQ(f.b.size(), end);
	EXPECT_EQ(g->num_tensors * 64u, f.sec_size(NPUI_FMT_SEC_TENSORS));
	EXPECT_EQ(g->num_layers * 160u, f.sec_size(NPUI_FMT_SEC_LAYERS));
	/* The stored CRC is zlib's CRC-32 of the file with the field zeroed. */
	std::vector<uint8_t> z = f.b;
	memset(&z[24], 0, 4);
	EXPECT_EQ(npui_le_get32(d + 24), npui_crc32(0, z.data(), z.size()));
	/* Tensor 0's record, field by field. */
	const uint8_t *t = f.tensor(0);
	EXPECT_STREQ(g->tensors[0].name, reinterpret_cast<const char *>(t));
	EXPECT_EQ(g->tensors[0].h, npui_le_geti32(t + 32));
	EXPECT_EQ(g->tensors[0].c, npui_le_geti32(t + 40));
	EXPECT_EQ(g->tensors[0].q.zero_point, npui_le_geti32(t + 48));
	/* Layer 0 is a conv whose weights are the blob's first bytes. */
	const uint8_t *l = f.layer(0);
	EXPECT_EQ(NPUI_OP_CONV, npui_le_get16(l + 32));
	EXPECT_EQ(0u, npui_le_get64(l + 104));
	EXPECT_EQ(g->layers[0].weights_count, npui_le_get64(l + 112));
	EXPECT_EQ(0, memcmp(f.blob(), g->layers[0].weights, g->layers[0].weights_count));
	EXPECT_EQ(-1, npui_le_geti32(l + 36 + 4 * 1)) << "unused input slots are -1";
}

std::string graph_param_name(const ::testing::TestParamInfo<int> &i)
{
	static const char *const names[] = {"mobile", "shuffle", "labeled"};
	return names[i.param];
}

INSTANTIATE_TEST_SUITE_P(Graphs, ModelRoundTrip, ::testing::Values(0, 1, 2), graph_param_name);

TEST(ModelFormat, LabelsSurvive)
{
	GraphPtr g = labeled_graph();
	ModelFile f(g.get());
	GraphPtr back = parse_bytes(f.b);
	ASSERT_TRUE(back);
	ASSERT_EQ(5u, back->num_labels);
	EXPECT_STREQ("caf\xc3\xa9", back->labels[1]);
	EXPECT_STREQ("", back->labels[2]);
	EXPECT_EQ(255u, strlen(back->labels[4]));
}

TEST(ModelFormat, UnusedFieldsAreWrittenAsZero)
{
	/* Junk in fields an op ignores must not reach the file. */
	GraphPtr g = mobile_graph();
	for (uint32_t i = 0; i < g->num_layers; i++) {
		npui_layer &l = g->layers[i];
		if (l.op == NPUI_OP_GAP || l.op == NPUI_OP_ADD || l.op == NPUI_OP_LUT) {
			l.kh = 7;
			l.stride_w = 3;
			l.groups = 9;
			l.split_begin = 5;
			l.count_include_pad = 1;
		}
		for (unsigned k = l.num_inputs; k < NPUI_MAX_INPUTS; k++)
			l.inputs[k] = 1234;
	}
	memset(g->tensors[0].name + 10, 'j', sizeof(g->tensors[0].name) - 11);
	g->tensors[0].name[5] = '\0';
	ModelFile f(g.get());
	GraphPtr clean = mobile_graph();
	strcpy(clean->tensors[0].name, g->tensors[0].name);
	ModelFile want(clean.get());
	EXPECT_EQ(want.b, f.b);
	EXPECT_EQ(NPU_OK, f.parse());
}

TEST(ModelFormat, SerializeRefusesInvalidGraph)
{
	GraphPtr g = mobile_graph();
	g->tensors[3].q.zero_point = 300;
	void *data = reinterpret_cast<void *>(0x1);
	size_t size = 77;
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, npui_model_serialize(g.get(), &data, &size));
	EXPECT_EQ(reinterpret_cast<void *>(0x1), data) << "output written on error";
	EXPECT_EQ(77u, size);
}

TEST(ModelFormat, ArgumentChecks)
{
	GraphPtr g = mobile_graph();
	void *data;
	size_t size;
	npui_graph *out = nullptr;
	EXPECT_EQ(NPU_ERR_INVALID_ARG, npui_model_serialize(nullptr, &data, &size));
	EXPECT_EQ(NPU_ERR_INVALID_ARG, npui_model_serialize(g.get(), nullptr, &size));
	EXPECT_EQ(NPU_ERR_INVALID_ARG, npui_model_serialize(g.get(), &data, nullptr));
	ModelFile f(g.get());
	EXPECT_EQ(NPU_ERR_INVALID_ARG,
	          npui_model_parse(f.b.data(), f.b.size(), nullptr, nullptr, 0));
	EXPECT_EQ(NPU_ERR_INVALID_ARG, npui_model_parse(nullptr, 10, &out, nullptr, 0));
	EXPECT_EQ(NPU_ERR_MODEL_TRUNCATED, npui_model_parse(nullptr, 0, &out, nullptr, 0));
	EXPECT_EQ(nullptr, out);
	EXPECT_EQ(NPU_ERR_INVALID_ARG, npui_graph_validate(nullptr, nullptr, 0));
	/* A one-byte why buffer is enough to stay in bounds. */
	char why[1] = {'x'};
	EXPECT_EQ(NPU_ERR_MODEL_TRUNCATED, npui_model_parse(f.b.data(), 10, &out, why, 1));
	EXPECT_EQ('\0', why[0]);
	npui_graph_free(nullptr);
}

/* ---- graph helpers ---- */

TEST(GraphHelpers, OpNames)
{
	GraphPtr g = mobile_graph();
	const char *want[] = {"conv", "dwconv", "conv",   "gap",     "fc",      "fc",  "hsigmoid",
	                      "mul",  "add",    "hswish", "maxpool", "avgpool", "gap", "fc"};
	ASSERT_EQ(sizeof(want) / sizeof(want[0]), g->num_layers);
	for (uint32_t i = 0; i < g->num_layers; i++)
		EXPECT_STREQ(want[i], npui_op_name(&g->layers[i])) << "layer " << i;

	GraphPtr s = shuffle_graph();
	const char *want_s[] = {"conv",   "split",   "split", "conv",   "dwconv",  "conv",
	                        "concat", "shuffle", "conv",  "concat", "avgpool", "sigmoid"};
	ASSERT_EQ(sizeof(want_s) / sizeof(want_s[0]), s->num_layers);
	for (uint32_t i = 0; i < s->num_layers; i++)
		EXPECT_STREQ(want_s[i], npui_op_name(&s->layers[i])) << "layer " << i;

	npui_layer l{};
	EXPECT_STREQ("?", npui_op_name(nullptr));
	EXPECT_STREQ("?", npui_op_name(&l));
	l.op = NPUI_OP_COUNT;
	EXPECT_STREQ("?", npui_op_name(&l));
	l.op = NPUI_OP_LUT;
	for (int fn = 1; fn <= 5; fn++) {
		l.lut_fn = static_cast<uint8_t>(fn);
		const char *n[] = {"", "hswish", "hsigmoid", "sigmoid", "relu", "relu6"};
		EXPECT_STREQ(n[fn], npui_op_name(&l));
	}
	l.lut_fn = 6;
	EXPECT_STREQ("?", npui_op_name(&l));
}

TEST(GraphHelpers, MacsAndWeights)
{
	GraphPtr g = mobile_graph();
	/* stem: 3x3 conv 4 -> 16 on a 4x4 output. */
	EXPECT_EQ(16u * 3 * 3 * 4, npui_layer_weights_expected(g.get(), &g->layers[0]));
	EXPECT_EQ(4u * 4 * 16 * 3 * 3 * 4, npui_layer_macs(g.get(), &g->layers[0]));
	/* depthwise: one input channel per output. */
	EXPECT_EQ(16u * 3 * 3, npui_layer_weights_expected(g.get(), &g->layers[1]));
	EXPECT_EQ(4u * 4 * 16 * 9, npui_layer_macs(g.get(), &g->layers[1]));
	/* classifier fc: 16 -> 10. */
	EXPECT_EQ(160u, npui_layer_weights_expected(g.get(), &g->layers[13]));
	EXPECT_EQ(160u, npui_layer_macs(g.get(), &g->layers[13]));
	/* No MACs for weightless ops. */
	EXPECT_EQ(0u, npui_layer_macs(g.get(), &g->layers[3]));
	EXPECT_EQ(0u, npui_layer_weights_expected(g.get(), &g->layers[8]));
	/* Broken ids give 0, not a crash. */
	npui_layer bad = g->layers[0];
	bad.output = 999;
	EXPECT_EQ(0u, npui_layer_weights_expected(g.get(), &bad));
	EXPECT_EQ(0u, npui_layer_macs(g.get(), &bad));
}

/* ---- CRC-32 ---- */

TEST(ModelCrc32, KnownAnswers)
{
	EXPECT_EQ(0u, npui_crc32(0, nullptr, 0));
	EXPECT_EQ(0xCBF43926u, npui_crc32(0, "123456789", 9));
	EXPECT_EQ(0xE8B7BE43u, npui_crc32(0, "a", 1));
	EXPECT_EQ(0x414FA339u, npui_crc32(0, "The quick brown fox jumps over the lazy dog", 43));
	uint8_t zeros[32] = {};
	EXPECT_EQ(0x190A55ADu, npui_crc32(0, zeros, sizeof(zeros)));
}

TEST(ModelCrc32, PiecesCompose)
{
	std::mt19937 rng(7);
	std::vector<uint8_t> buf(1000);
	for (auto &x : buf)
		x = static_cast<uint8_t>(rng());
	uint32_t whole = npui_crc32(0, buf.data(), buf.size());
	for (size_t cut = 0; cut <= buf.size(); cut += 37) {
		uint32_t c = npui_crc32(0, buf.data(), cut);
		EXPECT_EQ(whole, npui_crc32(c, buf.data() + cut, buf.size() - cut))
		        << "cut " << cut;
	}
}

} // namespace
