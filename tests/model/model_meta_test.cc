/*
 * Format version 2: the input-metadata section (docs/MODEL_FORMAT.md,
 * "Metadata section"). A graph with metadata is written as version 2, one
 * without as version 1 byte for byte as before; both parse; every rule on
 * the new header size, section and fields is a named error; and the public
 * npu_model_input_info() reports what the file holds.
 */
#include <cmath>
#include <limits>

#include "graph_builder.h"

using namespace modeltest;

namespace
{

GraphPtr meta_graph()
{
	GraphPtr g = labeled_graph(); /* input 4x4x3 */
	set_rgb_meta(g.get());
	return g;
}

/* input 4x4xC -> FC, with grey stretch metadata: mean 0.5, std 0.25 on
 * the first min(C, 4) channels. */
GraphPtr grey_fc(int c)
{
	GraphBuilder b("grey");
	int in = b.tensor("input", 4, 4, c);
	int out = b.fc("fc", in, 3);
	GraphPtr g = b.build(in, out);
	g->has_meta = 1;
	g->meta.color = NPUI_COLOR_GRAY;
	g->meta.resize = NPUI_RESIZE_STRETCH;
	g->meta.layout = NPUI_LAYOUT_NHWC;
	for (int k = 0; k < c && k < NPUI_META_CHANNELS; k++) {
		g->meta.mean[k] = 0.5f;
		g->meta.std[k] = 0.25f;
	}
	return g;
}

TEST(ModelMeta, WrittenAsVersion2WithAFifthSection)
{
	GraphPtr g = meta_graph();
	ModelFile f(g.get());
	ASSERT_FALSE(f.b.empty());
	EXPECT_EQ(2u, npui_le_get32(&f.b[NPUI_FMT_HDR_VERSION]));
	EXPECT_EQ(176u, npui_le_get32(&f.b[NPUI_FMT_HDR_HEADER_SIZE]));
	EXPECT_EQ(176u, f.sec_off(NPUI_FMT_SEC_TENSORS));
	/* Sections in table order, each at the next multiple of 16. */
	for (int s = 1; s < NPUI_FMT_SEC_COUNT2; s++)
		EXPECT_EQ(f.sec_off(s), (f.sec_off(s - 1) + f.sec_size(s - 1) + 15) / 16 * 16)
		        << "section " << s;
	EXPECT_EQ(64u, f.sec_size(NPUI_FMT_SEC_META));
	EXPECT_EQ(f.b.size(), f.sec_off(NPUI_FMT_SEC_META) + 64);
	for (int i = NPUI_FMT_HDR2_RESERVED1; i < NPUI_FMT_HDR2_SIZE; i++)
		EXPECT_EQ(0, f.b[i]) << "reserved1 byte " << i;
	const uint8_t *p = &f.b[f.sec_off(NPUI_FMT_SEC_META)];
	EXPECT_EQ(NPUI_COLOR_RGB, p[NPUI_FMT_META_COLOR]);
	EXPECT_EQ(NPUI_RESIZE_CROP, p[NPUI_FMT_META_RESIZE]);
	EXPECT_EQ(NPUI_LAYOUT_NCHW, p[NPUI_FMT_META_LAYOUT]);
	EXPECT_EQ(0.485f, npui_le_getf32(p + NPUI_FMT_META_MEAN));
	EXPECT_EQ(0.225f, npui_le_getf32(p + NPUI_FMT_META_STD + 8));
	EXPECT_EQ(0.0f, npui_le_getf32(p + NPUI_FMT_META_MEAN + 12));
	EXPECT_EQ(0.875f, npui_le_getf32(p + NPUI_FMT_META_CROP));
}

TEST(ModelMeta, WithoutMetadataStaysVersion1)
{
	GraphPtr g = labeled_graph();
	ModelFile f(g.get());
	EXPECT_EQ(1u, npui_le_get32(&f.b[NPUI_FMT_HDR_VERSION]));
	EXPECT_EQ(160u, npui_le_get32(&f.b[NPUI_FMT_HDR_HEADER_SIZE]));
	EXPECT_EQ(f.b.size(), f.sec_off(NPUI_FMT_SEC_LABELS) + f.sec_size(NPUI_FMT_SEC_LABELS));
	/* The metadata only adds: the v2 file's sections hold the same bytes. */
	ModelFile v2(meta_graph().get());
	for (int s = 0; s < NPUI_FMT_SEC_COUNT; s++) {
		ASSERT_EQ(f.sec_size(s), v2.sec_size(s));
		EXPECT_EQ(0, memcmp(&f.b[f.sec_off(s)], &v2.b[v2.sec_off(s)], f.sec_size(s)))
		        << "section " << s;
	}
}

TEST(ModelMeta, RoundTripIsCanonical)
{
	GraphPtr g = meta_graph();
	ModelFile f(g.get());
	npui_graph *out = nullptr;
	char why[256] = "";
	ASSERT_EQ(NPU_OK, npui_model_parse(f.b.data(), f.b.size(), &out, why, sizeof(why))) << why;
	GraphPtr back(out);
	expect_graphs_equal(g.get(), out);
	ModelFile again(out);
	EXPECT_EQ(f.b, again.b);
}

TEST(ModelMeta, GreyOnThreeChannelsAndOnOne)
{
	GraphPtr g = meta_graph();
	g->meta.color = NPUI_COLOR_GRAY;
	g->meta.resize = NPUI_RESIZE_STRETCH;
	g->meta.crop = 0.0f;
	EXPECT_EQ(NPU_OK, ModelFile(g.get()).parse());

	GraphPtr g1 = grey_fc(1);
	EXPECT_EQ(NPU_OK, npui_graph_validate(g1.get(), nullptr, 0));
	EXPECT_EQ(NPU_OK, ModelFile(g1.get()).parse());
}

/* Each broken field: the validator refuses the graph (so the writer does),
 * and the same field edited into a file is NPU_ERR_MODEL_METADATA. */
struct MetaCase {
	const char *what;
	void (*edit)(npui_input_meta *);
};

const MetaCase kBadMeta[] = {
        {"colour 0", [](npui_input_meta *m) { m->color = 0; }},
        {"colour 4", [](npui_input_meta *m) { m->color = 4; }},
        {"resize 0", [](npui_input_meta *m) { m->resize = 0; }},
        {"resize 3", [](npui_input_meta *m) { m->resize = 3; }},
        {"layout 0", [](npui_input_meta *m) { m->layout = 0; }},
        {"layout 3", [](npui_input_meta *m) { m->layout = 3; }},
        {"crop 0 when cropping", [](npui_input_meta *m) { m->crop = 0.0f; }},
        {"crop > 1", [](npui_input_meta *m) { m->crop = 1.5f; }},
        {"crop NaN", [](npui_input_meta *m) { m->crop = std::nanf(""); }},
        {"crop set when stretching",
         [](npui_input_meta *m) {
	         m->resize = NPUI_RESIZE_STRETCH;
	         m->crop = 0.5f;
         }},
        {"crop -0 when stretching",
         [](npui_input_meta *m) {
	         m->resize = NPUI_RESIZE_STRETCH;
	         m->crop = -0.0f;
         }},
        {"std 0", [](npui_input_meta *m) { m->std[1] = 0.0f; }},
        {"std < 0", [](npui_input_meta *m) { m->std[0] = -0.2f; }},
        {"std inf", [](npui_input_meta *m) { m->std[2] = INFINITY; }},
        {"mean NaN", [](npui_input_meta *m) { m->mean[2] = std::nanf(""); }},
        {"mean of a fourth channel", [](npui_input_meta *m) { m->mean[3] = 0.5f; }},
        {"std of a fourth channel", [](npui_input_meta *m) { m->std[3] = 1.0f; }},
};

TEST(ModelMeta, BadFieldsAreRefusedByValidationAndParser)
{
	ModelFile good(meta_graph().get());
	const size_t at = good.sec_off(NPUI_FMT_SEC_META);
	for (const MetaCase &c : kBadMeta) {
		SCOPED_TRACE(c.what);
		GraphPtr g = meta_graph();
		c.edit(&g->meta);
		char why[256] = "";
		EXPECT_EQ(NPU_ERR_MODEL_METADATA, npui_graph_validate(g.get(), why, sizeof(why)));
		EXPECT_NE('\0', why[0]);
		void *data = nullptr;
		size_t size = 0;
		EXPECT_EQ(NPU_ERR_MODEL_METADATA, npui_model_serialize(g.get(), &data, &size));
		free(data);

		/* The file route: write the edited record by hand. */
		ModelFile f = good;
		uint8_t *p = &f.b[at];
		p[NPUI_FMT_META_COLOR] = g->meta.color;
		p[NPUI_FMT_META_RESIZE] = g->meta.resize;
		p[NPUI_FMT_META_LAYOUT] = g->meta.layout;
		for (int k = 0; k < 4; k++) {
			npui_le_putf32(p + NPUI_FMT_META_MEAN + 4 * k, g->meta.mean[k]);
			npui_le_putf32(p + NPUI_FMT_META_STD + 4 * k, g->meta.std[k]);
		}
		npui_le_putf32(p + NPUI_FMT_META_CROP, g->meta.crop);
		f.reseal();
		EXPECT_EQ(NPU_ERR_MODEL_METADATA, f.parse());
	}
}

TEST(ModelMeta, ChannelRulesFollowTheInput)
{
	/* RGB needs 3 channels; metadata describes at most 4. */
	GraphPtr g = grey_fc(1);
	set_rgb_meta(g.get());
	g->meta.mean[1] = g->meta.mean[2] = g->meta.std[1] = g->meta.std[2] = 0.0f;
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, npui_graph_validate(g.get(), nullptr, 0));
	g->meta.color = NPUI_COLOR_GRAY;
	EXPECT_EQ(NPU_OK, npui_graph_validate(g.get(), nullptr, 0));

