/*
 * The on-disk layout of an lwnpu model file, versions 1 and 2
 * (docs/MODEL_FORMAT.md is the normative description; keep both in step).
 * Version 2 is version 1 plus a fifth section, the input metadata: its
 * header is 16 bytes longer (one more section entry before reserved1).
 *
 * Every multi-byte field is little-endian. Records are described by byte
 * offsets, not by C structs: the parser and writer move each field with
 * the explicit loads and stores below, so the image may sit at any
 * alignment and the host may have either byte order.
 *
 * Internal to libnpu; tests use the offsets to craft hostile files.
 */
#ifndef NPUI_MODEL_FORMAT_H
#define NPUI_MODEL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "\x89LWNPU\r\n": the high byte catches 7-bit transfers, CR LF catches
 * line-ending conversion (the PNG trick). */
#define NPUI_FMT_MAGIC     "\x89LWNPU\r\n"
#define NPUI_FMT_MAGIC_LEN 8
#define NPUI_FMT_VERSION   1  /* written when the graph has no metadata */
#define NPUI_FMT_VERSION2  2  /* written when it has (has_meta) */
#define NPUI_FMT_ALIGN     16 /* sections and blob entries start on this */

/* ---- header: 160 bytes at offset 0 ---- */
#define NPUI_FMT_HDR_SIZE        160
#define NPUI_FMT_HDR_MAGIC       0   /* u8[8] */
#define NPUI_FMT_HDR_VERSION     8   /* u32, NPUI_FMT_VERSION */
#define NPUI_FMT_HDR_HEADER_SIZE 12  /* u32, NPUI_FMT_HDR_SIZE */
#define NPUI_FMT_HDR_FILE_SIZE   16  /* u64, the whole file */
#define NPUI_FMT_HDR_CRC         24  /* u32, CRC-32 of the file, this field as 0 */
#define NPUI_FMT_HDR_FLAGS       28  /* u32, 0 */
#define NPUI_FMT_HDR_NAME        32  /* char[32], NUL-terminated, zero-padded */
#define NPUI_FMT_HDR_NUM_TENSORS 64  /* u32 */
#define NPUI_FMT_HDR_NUM_LAYERS  68  /* u32 */
#define NPUI_FMT_HDR_INPUT       72  /* i32, tensor id */
#define NPUI_FMT_HDR_OUTPUT      76  /* i32, tensor id */
#define NPUI_FMT_HDR_RESERVED0   80  /* u8[8], 0 */
#define NPUI_FMT_HDR_SECTIONS    88  /* NPUI_FMT_SEC_COUNT x {u64 offset, u64 size} */
#define NPUI_FMT_HDR_RESERVED1   152 /* u8[8], 0 (version 1) */

/* ---- version 2 header: 176 bytes, offsets 0..152 as above ---- */
#define NPUI_FMT_HDR2_SIZE      176
#define NPUI_FMT_HDR2_RESERVED1 168 /* u8[8], 0; sections[4] is at 152 */

/* Section table order. */
enum npui_fmt_section {
	NPUI_FMT_SEC_TENSORS = 0,
	NPUI_FMT_SEC_LAYERS = 1,
	NPUI_FMT_SEC_BLOB = 2,
	NPUI_FMT_SEC_LABELS = 3,
	NPUI_FMT_SEC_META = 4, /* version 2 only */
};
#define NPUI_FMT_SEC_COUNT     4 /* sections of a version 1 file */
#define NPUI_FMT_SEC_COUNT2    5 /* of a version 2 file */
#define NPUI_FMT_SEC_ENTRY     16
#define NPUI_FMT_SEC_OFFSET(s) (NPUI_FMT_HDR_SECTIONS + NPUI_FMT_SEC_ENTRY * (s))
#define NPUI_FMT_SEC_SIZE(s)   (NPUI_FMT_SEC_OFFSET(s) + 8)

/* ---- tensor record: 64 bytes ---- */
#define NPUI_FMT_TEN_SIZE     64
#define NPUI_FMT_TEN_NAME     0  /* char[32] */
#define NPUI_FMT_TEN_H        32 /* i32 */
#define NPUI_FMT_TEN_W        36 /* i32 */
#define NPUI_FMT_TEN_C        40 /* i32 */
#define NPUI_FMT_TEN_SCALE    44 /* u32, IEEE-754 binary32 bits */
#define NPUI_FMT_TEN_ZP       48 /* i32 */
#define NPUI_FMT_TEN_FLAGS    52 /* u32, 0 */
#define NPUI_FMT_TEN_RESERVED 56 /* u8[8], 0 */

