/*
 * ONNX conformance-data reader: see onnx_testdata.h.
 */
#include "onnx_testdata.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <memory>
#include <set>
#include <sys/stat.h>

#include "onnx/onnx.pb-c.h"

namespace onnxtd
{

const char *const kNodeTestRoot = "/usr/share/libonnx-testdata/data/node";

/* Sanity bound on one tensor: the conformance tensors are tiny, and this
 * keeps a corrupted dims field from asking for gigabytes. */
static const size_t kMaxElements = size_t(1) << 26;

size_t Tensor::numel() const
{
	size_t n = 1;
	for (int64_t d : dims)
		n *= size_t(d);
	return n;
}

bool Tensor::is_float() const
{
	return dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

double Tensor::at(size_t k) const
{
	return is_float() ? double(f[k]) : double(i[k]);
}

bool Node::has(const std::string &name) const
{
	return attrs.count(name) != 0;
}

int64_t Node::attr_i(const std::string &name, int64_t def) const
{
	auto it = attrs.find(name);
	return it == attrs.end() ? def : it->second.i;
}

float Node::attr_f(const std::string &name, float def) const
{
	auto it = attrs.find(name);
	return it == attrs.end() ? def : it->second.f;
}

std::string Node::attr_s(const std::string &name, const std::string &def) const
{
	auto it = attrs.find(name);
	return it == attrs.end() ? def : it->second.s;
}

std::vector<int64_t> Node::attr_ints(const std::string &name) const
{
	auto it = attrs.find(name);
	return it == attrs.end() ? std::vector<int64_t>() : it->second.ints;
}

const Tensor *Case::value(const DataSet &ds, const std::string &name) const
{
	if (name.empty())
		return nullptr;
	auto it = initializers.find(name);
	if (it != initializers.end())
		return &it->second;
	for (size_t k = 0; k < graph_inputs.size() && k < ds.inputs.size(); k++)
		if (graph_inputs[k] == name)
			return &ds.inputs[k];
	return nullptr;
}

static bool read_file(const std::string &path, std::vector<uint8_t> *out, std::string *err)
{
	FILE *f = fopen(path.c_str(), "rb");
	if (!f) {
		*err = "cannot open " + path;
		return false;
	}
	out->clear();
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		out->insert(out->end(), buf, buf + n);
	bool ok = !ferror(f);
	fclose(f);
	if (!ok)
		*err = "read error on " + path;
	return ok;
}

/* Element width in raw_data, or 0 for types this reader does not handle. */
static size_t raw_width(int32_t dtype)
{
	switch (dtype) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
		return 4;
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
		return 1;
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
		return 2;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
		return 8;
	default:
		return 0;
	}
}

/* Decode one little-endian raw element of an integer type. */
static int64_t raw_int(int32_t dtype, const uint8_t *p)
{
	switch (dtype) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
		return p[0];
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
		return int8_t(p[0]);
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
		return uint16_t(p[0] | p[1] << 8);
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
		return int16_t(uint16_t(p[0] | p[1] << 8));
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
		uint32_t u = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
		             uint32_t(p[3]) << 24;
		return int32_t(u);
	}
	default: { /* INT64 */
		uint64_t u = 0;
		for (int b = 7; b >= 0; b--)
			u = u << 8 | p[b];
		return int64_t(u);
	}
	}
}

/* int32_data holds these types bit-converted; narrow back to the type. */
static int64_t narrow_int32_field(int32_t dtype, int32_t v)
{
	switch (dtype) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
		return uint8_t(v);
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
		return int8_t(v);
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
		return uint16_t(v);
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
		return int16_t(v);
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
		return v != 0;
	default:
		return v;
	}
}