	GraphPtr g5 = grey_fc(5);
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, npui_graph_validate(g5.get(), nullptr, 0));
}

class HostileMeta : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		f_.reset(new ModelFile(meta_graph().get()));
	}
	int parse(std::string *why = nullptr)
	{
		f_->reseal();
		return f_->parse(why);
	}
	std::vector<uint8_t> &b()
	{
		return f_->b;
	}
	uint8_t *meta()
	{
		return &b()[f_->sec_off(NPUI_FMT_SEC_META)];
	}
	std::unique_ptr<ModelFile> f_;
};

TEST_F(HostileMeta, IntactFileParses)
{
	EXPECT_EQ(NPU_OK, parse());
}

TEST_F(HostileMeta, VersionAndHeaderSizeGoTogether)
{
	npui_le_put32(&b()[NPUI_FMT_HDR_HEADER_SIZE], 160);
	EXPECT_EQ(NPU_ERR_MODEL_VERSION, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_HEADER_SIZE], 176);
	npui_le_put32(&b()[NPUI_FMT_HDR_VERSION], 1);
	EXPECT_EQ(NPU_ERR_MODEL_VERSION, parse());
	npui_le_put32(&b()[NPUI_FMT_HDR_VERSION], 3);
	EXPECT_EQ(NPU_ERR_MODEL_VERSION, parse());
}

