/*
 * End to end through the public API: ONNX's QLinearConv conformance case
 * as a one-layer lwnpu graph, serialized to the model format, loaded on
 * the "cpu" device and run with int8 I/O. It must equal the direct kernel
 * call byte for byte (the cpu device is the golden model), and the ONNX
 * expected output within the 1 LSB of conformance_test.cc.
 */
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "ir/graph.h"
#include "npu.h"
#include "onnx_lower.h"
#include "onnx_testdata.h"
#include "ref/ref.h"

using namespace onnxtd;

namespace
{

TEST(OnnxCpuDevice, QLinearConvLayerEqualsKernel)
{
	const std::string dir = std::string(kNodeTestRoot) + "/test_qlinearconv";
	Case c;
	std::string err;
	if (!load_case(dir, &c, &err))
		GTEST_SKIP() << "ONNX conformance data unavailable (" << err
		             << "): install Debian's libonnx-testdata";
	const DataSet &ds = c.sets[0];
	QConv q;
	std::string why = lower_qlinearconv(c, ds, &q);
	ASSERT_EQ(why, "") << "test_qlinearconv must lower onto lwnpu's conv";

	/* The graph: x -> CONV -> y, with the case's quant params. */
	struct npui_tensor tensors[2] = {};
	strcpy(tensors[0].name, "x");
	tensors[0].h = q.in_img.h;
	tensors[0].w = q.in_img.w;
	tensors[0].c = q.in_img.c;
	tensors[0].q = q.in_q;
	strcpy(tensors[1].name, "y");
	tensors[1].h = q.win.oh;
	tensors[1].w = q.win.ow;
	tensors[1].c = q.out_c;
	tensors[1].q = q.out_q;
	struct npui_layer layer = {};
	strcpy(layer.name, "qlinearconv");
	layer.op = NPUI_OP_CONV;
	layer.act = NPUI_ACT_NONE;
	layer.num_inputs = 1;
	layer.inputs[0] = 0;
	layer.output = 1;
	layer.kh = uint16_t(q.win.kh);
	layer.kw = uint16_t(q.win.kw);
	layer.stride_h = uint16_t(q.win.sh);
	layer.stride_w = uint16_t(q.win.sw);
	layer.pad_t = uint16_t(q.win.pt);
	layer.pad_l = uint16_t(q.win.pl);
	layer.pad_b = uint16_t(q.win.pb);
	layer.pad_r = uint16_t(q.win.pr);
	layer.groups = uint16_t(q.groups);
	layer.weights = q.w.data();
	layer.weights_count = q.w.size();
	layer.bias = q.bias.data();
	layer.w_scale = q.w_scale.data();
	struct npui_graph g = {};
	strcpy(g.name, "onnx_qlinearconv");
	g.num_tensors = 2;
	g.tensors = tensors;
	g.num_layers = 1;
	g.layers = &layer;
	g.input = 0;
	g.output = 1;

	char msg[160] = "";
	ASSERT_EQ(npui_graph_validate(&g, msg, sizeof(msg)), NPU_OK) << msg;
	void *image = nullptr;
	size_t image_size = 0;
	ASSERT_EQ(npui_model_serialize(&g, &image, &image_size), NPU_OK);

	npu_device *dev = nullptr;
	npu_model *model = nullptr;
	int rc = npu_open("cpu", &dev);
	ASSERT_EQ(rc, NPU_OK) << npu_strerror(rc);
	rc = npu_model_load_memory(dev, image, image_size, &model);
	free(image);
	ASSERT_EQ(rc, NPU_OK) << npu_strerror(rc);

	struct npu_tensor_info in_info, out_info;
	ASSERT_EQ(npu_model_input(model, &in_info), NPU_OK);
	ASSERT_EQ(npu_model_output(model, &out_info), NPU_OK);
	EXPECT_EQ(in_info.elements, q.in[0].size());
	EXPECT_EQ(in_info.zero_point, q.in_q.zero_point);
	EXPECT_EQ(out_info.scale, q.out_q.scale);

	/* The direct kernel call, with constants derived the same way. */
	std::vector<int32_t> mult(static_cast<size_t>(q.out_c)),
	        shift(static_cast<size_t>(q.out_c));
	ASSERT_EQ(npu_ref_conv_multipliers(q.in_q.scale, q.w_scale.data(), q.out_q.scale, q.out_c,
	                                   mult.data(), shift.data()),
	          NPU_OK);
	struct npu_ref_conv_params p = {};
	p.in_h = q.in_img.h;
	p.in_w = q.in_img.w;
	p.in_c = q.in_img.c;
	p.out_h = q.win.oh;
	p.out_w = q.win.ow;
	p.out_c = q.out_c;
	p.kh = q.win.kh;
	p.kw = q.win.kw;
	p.stride_h = q.win.sh;
	p.stride_w = q.win.sw;
	p.pad_t = q.win.pt;
	p.pad_l = q.win.pl;
	p.groups = q.groups;
	p.in_zp = q.in_zp;
	p.out_zp = q.out_q.zero_point;
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_NONE, &q.out_q, &p.act_min, &p.act_max), NPU_OK);
	p.mult = mult.data();
	p.shift = shift.data();

	const Tensor &y = ds.outputs[0];
	size_t out_n = size_t(p.out_h) * p.out_w * p.out_c;
	for (int32_t k = 0; k < q.in_img.n; k++) {
		std::vector<int8_t> direct(out_n, int8_t(0x5a)), run(out_n, int8_t(0xa5));
		npu_ref_s8_conv2d(&p, q.in[size_t(k)].data(), q.w.data(), q.bias.data(),
		                  direct.data());
		struct npu_io io = {NPU_IO_INT8,
		                    q.in[size_t(k)].data(),
		                    q.in[size_t(k)].size(),
		                    NPU_IO_INT8,
		                    run.data(),
		                    run.size()};
		rc = npu_run(model, &io);
		ASSERT_EQ(rc, NPU_OK) << npu_strerror(rc);
		for (size_t i = 0; i < out_n; i++) {
			ASSERT_EQ(run[i], direct[i]) << "image " << k << " i=" << i;
			int32_t oc = int32_t(i % size_t(p.out_c));
			int32_t ox = int32_t(i / size_t(p.out_c) % size_t(p.out_w));
			int32_t oy = int32_t(i / size_t(p.out_c) / size_t(p.out_w));
			double want = y.at(nchw_index(q.out_img, k, oy, ox, oc));
			EXPECT_NEAR(run[i] + q.out_offset, want, 1.0)
			        << "n=" << k << " c=" << oc << " y=" << oy << " x=" << ox;
		}
	}
	npu_model_free(model);
	npu_close(dev);
}

} // namespace
