// Profile outputs (tools/common/profile_out.c): the JSON keeps the format
// npu-run always wrote; the SVG is well-formed XML with one <svg> root, a
// bar per layer and a point per plottable layer; the trace is valid JSON in
// the Trace Event Format with an "X" event per layer. Hostile names are
// escaped, empty and large profiles work, and npu-run writes all three.
//
// The XML and JSON checkers below are deliberately small and strict: they
// accept only what a conforming parser would, for the subset we emit.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/npu_regs.h"
#include "tools/common/profile_out.h"
#include "tests/common/shell.h"

using npu_test::bin_dir;
using npu_test::Result;
using npu_test::run;

namespace
{

// ---- a strict UTF-8 check ----------------------------------------------

bool valid_utf8(const std::string &s, std::string *why)
{
	const unsigned char *p = (const unsigned char *)s.data(), *e = p + s.size();
	while (p < e) {
		unsigned c = *p;
		int n = c < 0x80                 ? 1
		        : c >= 0xc2 && c <= 0xdf ? 2
		        : c >= 0xe0 && c <= 0xef ? 3
		        : c >= 0xf0 && c <= 0xf4 ? 4
		                                 : 0;
		if (!n || e - p < n) {
			*why = "bad UTF-8 at byte " +
			       std::to_string(p - (const unsigned char *)s.data());
			return false;
		}
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80) {
				*why = "bad UTF-8 continuation";
				return false;
			}
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) {
			*why = "overlong or surrogate UTF-8";
			return false;
		}
		p += n;
	}
	return true;
}

// ---- a tiny XML checker -------------------------------------------------

struct XmlElem {
	std::string name;
	std::map<std::string, std::string> attrs;
	std::string text; // decoded character data directly inside
	int depth;
};

struct XmlDoc {
	bool ok = false;
	std::string error;
	std::vector<XmlElem> elems; // document order; elems[0] is the root
	size_t count(const std::string &name, const std::string &class_prefix = "") const
	{
		size_t k = 0;
		for (auto &e : elems) {
			if (e.name != name)
				continue;
			auto c = e.attrs.find("class");
			if (class_prefix.empty() ||
			    (c != e.attrs.end() &&
			     c->second.compare(0, class_prefix.size(), class_prefix) == 0))
				k++;
		}
		return k;
	}
	std::string all_text(const std::string &name) const
	{
		std::string t;
		for (auto &e : elems)
			if (e.name == name)
				t += e.text + "\n";
		return t;
	}
};

class XmlChecker
{
      public:
	explicit XmlChecker(const std::string &s) : s_(s)
	{
	}

	XmlDoc run()
	{
		std::string why;
		if (!valid_utf8(s_, &why))
			return fail(why);
		for (unsigned char c : s_)
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return fail("control character in document");
		if (s_.compare(0, 5, "<?xml") == 0) {
			size_t e = s_.find("?>");
			if (e == std::string::npos)
				return fail("unterminated XML declaration");
			i_ = e + 2;
		}
		std::vector<size_t> stack; // indices into doc_.elems
		bool root_done = false;
		while (i_ < s_.size()) {
			if (s_.compare(i_, 4, "<!--") == 0) {
				size_t e = s_.find("-->", i_ + 4);
				if (e == std::string::npos)
					return fail("unterminated comment");
				i_ = e + 3;
			} else if (s_.compare(i_, 2, "</") == 0) {
				i_ += 2;
				std::string n = name();
				skip_ws();
				if (n.empty() || !eat('>'))
					return fail("bad end tag");
				if (stack.empty() || doc_.elems[stack.back()].name != n)
					return fail("end tag </" + n + "> does not match");
				stack.pop_back();
				if (stack.empty())
					root_done = true;
			} else if (s_[i_] == '<') {
				i_++;
				if (root_done || (stack.empty() && !doc_.elems.empty()))
					return fail("second root element");
				XmlElem el;
				el.name = name();
				el.depth = (int)stack.size();
				if (el.name.empty())
					return fail("bad start tag");
				for (;;) {
					bool ws = skip_ws();
					if (eat('>')) {
						doc_.elems.push_back(el);
						stack.push_back(doc_.elems.size() - 1);
						break;
					}
					if (s_.compare(i_, 2, "/>") == 0) {
						i_ += 2;
						doc_.elems.push_back(el);
						if (stack.empty())
							root_done = true;
						break;
					}
					std::string an = name();
					if (an.empty() || !ws)
						return fail("bad attribute in <" + el.name + ">");
					skip_ws();
					if (!eat('='))
						return fail("attribute without '='");
					skip_ws();
					if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\''))
						return fail("unquoted attribute");
					char q = s_[i_++];
					std::string v;
					while (i_ < s_.size() && s_[i_] != q) {
						if (s_[i_] == '<')
							return fail("'<' in attribute value");
						if (!chr(&v))
							return fail(doc_.error);
					}
					if (!eat(q))
						return fail("unterminated attribute");
					if (el.attrs.count(an))
						return fail("duplicate attribute " + an);
					el.attrs[an] = v;
				}
			} else {
				std::string t;
				while (i_ < s_.size() && s_[i_] != '<')
					if (!chr(&t))
						return fail(doc_.error);
				if (stack.empty()) {
					if (t.find_first_not_of(" \t\r\n") != std::string::npos)
						return fail("text outside the root element");
				} else {
					doc_.elems[stack.back()].text += t;
				}
			}
		}
		if (!stack.empty())
			return fail("unclosed <" + doc_.elems[stack.back()].name + ">");
		if (doc_.elems.empty())
			return fail("no root element");
		doc_.ok = true;
		return doc_;
	}

      private:
	XmlDoc fail(const std::string &why)
	{
		doc_.ok = false;
		doc_.error = why + " (at byte " + std::to_string(i_) + ")";
		return doc_;
	}
	bool skip_ws()
	{
		size_t s = i_;
		while (i_ < s_.size() && strchr(" \t\r\n", s_[i_]))
			i_++;
		return i_ > s;
	}
	bool eat(char c)
	{
		if (i_ < s_.size() && s_[i_] == c) {
			i_++;
			return true;
		}
		return false;
	}
	std::string name()
	{
		size_t s = i_;
		while (i_ < s_.size() && (isalnum((unsigned char)s_[i_]) || strchr("_:.-", s_[i_])))
			i_++;
		std::string n = s_.substr(s, i_ - s);
		if (!n.empty() && (isdigit((unsigned char)n[0]) || n[0] == '-' || n[0] == '.'))
			return "";
		return n;
	}
	// One character of text or attribute value; '&' must be an entity.
	bool chr(std::string *out)
	{
		if (s_[i_] != '&') {
			*out += s_[i_++];
			return true;
		}
		size_t e = s_.find(';', i_);
		if (e == std::string::npos || e - i_ > 10) {
			doc_.error = "bare '&'";
			return false;
		}
		std::string ent = s_.substr(i_ + 1, e - i_ - 1);
		static const std::map<std::string, std::string> named = {
		        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
		if (named.count(ent)) {
			*out += named.at(ent);
		} else if (ent.size() > 1 && ent[0] == '#') {
			*out += "?"; // numeric reference: accepted, not decoded
		} else {
			doc_.error = "unknown entity &" + ent + ";";
			return false;
		}
		i_ = e + 1;
		return true;
	}

	const std::string &s_;
	size_t i_ = 0;
	XmlDoc doc_;
};