TEST_F(HostileMeta, Version2HeaderNeeds176Bytes)
{
	for (size_t n = 160; n < 176; n++) {
		ModelFile t = *f_;
		t.b.resize(n);
		t.b.shrink_to_fit();
		t.reseal(true);
		EXPECT_EQ(NPU_ERR_MODEL_TRUNCATED, t.parse()) << "length " << n;
	}
}

TEST_F(HostileMeta, HeaderReservedAfterTheFifthEntry)
{
	b()[NPUI_FMT_HDR2_RESERVED1 + 7] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_GRAPH, parse());
}

TEST_F(HostileMeta, SectionSizeOffsetAndOverlap)
{
	const int s = NPUI_FMT_SEC_META;
	const uint64_t off = f_->sec_off(s);
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(s)], 48);
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(s)], 0);
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(s)], 80); /* past the end */
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_SIZE(s)], 64);
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], 160); /* inside the v2 header */
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], off + 8);
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	/* On top of the labels. */
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], f_->sec_off(NPUI_FMT_SEC_LABELS));
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	npui_le_put64(&b()[NPUI_FMT_SEC_OFFSET(s)], 0xFFFFFFFFFFFFFFF0ull);
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
}

TEST_F(HostileMeta, FlagsAndReserved)
{
	meta()[NPUI_FMT_META_RESERVED0] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	meta()[NPUI_FMT_META_RESERVED0] = 0;
	npui_le_put32(meta() + NPUI_FMT_META_FLAGS, 0x80000000u);
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	npui_le_put32(meta() + NPUI_FMT_META_FLAGS, 0);
	meta()[NPUI_FMT_META_SIZE - 1] = 1;
	EXPECT_EQ(NPU_ERR_MODEL_METADATA, parse());
	meta()[NPUI_FMT_META_SIZE - 1] = 0;
	EXPECT_EQ(NPU_OK, parse());
}

