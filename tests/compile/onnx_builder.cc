// ONNX model builder and float NCHW reference interpreter: see onnx_builder.h.
#include "onnx_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>

#include "onnx/onnx.pb-c.h"

namespace onnxb
{

size_t Tensor::numel() const
{
	size_t n = 1;
	for (int64_t d : dims)
		n *= size_t(d);
	return n;
}

Attr ai(int64_t v)
{
	Attr a;
	a.kind = Attr::INT;
	a.i = v;
	return a;
}
Attr af(float v)
{
	Attr a;
	a.kind = Attr::FLOAT;
	a.f = v;
	return a;
}
Attr ints(std::vector<int64_t> v)
{
	Attr a;
	a.kind = Attr::INTS;
	a.ints = std::move(v);
	return a;
}
Attr as(const std::string &v)
{
	Attr a;
	a.kind = Attr::STRING;
	a.s = v;
	return a;
}
Attr at(const Tensor &t)
{
	Attr a;
	a.kind = Attr::TENSOR;
	a.t = t;
	return a;
}

Model::Model(int c_, int h_, int w_, const std::string &input)
    : input_name(input), c(c_), h(h_), w(w_)
{
}

std::string Model::init(const std::string &name, std::vector<int64_t> dims, std::vector<double> v,
                        int dtype)
{
	Tensor t;
	t.dims = std::move(dims);
	t.v = std::move(v);
	t.dtype = dtype;
	inits[name] = t;
	return name;
}

std::string Model::rand_init(const std::string &name, std::vector<int64_t> dims, double std)
{
	Tensor t;
	t.dims = std::move(dims);
	std::normal_distribution<double> nd(0.0, std);
	t.v.resize(t.numel());
	for (auto &x : t.v)
		x = float(nd(rng));
	inits[name] = t;
	return name;
}

std::string Model::i64(const std::string &name, std::vector<int64_t> v)
{
	Tensor t;
	t.dims = {int64_t(v.size())};
	t.v.assign(v.begin(), v.end());
	t.dtype = 7;
	inits[name] = t;
	return name;
}

std::string Model::node(const std::string &op, std::vector<std::string> in, Attrs a, int nout,
                        const std::string &name)
{
	Node n;
	n.op = op;
	n.name = name.empty() ? op + "_" + std::to_string(counter_++) : name;
	n.in = std::move(in);
	for (int k = 0; k < nout; k++)
		n.out.push_back(n.name + (k ? "_out" + std::to_string(k) : "_out"));
	n.attrs = std::move(a);
	nodes.push_back(n);
	return nodes.back().out[0];
}

// ---- packing -------------------------------------------------------------

namespace
{

// Owns everything the protobuf-c structs point at while they are packed.
struct Arena {
	std::deque<std::string> strs;
	std::deque<std::vector<char *>> strvecs;
	std::deque<std::vector<int64_t>> i64s;
	std::deque<std::vector<float>> f32s;
	std::deque<std::vector<uint8_t>> raws;
	std::deque<Onnx__TensorProto> tensors;
	std::deque<Onnx__AttributeProto> attrs;
	std::deque<std::vector<Onnx__AttributeProto *>> attrvecs;
	std::deque<Onnx__NodeProto> nodes;
	std::deque<Onnx__ValueInfoProto> vis;
	std::deque<Onnx__TypeProto> types;
	std::deque<Onnx__TypeProto__Tensor> ttypes;
	std::deque<Onnx__TensorShapeProto> shapes;
	std::deque<Onnx__TensorShapeProto__Dimension> dims;
	std::deque<std::vector<Onnx__TensorShapeProto__Dimension *>> dimvecs;

