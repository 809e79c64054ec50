/*
 * Table-driven CRC-32 (IEEE), one table lookup per byte.
 *
 * The table is built by the preprocessor so it is const, shared and needs
 * no run-time initialisation (and hence no locking). Each entry is the
 * CRC of one byte value: eight steps of the bitwise algorithm. A step
 * mentions its argument twice, so an entry expands to 2^8 copies: cheap.
 */
#include "ir/crc32.h"

#define CRC_POLY 0xEDB88320u

/* One bit of the reflected shift register; the mask is all-ones when the
 * bit shifted out is set. */
#define CRC_STEP(c) (((c) >> 1) ^ (CRC_POLY & (0u - ((c)&1u))))
#define CRC_ENTRY(n)                                                                               \
	CRC_STEP(CRC_STEP(                                                                         \
	        CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP((uint32_t)(n)))))))))
#define CRC_ROW2(n)   CRC_ENTRY(n), CRC_ENTRY((n) + 1)
#define CRC_ROW4(n)   CRC_ROW2(n), CRC_ROW2((n) + 2)
#define CRC_ROW8(n)   CRC_ROW4(n), CRC_ROW4((n) + 4)
#define CRC_ROW16(n)  CRC_ROW8(n), CRC_ROW8((n) + 8)
#define CRC_ROW32(n)  CRC_ROW16(n), CRC_ROW16((n) + 16)
#define CRC_ROW64(n)  CRC_ROW32(n), CRC_ROW32((n) + 32)
#define CRC_ROW128(n) CRC_ROW64(n), CRC_ROW64((n) + 64)

static const uint32_t crc_table[256] = {CRC_ROW128(0), CRC_ROW128(128)};

uint32_t npui_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* The register is kept inverted between calls so that crc = 0 is the
	 * start value and pieces compose. */
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	return ~crc;
}