TEST(ModelMetaSweep, EveryTruncationAndBitFlip)
{
	ModelFile f(meta_graph().get());
	for (size_t n = 0; n < f.b.size(); n++) {
		std::unique_ptr<uint8_t[]> buf(new uint8_t[n ? n : 1]);
		memcpy(buf.get(), f.b.data(), n);
		npui_graph *out = nullptr;
		ASSERT_EQ(NPU_ERR_MODEL_TRUNCATED, npui_model_parse(buf.get(), n, &out, nullptr, 0))
		        << "length " << n;
	}
	/* Past the CRC: every flip in the header and the metadata record is
	 * a different valid model or a named error. */
	const size_t meta_at = f.sec_off(NPUI_FMT_SEC_META);
	int accepted = 0, rejected = 0;
	for (size_t byte = 0; byte < f.b.size(); byte++) {
		if ((byte >= NPUI_FMT_HDR2_SIZE && byte < meta_at) ||
		    (byte >= NPUI_FMT_HDR_CRC && byte < NPUI_FMT_HDR_CRC + 4))
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
				ModelFile again(out);
				ASSERT_EQ(t.b, again.b) << "byte " << byte << " bit " << bit;
			} else {
				rejected++;
				ASSERT_TRUE(is_model_error(rc))
				        << "byte " << byte << " bit " << bit;
			}
		}
	}
	EXPECT_GT(accepted, 50); /* mean/std/crop mantissa bits */
	EXPECT_GT(rejected, 100);
}

/* The public view: npu_model_input_info(). */
TEST(ModelMetaApi, InputInfo)
{
	npu_device *dev = nullptr;
	ASSERT_EQ(NPU_OK, npu_open("cpu", &dev));
	ModelFile v2(meta_graph().get()), v1(labeled_graph().get());
	npu_model *m2 = nullptr, *m1 = nullptr;
	ASSERT_EQ(NPU_OK, npu_model_load_memory(dev, v2.b.data(), v2.b.size(), &m2));
	ASSERT_EQ(NPU_OK, npu_model_load_memory(dev, v1.b.data(), v1.b.size(), &m1));

	npu_input_info in;
	memset(&in, 0x5a, sizeof(in));
	ASSERT_EQ(NPU_OK, npu_model_input_info(m2, &in));
	EXPECT_EQ(4, in.h);
	EXPECT_EQ(4, in.w);
	EXPECT_EQ(3, in.c);
	EXPECT_EQ(NPU_COLOR_RGB, in.color);
	EXPECT_EQ(NPU_RESIZE_CENTER_CROP, in.resize);
	EXPECT_EQ(NPU_LAYOUT_NCHW, in.layout);
	EXPECT_EQ(0.875f, in.crop);
	EXPECT_EQ(0.456f, in.mean[1]);
	EXPECT_EQ(0.229f, in.std[0]);
	EXPECT_EQ(0.0f, in.mean[3]);
	EXPECT_EQ(0.0f, in.std[3]);

	memset(&in, 0x5a, sizeof(in));
	ASSERT_EQ(NPU_OK, npu_model_input_info(m1, &in));
	EXPECT_EQ(3, in.c);
	EXPECT_EQ(NPU_COLOR_UNKNOWN, in.color);
	EXPECT_EQ(NPU_RESIZE_UNKNOWN, in.resize);
	EXPECT_EQ(NPU_LAYOUT_UNKNOWN, in.layout);
	EXPECT_EQ(0.0f, in.crop);
	for (int k = 0; k < 3; k++) {
		EXPECT_EQ(0.0f, in.mean[k]);
		EXPECT_EQ(1.0f, in.std[k]);
	}
	EXPECT_EQ(0.0f, in.std[3]);

	EXPECT_EQ(NPU_ERR_INVALID_ARG, npu_model_input_info(nullptr, &in));
	EXPECT_EQ(NPU_ERR_INVALID_ARG, npu_model_input_info(m1, nullptr));
	npu_model_free(m1);
	npu_model_free(m2);
	npu_close(dev);
}

} // namespace
