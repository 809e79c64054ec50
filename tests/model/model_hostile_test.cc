/*
 * The parser against damaged and hostile files. Nothing here may crash,
 * read out of bounds (ASan), leak, or return anything but a named
 * NPU_ERR_MODEL_* code. Hand-crafted cases re-seal the CRC so that the
 * check under test, not the checksum, is what rejects them.
 */
#include <cmath>
#include <limits>

#include "graph_builder.h"

using namespace modeltest;

namespace
{

/* ---- sweeps ---- */

TEST(ModelHostile, EveryTruncationIsTruncated)
{
	GraphPtr g = mobile_graph();
	ModelFile f(g.get());
	for (size_t n = 0; n < f.b.size(); n++) {
		/* A fresh allocation of exactly n bytes, so ASan sees any
		 * read past the end. */
		std::unique_ptr<uint8_t[]> buf(new uint8_t[n ? n : 1]);
		memcpy(buf.get(), f.b.data(), n);
		npui_graph *out = nullptr;
		char why[256] = "";
		ASSERT_EQ(NPU_ERR_MODEL_TRUNCATED,
		          npui_model_parse(buf.get(), n, &out, why, sizeof(why)))
		        << "length " << n;
		ASSERT_EQ(nullptr, out);
		ASSERT_NE('\0', why[0]) << "length " << n;
	}
}

TEST(ModelHostile, EveryTruncationResealedIsANamedError)
{
	/* A truncated file that claims to be complete: sections now point
	 * past the end; every cut must still be a named error. */
	GraphPtr g = labeled_graph();
	ModelFile f(g.get());
	for (size_t n = NPUI_FMT_HDR_SIZE; n < f.b.size(); n++) {
		ModelFile t = f;
		t.b.resize(n);
		t.b.shrink_to_fit();
		t.reseal(true);
		int rc = t.parse();
		ASSERT_TRUE(is_model_error(rc)) << "length " << n << " rc " << rc;
	}
}

/* Offsets of the fields that are checked before the CRC. */
static bool in_field(size_t byte, size_t off, size_t len)
{
	return byte >= off && byte < off + len;
}

TEST(ModelHostile, EveryBitFlipIsCaught)
{
	GraphPtr g = mobile_graph();
	ModelFile f(g.get());
	ASSERT_LE(f.b.size(), 20000u) << "keep the sweep fast: shrink the graph";
	std::vector<uint8_t> buf = f.b;
	for (size_t byte = 0; byte < buf.size(); byte++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[byte] ^= static_cast<uint8_t>(1u << bit);
			npui_graph *out = nullptr;
			int rc = npui_model_parse(buf.data(), buf.size(), &out, nullptr, 0);
			buf[byte] ^= static_cast<uint8_t>(1u << bit);
			ASSERT_EQ(nullptr, out);
			int want = NPU_ERR_MODEL_CHECKSUM;
			if (in_field(byte, NPUI_FMT_HDR_MAGIC, NPUI_FMT_MAGIC_LEN))
				want = NPU_ERR_MODEL_MAGIC;
			else if (in_field(byte, NPUI_FMT_HDR_VERSION, 4))
				want = NPU_ERR_MODEL_VERSION;
			else if (in_field(byte, NPUI_FMT_HDR_FILE_SIZE, 8) &&
			         rc == NPU_ERR_MODEL_TRUNCATED)
				want = NPU_ERR_MODEL_TRUNCATED; /* size grew past the data */
			ASSERT_EQ(want, rc) << "byte " << byte << " bit " << bit;
		}
	}
}

