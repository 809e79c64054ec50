/*
 * Profile outputs: JSON, SVG and Trace Event Format. See profile_out.h and
 * docs/API.md ("Profile outputs").
 *
 * Every string that comes from a model (layer names, ops, engines) or the
 * user (paths, URIs) goes through one escaper per format; bytes that are
 * not valid UTF-8 become U+FFFD so that the files always parse.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "driver/npu_regs.h"
#include "tools/common/profile_out.h"

/* ---- strings ------------------------------------------------------------ */

/*
 * Length (1..4) of the well-formed UTF-8 sequence at s, 0 when s does not
 * start one (stray continuation, overlong form, surrogate, > U+10FFFF,
 * U+FFFE/U+FFFF which XML forbids). Never reads past a NUL.
 */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		if (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* A fixed-size record field (char[N]) as a NUL-terminated string. */
#define FIELD(buf, src)                                                                            \
	do {                                                                                       \
		size_t len_ = strnlen((src), sizeof(src));                                         \
		memcpy((buf), (src), len_);                                                        \
		(buf)[len_] = '\0';                                                                \
	} while (0)

/* The characters of a JSON string, without the quotes. */
static void json_chars(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	while (*s) {
		int n = utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
		} else if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s++);
		} else {
			fwrite(s, 1, (size_t)n, f);
			s += n;
		}
	}
}

static void json_str(FILE *f, const char *str)
{
	fputc('"', f);
	json_chars(f, str);
	fputc('"', f);
}

/*
 * Text or attribute value for XML: the five markup characters as entities,
 * control characters (not allowed in XML 1.0) as '?', at most max_chars
 * characters (then an ellipsis); max_chars 0 means no limit.
 */
static void xml_str(FILE *f, const char *str, size_t max_chars)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t chars = 0;

	for (; *s; chars++) {
		int n = utf8_len(s);

		if (max_chars && chars == max_chars) {
			fputs("...", f);
			return;
		}
		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			s++;
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			if (*s < 0x20)
				fputc('?', f);
			else
				fwrite(s, 1, (size_t)n, f);
		}
		s += n;
	}
}

/* ---- shared arithmetic -------------------------------------------------- */

struct totals {
	uint64_t cycles, bound, macs, dram, cpu_ns; /* bound: the sum of the layers' bounds */
	uint64_t npu_cycles, npu_bound;             /* over the layers not on the CPU */
	unsigned cpu_layers;
};

static int on_cpu(const struct npu_layer_profile *l)
{
	return strncmp(l->engine, "cpu", sizeof(l->engine)) == 0;
}

static void sum_layers(const struct npu_layer_profile *p, unsigned n, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < n; i++) {
		t->cycles += p[i].cycles;
		t->bound += p[i].bound_cycles;
		t->macs += p[i].macs;
		t->dram += p[i].dram_bytes;
		t->cpu_ns += p[i].cpu_ns;
		if (on_cpu(&p[i])) {
			t->cpu_layers++;
		} else {
			t->npu_cycles += p[i].cycles;
			t->npu_bound += p[i].bound_cycles;
		}
	}
}

/* The layer's time in cycles: measured on the NPU, cpu_ns at the clock on the CPU. */
static double layer_cycles(const struct npu_layer_profile *l, double clock_mhz)
{
	return on_cpu(l) ? (double)l->cpu_ns * clock_mhz / 1e3 : (double)l->cycles;
}

/* 1, 2 or 5 times a power of ten, the smallest not below v (v > 0). */
static double nice_step(double v)
{
	double d = pow(10.0, floor(log10(v)));

	if (v <= d)
		return d;
	if (v <= 2 * d)
		return 2 * d;
	if (v <= 5 * d)
		return 5 * d;
	return 10 * d;
}

/* A tick label: 3 significant digits with k/M/G/T. */
static void si(char *buf, size_t len, double v)
{
	static const char suffix[] = " kMGT";
	int k = 0;

	while (fabs(v) >= 1000 && k < 4) {
		v /= 1000;
		k++;
	}
	if (k)
		snprintf(buf, len, "%.3g%c", v, suffix[k]);
	else
		snprintf(buf, len, "%.3g", v);
}