	char *s(const std::string &x)
	{
		strs.push_back(x);
		return &strs.back()[0];
	}
	char **sv(const std::vector<std::string> &x)
	{
		strvecs.emplace_back();
		for (auto &e : x)
			strvecs.back().push_back(s(e));
		return strvecs.back().data();
	}
	Onnx__TensorProto *tensor(const std::string &name, const Tensor &t)
	{
		tensors.emplace_back();
		Onnx__TensorProto *p = &tensors.back();
		onnx__tensor_proto__init(p);
		p->name = s(name);
		i64s.push_back(t.dims);
		p->n_dims = t.dims.size();
		p->dims = i64s.back().data();
		p->has_data_type = 1;
		p->data_type = t.dtype;
		// Raw little-endian data, as torch.onnx.export writes it.
		raws.emplace_back();
		auto &r = raws.back();
		for (double v : t.v) {
			uint8_t b[8];
			size_t wdt = 4;
			if (t.dtype == 1) {
				float f = float(v);
				memcpy(b, &f, 4);
			} else if (t.dtype == 7) {
				int64_t i = v >= 9.2e18    ? INT64_MAX
				            : v <= -9.2e18 ? INT64_MIN
				                           : int64_t(v);
				memcpy(b, &i, 8);
				wdt = 8;
			} else if (t.dtype == 6) {
				int32_t i = int32_t(v);
				memcpy(b, &i, 4);
			} else {
				b[0] = uint8_t(int(v));
				wdt = 1;
			}
			r.insert(r.end(), b, b + wdt);
		}
		p->has_raw_data = 1;
		p->raw_data.len = r.size();
		p->raw_data.data = r.data();
		return p;
	}
	Onnx__ValueInfoProto *vi(const std::string &name, std::vector<int64_t> d)
	{
		vis.emplace_back();
		Onnx__ValueInfoProto *v = &vis.back();
		onnx__value_info_proto__init(v);
		v->name = s(name);
		if (d.empty())
			return v;
		types.emplace_back();
		onnx__type_proto__init(&types.back());
		ttypes.emplace_back();
		onnx__type_proto__tensor__init(&ttypes.back());
		shapes.emplace_back();
		onnx__tensor_shape_proto__init(&shapes.back());
		dimvecs.emplace_back();
		for (int64_t x : d) {
			dims.emplace_back();
			auto *dp = &dims.back();
			onnx__tensor_shape_proto__dimension__init(dp);
			if (x >= 0) {
				dp->value_case =
				        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
				dp->dim_value = x;
			} else {
				dp->value_case =
				        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
				dp->dim_param = s("dyn");
			}
			dimvecs.back().push_back(dp);
		}
		shapes.back().n_dim = d.size();
		shapes.back().dim = dimvecs.back().data();
		ttypes.back().has_elem_type = 1;
		ttypes.back().elem_type = 1;
		ttypes.back().shape = &shapes.back();
		types.back().value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
		types.back().tensor_type = &ttypes.back();
		v->type = &types.back();
		return v;
	}
};

} // namespace

std::vector<uint8_t> Model::bytes() const
{
	Arena A;
	std::vector<Onnx__NodeProto *> np;
	std::vector<Onnx__TensorProto *> ip;
	for (const Node &n : nodes) {
		A.nodes.emplace_back();
		Onnx__NodeProto *p = &A.nodes.back();
		onnx__node_proto__init(p);
		p->name = A.s(n.name);
		p->op_type = A.s(n.op);
		p->n_input = n.in.size();
		p->input = A.sv(n.in);
		p->n_output = n.out.size();
		p->output = A.sv(n.out);
		A.attrvecs.emplace_back();
		for (auto &kv : n.attrs) {
			A.attrs.emplace_back();
			Onnx__AttributeProto *a = &A.attrs.back();
			onnx__attribute_proto__init(a);
			a->name = A.s(kv.first);
			a->has_type = 1;
			const Attr &v = kv.second;
			switch (v.kind) {
			case Attr::INT:
				a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
				a->has_i = 1;
				a->i = v.i;
				break;
			case Attr::FLOAT:
				a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
				a->has_f = 1;
				a->f = v.f;
				break;
			case Attr::INTS:
				a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
				A.i64s.push_back(v.ints);
				a->n_ints = v.ints.size();
				a->ints = A.i64s.back().data();
				break;
			case Attr::STRING:
				a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
				a->has_s = 1;
				A.raws.emplace_back(v.s.begin(), v.s.end());
				a->s.len = v.s.size();
				a->s.data = A.raws.back().data();
				break;
			case Attr::TENSOR:
				a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
				a->t = A.tensor("", v.t);
				break;
			}
			A.attrvecs.back().push_back(a);
		}
		p->n_attribute = A.attrvecs.back().size();
		p->attribute = A.attrvecs.back().data();
		np.push_back(p);
	}
	for (auto &kv : inits)
		ip.push_back(A.tensor(kv.first, kv.second));
	std::vector<Onnx__ValueInfoProto *> gi{A.vi(input_name, {1, c, h, w})}, go;
	for (auto &o : outputs_)
		go.push_back(A.vi(o, {}));

	Onnx__GraphProto g;
	onnx__graph_proto__init(&g);
	g.name = A.s("test");
	g.n_node = np.size();
	g.node = np.data();
	g.n_initializer = ip.size();
	g.initializer = ip.data();
	g.n_input = gi.size();
	g.input = gi.data();
	g.n_output = go.size();
	g.output = go.data();

	Onnx__OperatorSetIdProto ops;
	onnx__operator_set_id_proto__init(&ops);
	ops.domain = A.s("");
	ops.has_version = 1;
	ops.version = 13;
	Onnx__OperatorSetIdProto *opsp = &ops;

	Onnx__ModelProto m;
	onnx__model_proto__init(&m);
	m.has_ir_version = 1;
	m.ir_version = 7;
	m.n_opset_import = 1;
	m.opset_import = &opsp;
	m.producer_name = A.s("lwnpu-test");
	m.graph = &g;
	std::vector<uint8_t> out(onnx__model_proto__get_packed_size(&m));
	onnx__model_proto__pack(&m, out.data());
	return out;
}

// ---- reference interpreter -----------------------------------------------

namespace
{

using Env = std::map<std::string, Tensor>;

Tensor make(std::vector<int64_t> d, int dtype = 1)
{
	Tensor t;
	t.dims = std::move(d);
	t.dtype = dtype;
	t.v.assign(t.numel(), 0.0);
	return t;
}

int64_t attr_i(const Node &n, const char *k, int64_t def)
{
	auto it = n.attrs.find(k);
	return it == n.attrs.end() ? def : it->second.i;
}
float attr_f(const Node &n, const char *k, float def)
{
	auto it = n.attrs.find(k);
	return it == n.attrs.end() ? def : it->second.f;
}
std::vector<int64_t> attr_ints(const Node &n, const char *k, std::vector<int64_t> def)
{
	auto it = n.attrs.find(k);
	return it == n.attrs.end() ? def : it->second.ints;
}

Tensor broadcast(const Tensor &a, const Tensor &b, double (*f)(double, double))
{
	size_t r = std::max(a.dims.size(), b.dims.size());
	std::vector<int64_t> d(r);
	for (size_t k = 0; k < r; k++) {
		int64_t da = k + a.dims.size() >= r ? a.dims[k + a.dims.size() - r] : 1;
		int64_t db = k + b.dims.size() >= r ? b.dims[k + b.dims.size() - r] : 1;
		d[k] = std::max(da, db);
	}
	Tensor o = make(d, a.dtype == 7 && b.dtype == 7 ? 7 : 1);
	for (size_t i = 0; i < o.numel(); i++) {
		size_t rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
		std::vector<int64_t> idx(r);
		for (size_t k = r; k-- > 0;) {
			idx[k] = int64_t(rem % size_t(d[k]));
			rem /= size_t(d[k]);
		}
		for (size_t k = r; k-- > 0;) {
			if (k + a.dims.size() >= r) {
				int64_t da = a.dims[k + a.dims.size() - r];
				ia += size_t(da == 1 ? 0 : idx[k]) * sa;
				sa *= size_t(da);
			}
			if (k + b.dims.size() >= r) {
				int64_t db = b.dims[k + b.dims.size() - r];
				ib += size_t(db == 1 ? 0 : idx[k]) * sb;
				sb *= size_t(db);
			}
		}
		o.v[i] = f(a.v[ia], b.v[ib]);
	}
	return o;
}

Tensor conv(const Node &n, const Tensor &x, const Tensor &w, const Tensor *b)
{
	int64_t G = attr_i(n, "group", 1);
	auto s = attr_ints(n, "strides", {1, 1});
	auto p = attr_ints(n, "pads", {0, 0, 0, 0});
	int64_t C = x.dims[1], H = x.dims[2], W = x.dims[3];
	int64_t O = w.dims[0], I = w.dims[1], KH = w.dims[2], KW = w.dims[3];
	int64_t OH = (H + p[0] + p[2] - KH) / s[0] + 1, OW = (W + p[1] + p[3] - KW) / s[1] + 1;
	Tensor o = make({1, O, OH, OW});
	int64_t og = O / G;
	(void)C;
	for (int64_t oc = 0; oc < O; oc++)
		for (int64_t oy = 0; oy < OH; oy++)
			for (int64_t ox = 0; ox < OW; ox++) {
				double acc = b ? b->v[size_t(oc)] : 0.0;
				int64_t g = oc / og;
				for (int64_t ic = 0; ic < I; ic++)
					for (int64_t ky = 0; ky < KH; ky++)
						for (int64_t kx = 0; kx < KW; kx++) {
							int64_t iy = oy * s[0] - p[0] + ky,
							        ix = ox * s[1] - p[1] + kx;
							if (iy < 0 || iy >= H || ix < 0 || ix >= W)
								continue;
							acc += x.v[size_t(((g * I + ic) * H + iy) *
							                          W +
							                  ix)] *
							       w.v[size_t(((oc * I + ic) * KH +
							                   ky) * KW +
							                  kx)];
						}
				o.v[size_t((oc * OH + oy) * OW + ox)] = acc;
			}
	return o;
}

Tensor pool(const Node &n, const Tensor &x, bool is_max)
{
	auto k = attr_ints(n, "kernel_shape", {});
	auto s = attr_ints(n, "strides", {1, 1});
	auto p = attr_ints(n, "pads", {0, 0, 0, 0});
	bool ceil_mode = attr_i(n, "ceil_mode", 0), cip = attr_i(n, "count_include_pad", 0);
	int64_t C = x.dims[1], H = x.dims[2], W = x.dims[3];
	auto osz = [&](int64_t in, int64_t kk, int64_t ss, int64_t pa, int64_t pb) {
		int64_t span = in + pa + pb - kk;
		int64_t o = (ceil_mode ? (span + ss - 1) / ss : span / ss) + 1;
		if (ceil_mode && (o - 1) * ss >= in + pa)
			o--;
		return o;
	};
	int64_t OH = osz(H, k[0], s[0], p[0], p[2]), OW = osz(W, k[1], s[1], p[1], p[3]);
	Tensor o = make({1, C, OH, OW});
	for (int64_t c = 0; c < C; c++)
		for (int64_t oy = 0; oy < OH; oy++)
			for (int64_t ox = 0; ox < OW; ox++) {
				double acc = is_max ? -1e300 : 0.0;
				int cnt = 0, padded = 0;
				for (int64_t ky = 0; ky < k[0]; ky++)
					for (int64_t kx = 0; kx < k[1]; kx++) {
						int64_t iy = oy * s[0] - p[0] + ky,
						        ix = ox * s[1] - p[1] + kx;
						// count_include_pad counts the explicit pads only
						if (iy < H + p[2] && ix < W + p[3])
							padded++;
						if (iy < 0 || iy >= H || ix < 0 || ix >= W)
							continue;
						double v = x.v[size_t((c * H + iy) * W + ix)];
						acc = is_max ? std::max(acc, v) : acc + v;
						cnt++;
					}
				o.v[size_t((c * OH + oy) * OW + ox)] =
				        is_max ? acc : acc / (cip ? padded : cnt);
			}
	return o;
}

Tensor transpose(const Tensor &x, const std::vector<int64_t> &perm)
{
	size_t r = x.dims.size();
	std::vector<int64_t> d(r);
	for (size_t k = 0; k < r; k++)
		d[k] = x.dims[size_t(perm[k])];
	Tensor o = make(d, x.dtype);
	std::vector<size_t> st(r);
	size_t s = 1;
	for (size_t k = r; k-- > 0;) {
		st[k] = s;
		s *= size_t(x.dims[k]);
	}
	for (size_t i = 0; i < o.numel(); i++) {
		size_t rem = i, src = 0;
		for (size_t k = r; k-- > 0;) {
			size_t idx = rem % size_t(d[k]);
			rem /= size_t(d[k]);
			src += idx * st[size_t(perm[k])];
		}
		o.v[i] = x.v[src];
	}
	return o;
}

// Channel slice [b, e) of a 4-D tensor.
Tensor chan_slice(const Tensor &x, int64_t b, int64_t e)
{
	int64_t HW = x.dims[2] * x.dims[3];
	Tensor o = make({1, e - b, x.dims[2], x.dims[3]});
	std::copy(x.v.begin() + b * HW, x.v.begin() + e * HW, o.v.begin());
	return o;
}

double qround(double v)
{
	return std::nearbyint(v); // ties to even, as ONNX QuantizeLinear
}

} // namespace

Tensor Model::run(const std::vector<float> &x) const
{
	Env env = inits;
	Tensor in = make({1, c, h, w});
	in.v.assign(x.begin(), x.end());
	env[input_name] = in;
	for (const Node &n : nodes) {
		auto I = [&](size_t k) -> const Tensor & { return env.at(n.in[k]); };
		auto has = [&](size_t k) { return k < n.in.size() && !n.in[k].empty(); };
		std::vector<Tensor> out(1);
		Tensor &o = out[0];
		const std::string &op = n.op;
		if (op == "Conv") {
			o = conv(n, I(0), I(1), has(2) ? &I(2) : nullptr);
		} else if (op == "BatchNormalization") {
			o = I(0);
			double eps = attr_f(n, "epsilon", 1e-5f);
			size_t HW = o.numel() / size_t(o.dims[1]);
			for (size_t i = 0; i < o.numel(); i++) {
				size_t ch = i / HW % size_t(o.dims[1]);
				o.v[i] = (o.v[i] - I(3).v[ch]) / std::sqrt(I(4).v[ch] + eps) *
				                 I(1).v[ch] +
				         I(2).v[ch];
			}
		} else if (op == "Relu" || op == "Clip" || op == "HardSigmoid" ||
		           op == "HardSwish" || op == "Sigmoid") {
			o = I(0);
			double lo = has(1) ? I(1).v[0] : -1e300, hi = has(2) ? I(2).v[0] : 1e300;
			double al = attr_f(n, "alpha", 0.2f), be = attr_f(n, "beta", 0.5f);
			for (auto &v : o.v) {
				if (op == "Relu")
					v = std::max(v, 0.0);
				else if (op == "Clip")
					v = std::min(std::max(v, lo), hi);
				else if (op == "HardSigmoid")
					v = std::min(std::max(al * v + be, 0.0), 1.0);
				else if (op == "HardSwish")
					v = v * std::min(std::max(v / 6 + 0.5, 0.0), 1.0);
				else
					v = 1 / (1 + std::exp(-v));
			}
		} else if (op == "Add") {
			o = broadcast(I(0), I(1), [](double a, double b) { return a + b; });
		} else if (op == "Mul") {
			o = broadcast(I(0), I(1), [](double a, double b) { return a * b; });
		} else if (op == "Div") {
			bool integer = I(0).dtype == 7 && I(1).dtype == 7;
			o = broadcast(I(0), I(1), [](double a, double b) { return a / b; });
			if (integer)
				for (auto &v : o.v)
					v = std::trunc(v);
		} else if (op == "GlobalAveragePool" || op == "ReduceMean") {
			const Tensor &a = I(0);
			bool keep = op == "GlobalAveragePool" || attr_i(n, "keepdims", 1);
			int64_t C = a.dims[1], HW = a.dims[2] * a.dims[3];
			o = make(keep ? std::vector<int64_t>{1, C, 1, 1}
			              : std::vector<int64_t>{1, C});
			for (int64_t ch = 0; ch < C; ch++) {
				double s = 0;
				for (int64_t p = 0; p < HW; p++)
					s += a.v[size_t(ch * HW + p)];
				o.v[size_t(ch)] = s / double(HW);
			}
		} else if (op == "Flatten") {
			o = I(0);
			o.dims = {1, int64_t(o.numel())};
		} else if (op == "Reshape") {
			o = I(0);
			std::vector<int64_t> d;
			int64_t known = 1, infer = -1;
			for (size_t k = 0; k < I(1).v.size(); k++) {
				int64_t v = int64_t(I(1).v[k]);
				if (v == 0)
					v = I(0).dims[k];
				if (v == -1)
					infer = int64_t(k);
				else
					known *= v;
				d.push_back(v);
			}
			if (infer >= 0)
				d[size_t(infer)] = int64_t(o.numel()) / known;
			o.dims = d;
		} else if (op == "Transpose") {
			o = transpose(I(0), attr_ints(n, "perm", {}));
		} else if (op == "Gemm" || op == "MatMul") {
			const Tensor &a = I(0), &b = I(1);
			bool tb = attr_i(n, "transB", 0);
			double al = attr_f(n, "alpha", 1.f), be = attr_f(n, "beta", 1.f);
			int64_t K = a.dims[1], N = tb ? b.dims[0] : b.dims[1];
			o = make({1, N});
			for (int64_t j = 0; j < N; j++) {
				double s = 0;
				for (int64_t k = 0; k < K; k++)
					s += a.v[size_t(k)] *
					     b.v[size_t(tb ? j * K + k : k * N + j)];
				o.v[size_t(j)] =
				        al * s +
				        (op == "Gemm" && has(2)
				                 ? be * I(2).v[I(2).numel() == 1 ? 0 : size_t(j)]
				                 : 0.0);
			}
		} else if (op == "MaxPool" || op == "AveragePool") {
			o = pool(n, I(0), op == "MaxPool");
		} else if (op == "Pad") {
			// constant mode, [1,C,H,W]: pads [n,c,h,w begin, n,c,h,w end]
			const Tensor &a = I(0);
			std::vector<int64_t> p =
			        has(1) ? std::vector<int64_t>(I(1).v.begin(), I(1).v.end())
			               : attr_ints(n, "pads", {});
			double val = has(2) ? I(2).v[0] : 0.0;
			if (p.size() != 8 || p[0] || p[1] || p[4] || p[5])
				throw std::runtime_error("ref Pad: H/W pads only");
			int64_t C = a.dims[1], H = a.dims[2], W = a.dims[3];
			int64_t OH = H + p[2] + p[6], OW = W + p[3] + p[7];
			o = make({1, C, OH, OW});
			for (int64_t ch = 0; ch < C; ch++)
				for (int64_t y = 0; y < OH; y++)
					for (int64_t xx = 0; xx < OW; xx++) {
						int64_t iy = y - p[2], ix = xx - p[3];
						bool in = iy >= 0 && iy < H && ix >= 0 && ix < W;
						o.v[size_t((ch * OH + y) * OW + xx)] =
						        in ? a.v[size_t((ch * H + iy) * W + ix)]
						           : val;
					}
		} else if (op == "Concat") {
			int64_t axis = attr_i(n, "axis", 0);
			if (I(0).dims.size() == 1) {
				o = make({0}, I(0).dtype);
				for (size_t k = 0; k < n.in.size(); k++)
					o.v.insert(o.v.end(), I(k).v.begin(), I(k).v.end());
				o.dims = {int64_t(o.v.size())};
			} else {
				if (axis != 1)
					throw std::runtime_error("ref Concat: axis 1 only");
				int64_t C = 0;
				for (size_t k = 0; k < n.in.size(); k++)
					C += I(k).dims[1];
				o = make({1, C, I(0).dims[2], I(0).dims[3]});
				size_t pos = 0;
				for (size_t k = 0; k < n.in.size(); k++) {
					std::copy(I(k).v.begin(), I(k).v.end(),
					          o.v.begin() + long(pos));
					pos += I(k).numel();
				}
			}
		} else if (op == "Split") {
			out.clear();
			int64_t b = 0;
			for (size_t k = 0; k < n.out.size(); k++) {
				int64_t sz = has(1) ? int64_t(I(1).v[k])
				                    : I(0).dims[1] / int64_t(n.out.size());
				out.push_back(chan_slice(I(0), b, b + sz));
				b += sz;
			}
		} else if (op == "Slice") {
			int64_t C = I(0).dims[1];
			int64_t b = int64_t(I(1).v[0]), e = int64_t(std::min(I(2).v[0], double(C)));
			o = chan_slice(I(0), b < 0 ? b + C : b, e < 0 ? e + C : e);
		} else if (op == "Identity" || op == "Dropout") {
			o = I(0);
		} else if (op == "Shape") {
			o = make({int64_t(I(0).dims.size())}, 7);
			for (size_t k = 0; k < I(0).dims.size(); k++)
				o.v[k] = double(I(0).dims[k]);
		} else if (op == "Gather") {
			o = make({}, I(0).dtype);
			o.v = {I(0).v[size_t(I(1).v[0])]};
		} else if (op == "Unsqueeze") {
			o = I(0);
			o.dims.insert(o.dims.begin(), 1); // only 0-d -> 1-d in these tests
		} else if (op == "Constant") {
			o = n.attrs.at("value").t;
		} else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
			const Tensor &a = I(0), &s = I(1);
			bool u8 = !has(2) || I(2).dtype == 2;
			o = make(a.dims, op == "QuantizeLinear" ? (u8 ? 2 : 3) : 1);
			size_t inner = a.numel() / size_t(a.dims[0]);
			for (size_t i = 0; i < a.numel(); i++) {
				size_t ch = s.numel() > 1 ? i / inner : 0;
				double z = has(2) ? I(2).v[ch] : 0, sc = float(s.v[ch]);
				if (op == "QuantizeLinear") {
					double q = qround(a.v[i] / sc) + z;
					o.v[i] = u8 ? std::min(std::max(q, 0.0), 255.0)
					            : std::min(std::max(q, -128.0), 127.0);
				} else {
					o.v[i] = float((a.v[i] - z) * sc);
				}
			}
		} else {
			throw std::runtime_error("reference interpreter lacks " + op);
		}
		for (size_t k = 0; k < n.out.size() && k < out.size(); k++)
			env[n.out[k]] = out[k];
	}
	return env.at(outputs_.at(0));
}

} // namespace onnxb