// ---- a tiny JSON parser --------------------------------------------------

struct Json {
	enum Type { Null, Bool, Num, Str, Arr, Obj } type = Null;
	bool b = false;
	double num = 0;
	std::string str;
	std::vector<Json> arr;
	std::vector<std::pair<std::string, Json>> obj;

	const Json *get(const std::string &k) const
	{
		for (auto &kv : obj)
			if (kv.first == k)
				return &kv.second;
		return nullptr;
	}
};

class JsonParser
{
      public:
	explicit JsonParser(const std::string &s) : s_(s)
	{
	}
	// Parse the whole text; false with error() on anything not JSON.
	bool parse(Json *out)
	{
		std::string why;
		if (!valid_utf8(s_, &why))
			return fail(why);
		ws();
		if (!value(out, 0))
			return false;
		ws();
		if (i_ != s_.size())
			return fail("trailing text");
		return true;
	}
	const std::string &error() const
	{
		return err_;
	}

      private:
	bool fail(const std::string &why)
	{
		if (err_.empty())
			err_ = why + " at byte " + std::to_string(i_);
		return false;
	}
	void ws()
	{
		while (i_ < s_.size() && strchr(" \t\r\n", s_[i_]) && s_[i_])
			i_++;
	}
	bool lit(const char *w)
	{
		size_t n = strlen(w);
		if (s_.compare(i_, n, w) != 0)
			return false;
		i_ += n;
		return true;
	}
	bool value(Json *v, int depth)
	{
		if (depth > 64)
			return fail("too deep");
		if (i_ >= s_.size())
			return fail("unexpected end");
		char c = s_[i_];
		if (c == '{') {
			v->type = Json::Obj;
			i_++;
			ws();
			if (i_ < s_.size() && s_[i_] == '}') {
				i_++;
				return true;
			}
			for (;;) {
				ws();
				std::string k;
				if (i_ >= s_.size() || s_[i_] != '"' || !string(&k))
					return fail("object key");
				for (auto &kv : v->obj)
					if (kv.first == k)
						return fail("duplicate key " + k);
				ws();
				if (i_ >= s_.size() || s_[i_++] != ':')
					return fail("':' expected");
				ws();
				Json e;
				if (!value(&e, depth + 1))
					return false;
				v->obj.emplace_back(k, e);
				ws();
				if (i_ < s_.size() && s_[i_] == ',') {
					i_++;
					continue;
				}
				if (i_ < s_.size() && s_[i_] == '}') {
					i_++;
					return true;
				}
				return fail("',' or '}' expected");
			}
		}
		if (c == '[') {
			v->type = Json::Arr;
			i_++;
			ws();
			if (i_ < s_.size() && s_[i_] == ']') {
				i_++;
				return true;
			}
			for (;;) {
				ws();
				Json e;
				if (!value(&e, depth + 1))
					return false;
				v->arr.push_back(e);
				ws();
				if (i_ < s_.size() && s_[i_] == ',') {
					i_++;
					continue;
				}
				if (i_ < s_.size() && s_[i_] == ']') {
					i_++;
					return true;
				}
				return fail("',' or ']' expected");
			}
		}
		if (c == '"') {
			v->type = Json::Str;
			return string(&v->str);
		}
		if (lit("true")) {
			v->type = Json::Bool;
			v->b = true;
			return true;
		}
		if (lit("false")) {
			v->type = Json::Bool;
			return true;
		}
		if (lit("null"))
			return true;
		return number(v);
	}
	bool number(Json *v)
	{
		size_t s = i_;
		if (i_ < s_.size() && s_[i_] == '-')
			i_++;
		if (i_ >= s_.size() || !isdigit((unsigned char)s_[i_]))
			return fail("bad value");
		if (s_[i_] == '0')
			i_++;
		else
			while (i_ < s_.size() && isdigit((unsigned char)s_[i_]))
				i_++;
		if (i_ < s_.size() && s_[i_] == '.') {
			i_++;
			if (i_ >= s_.size() || !isdigit((unsigned char)s_[i_]))
				return fail("bad fraction");
			while (i_ < s_.size() && isdigit((unsigned char)s_[i_]))
				i_++;
		}
		if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
			i_++;
			if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'))
				i_++;
			if (i_ >= s_.size() || !isdigit((unsigned char)s_[i_]))
				return fail("bad exponent");
			while (i_ < s_.size() && isdigit((unsigned char)s_[i_]))
				i_++;
		}
		v->type = Json::Num;
		v->num = strtod(s_.substr(s, i_ - s).c_str(), nullptr);
		return true;
	}
	static void put_utf8(std::string *o, unsigned cp)
	{
		if (cp < 0x80) {
			*o += (char)cp;
		} else if (cp < 0x800) {
			*o += (char)(0xc0 | cp >> 6);
			*o += (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*o += (char)(0xe0 | cp >> 12);
			*o += (char)(0x80 | ((cp >> 6) & 0x3f));
			*o += (char)(0x80 | (cp & 0x3f));
		} else {
			*o += (char)(0xf0 | cp >> 18);
			*o += (char)(0x80 | ((cp >> 12) & 0x3f));
			*o += (char)(0x80 | ((cp >> 6) & 0x3f));
			*o += (char)(0x80 | (cp & 0x3f));
		}
	}
	bool hex4(unsigned *cp)
	{
		if (s_.size() - i_ < 4)
			return fail("short \\u");
		*cp = 0;
		for (int k = 0; k < 4; k++) {
			char h = s_[i_++];
			if (!isxdigit((unsigned char)h))
				return fail("bad \\u");
			*cp = *cp * 16 + (unsigned)(isdigit((unsigned char)h)
			                                    ? h - '0'
			                                    : (h | 0x20) - 'a' + 10);
		}
		return true;
	}
	bool string(std::string *o)
	{
		i_++; // opening quote
		while (i_ < s_.size() && s_[i_] != '"') {
			unsigned char c = (unsigned char)s_[i_];
			if (c < 0x20)
				return fail("raw control character in string");
			if (c != '\\') {
				*o += (char)c;
				i_++;
				continue;
			}
			if (++i_ >= s_.size())
				return fail("bad escape");
			char e = s_[i_++];
			const char *m = strchr("\"\\/bfnrt", e);
			if (m && e) {
				static const char dec[] = "\"\\/\b\f\n\r\t";
				*o += dec[m - "\"\\/bfnrt"];
			} else if (e == 'u') {
				unsigned cp = 0, lo = 0;
				if (!hex4(&cp))
					return false;
				if (cp >= 0xd800 && cp < 0xdc00) {
					if (!lit("\\u") || !hex4(&lo) || lo < 0xdc00 || lo > 0xdfff)
						return fail("lone surrogate");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp < 0xe000) {
					return fail("lone surrogate");
				}
				put_utf8(o, cp);
			} else {
				return fail("bad escape");
			}
		}
		if (i_ >= s_.size())
			return fail("unterminated string");
		i_++;
		return true;
	}

	const std::string &s_;
	size_t i_ = 0;
	std::string err_;
};