/* ---- JSON --------------------------------------------------------------- */

static void write_json(FILE *f, const struct npui_profile_info *info,
                       const struct npu_layer_profile *p, unsigned n)
{
	struct totals t;
	char name[sizeof(p->name) + 1], op[sizeof(p->op) + 1], engine[sizeof(p->engine) + 1];

	sum_layers(p, n, &t);
	fprintf(f, "{\n  \"model\": ");
	json_str(f, info->model);
	fprintf(f, ",\n  \"device\": ");
	json_str(f, info->device);
	fprintf(f,
	        ",\n  \"clock_mhz\": %.1f,\n  \"total_cycles\": %llu,\n"
	        "  \"network_bound_cycles\": %llu,\n  \"sum_layer_bound_cycles\": %llu,\n"
	        "  \"macs\": %llu,\n  \"dram_bytes\": %llu,\n  \"cpu_ns\": %llu,\n"
	        "  \"layers\": [",
	        info->clock_mhz, (unsigned long long)t.cycles,
	        (unsigned long long)info->network_bound_cycles, (unsigned long long)t.bound,
	        (unsigned long long)t.macs, (unsigned long long)t.dram,
	        (unsigned long long)t.cpu_ns);
	for (unsigned i = 0; i < n; i++) {
		FIELD(name, p[i].name);
		FIELD(op, p[i].op);
		FIELD(engine, p[i].engine);
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, name);
		fprintf(f, ", \"op\": ");
		json_str(f, op);
		fprintf(f, ", \"engine\": ");
		json_str(f, engine);
		fprintf(f,
		        ", \"cycles\": %llu, \"cpu_ns\": %llu, \"macs\": %llu, "
		        "\"dram_bytes\": %llu, \"bound_cycles\": %llu, \"folded\": %s}",
		        (unsigned long long)p[i].cycles, (unsigned long long)p[i].cpu_ns,
		        (unsigned long long)p[i].macs, (unsigned long long)p[i].dram_bytes,
		        (unsigned long long)p[i].bound_cycles, p[i].folded ? "true" : "false");
	}
	fprintf(f, "\n  ]\n}\n");
}

/* ---- SVG ---------------------------------------------------------------- */

/* Geometry. Panel A (bars) on top, panel B (roofline) below it. */
#define SVG_LEFT       90.0  /* left edge of both plots */
#define SVG_MIN_W      960.0 /* narrowest picture */
#define BAR_PLOT_MIN_W 800.0 /* bar plot width for few layers */
#define BAR_MIN_PITCH  3.0   /* px per layer; more layers widen the picture */
#define BAR_NAMES_MAX  160   /* up to this many layers, names are written */
#define BAR_NAME_PITCH 11.0  /* px per layer when names are written */
#define BAR_MAX_W      40.0  /* widest bar */
#define BAR_TOP        125.0
#define BAR_H          300.0
#define BAR_NAMES_H    200.0 /* room for names (31 characters, rotated) */
#define BAR_INDEX_H    30.0  /* room for layer indices */
#define ROOF_W         560.0
#define ROOF_H         360.0

/* Where things go for n layers. */
struct svg_layout {
	int names;       /* layer names under the bars (else indices) */
	double pitch;    /* px per layer */
	double plot_w;   /* bar plot width */
	double labels_h; /* below the bar plot, for names or indices */
	double roof_top; /* top of the roofline plot */
	double w, h;     /* the picture */
};

static void svg_layout(unsigned n, struct svg_layout *l)
{
	l->names = n && n <= BAR_NAMES_MAX;
	if (!n)
		l->pitch = BAR_PLOT_MIN_W;
	else
		l->pitch = fmax(BAR_PLOT_MIN_W / n, l->names ? BAR_NAME_PITCH : BAR_MIN_PITCH);
	l->plot_w = n ? l->pitch * n : BAR_PLOT_MIN_W;
	l->labels_h = l->names ? BAR_NAMES_H : BAR_INDEX_H;
	l->roof_top = BAR_TOP + BAR_H + l->labels_h + 110.0;
	l->w = fmax(SVG_MIN_W, SVG_LEFT + l->plot_w + 40);
	l->h = l->roof_top + ROOF_H + 70.0;
}