/* ---- layer record: 160 bytes ---- */
#define NPUI_FMT_LAY_SIZE        160
#define NPUI_FMT_LAY_NAME        0   /* char[32] */
#define NPUI_FMT_LAY_OP          32  /* u16, enum npui_op */
#define NPUI_FMT_LAY_ACT         34  /* u8, enum npui_act */
#define NPUI_FMT_LAY_NUM_INPUTS  35  /* u8 */
#define NPUI_FMT_LAY_INPUTS      36  /* i32[8], unused slots -1 */
#define NPUI_FMT_LAY_OUTPUT      68  /* i32 */
#define NPUI_FMT_LAY_KH          72  /* u16 */
#define NPUI_FMT_LAY_KW          74  /* u16 */
#define NPUI_FMT_LAY_STRIDE_H    76  /* u16 */
#define NPUI_FMT_LAY_STRIDE_W    78  /* u16 */
#define NPUI_FMT_LAY_PAD_T       80  /* u16 */
#define NPUI_FMT_LAY_PAD_L       82  /* u16 */
#define NPUI_FMT_LAY_PAD_B       84  /* u16 */
#define NPUI_FMT_LAY_PAD_R       86  /* u16 */
#define NPUI_FMT_LAY_GROUPS      88  /* u16 */
#define NPUI_FMT_LAY_COUNT_PAD   90  /* u8 */
#define NPUI_FMT_LAY_LUT_FN      91  /* u8 */
#define NPUI_FMT_LAY_SPLIT_BEGIN 92  /* i32 */
#define NPUI_FMT_LAY_FLAGS       96  /* u32, 0 */
#define NPUI_FMT_LAY_RESERVED0   100 /* u8[4], 0 */
#define NPUI_FMT_LAY_WEIGHTS     104 /* {u64 offset, u64 size} in the blob */
#define NPUI_FMT_LAY_BIAS        120 /* {u64 offset, u64 size} */
#define NPUI_FMT_LAY_W_SCALE     136 /* {u64 offset, u64 size} */
#define NPUI_FMT_LAY_RESERVED1   152 /* u8[8], 0 */

/* ---- labels section ---- */
#define NPUI_FMT_LABELS_COUNT 0 /* u32, then count x {u16 length, bytes} */

/* ---- metadata section (version 2): one 64-byte record ---- */
#define NPUI_FMT_META_SIZE      64
#define NPUI_FMT_META_COLOR     0  /* u8, enum npui_color */
#define NPUI_FMT_META_RESIZE    1  /* u8, enum npui_resize */
#define NPUI_FMT_META_LAYOUT    2  /* u8, enum npui_layout */
#define NPUI_FMT_META_RESERVED0 3  /* u8, 0 */
#define NPUI_FMT_META_FLAGS     4  /* u32, 0 */
#define NPUI_FMT_META_MEAN      8  /* f32[4] */
#define NPUI_FMT_META_STD       24 /* f32[4] */
#define NPUI_FMT_META_CROP      40 /* f32 */
#define NPUI_FMT_META_RESERVED1 44 /* u8[20], 0 */

static inline uint16_t npui_le_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t npui_le_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t npui_le_get64(const uint8_t *p)
{
	return (uint64_t)npui_le_get32(p) | (uint64_t)npui_le_get32(p + 4) << 32;
}

static inline int32_t npui_le_geti32(const uint8_t *p)
{
	uint32_t u = npui_le_get32(p);
	int32_t v;

	/* Bit copy, not a conversion: out-of-range unsigned-to-signed casts
	 * are implementation-defined. */
	memcpy(&v, &u, sizeof(v));
	return v;
}

static inline float npui_le_getf32(const uint8_t *p)
{
	uint32_t u = npui_le_get32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline void npui_le_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void npui_le_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void npui_le_put64(uint8_t *p, uint64_t v)
{
	npui_le_put32(p, (uint32_t)v);
	npui_le_put32(p + 4, (uint32_t)(v >> 32));
}

static inline void npui_le_puti32(uint8_t *p, int32_t v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	npui_le_put32(p, u);
}

static inline void npui_le_putf32(uint8_t *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	npui_le_put32(p, u);
}

/*
 * Which layer-record fields an op reads (graph.c owns the table). The file
 * requires every field an op does not read to be zero, so that one graph
 * has exactly one encoding.
 */
enum {
	NPUI_USES_KNOWN = 1u << 0,  /* set for every defined op */
	NPUI_USES_WINDOW = 1u << 1, /* kh, kw, stride_h/w, pad_t/l/b/r */
	NPUI_USES_GROUPS = 1u << 2,
	NPUI_USES_ACT = 1u << 3,
	NPUI_USES_COUNT_PAD = 1u << 4,
	NPUI_USES_LUT = 1u << 5,
	NPUI_USES_SPLIT = 1u << 6,
	NPUI_USES_WEIGHTS = 1u << 7, /* weights, bias, w_scale */
};

/* NPUI_USES_* of op; 0 for an undefined op. */
unsigned npui_op_uses(unsigned op);

/*
 * The per-tensor rules of npui_graph_validate (name, dims, element count,
 * quant), for the parser to apply before a tensor's C sizes anything.
 * Returns NPU_OK or NPU_ERR_MODEL_TENSOR with a reason in why.
 */
struct npui_tensor;
int npui_tensor_check(const struct npui_tensor *t, uint32_t id, char *why, size_t why_len);

/*
 * The CRC-32 a file image should carry: over its first file_size bytes
 * with the 4 bytes at NPUI_FMT_HDR_CRC taken as zero. file_size must be at
 * least NPUI_FMT_HDR_SIZE. Tools and tests use it to re-seal edited files.
 */
uint32_t npui_fmt_file_crc(const uint8_t *data, size_t file_size);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_MODEL_FORMAT_H */
