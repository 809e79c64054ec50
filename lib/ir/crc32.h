/*
 * CRC-32 as used by the model file format: the IEEE 802.3 polynomial
 * (0x04C11DB7, reflected 0xEDB88320), initial value and final XOR
 * 0xFFFFFFFF. This is the CRC of zlib, PNG and gzip, so files can be
 * checked with standard tools (e.g. Python's zlib.crc32).
 */
#ifndef NPUI_CRC32_H
#define NPUI_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Continue a CRC over len more bytes. Start with crc = 0; feeding a buffer
 * in pieces gives the same result as feeding it whole. data may be NULL
 * only when len == 0.
 */
uint32_t npui_crc32(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_CRC32_H */