static const char svg_style[] = "<style>\n"
                                "text{font-family:sans-serif;font-size:12px;fill:#222}\n"
                                ".title{font-size:16px;font-weight:bold}\n"
                                ".small{font-size:10px}\n"
                                ".axis{stroke:#222;stroke-width:1}\n"
                                ".grid{stroke:#ddd;stroke-width:1}\n"
                                ".npu{fill:#3b78c2}\n"
                                ".cpu{fill:#e08a2c}\n"
                                ".bound{stroke:#c0142c;stroke-width:2}\n"
                                ".roof{stroke:#c0142c;stroke-width:2;fill:none}\n"
                                ".pw{fill:#3b78c2}\n"
                                ".dw{fill:#2ca05a}\n"
                                ".other{fill:#8a5cc2}\n"
                                ".note{font-size:14px;fill:#888}\n"
                                "</style>\n";

static void svg_text(FILE *f, double x, double y, const char *cls, const char *anchor,
                     const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
	if (cls)
		fprintf(f, " class=\"%s\"", cls);
	if (anchor)
		fprintf(f, " text-anchor=\"%s\"", anchor);
	fputc('>', f);
	xml_str(f, s, 0);
	fputs("</text>\n", f);
}

static void svg_layer_title(FILE *f, const struct npu_layer_profile *l, unsigned i,
                            double clock_mhz)
{
	char name[sizeof(l->name) + 1], op[sizeof(l->op) + 1], engine[sizeof(l->engine) + 1];

	FIELD(name, l->name);
	FIELD(op, l->op);
	FIELD(engine, l->engine);
	fprintf(f, "<title>#%u ", i);
	xml_str(f, name, 0);
	fputs(" (", f);
	xml_str(f, op, 0);
	fputs(" on ", f);
	xml_str(f, engine, 0);
	if (on_cpu(l))
		fprintf(f, "): CPU %.1f us = %.0f cycles at %.1f MHz", l->cpu_ns / 1e3,
		        layer_cycles(l, clock_mhz), clock_mhz);
	else
		fprintf(f, "): %llu cycles", (unsigned long long)l->cycles);
	fprintf(f, ", bound %llu, MACs %llu, DRAM %llu bytes%s</title>",
	        (unsigned long long)l->bound_cycles, (unsigned long long)l->macs,
	        (unsigned long long)l->dram_bytes, l->folded ? ", folded" : "");
}

static void svg_legend_box(FILE *f, double x, double y, const char *cls, const char *label)
{
	fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\"/>\n", cls,
	        x, y - 10);
	svg_text(f, x + 18, y, NULL, NULL, label);
}