// ---- helpers ---------------------------------------------------------------

std::string slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return std::string(std::istreambuf_iterator<char>(f), {});
}

bool have_python()
{
	return access("/usr/bin/python3", X_OK) == 0;
}

// Python's own json module agrees the file is JSON (when python3 exists).
void python_json_ok(const std::string &path)
{
	if (!have_python())
		return;
	Result r = run("/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1], "
	               "encoding=\"utf-8\"))' " +
	               path);
	EXPECT_EQ(r.status, 0) << path << ": " << r.out;
}

void set(char *dst, size_t cap, const std::string &s)
{
	memset(dst, 0, cap);
	memcpy(dst, s.data(), std::min(cap - 1, s.size()));
}

npu_layer_profile layer(const std::string &name, const std::string &op, const std::string &engine,
                        uint64_t cycles, uint64_t cpu_ns, uint64_t macs, uint64_t dram,
                        uint64_t bound)
{
	npu_layer_profile l;
	memset(&l, 0, sizeof(l));
	set(l.name, sizeof(l.name), name);
	set(l.op, sizeof(l.op), op);
	set(l.engine, sizeof(l.engine), engine);
	l.cycles = cycles;
	l.cpu_ns = cpu_ns;
	l.macs = macs;
	l.dram_bytes = dram;
	l.bound_cycles = bound;
	return l;
}

// A mixed NPU profile: pw, dw, a folded shuffle, CPU fallback every 7th.
std::vector<npu_layer_profile> npu_profile(unsigned n)
{
	std::vector<npu_layer_profile> v;
	for (unsigned i = 0; i < n; i++) {
		std::string nm = "layer" + std::to_string(i);
		if (i % 7 == 6)
			v.push_back(layer(nm, "hswish", "cpu", 0, 1000 + 37 * i, 0, 0, 0));
		else if (i % 5 == 4) {
			v.push_back(layer(nm, "shuffle", "pw", 0, 0, 0, 0, 0));
			v.back().folded = 1;
		} else if (i % 2)
			v.push_back(layer(nm, "dwconv", "dw", 900 + 13 * i, 0, 28224 * (i + 1),
			                  3000 + i, 700 + 11 * i));
		else
			v.push_back(layer(nm, "conv", "pw", 4000 + 101 * i, 0, 802816 * (i + 1),
			                  9000 + 7 * i, 3136 + 90 * i));
	}
	return v;
}