TEST(ModelHostile, EveryBitFlipWithFixedCrcIsSafe)
{
	/* Past the checksum: the flipped file is either a different valid
	 * model (a weight, a scale, a zero point...) or a named error. */
	for (int which = 0; which < 2; which++) {
		GraphPtr g = which ? shuffle_graph() : labeled_graph();
		ModelFile f(g.get());
		ASSERT_LE(f.b.size(), 20000u);
		int accepted = 0, rejected = 0;
		for (size_t byte = 0; byte < f.b.size(); byte++) {
			if (in_field(byte, NPUI_FMT_HDR_CRC, 4))
				continue;
			for (int bit = 0; bit < 8; bit++) {
				ModelFile t = f;
				t.b[byte] ^= static_cast<uint8_t>(1u << bit);
				t.reseal();
				npui_graph *out = nullptr;
				int rc = npui_model_parse(t.b.data(), t.b.size(), &out, nullptr, 0);
				if (rc == NPU_OK) {
					accepted++;
					GraphPtr gp(out);
					ASSERT_EQ(NPU_OK, npui_graph_validate(out, nullptr, 0))
					        << "byte " << byte << " bit " << bit;
					/* An accepted file round-trips like any other. */
					ModelFile again(out);
					GraphPtr back;
					npui_graph *o2 = nullptr;
					ASSERT_EQ(NPU_OK,
					          npui_model_parse(again.b.data(), again.b.size(),
					                           &o2, nullptr, 0));
					back.reset(o2);
					expect_graphs_equal(out, o2);
				} else {
					rejected++;
					ASSERT_EQ(nullptr, out);
					ASSERT_TRUE(is_model_error(rc))
					        << "byte " << byte << " bit " << bit << " rc "
					        << rc;
				}
			}
		}
		/* Both outcomes must occur, or the sweep is not testing much. */
		EXPECT_GT(accepted, 100);
		EXPECT_GT(rejected, 100);
	}
}

TEST(ModelHostile, RandomGarbageWithValidEnvelope)
{
	/* Random bodies behind a good magic/version/size/CRC. */
	std::mt19937 rng(12345);
	for (int iter = 0; iter < 2000; iter++) {
		ModelFile f(labeled_graph().get());
		size_t n = NPUI_FMT_HDR_SIZE + rng() % 1500;
		f.b.resize(n);
		size_t from = iter % 2 ? NPUI_FMT_HDR_NUM_TENSORS : NPUI_FMT_HDR_SIZE;
		for (size_t i = from; i < n; i++)
			f.b[i] = static_cast<uint8_t>(rng());
		f.reseal(true);
		int rc = f.parse();
		ASSERT_TRUE(is_model_error(rc)) << "iter " << iter << " rc " << rc;
	}
}

/* ---- hand-crafted: envelope and header ---- */

class Hostile : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		g_ = mobile_graph();
		f_.reset(new ModelFile(g_.get()));
	}

	/* Reseal and parse; the reason must be non-empty. */
	int parse(std::string *why = nullptr)
	{
		f_->reseal();
		return f_->parse(why);
	}

	/* Layer index of the first layer with op. */
	uint32_t first(npui_op op) const
	{
		for (uint32_t i = 0; i < g_->num_layers; i++)
			if (g_->layers[i].op == op)
				return i;
		abort();
	}

	std::vector<uint8_t> &b()
	{
		return f_->b;
	}

	GraphPtr g_;
	std::unique_ptr<ModelFile> f_;
};

TEST_F(Hostile, Magic)
{
	b()[1] = 'X';
	EXPECT_EQ(NPU_ERR_MODEL_MAGIC, parse());
	b()[1] = 'L';
	b()[7] = '\r'; /* line-ending damage */
	EXPECT_EQ(NPU_ERR_MODEL_MAGIC, parse());
}

TEST_F(Hostile, Version)
{
	npui_le_put32(&b()[NPUI_FMT_HDR_VERSION], 2);
	EXPECT_EQ(NPU_ERR_MODEL_VERSION, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_VERSION], 0);
	EXPECT_EQ(NPU_ERR_MODEL_VERSION, parse());
}

TEST_F(Hostile, HeaderSize)
{
	npui_le_put32(&b()[NPUI_FMT_HDR_HEADER_SIZE], 176);
	EXPECT_EQ(NPU_ERR_MODEL_VERSION, parse());
}

TEST_F(Hostile, DeclaredSize)
{
	npui_le_put64(&b()[NPUI_FMT_HDR_FILE_SIZE], b().size() + 1);
	EXPECT_EQ(NPU_ERR_MODEL_TRUNCATED, parse());
	npui_le_put64(&b()[NPUI_FMT_HDR_FILE_SIZE], UINT64_MAX);
	EXPECT_EQ(NPU_ERR_MODEL_TRUNCATED, parse());
	npui_le_put64(&b()[NPUI_FMT_HDR_FILE_SIZE], 12);
	EXPECT_EQ(NPU_ERR_MODEL_TRUNCATED, parse());
}

TEST_F(Hostile, TrailingBytes)
{
	/* An intact file with one byte appended: CRC and size still agree
	 * with each other, so only the length check can object. */
	b().push_back(0);
	std::string why;
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, f_->parse(&why));
	EXPECT_NE(std::string::npos, why.find("after")) << why;
}