static void svg_bars(FILE *f, const struct npui_profile_info *info,
                     const struct npu_layer_profile *p, unsigned n, const struct svg_layout *lay)
{
	const double clk = info->clock_mhz;
	const double pitch = lay->pitch, plot_w = lay->plot_w;
	double bar_w = fmin(pitch * 0.75, BAR_MAX_W);
	double vmax = 0, step, bottom = BAR_TOP + BAR_H;
	struct totals t;
	char line[512], a[96], b[32];

	sum_layers(p, n, &t);
	for (unsigned i = 0; i < n; i++) {
		vmax = fmax(vmax, layer_cycles(&p[i], clk));
		vmax = fmax(vmax, (double)p[i].bound_cycles);
	}
	step = nice_step(vmax > 0 ? vmax / 5 : 1);
	vmax = step * ceil((vmax > 0 ? vmax : 1) / step);

	svg_text(f, SVG_LEFT, 24, "title", NULL, "Per-layer cycles against each layer's bound");
	fputs("<text x=\"90\" y=\"44\">model ", f);
	xml_str(f, info->model, 80);
	fputs(" on ", f);
	xml_str(f, info->device, 40);
	fprintf(f, ", %u layer%s (%u on the CPU), nominal clock %.1f MHz</text>\n", n,
	        n == 1 ? "" : "s", t.cpu_layers, clk);
	if (info->network_bound_cycles)
		snprintf(a, sizeof(a), "%llu cycles, cycles/bound %.3f",
		         (unsigned long long)info->network_bound_cycles,
		         (double)t.npu_cycles / (double)info->network_bound_cycles);
	else
		snprintf(a, sizeof(a), "unknown, cycles/bound n/a");
	snprintf(line, sizeof(line),
	         "NPU layers: %llu cycles; network bound %s; sum of layer bounds %llu cycles",
	         (unsigned long long)t.npu_cycles, a, (unsigned long long)t.npu_bound);
	svg_text(f, SVG_LEFT, 62, NULL, NULL, line);
	snprintf(line, sizeof(line),
	         "CPU fallback: %.3f ms (%.0f cycles at %.1f MHz). Total: %.0f cycles = %.3f ms "
	         "at %.1f MHz",
	         t.cpu_ns / 1e6, (double)t.cpu_ns * clk / 1e3, clk,
	         (double)t.npu_cycles + (double)t.cpu_ns * clk / 1e3,
	         ((double)t.npu_cycles / clk + t.cpu_ns / 1e3) / 1e3, clk);
	svg_text(f, SVG_LEFT, 80, NULL, NULL, line);

	svg_legend_box(f, SVG_LEFT, 104, "npu", "NPU layer: measured cycles");
	snprintf(line, sizeof(line), "CPU fallback: cpu_ns x %.1f MHz, in cycles", clk);
	svg_legend_box(f, SVG_LEFT + 230, 104, "cpu", line);
	fprintf(f, "<line class=\"bound\" x1=\"%.1f\" y1=\"99\" x2=\"%.1f\" y2=\"99\"/>\n",
	        SVG_LEFT + 530, SVG_LEFT + 548);
	svg_text(f, SVG_LEFT + 554, 104, NULL, NULL, "layer bound: max(PW, DW, DRAM work/rate)");

	/* Grid and y axis. */
	for (int k = 0; k * step <= vmax * (1 + 1e-9); k++) {
		double y = bottom - k * step / vmax * BAR_H;

		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		        SVG_LEFT, y, SVG_LEFT + plot_w, y);
		si(b, sizeof(b), k * step);
		svg_text(f, SVG_LEFT - 6, y + 4, NULL, "end", b);
	}
	fprintf(f,
	        "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">"
	        "cycles (CPU layers: cpu_ns at %.1f MHz)</text>\n",
	        SVG_LEFT - 60, BAR_TOP + BAR_H / 2, clk);

	for (unsigned i = 0; i < n; i++) {
		double v = layer_cycles(&p[i], clk);
		double h = v / vmax * BAR_H;
		double x = SVG_LEFT + pitch * i + (pitch - bar_w) / 2;

		fputs("<g>", f);
		svg_layer_title(f, &p[i], i, clk);
		fprintf(f,
		        "<rect class=\"bar %s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
		        "height=\"%.2f\"/>",
		        on_cpu(&p[i]) ? "cpu" : "npu", x, bottom - h, bar_w, h);
		if (p[i].bound_cycles) {
			double y = bottom - (double)p[i].bound_cycles / vmax * BAR_H;
			double ext = fmin(pitch * 0.1, 3.0);

			fprintf(f,
			        "<line class=\"bound\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
			        "y2=\"%.2f\"/>",
			        x - ext, y, x + bar_w + ext, y);
		}
		fputs("</g>\n", f);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
	        SVG_LEFT, BAR_TOP, SVG_LEFT, bottom);
	fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
	        SVG_LEFT, bottom, SVG_LEFT + plot_w, bottom);

	/* Layer names when there is room, else every k-th layer index. */
	if (lay->names) {
		for (unsigned i = 0; i < n; i++) {
			char name[sizeof(p->name) + 1];

			FIELD(name, p[i].name);
			fprintf(f,
			        "<text class=\"small\" text-anchor=\"end\" "
			        "transform=\"translate(%.1f,%.1f) rotate(-90)\">",
			        SVG_LEFT + pitch * (i + 0.5) + 3, bottom + 6);
			xml_str(f, name, 0);
			fputs("</text>\n", f);
		}
	} else if (n) {
		unsigned every = (unsigned)nice_step(40.0 / pitch);

		for (unsigned i = 0; i < n; i += every) {
			snprintf(b, sizeof(b), "%u", i);
			svg_text(f, SVG_LEFT + pitch * (i + 0.5), bottom + 16, "small", "middle",
			         b);
		}
	} else {
		svg_text(f, SVG_LEFT + plot_w / 2, BAR_TOP + BAR_H / 2, "note", "middle",
		         "no layers in this profile");
	}
	svg_text(f, SVG_LEFT + plot_w / 2, bottom + lay->labels_h + 20, NULL, "middle",
	         lay->names ? "layer, in execution order (hover a bar for details)"
	                    : "layer index, in execution order (hover a bar for "
	                      "its name and details)");
}