// The layers the roofline can place (NPU, cycles, MACs and bytes all > 0).
size_t plottable(const std::vector<npu_layer_profile> &v)
{
	size_t k = 0;
	for (auto &l : v)
		k += strcmp(l.engine, "cpu") && l.cycles && l.macs && l.dram_bytes;
	return k;
}

npui_profile_info info(const char *device, double peak = 0, double bw = 0)
{
	npui_profile_info i;
	i.model = "net.npu";
	i.device = device;
	i.clock_mhz = 200.0;
	i.peak_macs_per_cycle = peak;
	i.dram_bytes_per_cycle = bw;
	i.network_bound_cycles = 0;
	return i;
}

// Render into a string through open_memstream.
std::string render(npui_profile_format fmt, const npui_profile_info &in,
                   const std::vector<npu_layer_profile> &v, int *rc_out = nullptr)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return "";
	int rc = npui_profile_write(f, fmt, &in, v.data(), (unsigned)v.size());
	fclose(f);
	std::string s(buf ? buf : "", len);
	free(buf);
	if (rc_out)
		*rc_out = rc;
	else
		EXPECT_EQ(rc, NPU_OK);
	return s;
}

// Structural checks every SVG must pass; returns the parsed document.
XmlDoc check_svg(const std::string &svg, size_t layers, size_t points)
{
	XmlDoc d = XmlChecker(svg).run();
	EXPECT_TRUE(d.ok) << d.error;
	if (!d.ok)
		return d;
	const XmlElem &root = d.elems[0];
	EXPECT_EQ(root.name, "svg");
	EXPECT_EQ(root.attrs.count("width"), 1u);
	EXPECT_EQ(root.attrs.count("height"), 1u);
	EXPECT_EQ(root.attrs.count("viewBox"), 1u);
	EXPECT_EQ(root.attrs.count("xmlns") ? root.attrs.at("xmlns") : "",
	          "http://www.w3.org/2000/svg");
	EXPECT_EQ(d.count("script"), 0u);
	EXPECT_EQ(d.count("foreignObject"), 0u);
	for (auto &e : d.elems)
		for (auto &a : e.attrs) {
			EXPECT_NE(a.first.compare(0, 2, "on"), 0) << "event handler " << a.first;
			EXPECT_EQ(a.second.find("http"),
			          a.first == "xmlns" ? 0u : std::string::npos)
			        << "external reference in " << a.first;
		}
	EXPECT_EQ(d.count("rect", "bar "), layers);
	EXPECT_EQ(d.count("circle", "pt "), points);
	// No NaN/inf leaked into coordinates.
	for (auto &e : d.elems)
		for (auto &a : e.attrs) {
			EXPECT_EQ(a.second.find("nan"), std::string::npos)
			        << a.first << "=" << a.second;
			EXPECT_EQ(a.second.find("inf"), std::string::npos)
			        << a.first << "=" << a.second;
		}
	return d;
}

// Structural checks of a trace; returns the "X" events in order.
std::vector<const Json *> check_trace(const Json &t, size_t layers)
{
	std::vector<const Json *> xs;
	EXPECT_EQ(t.type, Json::Obj);
	const Json *ev = t.get("traceEvents");
	EXPECT_TRUE(ev && ev->type == Json::Arr);
	if (!ev)
		return xs;
	const Json *unit = t.get("displayTimeUnit");
	EXPECT_TRUE(unit && unit->str == "ns");
	std::map<int, std::string> lanes; // tid -> thread_name
	for (auto &e : ev->arr) {
		const Json *ph = e.get("ph"), *name = e.get("name");
		if (!ph || ph->type != Json::Str || !name || name->type != Json::Str) {
			ADD_FAILURE() << "event without ph/name";
			return xs;
		}
		const Json *pid = e.get("pid"), *tid = e.get("tid");
		EXPECT_TRUE(pid && pid->type == Json::Num);
		if (ph->str == "M" && name->str == "thread_name") {
			if (!tid || !e.get("args") || !e.get("args")->get("name")) {
				ADD_FAILURE() << "thread_name without tid or args.name";
				return xs;
			}
			lanes[(int)tid->num] = e.get("args")->get("name")->str;
		} else if (ph->str == "X") {
			xs.push_back(&e);
		} else {
			EXPECT_EQ(ph->str, "M") << "unexpected phase";
		}
	}
	for (const char *l : {"pw", "dw", "ppu", "dma", "cpu"}) {
		bool found = false;
		for (auto &kv : lanes)
			found |= kv.second == l;
		EXPECT_TRUE(found) << "no lane " << l;
	}
	EXPECT_EQ(xs.size(), layers);
	double end = 0;
	for (size_t i = 0; i < xs.size(); i++) {
		const Json &e = *xs[i];
		const Json *ts = e.get("ts"), *dur = e.get("dur"), *tid = e.get("tid"),
		           *args = e.get("args");
		if (!ts || !dur || !tid || !args) {
			ADD_FAILURE() << "event " << i << " lacks ts, dur, tid or args";
			return xs;
		}
		EXPECT_GE(dur->num, 0);
		EXPECT_NEAR(ts->num, end, 1e-6) << "event " << i << " not back to back";
		end = ts->num + dur->num;
		for (const char *k : {"macs", "dram_bytes", "bound_cycles", "op", "engine"})
			EXPECT_TRUE(args->get(k)) << "event " << i << " lacks args." << k;
		EXPECT_TRUE(lanes.count((int)tid->num)) << "event " << i << " on an unnamed lane";
		// Each layer on its engine's lane ("other" once there are too many engines).
		if (args->get("engine") && lanes[(int)tid->num] != "other") {
			EXPECT_EQ(lanes[(int)tid->num], args->get("engine")->str) << "event " << i;
		}
	}
	return xs;
}

