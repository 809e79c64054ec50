// The generated descriptor layouts (driver/npu_desc.h from
// rtl-sim/regs/npu_regs.def): every field packs into exactly the bits its
// WORD/SHIFT/MASK name and unpacks back, a value that does not fit is
// refused with the words untouched, the header carries the version, and
// the reserved masks are the complement of the fields.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "driver/npu_desc.h"
#include "driver/npu_regs.h"

namespace
{

constexpr unsigned kWords = NPU_HW_DESC_WORDS;

// All ones in a field of `bits` bits: -1 when signed, the maximum otherwise.
template <typename T> T AllOnes(unsigned bits)
{
	if (std::is_signed<T>::value)
		return static_cast<T>(-1);
	return bits >= 64 ? static_cast<T>(~0ull) : static_cast<T>((1ull << bits) - 1);
}

// Words 2.. of w hold exactly the field at (word, words, mask) and nothing else.
void ExpectOnly(const uint32_t *w, unsigned word, unsigned words, uint32_t mask, const char *name)
{
	for (unsigned i = 2; i < kWords; i++) {
		uint32_t want = 0;
		if (i == word)
			want = mask;
		else if (i > word && i < word + words)
			want = 0xffffffffu;
		EXPECT_EQ(w[i], want) << name << " word " << i;
	}
}

} // namespace

TEST(DescLayout, Constants)
{
	EXPECT_EQ(NPU_HW_DESC_WORDS * 4u, NPU_HW_DESC_BYTES);
	EXPECT_EQ(NPU_DESC_DMA_HOST_ADDR_WORD, 2u);
	EXPECT_EQ(NPU_DESC_DMA_HOST_ADDR_WORDS, 2u);
	EXPECT_EQ(NPU_DESC_DMA_HOST_ADDR_BITS, 64u);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_DMA_LOAD), NPU_DESC_LAYOUT_DMA);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_DMA_STORE), NPU_DESC_LAYOUT_DMA);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_PW_CONV), NPU_DESC_LAYOUT_CONV);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_DW_CONV), NPU_DESC_LAYOUT_CONV);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_PPU_REQUANT), NPU_DESC_LAYOUT_REQUANT);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_PPU_ADD), NPU_DESC_LAYOUT_ADD);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_PPU_POOL), NPU_DESC_LAYOUT_POOL);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_SYNC), NPU_DESC_LAYOUT_SYNC);
	EXPECT_EQ(npu_desc_layout_of(NPU_HW_OP_FENCE), NPU_DESC_LAYOUT_FENCE);
	EXPECT_EQ(npu_desc_layout_of(0x7e), NPU_DESC_LAYOUT_NONE);
}

