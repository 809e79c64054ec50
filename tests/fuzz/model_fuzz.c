/*
 * libFuzzer target for the model parser (docs/MODEL_FORMAT.md, "Fuzzing").
 * Not part of the gtest binary: it is C and has no main of its own.
 *
 * Invariants checked: no crash or sanitizer report on any input; an
 * accepted graph validates and serializes; the serialized form is a fixed
 * point (parse + serialize gives the same bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "ir/graph.h"
#include "ir/model_format.h"

static void check_accepted(const struct npui_graph *g)
{
	struct npui_graph *g2 = NULL;
	void *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;

	if (npui_graph_validate(g, NULL, 0) != NPU_OK)
		abort();
	if (npui_model_serialize(g, &a, &na) != NPU_OK)
		abort();
	if (npui_model_parse(a, na, &g2, NULL, 0) != NPU_OK)
		abort();
	if (npui_model_serialize(g2, &b, &nb) != NPU_OK)
		abort();
	if (na != nb || memcmp(a, b, na))
		abort();
	npui_graph_free(g2);
	free(a);
	free(b);
}

static void parse_one(const uint8_t *data, size_t size)
{
	struct npui_graph *g = NULL;
	char why[128];

	if (npui_model_parse(data, size, &g, why, sizeof(why)) == NPU_OK) {
		check_accepted(g);
		npui_graph_free(g);
	} else if (g) {
		abort(); /* out written on error */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	parse_one(data, size);
	if (size < NPUI_FMT_HDR_SIZE)
		return 0;
	/* The same bytes behind a correct envelope, to get past the CRC. */
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memcpy(copy + NPUI_FMT_HDR_MAGIC, NPUI_FMT_MAGIC, NPUI_FMT_MAGIC_LEN);
	/* Version 2 (input metadata) stays 2; anything else becomes 1. */
	if (npui_le_get32(copy + NPUI_FMT_HDR_VERSION) != NPUI_FMT_VERSION2)
		npui_le_put32(copy + NPUI_FMT_HDR_VERSION, NPUI_FMT_VERSION);
	npui_le_put64(copy + NPUI_FMT_HDR_FILE_SIZE, size);
	npui_le_put32(copy + NPUI_FMT_HDR_CRC, npui_fmt_file_crc(copy, size));
	parse_one(copy, size);
	free(copy);
	return 0;
}