static bool convert_tensor(const Onnx__TensorProto *tp, Tensor *out, std::string *err)
{
	Tensor t;
	t.name = tp->name ? tp->name : "";
	t.dtype = tp->has_data_type ? tp->data_type : 0;
	size_t n = 1;
	for (size_t k = 0; k < tp->n_dims; k++) {
		int64_t d = tp->dims[k];
		if (d < 0 || (d > 0 && n > kMaxElements / size_t(d))) {
			*err = "tensor '" + t.name + "': bad or huge dims";
			return false;
		}
		t.dims.push_back(d);
		n *= size_t(d);
	}
	if (tp->n_external_data ||
	    (tp->has_data_location &&
	     tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)) {
		*err = "tensor '" + t.name + "': external data not supported";
		return false;
	}
	size_t width = raw_width(t.dtype);
	if (!width) {
		*err = "tensor '" + t.name + "': data type " + std::to_string(t.dtype) +
		       " not supported";
		return false;
	}
	if (tp->has_raw_data && tp->raw_data.len) {
		if (tp->raw_data.len != n * width) {
			*err = "tensor '" + t.name + "': raw_data has " +
			       std::to_string(tp->raw_data.len) + " bytes, dims need " +
			       std::to_string(n * width);
			return false;
		}
		const uint8_t *p = tp->raw_data.data;
		if (t.is_float()) {
			t.f.resize(n);
			if (n)
				memcpy(t.f.data(), p, n * 4); /* every target is little-endian */
		} else {
			t.i.resize(n);
			for (size_t k = 0; k < n; k++)
				t.i[k] = raw_int(t.dtype, p + k * width);
		}
	} else if (t.is_float()) {
		if (tp->n_float_data != n) {
			*err = "tensor '" + t.name + "': float_data count mismatch";
			return false;
		}
		t.f.assign(tp->float_data, tp->float_data + n);
	} else if (t.dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
		if (tp->n_int64_data != n) {
			*err = "tensor '" + t.name + "': int64_data count mismatch";
			return false;
		}
		t.i.assign(tp->int64_data, tp->int64_data + n);
	} else {
		if (tp->n_int32_data != n) {
			*err = "tensor '" + t.name + "': int32_data count mismatch";
			return false;
		}
		t.i.resize(n);
		for (size_t k = 0; k < n; k++)
			t.i[k] = narrow_int32_field(t.dtype, tp->int32_data[k]);
	}
	*out = std::move(t);
	return true;
}

struct TensorDeleter {
	void operator()(Onnx__TensorProto *p) const
	{
		onnx__tensor_proto__free_unpacked(p, nullptr);
	}
};

struct ModelDeleter {
	void operator()(Onnx__ModelProto *p) const
	{
		onnx__model_proto__free_unpacked(p, nullptr);
	}
};

bool parse_tensor(const void *data, size_t size, Tensor *out, std::string *err)
{
	std::unique_ptr<Onnx__TensorProto, TensorDeleter> tp(
	        onnx__tensor_proto__unpack(nullptr, size, static_cast<const uint8_t *>(data)));
	if (!tp) {
		*err = "not a TensorProto";
		return false;
	}
	return convert_tensor(tp.get(), out, err);
}

bool load_tensor_file(const std::string &path, Tensor *out, std::string *err)
{
	std::vector<uint8_t> bytes;
	if (!read_file(path, &bytes, err))
		return false;
	if (!parse_tensor(bytes.data(), bytes.size(), out, err)) {
		*err = path + ": " + *err;
		return false;
	}
	return true;
}

static std::unique_ptr<Onnx__ModelProto, ModelDeleter> unpack_model(const std::string &path,
                                                                    std::string *err)
{
	std::vector<uint8_t> bytes;
	std::unique_ptr<Onnx__ModelProto, ModelDeleter> m;
	if (!read_file(path, &bytes, err))
		return m;
	m.reset(onnx__model_proto__unpack(nullptr, bytes.size(), bytes.data()));
	if (!m)
		*err = path + ": not a ModelProto";
	else if (!m->graph) {
		*err = path + ": model has no graph";
		m.reset();
	}
	return m;
}

static void convert_node(const Onnx__NodeProto *np, Node *out)
{
	out->op_type = np->op_type ? np->op_type : "";
	out->domain = np->domain ? np->domain : "";
	for (size_t k = 0; k < np->n_input; k++)
		out->inputs.push_back(np->input[k] ? np->input[k] : "");
	for (size_t k = 0; k < np->n_output; k++)
		out->outputs.push_back(np->output[k] ? np->output[k] : "");
	for (size_t k = 0; k < np->n_attribute; k++) {
		const Onnx__AttributeProto *ap = np->attribute[k];
		Attr a;
		a.name = ap->name ? ap->name : "";
		a.type = ap->has_type ? int(ap->type) : 0;
		a.f = ap->f;
		a.i = ap->i;
		if (ap->has_s)
			a.s.assign(reinterpret_cast<const char *>(ap->s.data), ap->s.len);
		a.floats.assign(ap->floats, ap->floats + ap->n_floats);
		a.ints.assign(ap->ints, ap->ints + ap->n_ints);
		out->attrs[a.name] = a;
	}
}