Json parse_json(const std::string &s)
{
	Json j;
	JsonParser p(s);
	EXPECT_TRUE(p.parse(&j)) << p.error() << "\n" << s.substr(0, 400);
	return j;
}

// ---- the checkers themselves -----------------------------------------------

TEST(ProfileCheckers, RejectWhatIsNotWellFormed)
{
	EXPECT_TRUE(XmlChecker("<svg a=\"1\"><g>x &amp; y</g></svg>").run().ok);
	for (const char *bad : {"<svg><g></svg>", "<svg>a & b</svg>", "<svg a=\"<\"/>",
	                        "<svg/><svg/>", "<svg a=\"1\" a=\"2\"/>", "<svg>&bogus;</svg>",
	                        "<svg>", "text<svg/>", "<svg a=1/>", "<svg>\xff</svg>"})
		EXPECT_FALSE(XmlChecker(bad).run().ok) << bad;
	Json j;
	EXPECT_TRUE(JsonParser("{\"a\":[1,-2.5e3,\"\\u00e9\\ud83d\\ude00\",true,null]}").parse(&j));
	for (const char *bad : {"{\"a\":1,}", "[1 2]", "{\"a\":01}", "\"\x01\"", "{\"a\":1}x",
	                        "{'a':1}", "[\"\\ud800\"]", "{\"a\":1,\"a\":2}", "[nan]"})
		EXPECT_FALSE(JsonParser(bad).parse(&j)) << bad;
}

// ---- JSON: exactly the format npu-run writes -----------------------------

TEST(ProfileJson, FormatIsExact)
{
	std::vector<npu_layer_profile> v = {
	        layer("conv1", "conv", "pw", 100, 5, 1000, 64, 80),
	        layer("se\"\\\x01", "se", "cpu", 0, 2500, 10, 0, 0),
	};
	v[1].folded = 1;
	npui_profile_info in = info("sim");
	in.network_bound_cycles = 70; // the network's, not the sum of the layers' (80)
	std::string want = "{\n"
	                   "  \"model\": \"net.npu\",\n"
	                   "  \"device\": \"sim\",\n"
	                   "  \"clock_mhz\": 200.0,\n"
	                   "  \"total_cycles\": 100,\n"
	                   "  \"network_bound_cycles\": 70,\n"
	                   "  \"sum_layer_bound_cycles\": 80,\n"
	                   "  \"macs\": 1010,\n"
	                   "  \"dram_bytes\": 64,\n"
	                   "  \"cpu_ns\": 2505,\n"
	                   "  \"layers\": [\n"
	                   "    {\"name\": \"conv1\", \"op\": \"conv\", \"engine\": \"pw\", "
	                   "\"cycles\": 100, \"cpu_ns\": 5, \"macs\": 1000, \"dram_bytes\": 64, "
	                   "\"bound_cycles\": 80, \"folded\": false},\n"
	                   "    {\"name\": \"se\\\"\\\\\\u0001\", \"op\": \"se\", \"engine\": "
	                   "\"cpu\", \"cycles\": 0, \"cpu_ns\": 2500, \"macs\": 10, "
	                   "\"dram_bytes\": 0, \"bound_cycles\": 0, \"folded\": true}\n"
	                   "  ]\n"
	                   "}\n";
	EXPECT_EQ(render(NPUI_PROFILE_JSON, in, v), want);
	// No layers: the same shape with an empty array.
	EXPECT_NE(render(NPUI_PROFILE_JSON, info("cpu"), {}).find("\"layers\": [\n  ]\n}\n"),
	          std::string::npos);
}

// ---- SVG ------------------------------------------------------------------

TEST(ProfileSvg, WellFormedForEverySize)
{
	for (unsigned n : {0u, 1u, 2u, 7u, 60u, 300u}) {
		SCOPED_TRACE("n=" + std::to_string(n));
		auto v = npu_profile(n);
		std::string svg = render(NPUI_PROFILE_SVG, info("sim", 256, 8), v);
		XmlDoc d = check_svg(svg, n, plottable(v));
		// Bound markers: one per layer with a bound.
		size_t bounded = 0;
		for (auto &l : v)
			bounded += l.bound_cycles != 0;
		EXPECT_EQ(d.count("line", "bound"), bounded + 1 /* legend */);
		EXPECT_EQ(d.count("polyline", "roof"), 1u);
		// CPU-fallback bars are told apart.
		size_t cpu = 0;
		for (auto &l : v)
			cpu += !strcmp(l.engine, "cpu");
		EXPECT_EQ(d.count("rect", "bar cpu"), cpu);
		std::string text = d.all_text("text");
		EXPECT_NE(text.find("cycles/bound"), std::string::npos);
		EXPECT_NE(text.find("200.0 MHz"), std::string::npos);
		if (n == 0) {
			EXPECT_NE(text.find("no layers"), std::string::npos);
		}
		// Wide profiles widen the picture rather than squeezing bars to nothing.
		EXPECT_GE(atof(d.elems[0].attrs["width"].c_str()), 3.0 * n);
	}
}