/* Decade range [lo, hi] (powers of ten) covering v_min..v_max, at least one decade. */
static void decades(double v_min, double v_max, int *lo, int *hi)
{
	*lo = (int)floor(log10(v_min) + 1e-9);
	*hi = (int)ceil(log10(v_max) - 1e-9);
	if (*hi <= *lo)
		*hi = *lo + 1;
}

static void decade_label(char *buf, size_t len, int k)
{
	if (k >= -3 && k <= 5)
		snprintf(buf, len, "%g", pow(10.0, k));
	else
		snprintf(buf, len, "1e%d", k);
}

/* Layers the roofline can place: on the NPU with cycles, MACs and DRAM bytes. */
static int roof_point(const struct npu_layer_profile *l, double *x, double *y)
{
	if (on_cpu(l) || !l->cycles || !l->macs || !l->dram_bytes)
		return 0;
	*x = (double)l->macs / (double)l->dram_bytes;
	*y = (double)l->macs / (double)l->cycles;
	return 1;
}

static void svg_roofline(FILE *f, const struct npui_profile_info *info,
                         const struct npu_layer_profile *p, unsigned n, double top)
{
	const double peak = info->peak_macs_per_cycle, bw = info->dram_bytes_per_cycle;
	const int roofs = peak > 0 && bw > 0 && isfinite(peak) && isfinite(bw);
	double xmin = INFINITY, xmax = 0, ymin = INFINITY, ymax = 0, x, y;
	unsigned points = 0, npu_layers = 0;
	int xlo, xhi, ylo, yhi, every;
	char buf[256];

	for (unsigned i = 0; i < n; i++) {
		npu_layers += !on_cpu(&p[i]);
		if (!roof_point(&p[i], &x, &y))
			continue;
		points++;
		xmin = fmin(xmin, x);
		xmax = fmax(xmax, x);
		ymin = fmin(ymin, y);
		ymax = fmax(ymax, y);
	}
	if (roofs) {
		xmin = fmin(xmin, peak / bw / 10);
		xmax = fmax(xmax, peak / bw * 10);
		ymin = fmin(ymin, peak / 100);
		ymax = fmax(ymax, peak);
	}
	if (!points && !roofs) {
		xmin = 0.1;
		xmax = 1000;
		ymin = 0.1;
		ymax = 1000;
	}
	decades(xmin, xmax, &xlo, &xhi);
	decades(ymin, ymax, &ylo, &yhi);

#define RX(v) (SVG_LEFT + (log10(v) - xlo) / (xhi - xlo) * ROOF_W)
#define RY(v) (top + ROOF_H - (log10(v) - ylo) / (yhi - ylo) * ROOF_H)

	svg_text(f, SVG_LEFT, top - 50, "title", NULL, "Roofline");
	if (roofs)
		snprintf(buf, sizeof(buf),
		         "roofs from the device: peak %.4g MACs/cycle, DRAM %.4g bytes/cycle "
		         "(ridge at %.4g MACs/byte)",
		         peak, bw, peak / bw);
	else
		snprintf(buf, sizeof(buf),
		         "roofs not drawn: the device's peak MACs/cycle and "
		         "DRAM bytes/cycle were not given");
	svg_text(f, SVG_LEFT, top - 30, NULL, NULL, buf);
	fprintf(f,
	        "<clipPath id=\"roofclip\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	        "height=\"%.1f\"/></clipPath>\n",
	        SVG_LEFT, top, ROOF_W, ROOF_H);

	every = (xhi - xlo + 7) / 8;
	for (int k = xlo; k <= xhi; k++) {
		double gx = SVG_LEFT + (double)(k - xlo) / (xhi - xlo) * ROOF_W;

		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		        gx, top, gx, top + ROOF_H);
		if ((k - xlo) % every == 0) {
			decade_label(buf, sizeof(buf), k);
			svg_text(f, gx, top + ROOF_H + 16, NULL, "middle", buf);
		}
	}
	every = (yhi - ylo + 7) / 8;
	for (int k = ylo; k <= yhi; k++) {
		double gy = top + ROOF_H - (double)(k - ylo) / (yhi - ylo) * ROOF_H;

		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		        SVG_LEFT, gy, SVG_LEFT + ROOF_W, gy);
		if ((k - ylo) % every == 0) {
			decade_label(buf, sizeof(buf), k);
			svg_text(f, SVG_LEFT - 6, gy + 4, NULL, "end", buf);
		}
	}
	fprintf(f,
	        "<rect class=\"axis\" fill=\"none\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	        "height=\"%.1f\"/>\n",
	        SVG_LEFT, top, ROOF_W, ROOF_H);
	svg_text(f, SVG_LEFT + ROOF_W / 2, top + ROOF_H + 40, NULL, "middle",
	         "arithmetic intensity (MACs per DRAM byte, log scale)");
	fprintf(f,
	        "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">"
	        "achieved MACs per cycle (log scale)</text>\n",
	        SVG_LEFT - 60, top + ROOF_H / 2);

	if (roofs) {
		double ridge = peak / bw, x0 = pow(10.0, xlo), x1 = pow(10.0, xhi);

		fprintf(f,
		        "<polyline class=\"roof\" clip-path=\"url(#roofclip)\" "
		        "points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\"/>\n",
		        RX(x0), RY(bw * x0), RX(ridge), RY(peak), RX(x1), RY(peak));
	}
	for (unsigned i = 0; i < n; i++) {
		char engine[sizeof(p->engine) + 1];
		const char *cls;

		if (!roof_point(&p[i], &x, &y))
			continue;
		FIELD(engine, p[i].engine);
		cls = !strcmp(engine, "pw") ? "pw" : !strcmp(engine, "dw") ? "dw" : "other";
		fprintf(f, "<circle class=\"pt %s\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\">", cls, RX(x),
		        RY(y));
		svg_layer_title(f, &p[i], i, info->clock_mhz);
		fputs("</circle>\n", f);
	}
