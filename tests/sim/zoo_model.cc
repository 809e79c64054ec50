#include "tests/sim/zoo_model.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "npu.h"
#include "core/graph.h"
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

} // namespace npu_test