// The caption's ratio is against the network's bound, and says so; the sum
// of the layers' bounds is named as a sum.
TEST(ProfileSvg, CaptionUsesTheNetworkBound)
{
	auto v = npu_profile(20);
	npui_profile_info in = info("sim", 256, 8);
	in.network_bound_cycles = 12345;
	uint64_t cycles = 0, sum = 0;
	for (auto &l : v) {
		cycles += l.cycles;
		sum += l.bound_cycles;
	}
	XmlDoc d = check_svg(render(NPUI_PROFILE_SVG, in, v), v.size(), plottable(v));
	std::string text = d.all_text("text");
	char want[160];
	snprintf(want, sizeof(want), "network bound 12345 cycles, cycles/bound %.3f",
	         (double)cycles / 12345);
	EXPECT_NE(text.find(want), std::string::npos) << text;
	EXPECT_NE(text.find("sum of layer bounds " + std::to_string(sum) + " cycles"),
	          std::string::npos)
	        << text;
	EXPECT_EQ(text.find("DESIGN"), std::string::npos) << text;
	// Unknown network bound (0): no ratio is made up from the layers' sum.
	in.network_bound_cycles = 0;
	d = check_svg(render(NPUI_PROFILE_SVG, in, v), v.size(), plottable(v));
	EXPECT_NE(d.all_text("text").find("network bound unknown, cycles/bound n/a"),
	          std::string::npos);
}

TEST(ProfileSvg, CpuDeviceDrawsAnEmptyRoofline)
{
	std::vector<npu_layer_profile> v;
	for (int i = 0; i < 12; i++)
		v.push_back(layer("l" + std::to_string(i), "conv", "cpu", 0, 1000 * (i + 1),
		                  1000 * (i + 1), 0, 0));
	std::string svg = render(NPUI_PROFILE_SVG, info("cpu"), v);
	XmlDoc d = check_svg(svg, v.size(), 0);
	std::string text = d.all_text("text");
	EXPECT_NE(text.find("no NPU cycles on the cpu device"), std::string::npos);
	EXPECT_NE(text.find("roofs not drawn"), std::string::npos);
	EXPECT_EQ(d.count("polyline", "roof"), 0u);
	EXPECT_EQ(d.count("rect", "bar cpu"), v.size());
	EXPECT_NE(text.find("cycles/bound n/a"), std::string::npos);
}

TEST(ProfileSvg, ZerosEverywhere)
{
	std::vector<npu_layer_profile> v = {
	        layer("a", "conv", "pw", 0, 0, 0, 0, 0), layer("b", "add", "cpu", 0, 0, 0, 0, 0),
	        layer("c", "conv", "pw", 5, 0, 0, 0, 0), layer("d", "conv", "pw", 5, 0, 10, 0, 0)};
	for (double peak : {0.0, 256.0}) {
		std::string svg = render(NPUI_PROFILE_SVG, info("sim", peak, peak / 32), v);
		XmlDoc d = check_svg(svg, v.size(), 0);
		EXPECT_NE(d.all_text("text").find("no NPU layer has cycles"), std::string::npos);
	}
	// Huge values do not overflow into nan/inf either.
	v = {layer("big", "conv", "pw", UINT64_MAX, 0, UINT64_MAX, 1, UINT64_MAX),
	     layer("tiny", "conv", "dw", UINT64_MAX, 0, 1, UINT64_MAX, 1)};
	check_svg(render(NPUI_PROFILE_SVG, info("sim", 256, 8), v), 2, 2);
}

TEST(ProfileSvg, HostileNamesAreEscaped)
{
	const std::string evil = "<a&b>\"'</svg>";
	std::vector<npu_layer_profile> v = {
	        layer(evil, "c&<onv", "pw", 10, 0, 100, 10, 8),
	        layer("ctl\x01\x1f\x7f", "dw", "dw", 10, 0, 100, 10, 8),
	        layer("bad\xff\xc3utf8\xed\xa0\x80", "x", "cpu", 0, 100, 0, 0, 0),
	        layer("]]><script>alert(1)</script>", "<script>", "<x>", 10, 0, 100, 10, 8),
	        layer(std::string(31, 'W'), "conv", "pw", 10, 0, 100, 10, 8),
	        layer("caf\xc3\xa9-\xe2\x9c\x93", "conv", "pw", 10, 0, 100, 10, 8),
	};
	npui_profile_info in = info("sim:config=<small>&\"x\"", 256, 8);
	std::string path = "/tmp/" + std::string(300, 'p') + "&<>.npu";
	in.model = path.c_str();
	std::string svg = render(NPUI_PROFILE_SVG, in, v);
	XmlDoc d = check_svg(svg, v.size(), 5);
	EXPECT_EQ(svg.find(evil), std::string::npos);
	EXPECT_EQ(svg.find("<script"), std::string::npos);
	std::string titles = d.all_text("title");
	EXPECT_NE(titles.find(evil), std::string::npos) << "name lost in escaping";
	EXPECT_NE(titles.find("caf\xc3\xa9-\xe2\x9c\x93"), std::string::npos) << "UTF-8 mangled";
	EXPECT_NE(titles.find("bad\xef\xbf\xbd"), std::string::npos) << "invalid UTF-8 kept";
	EXPECT_NE(d.all_text("text").find(std::string(31, 'W')), std::string::npos);
}

// ---- trace ------------------------------------------------------------------