#undef RX
#undef RY

	/* Legend to the right of the plot. */
	{
		double lx = SVG_LEFT + ROOF_W + 30, ly = top + 14;

		if (roofs) {
			fprintf(f,
			        "<line class=\"roof\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			        "y2=\"%.1f\"/>\n",
			        lx, ly - 4, lx + 12, ly - 4);
			svg_text(f, lx + 18, ly, NULL, NULL, "roof: min(peak, DRAM x intensity)");
			ly += 20;
		}
		svg_legend_box(f, lx, ly, "pw", "layer on pw");
		svg_legend_box(f, lx, ly + 20, "dw", "layer on dw");
		svg_legend_box(f, lx, ly + 40, "other", "layer on another engine");
		snprintf(buf, sizeof(buf), "%u of %u NPU layers plotted", points, npu_layers);
		svg_text(f, lx, ly + 70, "small", NULL, buf);
		svg_text(f, lx, ly + 84, "small", NULL, "(needs cycles, MACs and DRAM bytes > 0)");
	}

	if (!points) {
		const char *dev = info->device ? info->device : "";
		const char *note = !n ? "no layers in this profile"
		                   : !strncmp(dev, "cpu", 3) && (!dev[3] || dev[3] == ':')
		                           ? "no NPU cycles on the cpu device"
		                   : !npu_layers ? "no NPU layers in this profile"
		                                 : "no NPU layer has cycles, MACs and DRAM bytes";

		svg_text(f, SVG_LEFT + ROOF_W / 2, top + ROOF_H / 2, "note", "middle", note);
	}
}