TEST_F(Hostile, Checksum)
{
	b()[b().size() - 1] ^= 0x40;
	EXPECT_EQ(NPU_ERR_MODEL_CHECKSUM, f_->parse());
}

TEST_F(Hostile, HeaderFlagsAndReserved)
{
	npui_le_put32(&b()[NPUI_FMT_HDR_FLAGS], 1);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_FLAGS], 0);
	b()[NPUI_FMT_HDR_RESERVED0 + 3] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	b()[NPUI_FMT_HDR_RESERVED0 + 3] = 0;
	b()[NPUI_FMT_HDR_RESERVED1 + 7] = 0x80;
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
}

TEST_F(Hostile, GraphName)
{
	memset(&b()[NPUI_FMT_HDR_NAME], 'a', NPUI_NAME_MAX);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	memset(&b()[NPUI_FMT_HDR_NAME], 0, NPUI_NAME_MAX);
	b()[NPUI_FMT_HDR_NAME + 20] = 'z'; /* junk after the NUL */
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
}

TEST_F(Hostile, HugeCounts)
{
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_TENSORS], 0xFFFFFFFFu);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_TENSORS], g_->num_tensors + 1);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse()) << "count disagrees with the section size";
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_TENSORS], 0);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_TENSORS], g_->num_tensors);
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_LAYERS], 0x7FFFFFFFu);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_LAYERS], g_->num_layers);
	npui_le_put32(f_->labels(), 0xFFFFFFFFu);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse());
	npui_le_put32(f_->labels(), 1);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse()) << "one label needs two bytes, section has none";
}

TEST_F(Hostile, MaxCountsThatFitTheFileStillNeedTheBytes)
{
	/* 65536 tensors claims a 4 MiB section in a ~5 KB file. */
	npui_le_put32(&b()[NPUI_FMT_HDR_NUM_TENSORS], NPUI_MAX_TENSORS);
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(NPUI_FMT_SEC_TENSORS)],
	              (uint64_t)NPUI_MAX_TENSORS * NPUI_FMT_TEN_SIZE);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
}

struct SectionCase {
	int sec;
	int err;
};

std::string section_param_name(const ::testing::TestParamInfo<SectionCase> &i)
{
	static const char *const names[] = {"tensors", "layers", "blob", "labels"};
	return names[i.param.sec];
}

class HostileSection : public Hostile, public ::testing::WithParamInterface<SectionCase>
{
};

TEST_P(HostileSection, OffsetPastEnd)
{
	int s = GetParam().sec;
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], b().size() + 16 * 100);
	EXPECT_EQ(GetParam().err, parse());
}

TEST_P(HostileSection, OffsetPlusSizeOverflows)
{
	int s = GetParam().sec;
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], 0xFFFFFFFFFFFFFFF0ull);
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(s)], 0x20);
	EXPECT_EQ(GetParam().err, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], 160);
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(s)], UINT64_MAX - 100);
	EXPECT_EQ(GetParam().err, parse());
}

TEST_P(HostileSection, OverlapsHeader)
{
	int s = GetParam().sec;
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], 0);
	EXPECT_EQ(GetParam().err, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], 144);
	EXPECT_EQ(GetParam().err, parse());
}

TEST_P(HostileSection, Misaligned)
{
	int s = GetParam().sec;
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], f_->sec_off(s) + 4);
	EXPECT_EQ(GetParam().err, parse());
}

INSTANTIATE_TEST_SUITE_P(Sections, HostileSection,
                         ::testing::Values(SectionCase{NPUI_FMT_SEC_TENSORS, NPU_ERR_MODEL_TENSOR},
                                           SectionCase{NPUI_FMT_SEC_LAYERS, NPU_ERR_MODEL_LAYER},
                                           SectionCase{NPUI_FMT_SEC_BLOB, NPU_ERR_MODEL_WEIGHTS},
                                           SectionCase{NPUI_FMT_SEC_LABELS, NPU_ERR_MODEL_LABELS}),
                         section_param_name);

TEST_F(Hostile, SectionsOverlapEachOther)
{
	/* Layers start inside the tensor section. */
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(NPUI_FMT_SEC_LAYERS)],
	              f_->sec_off(NPUI_FMT_SEC_TENSORS) + 64);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
}

/* ---- hand-crafted: records ---- */

