#include "tests/sim/zoo_model.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "npu.h"
#include "ir/graph.h"
#include "ref/ref.h"
#include "sched/sched.h"
#include "tests/common/placement.h"
#include "zoo/zoo.h"

namespace npu_test
{

std::vector<uint8_t> zoo_model(const char *name, int size)
{
	zoo_opts o;
	zoo_opts_default(&o);
	o.size = size;
	o.calib = 2;
	npui_graph *g = nullptr;
	char why[160];
	EXPECT_EQ(zoo_build(name, &o, &g, why, sizeof(why)), NPU_OK) << why;
	void *data = nullptr;
	size_t len = 0;
	EXPECT_EQ(npui_model_serialize(g, &data, &len), NPU_OK);
	npui_graph_free(g);
	std::vector<uint8_t> v(static_cast<uint8_t *>(data), static_cast<uint8_t *>(data) + len);
	free(data);
	return v;
}

std::string zoo_plan_counts(const std::vector<uint8_t> &file, bool small)
{
	char why[200] = "";
	npui_graph *gp = nullptr;
	npui_ref_plan *pp = nullptr;
	npui_sched *sp = nullptr;
	if (npui_model_parse(file.data(), file.size(), &gp, why, sizeof(why)) != NPU_OK)
		return std::string("parse: ") + why;
	std::unique_ptr<npui_graph, void (*)(npui_graph *)> g(gp, npui_graph_free);
	if (npui_ref_prepare(g.get(), &pp, why, sizeof(why)) != NPU_OK)
		return std::string("prepare: ") + why;
	std::unique_ptr<npui_ref_plan, void (*)(npui_ref_plan *)> plan(pp, npui_ref_plan_free);
	npui_caps caps;
	npui_caps_preset(&caps, small ? 1 : 0);
	std::vector<size_t> off(g->num_tensors);
	size_t size = 0;
	if (npui_sched_arena_plan(g.get(), &caps, off.data(), &size) != NPU_OK)
		return "arena plan failed";
	if (npui_sched_build(g.get(), plan.get(), &caps, off.data(), &sp, why, sizeof(why)) !=
	    NPU_OK)
		return std::string("sched_build: ") + why;
	std::unique_ptr<npui_sched, void (*)(npui_sched *)> s(sp, npui_sched_free);
	return EngineCounts(s.get(), g->num_layers);
}

} // namespace npu_test
