// ShuffleNet v2's guideline experiments (lib/zoo/guidelines.c): every
// variant builds and validates, the members of a family have about equal
// MACs (what makes their cycles comparable), each differs from its
// family's first in exactly the way the guideline is about, and unknown
// names are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "npu.h"
#include "ir/graph.h"
#include "zoo/zoo.h"

namespace
{

struct GraphDeleter {
	void operator()(npui_graph *g) const
	{
		npui_graph_free(g);
	}
};
using Graph = std::unique_ptr<npui_graph, GraphDeleter>;

Graph build(const char *name, int size = 8)
{
	npui_graph *g = nullptr;
	char why[160] = "";
	EXPECT_EQ(NPU_OK, zoo_guideline_build(name, size, 1, 1, &g, why, sizeof(why)))
	        << name << ": " << why;
	return Graph(g);
}

unsigned count_op(const npui_graph *g, npui_op op)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < g->num_layers; i++)
		n += g->layers[i].op == op;
	return n;
}

TEST(Guidelines, EveryVariantBuildsWithFamilyMacsWithinSixPercent)
{
	unsigned n = 0;
	const zoo_guideline *v = zoo_guidelines(&n);
	std::map<int, uint64_t> first;
	std::set<std::string> names;

	ASSERT_EQ(17u, n);
	for (unsigned i = 0; i < n; i++) {
		EXPECT_TRUE(names.insert(v[i].name).second) << v[i].name;
		EXPECT_EQ(&v[i], zoo_guideline_find(v[i].name));
		Graph g = build(v[i].name);
		ASSERT_TRUE(g) << v[i].name;
		EXPECT_EQ(NPU_OK, npui_graph_validate(g.get(), nullptr, 0)) << v[i].name;
		uint64_t macs = 0;
		zoo_graph_cost(g.get(), &macs, nullptr);
		ASSERT_GT(macs, 0u);
		if (!first.count(v[i].guideline))
			first[v[i].guideline] = macs;
		// The paper's own G1 1:12 pair, 36:432, is 5.1 % under 128:128.
		double r = (double)macs / first[v[i].guideline];
		EXPECT_NEAR(1.0, r, 0.06) << v[i].name << ": " << macs << " MACs";
	}
	EXPECT_EQ(4u, first.size());
}

TEST(Guidelines, VariantsDifferOnlyInTheirGuideline)
{
	// G2: the group count is the conv's.
	Graph g8 = build("g2_g8");
	ASSERT_TRUE(g8);
	EXPECT_EQ(8u, g8->layers[0].groups);
	// G3: fragments in series are more convs; in parallel, concats.
	Graph a = build("g3_a"), c = build("g3_c"), e = build("g3_e");
	ASSERT_TRUE(a && c && e);
	EXPECT_EQ(10u, count_op(a.get(), NPUI_OP_CONV));
	EXPECT_EQ(40u, count_op(c.get(), NPUI_OP_CONV));
	EXPECT_EQ(40u, count_op(e.get(), NPUI_OP_CONV));
	EXPECT_EQ(0u, count_op(a.get(), NPUI_OP_CONCAT));
	EXPECT_EQ(10u, count_op(e.get(), NPUI_OP_CONCAT));
	// G4: the shortcut is an ADD per block; without ReLU no conv has one.
	Graph both = build("g4_relu_add"), none = build("g4_none");
	ASSERT_TRUE(both && none);
	EXPECT_EQ(10u, count_op(both.get(), NPUI_OP_ADD));
	EXPECT_EQ(0u, count_op(none.get(), NPUI_OP_ADD));
	for (uint32_t i = 0; i < none->num_layers; i++)
		EXPECT_EQ(NPUI_ACT_NONE, none->layers[i].act) << none->layers[i].name;
}

TEST(Guidelines, UnknownNamesAndBadArgumentsAreRefused)
{
	npui_graph *g = nullptr;
	char why[160] = "";

	EXPECT_EQ(nullptr, zoo_guideline_find("g5_x"));
	EXPECT_EQ(nullptr, zoo_guideline_find(nullptr));
	EXPECT_EQ(NPU_ERR_INVALID_ARG, zoo_guideline_build("g5_x", 8, 1, 1, &g, why, sizeof(why)));
	EXPECT_NE(std::string::npos, std::string(why).find("unknown guideline"));
	EXPECT_EQ(NPU_ERR_INVALID_ARG,
	          zoo_guideline_build("g1_1_1", 0, 1, 1, &g, why, sizeof(why)));
	EXPECT_EQ(NPU_ERR_INVALID_ARG,
	          zoo_guideline_build("g1_1_1", 8, 1, 99, &g, why, sizeof(why)));
	EXPECT_EQ(NPU_ERR_INVALID_ARG,
	          zoo_guideline_build("g1_1_1", 8, 1, 1, nullptr, why, sizeof(why)));
	EXPECT_EQ(nullptr, g);
}

} // namespace