TEST_F(Hostile, TensorScale)
{
	const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
	                     std::numeric_limits<float>::infinity(),
	                     -std::numeric_limits<float>::infinity(),
	                     -0.5f,
	                     0.0f,
	                     -0.0f,
	                     std::numeric_limits<float>::denorm_min() * -1};
	for (float s : bad) {
		npui_le_putf32(f_->tensor(2) + NPUI_FMT_TEN_SCALE, s);
		std::string why;
		EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse(&why)) << s;
		EXPECT_NE(std::string::npos, why.find("scale")) << why;
	}
}

TEST_F(Hostile, ZeroPoint)
{
	npui_le_puti32(f_->tensor(1) + NPUI_FMT_TEN_ZP, 200);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	npui_le_puti32(f_->tensor(1) + NPUI_FMT_TEN_ZP, -129);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	npui_le_puti32(f_->tensor(1) + NPUI_FMT_TEN_ZP, INT32_MIN);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
}

TEST_F(Hostile, Dims)
{
	const int32_t bad[][3] = {{0, 4, 4},
	                          {4, 0, 4},
	                          {4, 4, 0},
	                          {-1, 4, 4},
	                          {32769, 1, 1},
	                          {INT32_MAX, 1, 1},
	                          {32768, 32768, 32768},
	                          {16384, 16384, 2}};
	for (auto &d : bad) {
		uint8_t *t = f_->tensor(5);
		npui_le_puti32(t + NPUI_FMT_TEN_H, d[0]);
		npui_le_puti32(t + NPUI_FMT_TEN_W, d[1]);
		npui_le_puti32(t + NPUI_FMT_TEN_C, d[2]);
		EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse()) << d[0] << "x" << d[1] << "x" << d[2];
	}
}

TEST_F(Hostile, ConvOutputChannelsCorrupt)
{
	/* The bias count comes from the output tensor's C: a hostile C must
	 * be refused before it sizes anything. */
	uint32_t out = g_->layers[0].output;
	npui_le_puti32(f_->tensor(out) + NPUI_FMT_TEN_C, INT32_MAX);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	npui_le_puti32(f_->tensor(out) + NPUI_FMT_TEN_C, 17);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse()) << "bias is 16 entries, C says 17";
}

TEST_F(Hostile, TensorNameAndFlags)
{
	memset(f_->tensor(0) + NPUI_FMT_TEN_NAME, 'n', NPUI_NAME_MAX);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	memset(f_->tensor(0) + NPUI_FMT_TEN_NAME, 0, NPUI_NAME_MAX);
	npui_le_put32(f_->tensor(0) + NPUI_FMT_TEN_FLAGS, 0x100);
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	npui_le_put32(f_->tensor(0) + NPUI_FMT_TEN_FLAGS, 0);
	f_->tensor(0)[NPUI_FMT_TEN_RESERVED + 5] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_TENSOR, parse());
	f_->tensor(0)[NPUI_FMT_TEN_RESERVED + 5] = 0;
	EXPECT_EQ(NPU_OK, parse()) << "an empty name is fine";
}

TEST_F(Hostile, LayerFlagsAndReserved)
{
	uint8_t *l = f_->layer(3);
	npui_le_put32(l + NPUI_FMT_LAY_FLAGS, 0x80000000u);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put32(l + NPUI_FMT_LAY_FLAGS, 0);
	l[NPUI_FMT_LAY_RESERVED0] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	l[NPUI_FMT_LAY_RESERVED0] = 0;
	l[NPUI_FMT_LAY_RESERVED1 + 7] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	l[NPUI_FMT_LAY_RESERVED1 + 7] = 0;
	memset(l + NPUI_FMT_LAY_NAME, 'x', NPUI_NAME_MAX);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
}

TEST_F(Hostile, UnknownOpAndInputCount)
{
	uint8_t *l = f_->layer(2);
	npui_le_put16(l + NPUI_FMT_LAY_OP, 0);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put16(l + NPUI_FMT_LAY_OP, NPUI_OP_COUNT);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put16(l + NPUI_FMT_LAY_OP, 0xFFFF);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put16(l + NPUI_FMT_LAY_OP, NPUI_OP_CONV);
	l[NPUI_FMT_LAY_NUM_INPUTS] = 9;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	l[NPUI_FMT_LAY_NUM_INPUTS] = 255;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	l[NPUI_FMT_LAY_NUM_INPUTS] = 2; /* conv takes one; slot 1 is -1 */
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
}

TEST_F(Hostile, UnusedInputSlotMustBeMinusOne)
{
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_INPUTS + 4 * 7, 0);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
}

