// Helpers of the scheduler tests that run on the sim device: a graph's
// schedule on a preset build, and a run on sim and on cpu that must give
// the same bytes. Header-only (tests/sched/stem_test.cc and fold_test.cc
// use it).
#ifndef LWNPU_TESTS_SCHED_SIM_VS_CPU_H
#define LWNPU_TESTS_SCHED_SIM_VS_CPU_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "npu.h"
#include "ir/graph.h"
#include "ref/ref.h"
#include "sched/sched.h"
#include "tests/common/inputs.h"

namespace sched_test
{

using Graph = std::unique_ptr<npui_graph, void (*)(npui_graph *)>;
using Sched = std::unique_ptr<npui_sched, void (*)(npui_sched *)>;

// g's schedule on a preset build with the arena the hardware device plans.
inline Sched Schedule(const npui_graph *g, bool small)
{
	Sched none(nullptr, npui_sched_free);
	char why[200] = "";
	npui_ref_plan *pp = nullptr;
	if (npui_ref_prepare(g, &pp, why, sizeof(why)) != NPU_OK) {
		ADD_FAILURE() << "prepare: " << why;
		return none;
	}
	std::unique_ptr<npui_ref_plan, void (*)(npui_ref_plan *)> plan(pp, npui_ref_plan_free);
	npui_caps caps;
	npui_caps_preset(&caps, small ? 1 : 0);
	std::vector<size_t> off(g->num_tensors);
	size_t size = 0;
	EXPECT_EQ(npui_sched_arena_plan(g, &caps, off.data(), &size), NPU_OK);
	npui_sched *sp = nullptr;
	EXPECT_EQ(npui_sched_build(g, plan.get(), &caps, off.data(), &sp, why, sizeof(why)), NPU_OK)
	        << why;
	return Sched(sp, npui_sched_free);
}

// Runs g on sim and on cpu (seeded input): the outputs must be identical
// (the first difference is reported with its pixel and channel). Returns
// the sim run's profile.
inline std::vector<npu_layer_profile> RunSimVsCpu(const npui_graph *g, uint32_t seed)
{
	void *data = nullptr;
	size_t len = 0;
	EXPECT_EQ(npui_model_serialize(g, &data, &len), NPU_OK);
	std::vector<uint8_t> file((uint8_t *)data, (uint8_t *)data + len);
	free(data);
	const npui_tensor &ti = g->tensors[g->input], &to = g->tensors[g->output];
	auto x = npu_test::SeededInput((size_t)ti.h * ti.w * ti.c, seed);
	std::vector<npu_layer_profile> prof;
	std::vector<int8_t> y[2];
	const char *uris[2] = {"sim", "cpu"};
	for (int d = 0; d < 2; d++) {
		npu_device *dev = nullptr;
		npu_model *m = nullptr;
		EXPECT_EQ(npu_open(uris[d], &dev), NPU_OK);
		if (!dev)
			return prof;
		EXPECT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK)
		        << npu_last_error();
		if (m) {
			npu_tensor_info out;
			npu_model_output(m, &out);
			y[d].assign(out.elements, (int8_t)0x5a);
			npu_io io = {NPU_IO_INT8, x.data(),    x.size(),
			             NPU_IO_INT8, y[d].data(), y[d].size()};
			EXPECT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
			if (d == 0) {
				unsigned n = npu_model_num_layers(m);
				prof.resize(n);
				npu_model_profile(m, prof.data(), n, &n);
			}
			npu_model_free(m);
		}
		npu_close(dev);
	}
	EXPECT_EQ(y[0].size(), y[1].size());
	for (size_t i = 0; i < y[0].size() && i < y[1].size(); i++)
		if (y[0][i] != y[1][i]) {
			size_t px = i / to.c;
			ADD_FAILURE()
			        << "sim differs from cpu at output " << i << " (y=" << px / to.w
			        << " x=" << px % to.w << " c=" << i % to.c << "): " << (int)y[0][i]
			        << " vs " << (int)y[1][i];
			break;
		}
	return prof;
}

} // namespace sched_test

#endif
