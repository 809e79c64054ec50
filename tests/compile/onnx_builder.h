// Test helper: build small ONNX models in memory (protobuf-c structs,
// packed to bytes), and evaluate the same graph in float, NCHW, with an
// interpreter written here from the ONNX operator definitions — an
// independent reference for npu-compile's lowering (layouts, weight
// permutations, folding).
#ifndef TESTS_COMPILE_ONNX_BUILDER_H
#define TESTS_COMPILE_ONNX_BUILDER_H

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace onnxb
{

struct Tensor {
	std::vector<int64_t> dims;
	std::vector<double> v;
	int dtype = 1; // ONNX data type: 1 float, 7 int64, 3 int8, 2 uint8, 6 int32
	size_t numel() const;
};

struct Attr {
	enum Kind { INT, FLOAT, INTS, STRING, TENSOR } kind = INT;
	int64_t i = 0;
	float f = 0;
	std::vector<int64_t> ints;
	std::string s;
	Tensor t;
};
using Attrs = std::map<std::string, Attr>;

Attr ai(int64_t v);
Attr af(float v);
Attr ints(std::vector<int64_t> v);
Attr as(const std::string &v);
Attr at(const Tensor &t);

struct Node {
	std::string op, name;
	std::vector<std::string> in, out;
	Attrs attrs;
};

class Model
{
      public:
	// The graph input [1, c, h, w] (h, w < 0: symbolic).
	explicit Model(int c, int h, int w, const std::string &input = "input");

	// A float initializer.
	std::string init(const std::string &name, std::vector<int64_t> dims, std::vector<double> v,
	                 int dtype = 1);
	// Random normal float initializer with the given std.
	std::string rand_init(const std::string &name, std::vector<int64_t> dims, double std);
	std::string i64(const std::string &name, std::vector<int64_t> v);
	// A node; returns its first output name (named after the node).
	std::string node(const std::string &op, std::vector<std::string> in, Attrs a = {},
	                 int nout = 1, const std::string &name = "");
	void output(const std::string &name)
	{
		outputs_.push_back(name);
	}

	std::vector<uint8_t> bytes() const;

	// Float forward: x NCHW [1,c,h,w]; returns the (single) output.
	Tensor run(const std::vector<float> &x) const;

	std::mt19937_64 rng{12345};
	std::vector<Node> nodes;
	std::map<std::string, Tensor> inits;
	std::string input_name;
	int c, h, w;

      private:
	std::vector<std::string> outputs_;
	int counter_ = 0;
};

} // namespace onnxb

#endif