// Pack one field at all ones into an otherwise empty descriptor of its
// layout; it must land in exactly its bits, the header must be complete,
// and unpack must return it (sign-extended) so that packing that again
// gives the same words.
#define FIELD_CASE(L, l, F, f, op)                                                                 \
	do {                                                                                       \
		npu_desc_##l s{};                                                                  \
		op;                                                                                \
		s.flags = NPU_HW_FLAG_IRQ;                                                         \
		s.tag = 0x12345678u;                                                               \
		s.f = AllOnes<decltype(s.f)>(NPU_DESC_##L##_##F##_BITS);                           \
		uint32_t w[kWords];                                                                \
		ASSERT_EQ(npu_desc_##l##_pack(&s, w), 0) << #f;                                    \
		ExpectOnly(w, NPU_DESC_##L##_##F##_WORD, NPU_DESC_##L##_##F##_WORDS,               \
		           NPU_DESC_##L##_##F##_MASK, #L "." #F);                                  \
		npu_desc_hdr h{};                                                                  \
		npu_desc_hdr_unpack(w, &h);                                                        \
		EXPECT_EQ(npu_desc_layout_of(h.opcode), NPU_DESC_LAYOUT_##L) << #f;                \
		EXPECT_EQ(h.version, NPU_HW_DESC_VERSION);                                         \
		EXPECT_EQ(h.flags, NPU_HW_FLAG_IRQ);                                               \
		EXPECT_EQ(h.tag, 0x12345678u);                                                     \
		npu_desc_##l u{};                                                                  \
		EXPECT_EQ(npu_desc_##l##_unpack(w, &u), 0) << #f;                                  \
		EXPECT_EQ(u.f, s.f) << #L "." #F " round trip";                                    \
		uint32_t w2[kWords];                                                               \
		ASSERT_EQ(npu_desc_##l##_pack(&u, w2), 0) << #f;                                   \
		EXPECT_EQ(std::memcmp(w, w2, sizeof(w)), 0) << #L "." #F " repacked";              \
	} while (0)

#define DMA_FIELD(F, f)     FIELD_CASE(DMA, dma, F, f, s.opcode = NPU_HW_OP_DMA_STORE)
#define CONV_FIELD(F, f)    FIELD_CASE(CONV, conv, F, f, s.opcode = NPU_HW_OP_DW_CONV)
#define REQUANT_FIELD(F, f) FIELD_CASE(REQUANT, requant, F, f, (void)0)
#define ADD_FIELD(F, f)     FIELD_CASE(ADD, add, F, f, (void)0)
#define POOL_FIELD(F, f)    FIELD_CASE(POOL, pool, F, f, (void)0)

TEST(DescLayout, DmaFieldsPackIntoTheirBits)
{
	DMA_FIELD(HOST_ADDR, host_addr);
	DMA_FIELD(SRAM_SEL, sram_sel);
	DMA_FIELD(SRAM_ADDR, sram_addr);
	DMA_FIELD(CHANS, chans);
	DMA_FIELD(COLS, cols);
	DMA_FIELD(ROWS, rows);
	DMA_FIELD(HOST_CHAN_STRIDE, host_chan_stride);
	DMA_FIELD(HOST_PIX_STRIDE, host_pix_stride);
	DMA_FIELD(HOST_ROW_STRIDE, host_row_stride);
	DMA_FIELD(SRAM_PIX_STRIDE, sram_pix_stride);
	DMA_FIELD(SRAM_ROW_STRIDE, sram_row_stride);
}

TEST(DescLayout, ConvFieldsPackIntoTheirBits)
{
	CONV_FIELD(IN_ADDR, in_addr);
	CONV_FIELD(WGT_ADDR, wgt_addr);
	CONV_FIELD(OUT_ADDR, out_addr);
	CONV_FIELD(PARAM_ENTRY, param_entry);
	CONV_FIELD(IN_H, in_h);
	CONV_FIELD(IN_W, in_w);
	CONV_FIELD(IN_C, in_c);
	CONV_FIELD(OUT_C, out_c);
	CONV_FIELD(OUT_H, out_h);
	CONV_FIELD(OUT_W, out_w);
	CONV_FIELD(KH, kh);
	CONV_FIELD(KW, kw);
	CONV_FIELD(STRIDE_H, stride_h);
	CONV_FIELD(STRIDE_W, stride_w);
	CONV_FIELD(PAD_T, pad_t);
	CONV_FIELD(PAD_L, pad_l);
	CONV_FIELD(GROUPS, groups);
	CONV_FIELD(IN_ZP, in_zp);
	CONV_FIELD(OUT_ZP, out_zp);
	CONV_FIELD(ACT_MIN, act_min);
	CONV_FIELD(ACT_MAX, act_max);
	CONV_FIELD(IN_ROW_STRIDE, in_row_stride);
	CONV_FIELD(IN_PIX_STRIDE, in_pix_stride);
	CONV_FIELD(OUT_ROW_STRIDE, out_row_stride);
	CONV_FIELD(OUT_PIX_STRIDE, out_pix_stride);
}

TEST(DescLayout, RequantFieldsPackIntoTheirBits)
{
	REQUANT_FIELD(SRC_ADDR, src_addr);
	REQUANT_FIELD(DST_ADDR, dst_addr);
	REQUANT_FIELD(PARAM_ENTRY, param_entry);
	REQUANT_FIELD(PIXELS, pixels);
	REQUANT_FIELD(CHANNELS, channels);
	REQUANT_FIELD(OUT_ZP, out_zp);
	REQUANT_FIELD(ACT_MIN, act_min);
	REQUANT_FIELD(ACT_MAX, act_max);
}

TEST(DescLayout, AddFieldsPackIntoTheirBits)
{
	ADD_FIELD(SRC_A_ADDR, src_a_addr);
	ADD_FIELD(SRC_B_ADDR, src_b_addr);
	ADD_FIELD(DST_ADDR, dst_addr);
	ADD_FIELD(COUNT, count);
	ADD_FIELD(IN0_ZP, in0_zp);
	ADD_FIELD(IN1_ZP, in1_zp);
	ADD_FIELD(OUT_ZP, out_zp);
	ADD_FIELD(IN0_MULT, in0_mult);
	ADD_FIELD(IN1_MULT, in1_mult);
	ADD_FIELD(OUT_MULT, out_mult);
	ADD_FIELD(IN0_SHIFT, in0_shift);
	ADD_FIELD(IN1_SHIFT, in1_shift);
	ADD_FIELD(OUT_SHIFT, out_shift);
	ADD_FIELD(ACT_MIN, act_min);
	ADD_FIELD(ACT_MAX, act_max);
}

TEST(DescLayout, PoolFieldsPackIntoTheirBits)
{
	POOL_FIELD(SRC_ADDR, src_addr);
	POOL_FIELD(DST_ADDR, dst_addr);
	POOL_FIELD(PARAM_ENTRY, param_entry);
	POOL_FIELD(IN_H, in_h);
	POOL_FIELD(IN_W, in_w);
	POOL_FIELD(CHANNELS, channels);
	POOL_FIELD(OUT_H, out_h);
	POOL_FIELD(OUT_W, out_w);
	POOL_FIELD(KH, kh);
	POOL_FIELD(KW, kw);
	POOL_FIELD(STRIDE_H, stride_h);
	POOL_FIELD(STRIDE_W, stride_w);
	POOL_FIELD(PAD_T, pad_t);
	POOL_FIELD(PAD_L, pad_l);
	POOL_FIELD(MODE, mode);
	POOL_FIELD(COUNT_INCLUDE_PAD, count_include_pad);
	POOL_FIELD(IN_ZP, in_zp);
	POOL_FIELD(OUT_ZP, out_zp);
	POOL_FIELD(ACT_MIN, act_min);
	POOL_FIELD(ACT_MAX, act_max);
	POOL_FIELD(GLOBAL_MULT, global_mult);
	POOL_FIELD(GLOBAL_SHIFT, global_shift);
}

TEST(DescLayout, SyncFieldPacksIntoItsBits)
{
	FIELD_CASE(SYNC, sync, QUEUE, queue, (void)0);
}

// A value one past its field's range is refused and the words stay as
// they were (no silent truncation).
TEST(DescLayout, PackRefusesWhatDoesNotFit)
{
	uint32_t w[kWords], before[kWords];
	for (unsigned i = 0; i < kWords; i++)
		w[i] = before[i] = 0xdead0000u + i;

	npu_desc_conv c{};
	c.opcode = NPU_HW_OP_PW_CONV;
	c.kh = 16; // 4 bits
	EXPECT_EQ(npu_desc_conv_pack(&c, w), -1);
	c.kh = 15;
	c.in_zp = 128; // s8
	EXPECT_EQ(npu_desc_conv_pack(&c, w), -1);
	c.in_zp = -129;
	EXPECT_EQ(npu_desc_conv_pack(&c, w), -1);
	c.in_zp = -128;
	c.in_h = 0x10000; // 16 bits
	EXPECT_EQ(npu_desc_conv_pack(&c, w), -1);
	c.in_h = 1;
	c.flags = 0x10000; // the header's 16 flag bits
	EXPECT_EQ(npu_desc_conv_pack(&c, w), -1);
	c.flags = 0;
	c.opcode = NPU_HW_OP_PPU_ADD; // not a CONV opcode
	EXPECT_EQ(npu_desc_conv_pack(&c, w), -1);
	EXPECT_EQ(std::memcmp(w, before, sizeof(w)), 0);
	c.opcode = NPU_HW_OP_PW_CONV;
	EXPECT_EQ(npu_desc_conv_pack(&c, w), 0);

	npu_desc_pool p{};
	p.count_include_pad = 2; // 1 bit
	EXPECT_EQ(npu_desc_pool_pack(&p, w), -1);
	npu_desc_sync s{};
	s.queue = 4; // 2 bits
	EXPECT_EQ(npu_desc_sync_pack(&s, w), -1);
	npu_desc_add a{};
	a.out_shift = 128;
	EXPECT_EQ(npu_desc_add_pack(&a, w), -1);
	a.out_shift = -128;
	a.in0_mult = INT32_MIN; // a whole signed word takes any int32
	EXPECT_EQ(npu_desc_add_pack(&a, w), 0);
}

TEST(DescLayout, UnpackChecksVersionAndOpcode)
{
	uint32_t w[kWords];
	npu_desc_dma d{};
	d.opcode = NPU_HW_OP_DMA_LOAD;
	ASSERT_EQ(npu_desc_dma_pack(&d, w), 0);
	npu_desc_dma du{};
	EXPECT_EQ(npu_desc_dma_unpack(w, &du), 0);
	npu_desc_conv cu{};
	EXPECT_EQ(npu_desc_conv_unpack(w, &cu), -1); // a DMA opcode
	w[NPU_DESC_HDR_VERSION_WORD] ^= 3u << NPU_DESC_HDR_VERSION_SHIFT;
	EXPECT_EQ(npu_desc_dma_unpack(w, &du), -1); // another version
}

// Reserved bits are exactly the bits no field of the layout (or the
// header) names: a field at all ones ORed over the layout covers the
// complement of the reserved mask.
TEST(DescLayout, ReservedIsTheComplementOfTheFields)
{
	struct {
		npu_desc_layout layout;
		uint32_t opcode;
	} cases[] = {{NPU_DESC_LAYOUT_DMA, NPU_HW_OP_DMA_LOAD},
	             {NPU_DESC_LAYOUT_CONV, NPU_HW_OP_PW_CONV},
	             {NPU_DESC_LAYOUT_REQUANT, NPU_HW_OP_PPU_REQUANT},
	             {NPU_DESC_LAYOUT_ADD, NPU_HW_OP_PPU_ADD},
	             {NPU_DESC_LAYOUT_POOL, NPU_HW_OP_PPU_POOL},
	             {NPU_DESC_LAYOUT_SYNC, NPU_HW_OP_SYNC},
	             {NPU_DESC_LAYOUT_FENCE, NPU_HW_OP_FENCE}};
	for (const auto &c : cases) {
		uint32_t w[kWords];
		// Unpack all ones, pack it back: what survives is the field bits.
		uint32_t ones[kWords];
		std::memset(ones, 0xff, sizeof(ones));
		ones[0] = c.opcode | NPU_HW_DESC_VERSION << NPU_DESC_HDR_VERSION_SHIFT |
		          NPU_DESC_HDR_FLAGS_MASK;
		int rc = -1;
		switch (c.layout) {
#define RT(L, l)                                                                                   \
	case NPU_DESC_LAYOUT_##L: {                                                                \
		npu_desc_##l s{};                                                                  \
		npu_desc_##l##_unpack(ones, &s);                                                   \
		rc = npu_desc_##l##_pack(&s, w);                                                   \
		break;                                                                             \
	}
			RT(DMA, dma)
			RT(CONV, conv)
			RT(REQUANT, requant)
			RT(ADD, add)
			RT(POOL, pool)
			RT(SYNC, sync)
			RT(FENCE, fence)
#undef RT
		default:
			break;
		}
		ASSERT_EQ(rc, 0) << c.layout;
		for (unsigned i = 0; i < kWords; i++) {
			EXPECT_EQ(w[i] & npu_desc_reserved(c.layout, i), 0u)
			        << c.layout << " " << i;
			if (i >= 2) {
				EXPECT_EQ(w[i] | npu_desc_reserved(c.layout, i), 0xffffffffu)
				        << "layout " << c.layout << " word " << i;
			}
		}
	}
}