static void write_svg(FILE *f, const struct npui_profile_info *info,
                      const struct npu_layer_profile *p, unsigned n)
{
	struct svg_layout lay;

	svg_layout(n, &lay);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\">\n",
	        lay.w, lay.h, lay.w, lay.h);
	fputs("<title>lwnpu profile: ", f);
	xml_str(f, info->model, 0);
	fputs(" on ", f);
	xml_str(f, info->device, 0);
	fputs("</title>\n", f);
	fputs(svg_style, f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", lay.w,
	        lay.h);
	svg_bars(f, info, p, n, &lay);
	svg_roofline(f, info, p, n, lay.roof_top);
	fputs("</svg>\n", f);
}

/* ---- Trace Event Format ------------------------------------------------- */

/* Fixed lanes first, in this order; other engine names get lanes after them. */
static const char *const trace_lanes[] = {"pw", "dw", "ppu", "dma", "cpu"};
#define TRACE_FIXED       (sizeof(trace_lanes) / sizeof(trace_lanes[0]))
#define TRACE_EXTRA_LANES 16 /* beyond these, one "other" lane */
#define TRACE_PID         1

struct lanes {
	char extra[TRACE_EXTRA_LANES][sizeof(((struct npu_layer_profile *)0)->engine) + 1];
	unsigned n_extra;
	int other; /* some engine fell into the "other" lane */
};

/* tid of an engine: 1..5 fixed, then extras, then one "other" lane. */
static unsigned lane_of(struct lanes *ln, const char *engine)
{
	for (unsigned i = 0; i < TRACE_FIXED; i++)
		if (!strcmp(engine, trace_lanes[i]))
			return i + 1;
	for (unsigned i = 0; i < ln->n_extra; i++)
		if (!strcmp(engine, ln->extra[i]))
			return (unsigned)TRACE_FIXED + i + 1;
	if (ln->n_extra < TRACE_EXTRA_LANES) {
		strcpy(ln->extra[ln->n_extra], engine);
		return (unsigned)TRACE_FIXED + ++ln->n_extra;
	}
	ln->other = 1;
	return (unsigned)TRACE_FIXED + TRACE_EXTRA_LANES + 1;
}

static void trace_lane_meta(FILE *f, unsigned tid, const char *name)
{
	fprintf(f,
	        ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%u,"
	        "\"args\":{\"name\":",
	        TRACE_PID, tid);
	json_str(f, name);
	fprintf(f,
	        "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%d,\"tid\":%u,"
	        "\"args\":{\"sort_index\":%u}}",
	        TRACE_PID, tid, tid);
}