TEST(ProfileTrace, EventsPerLayerOnEngineLanes)
{
	for (unsigned n : {0u, 1u, 7u, 300u}) {
		SCOPED_TRACE("n=" + std::to_string(n));
		auto v = npu_profile(n);
		std::string s = render(NPUI_PROFILE_TRACE, info("sim"), v);
		Json t = parse_json(s);
		auto xs = check_trace(t, n);
		for (size_t i = 0; i < xs.size(); i++) {
			const Json &e = *xs[i];
			const npu_layer_profile &l = v[i];
			EXPECT_EQ(e.get("name")->str, l.name);
			double want = strcmp(l.engine, "cpu") ? l.cycles / 200.0 : l.cpu_ns / 1e3;
			EXPECT_NEAR(e.get("dur")->num, want, 1e-3) << "layer " << i;
			EXPECT_EQ(e.get("args")->get("macs")->num, (double)l.macs);
			EXPECT_EQ(e.get("args")->get("bound_cycles")->num, (double)l.bound_cycles);
			EXPECT_EQ(e.get("args")->get("op")->str, l.op);
		}
	}
}

TEST(ProfileTrace, HostileNamesRoundTrip)
{
	std::vector<npu_layer_profile> v = {
	        layer("<a&b>\"'\\/", "c\"onv", "pw", 10, 0, 100, 10, 8),
	        layer("ctl\x01\x1f", "dw", "dw", 10, 0, 100, 10, 8),
	        layer("bad\xff", "x", "cpu", 0, 100, 0, 0, 0),
	        layer("odd", "conv", "g\"x", 10, 0, 1, 1, 1),
	};
	npui_profile_info in = info("sim\n\"x\"");
	std::string s = render(NPUI_PROFILE_TRACE, in, v);
	Json t = parse_json(s);
	auto xs = check_trace(t, v.size());
	ASSERT_EQ(xs.size(), 4u);
	EXPECT_EQ(xs[0]->get("name")->str, "<a&b>\"'\\/");
	EXPECT_EQ(xs[1]->get("name")->str, "ctl\x01\x1f");
	EXPECT_EQ(xs[2]->get("name")->str, "bad\xef\xbf\xbd");
	EXPECT_EQ(xs[3]->get("args")->get("engine")->str, "g\"x");
	EXPECT_EQ(t.get("otherData")->get("device")->str, "sim\n\"x\"");
	// Unknown engines get lanes of their own, after the five fixed ones.
	EXPECT_GT(xs[3]->get("tid")->num, 5);
}

TEST(ProfileTrace, HugeAndZeroValues)
{
	std::vector<npu_layer_profile> v = {
	        layer("big", "conv", "pw", UINT64_MAX, 0, UINT64_MAX, UINT64_MAX, UINT64_MAX),
	        layer("zero", "conv", "dw", 0, 0, 0, 0, 0),
	        layer("cpu", "se", "cpu", 0, UINT64_MAX, 0, 0, 0),
	};
	Json t = parse_json(render(NPUI_PROFILE_TRACE, info("sim"), v));
	auto xs = check_trace(t, v.size());
	ASSERT_EQ(xs.size(), 3u);
	EXPECT_EQ(xs[1]->get("dur")->num, 0);
}

TEST(ProfileTrace, ManyUnknownEnginesShareAnOtherLane)
{
	std::vector<npu_layer_profile> v;
	for (int i = 0; i < 40; i++)
		v.push_back(layer("l", "op", "e" + std::to_string(i), 10, 0, 1, 1, 1));
	Json t = parse_json(render(NPUI_PROFILE_TRACE, info("sim"), v));
	auto xs = check_trace(t, v.size());
	ASSERT_EQ(xs.size(), v.size());
	EXPECT_EQ(xs[39]->get("tid")->num, xs[30]->get("tid")->num);
	EXPECT_NE(xs[15]->get("tid")->num, xs[16]->get("tid")->num);
}

// ---- the files, and errors ------------------------------------------------

class ProfileFiles : public ::testing::Test
{
      protected:
	static void SetUpTestSuite()
	{
		char tmpl[] = "/tmp/npu-prof-XXXXXX";
		dir_ = mkdtemp(tmpl);
	}
	static void TearDownTestSuite()
	{
		run("rm -rf " + dir_);
	}
	static std::string dir_;
};
std::string ProfileFiles::dir_;

TEST_F(ProfileFiles, SaveAndPythonAgrees)
{
	auto v = npu_profile(40);
	v[3] = layer("<a&b>\"'\\\x01\xff", "conv", "pw", 1, 0, 1, 1, 1);
	npui_profile_info in = info("sim", 256, 8);
	for (auto f : {NPUI_PROFILE_JSON, NPUI_PROFILE_SVG, NPUI_PROFILE_TRACE}) {
		std::string p = dir_ + "/out." + std::to_string(f);
		ASSERT_EQ(npui_profile_save(p.c_str(), f, &in, v.data(), (unsigned)v.size()),
		          NPU_OK);
		std::string s = slurp(p);
		EXPECT_EQ(s, render(f, in, v)) << "file and stream differ";
		if (f != NPUI_PROFILE_SVG)
			python_json_ok(p);
	}
}