/* Sorted numbered files "<prefix>N.pb" of a directory, by N. */
static std::vector<std::string> numbered(const std::string &dir, const std::string &prefix)
{
	std::vector<std::pair<long, std::string>> found;
	DIR *d = opendir(dir.c_str());
	if (!d)
		return {};
	while (struct dirent *e = readdir(d)) {
		std::string n = e->d_name;
		if (n.compare(0, prefix.size(), prefix) != 0 || n.size() < prefix.size() + 4 ||
		    n.compare(n.size() - 3, 3, ".pb") != 0)
			continue;
		std::string num = n.substr(prefix.size(), n.size() - 3 - prefix.size());
		if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos)
			continue;
		found.emplace_back(std::stol(num), dir + "/" + n);
	}
	closedir(d);
	std::sort(found.begin(), found.end());
	std::vector<std::string> paths;
	for (auto &p : found)
		paths.push_back(p.second);
	return paths;
}

bool load_case(const std::string &dir, Case *out, std::string *err)
{
	Case c;
	c.dir = dir;
	size_t slash = dir.find_last_of('/');
	c.name = slash == std::string::npos ? dir : dir.substr(slash + 1);

	auto m = unpack_model(dir + "/model.onnx", err);
	if (!m)
		return false;
	for (size_t k = 0; k < m->n_opset_import; k++) {
		const Onnx__OperatorSetIdProto *o = m->opset_import[k];
		if (!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx"))
			c.opset = o->version;
	}
	const Onnx__GraphProto *g = m->graph;
	for (size_t k = 0; k < g->n_node; k++) {
		Node n;
		convert_node(g->node[k], &n);
		c.nodes.push_back(std::move(n));
	}
	for (size_t k = 0; k < g->n_initializer; k++) {
		Tensor t;
		if (!convert_tensor(g->initializer[k], &t, err))
			return false;
		c.initializers[t.name] = std::move(t);
	}
	for (size_t k = 0; k < g->n_input; k++) {
		const char *n = g->input[k]->name ? g->input[k]->name : "";
		if (!c.initializers.count(n))
			c.graph_inputs.push_back(n);
	}
	for (size_t k = 0; k < g->n_output; k++)
		c.graph_outputs.push_back(g->output[k]->name ? g->output[k]->name : "");

	std::vector<std::string> sets;
	if (DIR *d = opendir(dir.c_str())) {
		while (struct dirent *e = readdir(d))
			if (!strncmp(e->d_name, "test_data_set_", 14))
				sets.push_back(dir + "/" + e->d_name);
		closedir(d);
	}
	std::sort(sets.begin(), sets.end());
	for (const std::string &s : sets) {
		DataSet ds;
		for (const std::string &p : numbered(s, "input_")) {
			Tensor t;
			if (!load_tensor_file(p, &t, err))
				return false;
			ds.inputs.push_back(std::move(t));
		}
		for (const std::string &p : numbered(s, "output_")) {
			Tensor t;
			if (!load_tensor_file(p, &t, err))
				return false;
			ds.outputs.push_back(std::move(t));
		}
		if (ds.inputs.size() != c.graph_inputs.size()) {
			*err = s + ": " + std::to_string(ds.inputs.size()) + " inputs for " +
			       std::to_string(c.graph_inputs.size()) + " graph inputs";
			return false;
		}
		c.sets.push_back(std::move(ds));
	}
	if (c.sets.empty()) {
		*err = dir + ": no test_data_set_*";
		return false;
	}
	*out = std::move(c);
	return true;
}

std::vector<std::string> model_op_types(const std::string &dir)
{
	std::string err;
	std::vector<std::string> ops;
	auto m = unpack_model(dir + "/model.onnx", &err);
	if (!m)
		return ops;
	for (size_t k = 0; k < m->graph->n_node; k++)
		ops.push_back(m->graph->node[k]->op_type ? m->graph->node[k]->op_type : "");
	return ops;
}

std::vector<std::string> discover(const std::string &root, const std::vector<std::string> &ops)
{
	std::vector<std::string> names;
	std::set<std::string> want(ops.begin(), ops.end());
	DIR *d = opendir(root.c_str());
	if (!d)
		return names;
	while (struct dirent *e = readdir(d)) {
		if (strncmp(e->d_name, "test_", 5) != 0)
			continue;
		std::string dir = root + "/" + e->d_name;
		std::vector<std::string> types = model_op_types(dir);
		if (types.size() != 1 || !want.count(types[0]))
			continue;
		names.push_back(e->d_name);
		/* The function-expanded twin holds the same data as a subgraph. */
		struct stat st;
		std::string twin = std::string(e->d_name) + "_expanded";
		if (stat((root + "/" + twin + "/model.onnx").c_str(), &st) == 0)
			names.push_back(twin);
	}
	closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

} // namespace onnxtd