/* Microseconds with nanosecond digits, from integer nanoseconds: exact. */
static void trace_us(FILE *f, uint64_t ns)
{
	fprintf(f, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
}

static void write_trace(FILE *f, const struct npui_profile_info *info,
                        const struct npu_layer_profile *p, unsigned n)
{
	struct lanes ln;
	double t_ns = 0; /* exact running sum; each edge is rounded once */
	uint64_t start = 0;
	char name[sizeof(p->name) + 1], op[sizeof(p->op) + 1], engine[sizeof(p->engine) + 1];

	memset(&ln, 0, sizeof(ln));
	for (unsigned i = 0; i < n; i++) {
		FIELD(engine, p[i].engine);
		lane_of(&ln, engine);
	}

	fprintf(f,
	        "{\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,"
	        "\"tid\":0,\"args\":{\"name\":",
	        TRACE_PID);
	fputs("\"lwnpu ", f);
	json_chars(f, info->model);
	fputs(" on ", f);
	json_chars(f, info->device);
	fputs("\"}}", f);
	for (unsigned i = 0; i < TRACE_FIXED; i++)
		trace_lane_meta(f, i + 1, trace_lanes[i]);
	for (unsigned i = 0; i < ln.n_extra; i++)
		trace_lane_meta(f, (unsigned)TRACE_FIXED + i + 1, ln.extra[i]);
	if (ln.other)
		trace_lane_meta(f, (unsigned)TRACE_FIXED + TRACE_EXTRA_LANES + 1, "other");

	for (unsigned i = 0; i < n; i++) {
		uint64_t end;

		FIELD(name, p[i].name);
		FIELD(op, p[i].op);
		FIELD(engine, p[i].engine);
		t_ns += on_cpu(&p[i]) ? (double)p[i].cpu_ns
		                      : (double)p[i].cycles * 1e3 / info->clock_mhz;
		if (t_ns > 9e18) /* keep llround() in range for absurd inputs */
			t_ns = 9e18;
		end = (uint64_t)llround(t_ns);
		if (end < start)
			end = start;
		fputs(",\n{\"name\":", f);
		json_str(f, name);
		fputs(",\"cat\":", f);
		json_str(f, op);
		fputs(",\"ph\":\"X\",\"ts\":", f);
		trace_us(f, start);
		fputs(",\"dur\":", f);
		trace_us(f, end - start);
		fprintf(f, ",\"pid\":%d,\"tid\":%u,\"args\":{\"index\":%u,\"op\":", TRACE_PID,
		        lane_of(&ln, engine), i);
		json_str(f, op);
		fputs(",\"engine\":", f);
		json_str(f, engine);
		fprintf(f,
		        ",\"cycles\":%llu,\"cpu_ns\":%llu,\"macs\":%llu,\"dram_bytes\":%llu,"
		        "\"bound_cycles\":%llu,\"folded\":%s}}",
		        (unsigned long long)p[i].cycles, (unsigned long long)p[i].cpu_ns,
		        (unsigned long long)p[i].macs, (unsigned long long)p[i].dram_bytes,
		        (unsigned long long)p[i].bound_cycles, p[i].folded ? "true" : "false");
		start = end;
	}
	fputs("\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"model\":", f);
	json_str(f, info->model);
	fputs(",\"device\":", f);
	json_str(f, info->device);
	fprintf(f,
	        ",\"clock_mhz\":%.1f,\"timeline\":\"layers back to back in execution order; "
	        "NPU layers cycles/clock_mhz, CPU layers cpu_ns\"}}\n",
	        info->clock_mhz);
}

/* ---- entry points ------------------------------------------------------- */

void npui_profile_info_set_cost(struct npui_profile_info *info, const struct npu_model_cost *cost)
{
	info->clock_mhz = cost->clock_mhz > 0 ? cost->clock_mhz : NPU_HW_NOMINAL_CLOCK_MHZ;
	info->peak_macs_per_cycle = cost->peak_macs_per_cycle;
	info->dram_bytes_per_cycle = cost->dram_bytes_per_cycle;
	info->network_bound_cycles = cost->bound_cycles;
}

int npui_profile_write(FILE *f, enum npui_profile_format fmt, const struct npui_profile_info *info,
                       const struct npu_layer_profile *p, unsigned n)
{
	if (!f || !info || (!p && n) || !(info->clock_mhz > 0) || !isfinite(info->clock_mhz))
		return NPU_ERR_INVALID_ARG;
	switch (fmt) {
	case NPUI_PROFILE_JSON:
		write_json(f, info, p, n);
		break;
	case NPUI_PROFILE_SVG:
		write_svg(f, info, p, n);
		break;
	case NPUI_PROFILE_TRACE:
		write_trace(f, info, p, n);
		break;
	default:
		return NPU_ERR_INVALID_ARG;
	}
	if (fflush(f) != 0 || ferror(f))
		return NPU_ERR_IO;
	return NPU_OK;
}

int npui_profile_save(const char *path, enum npui_profile_format fmt,
                      const struct npui_profile_info *info, const struct npu_layer_profile *p,
                      unsigned n)
{
	FILE *f;
	int rc;

	if (!path)
		return NPU_ERR_INVALID_ARG;
	f = fopen(path, "w");
	if (!f)
		return NPU_ERR_IO;
	rc = npui_profile_write(f, fmt, info, p, n);
	if (fclose(f) != 0 && rc == NPU_OK)
		rc = NPU_ERR_IO;
	return rc;
}