TEST_F(ProfileFiles, Errors)
{
	auto v = npu_profile(3);
	npui_profile_info in = info("sim");
	FILE *f = tmpfile();
	ASSERT_TRUE(f);
	EXPECT_EQ(npui_profile_write(nullptr, NPUI_PROFILE_SVG, &in, v.data(), 3),
	          NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npui_profile_write(f, NPUI_PROFILE_SVG, nullptr, v.data(), 3),
	          NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npui_profile_write(f, NPUI_PROFILE_SVG, &in, nullptr, 3), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npui_profile_write(f, NPUI_PROFILE_SVG, &in, nullptr, 0), NPU_OK);
	EXPECT_EQ(npui_profile_write(f, (npui_profile_format)9, &in, v.data(), 3),
	          NPU_ERR_INVALID_ARG);
	npui_profile_info bad = in;
	bad.clock_mhz = 0;
	EXPECT_EQ(npui_profile_write(f, NPUI_PROFILE_TRACE, &bad, v.data(), 3),
	          NPU_ERR_INVALID_ARG);
	bad.clock_mhz = NAN;
	EXPECT_EQ(npui_profile_write(f, NPUI_PROFILE_JSON, &bad, v.data(), 3), NPU_ERR_INVALID_ARG);
	fclose(f);
	EXPECT_EQ(npui_profile_save((dir_ + "/no/such/dir/p.svg").c_str(), NPUI_PROFILE_SVG, &in,
	                            v.data(), 3),
	          NPU_ERR_IO);
	if (access("/dev/full", W_OK) == 0) {
		EXPECT_EQ(npui_profile_save("/dev/full", NPUI_PROFILE_TRACE, &in, v.data(), 3),
		          NPU_ERR_IO);
	}
}

// ---- end to end through npu-run -------------------------------------------

TEST_F(ProfileFiles, NpuRunWritesAllThree)
{
	std::string m = dir_ + "/mnv3s.npu";
	Result r = run(bin_dir() + "npu-zoo mobilenet_v3_small -o " + m);
	ASSERT_EQ(r.status, 0) << r.out;
	std::string pj = dir_ + "/p.json", ps = dir_ + "/p.svg", pt = dir_ + "/t.json";
	r = run(bin_dir() + "npu-run --device cpu " + m + " --profile " + pj + " --svg " + ps +
	        " --trace " + pt);
	ASSERT_EQ(r.status, 0) << r.out;

	Json prof = parse_json(slurp(pj));
	ASSERT_TRUE(prof.get("layers"));
	size_t n = prof.get("layers")->arr.size();
	EXPECT_GT(n, 50u);
	// The cpu device has no NPU clock and no bound: the nominal clock, zeros.
	ASSERT_TRUE(prof.get("clock_mhz") && prof.get("network_bound_cycles") &&
	            prof.get("sum_layer_bound_cycles"));
	EXPECT_EQ(prof.get("clock_mhz")->num, (double)NPU_HW_NOMINAL_CLOCK_MHZ);
	EXPECT_EQ(prof.get("network_bound_cycles")->num, 0);
	EXPECT_EQ(prof.get("sum_layer_bound_cycles")->num, 0);
	EXPECT_EQ(prof.get("bound_cycles"), nullptr) << "the old ambiguous total";
	XmlDoc d = check_svg(slurp(ps), n, 0);
	EXPECT_NE(d.all_text("text").find("no NPU cycles on the cpu device"), std::string::npos);
	EXPECT_EQ(d.count("rect", "bar cpu"), n);
	Json t = parse_json(slurp(pt));
	auto xs = check_trace(t, n);
	// The trace and the JSON tell the same story, layer by layer.
	for (size_t i = 0; i < xs.size() && i < n; i++) {
		const Json &l = prof.get("layers")->arr[i];
		EXPECT_EQ(xs[i]->get("name")->str, l.get("name")->str);
		EXPECT_EQ(xs[i]->get("args")->get("macs")->num, l.get("macs")->num);
		EXPECT_NEAR(xs[i]->get("dur")->num, l.get("cpu_ns")->num / 1e3, 1e-3);
	}
	python_json_ok(pj);
	python_json_ok(pt);

	// Only --svg: the profile is taken for it alone.
	std::string ps2 = dir_ + "/only.svg";
	r = run(bin_dir() + "npu-run --device cpu " + m + " --svg " + ps2);
	ASSERT_EQ(r.status, 0) << r.out;
	check_svg(slurp(ps2), n, 0);
}

TEST_F(ProfileFiles, NpuRunOptionsAndErrors)
{
	Result r = run(bin_dir() + "npu-run --help");
	EXPECT_EQ(r.status, 0);
	EXPECT_NE(r.out.find("--svg"), std::string::npos);
	EXPECT_NE(r.out.find("--trace"), std::string::npos);
	EXPECT_EQ(run(bin_dir() + "npu-run x.npu --svg").status, 2);
	EXPECT_EQ(run(bin_dir() + "npu-run x.npu --trace").status, 2);

	std::string m = dir_ + "/sq.npu";
	r = run(bin_dir() + "npu-zoo squeezenet1_1 -o " + m);
	ASSERT_EQ(r.status, 0) << r.out;
	for (const char *opt : {"--svg", "--trace", "--profile"}) {
		r = run(bin_dir() + "npu-run " + m + " " + opt + " " + dir_ + "/no/such/x");
		EXPECT_EQ(r.status, 1) << opt << ": " << r.out;
		EXPECT_NE(r.out.find(std::string("npu-run: ") + opt + ": NPU_ERR_IO"),
		          std::string::npos)
		        << r.out;
		// One line on stderr after the normal stdout report.
		EXPECT_EQ(r.out.find("NPU_ERR_IO"), r.out.rfind("NPU_ERR_IO")) << r.out;
	}
}

} // namespace