TEST_F(Hostile, UnusedParameterMustBeZero)
{
	uint8_t *gap = f_->layer(first(NPUI_OP_GAP));
	npui_le_put16(gap + NPUI_FMT_LAY_KH, 3);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put16(gap + NPUI_FMT_LAY_KH, 0);
	npui_le_put16(gap + NPUI_FMT_LAY_GROUPS, 2);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put16(gap + NPUI_FMT_LAY_GROUPS, 0);
	gap[NPUI_FMT_LAY_LUT_FN] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	gap[NPUI_FMT_LAY_LUT_FN] = 0;
	npui_le_puti32(gap + NPUI_FMT_LAY_SPLIT_BEGIN, 1);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_puti32(gap + NPUI_FMT_LAY_SPLIT_BEGIN, 0);
	gap[NPUI_FMT_LAY_COUNT_PAD] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	gap[NPUI_FMT_LAY_COUNT_PAD] = 0;
	EXPECT_EQ(NPU_OK, parse());
}

TEST_F(Hostile, TensorIdOutOfRange)
{
	npui_le_puti32(f_->layer(2) + NPUI_FMT_LAY_INPUTS, 999);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	npui_le_puti32(f_->layer(2) + NPUI_FMT_LAY_INPUTS, -5);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	npui_le_puti32(f_->layer(2) + NPUI_FMT_LAY_INPUTS, g_->layers[2].inputs[0]);
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_OUTPUT, INT32_MIN);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse()) << "conv output id sizes the bias";
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_OUTPUT, g_->layers[0].output);
	npui_le_puti32(&b()[NPUI_FMT_HDR_INPUT], (int32_t)g_->num_tensors);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	npui_le_puti32(&b()[NPUI_FMT_HDR_INPUT], g_->input);
	npui_le_puti32(&b()[NPUI_FMT_HDR_OUTPUT], -1);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
}

TEST_F(Hostile, LayersOutOfOrder)
{
	/* Swap layers 1 and 2: the projection now reads a tensor nobody has
	 * written yet. */
	std::vector<uint8_t> l1(f_->layer(1), f_->layer(1) + NPUI_FMT_LAY_SIZE);
	memcpy(f_->layer(1), f_->layer(2), NPUI_FMT_LAY_SIZE);
	memcpy(f_->layer(2), l1.data(), NPUI_FMT_LAY_SIZE);
	std::string why;
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse(&why));
	EXPECT_NE(std::string::npos, why.find("order")) << why;
}

TEST_F(Hostile, Cycle)
{
	/* Layer 0 reads layer 1's output, which depends on layer 0. */
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_INPUTS, g_->layers[1].output);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
	/* A layer that reads its own output. */
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_INPUTS, g_->layers[0].output);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
}

TEST_F(Hostile, TwoWriters)
{
	uint32_t add = first(NPUI_OP_ADD);
	/* The lut after the add writes the add's output again (same shape). */
	npui_le_puti32(f_->layer(add + 1) + NPUI_FMT_LAY_OUTPUT, g_->layers[add].output);
	std::string why;
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse(&why));
	EXPECT_NE(std::string::npos, why.find("already written")) << why;
}

TEST_F(Hostile, WritesGraphInput)
{
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_OUTPUT, g_->input);
	EXPECT_TRUE(is_model_error(parse()));
	npui_le_puti32(f_->layer(0) + NPUI_FMT_LAY_OUTPUT, g_->layers[0].output);
	/* Graph output that no layer writes: point it at the input. */
	npui_le_puti32(&b()[NPUI_FMT_HDR_OUTPUT], g_->input);
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
}

TEST_F(Hostile, WeightSizeMismatch)
{
	uint8_t *l = f_->layer(0);
	uint64_t n = npui_le_get64(l + NPUI_FMT_LAY_WEIGHTS + 8);
	npui_le_put64(l + NPUI_FMT_LAY_WEIGHTS + 8, n - 16);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
	npui_le_put64(l + NPUI_FMT_LAY_WEIGHTS + 8, 0);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
	npui_le_put64(l + NPUI_FMT_LAY_WEIGHTS + 8, f_->sec_size(NPUI_FMT_SEC_BLOB) + 1);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
	npui_le_put64(l + NPUI_FMT_LAY_WEIGHTS + 8, n);
	npui_le_put64(l + NPUI_FMT_LAY_BIAS + 8, 60);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
	npui_le_put64(l + NPUI_FMT_LAY_BIAS + 8, 64);
	npui_le_put64(l + NPUI_FMT_LAY_W_SCALE + 8, 68);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
}

