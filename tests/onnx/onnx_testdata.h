/*
 * Reader for ONNX's node conformance data (Debian libonnx-testdata):
 * a case directory holds model.onnx (a tiny graph, usually one node) and
 * test_data_set_N/{input,output}_K.pb, each a serialized TensorProto.
 *
 * Only what the conformance tests need: node op types and attributes,
 * initializers, and tensors of type float, (u)int8, (u)int16, int32, int64
 * and bool, from raw_data or the typed repeated fields. Everything else
 * (external data, strings, doubles, ...) is reported as an error rather
 * than guessed at.
 */
#ifndef LWNPU_TESTS_ONNX_TESTDATA_H
#define LWNPU_TESTS_ONNX_TESTDATA_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace onnxtd
{

/* Where Debian installs the node tests. */
extern const char *const kNodeTestRoot;

/* A dense tensor. Float tensors fill f, integer and bool tensors fill i
 * (widened to int64); the other vector stays empty. */
struct Tensor {
	std::string name;
	int32_t dtype = 0; /* onnx TensorProto.DataType */
	std::vector<int64_t> dims;
	std::vector<float> f;
	std::vector<int64_t> i;

	size_t numel() const;
	bool is_float() const;
	/* Element k as a double, whichever vector holds it. */
	double at(size_t k) const;
};

struct Attr {
	std::string name;
	int type = 0; /* onnx AttributeProto.AttributeType */
	float f = 0.0f;
	int64_t i = 0;
	std::string s;
	std::vector<float> floats;
	std::vector<int64_t> ints;
};

struct Node {
	std::string op_type;
	std::string domain;
	std::vector<std::string> inputs; /* "" for an omitted optional input */
	std::vector<std::string> outputs;
	std::map<std::string, Attr> attrs;

	bool has(const std::string &name) const;
	int64_t attr_i(const std::string &name, int64_t def) const;
	float attr_f(const std::string &name, float def) const;
	std::string attr_s(const std::string &name, const std::string &def) const;
	std::vector<int64_t> attr_ints(const std::string &name) const;
};

struct DataSet {
	std::vector<Tensor> inputs;  /* input_0.pb, input_1.pb, ... */
	std::vector<Tensor> outputs; /* output_0.pb, ... */
};

struct Case {
	std::string name; /* directory name, e.g. "test_maxpool_2d_pads" */
	std::string dir;
	int64_t opset = 0; /* default-domain opset version */
	std::vector<Node> nodes;
	/* Graph inputs that are not initializers, in order: data set input k
	 * feeds graph_inputs[k]. */
	std::vector<std::string> graph_inputs;
	std::vector<std::string> graph_outputs;
	std::map<std::string, Tensor> initializers;
	std::vector<DataSet> sets;

	/*
	 * The tensor bound to `name` for data set `ds`: an initializer or a
	 * data-set input. NULL when unknown (or name is "", an omitted
	 * optional input).
	 */
	const Tensor *value(const DataSet &ds, const std::string &name) const;
};

/* Parse one serialized TensorProto. Returns false with *err on failure. */
bool parse_tensor(const void *data, size_t size, Tensor *out, std::string *err);
bool load_tensor_file(const std::string &path, Tensor *out, std::string *err);

/* Load model.onnx and every test_data_set_* of a case directory. */
bool load_case(const std::string &dir, Case *out, std::string *err);

/* Op types of a case's model (parses model.onnx only); empty on error. */
std::vector<std::string> model_op_types(const std::string &dir);

/*
 * Names of the case directories under root whose graph is a single node of
 * one of `ops`, plus each one's "<name>_expanded" twin where it exists (the
 * op's function body: same data, several nodes), sorted. Empty when root
 * does not exist.
 */
std::vector<std::string> discover(const std::string &root, const std::vector<std::string> &ops);

} // namespace onnxtd

#endif