TEST_F(Hostile, WeightOffsets)
{
	uint8_t *l = f_->layer(1);
	uint64_t off = npui_le_get64(l + NPUI_FMT_LAY_BIAS);
	npui_le_put64(l + NPUI_FMT_LAY_BIAS, off + 4);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse()) << "misaligned";
	npui_le_put64(l + NPUI_FMT_LAY_BIAS, f_->sec_size(NPUI_FMT_SEC_BLOB));
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse()) << "past the blob";
	npui_le_put64(l + NPUI_FMT_LAY_BIAS, 0xFFFFFFFFFFFFFFF0ull);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse()) << "offset + size wraps";
	npui_le_put64(l + NPUI_FMT_LAY_BIAS, off);
	EXPECT_EQ(NPU_OK, parse());
}

TEST_F(Hostile, WeightlessOpPointsAtBlob)
{
	uint8_t *l = f_->layer(first(NPUI_OP_ADD));
	npui_le_put64(l + NPUI_FMT_LAY_W_SCALE + 8, 16);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
}

TEST_F(Hostile, WeightScale)
{
	uint8_t *l = f_->layer(0);
	uint8_t *ws = f_->blob() + npui_le_get64(l + NPUI_FMT_LAY_W_SCALE);
	const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
	                     std::numeric_limits<float>::infinity(), -1.0f, 0.0f};
	for (float s : bad) {
		npui_le_putf32(ws + 4 * 7, s);
		EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse()) << s;
	}
}

TEST_F(Hostile, BiasOverflowsAccumulator)
{
	uint8_t *l = f_->layer(0);
	uint8_t *bias = f_->blob() + npui_le_get64(l + NPUI_FMT_LAY_BIAS);
	npui_le_puti32(bias, INT32_MIN);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
	npui_le_puti32(bias, INT32_MAX - 1000);
	EXPECT_EQ(NPU_ERR_MODEL_WEIGHTS, parse());
}

TEST_F(Hostile, ShapeRuleInFile)
{
	/* A stride the output shape does not match. */
	npui_le_put16(f_->layer(0) + NPUI_FMT_LAY_STRIDE_H, 1);
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
	npui_le_put16(f_->layer(0) + NPUI_FMT_LAY_STRIDE_H, 2);
	f_->layer(0)[NPUI_FMT_LAY_ACT] = 3;
	EXPECT_EQ(NPU_ERR_MODEL_LAYER, parse());
}

/* ---- hand-crafted: labels ---- */

class HostileLabels : public Hostile
{
      protected:
	void SetUp() override
	{
		g_ = labeled_graph();
		f_.reset(new ModelFile(g_.get()));
	}
};

TEST_F(HostileLabels, LengthPastEnd)
{
	uint8_t *p = f_->labels();
	/* Make the last label (255 bytes) claim 256..65535 bytes. */
	uint64_t last = f_->sec_size(NPUI_FMT_SEC_LABELS) - 255 - 2;
	npui_le_put16(p + last, 254);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse()) << "one stray byte after the last label";
	npui_le_put16(p + last, 256);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse());
	npui_le_put16(p + last, 0xFFFF);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse());
	npui_le_put16(p + last, 255);
	npui_le_put32(p, 6);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse()) << "count one too many";
	npui_le_put32(p, 4);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse()) << "count one too few";
	npui_le_put32(p, 5);
	EXPECT_EQ(NPU_OK, parse());
}

TEST_F(HostileLabels, BadBytes)
{
	uint8_t *p = f_->labels();
	/* Label 0 is "cat" at offset 4 + 2. */
	p[6 + 1] = 0;
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse()) << "embedded NUL";
	p[6 + 1] = 0xFF;
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse()) << "invalid UTF-8";
	p[6 + 1] = 0xC0; /* overlong start */
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse());
	p[6 + 1] = 0xE2; /* truncated 3-byte sequence: E2 74 */
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse());
	p[6 + 1] = 'a';
	EXPECT_EQ(NPU_OK, parse());
}

TEST_F(HostileLabels, SectionTooSmall)
{
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(NPUI_FMT_SEC_LABELS)], 2);
	EXPECT_EQ(NPU_ERR_MODEL_LABELS, parse());
}

} // namespace
