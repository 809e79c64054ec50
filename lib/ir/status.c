/*
 * Status codes: names and one-line descriptions (npu.h), and the calling
 * thread's detail message. The bottom of the library: every layer may
 * word an error with npu_strerror().
 */
#include <stdarg.h>
#include <stdio.h>

#include "npu.h"
#include "ir/status.h"

struct status_text {
	int code;
	const char *name;
	const char *text;
};

static const struct status_text status_table[] = {
        {NPU_OK, "NPU_OK", "success"},
        {NPU_ERR_INVALID_ARG, "NPU_ERR_INVALID_ARG", "invalid argument"},
        {NPU_ERR_NO_MEM, "NPU_ERR_NO_MEM", "out of memory"},
        {NPU_ERR_IO, "NPU_ERR_IO", "file could not be opened or read"},
        {NPU_ERR_NO_DEVICE, "NPU_ERR_NO_DEVICE", "no such device"},
        {NPU_ERR_NOT_SUPPORTED, "NPU_ERR_NOT_SUPPORTED", "operation not supported by the device"},
        {NPU_ERR_MODEL_MAGIC, "NPU_ERR_MODEL_MAGIC", "not an lwnpu model file (bad magic)"},
        {NPU_ERR_MODEL_VERSION, "NPU_ERR_MODEL_VERSION", "unsupported model format version"},
        {NPU_ERR_MODEL_TRUNCATED, "NPU_ERR_MODEL_TRUNCATED", "model file is truncated"},
        {NPU_ERR_MODEL_CHECKSUM, "NPU_ERR_MODEL_CHECKSUM",
         "model file is corrupted (CRC-32 mismatch)"},
        {NPU_ERR_MODEL_TENSOR, "NPU_ERR_MODEL_TENSOR", "model has an invalid tensor record"},
        {NPU_ERR_MODEL_LAYER, "NPU_ERR_MODEL_LAYER", "model has an invalid layer record"},
        {NPU_ERR_MODEL_GRAPH, "NPU_ERR_MODEL_GRAPH", "model graph is inconsistent"},
        {NPU_ERR_MODEL_WEIGHTS, "NPU_ERR_MODEL_WEIGHTS", "model weight data is invalid"},
        {NPU_ERR_SHAPE, "NPU_ERR_SHAPE", "buffer size does not match the tensor shape"},
        {NPU_ERR_TIMEOUT, "NPU_ERR_TIMEOUT", "timed out"},
        {NPU_ERR_DEVICE_FAULT, "NPU_ERR_DEVICE_FAULT", "device reported a fault"},
        {NPU_ERR_BUSY, "NPU_ERR_BUSY", "resource busy"},
        {NPU_ERR_DISCONNECTED, "NPU_ERR_DISCONNECTED", "device disconnected"},
        {NPU_ERR_INTERNAL, "NPU_ERR_INTERNAL", "internal error (a bug in libnpu)"},
        {NPU_ERR_MODEL_LABELS, "NPU_ERR_MODEL_LABELS", "model has an invalid class-label section"},
        {NPU_ERR_MODEL_METADATA, "NPU_ERR_MODEL_METADATA",
         "model has an invalid input-metadata section"},
        {NPU_ERR_PERMISSION, "NPU_ERR_PERMISSION", "permission denied by the operating system"},
        {NPU_ERR_IOMMU_FAULT, "NPU_ERR_IOMMU_FAULT", "the IOMMU blocked a DMA of the device"},
};

static const struct status_text *status_find(int status)
{
	for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].code == status)
			return &status_table[i];
	return NULL;
}

const char *npu_strerror(int status)
{
	const struct status_text *s = status_find(status);

	return s ? s->text : "unknown status code";
}

const char *npu_status_name(int status)
{
	const struct status_text *s = status_find(status);

	return s ? s->name : "NPU_ERR_UNKNOWN";
}

static _Thread_local char last_detail[512];

void npui_set_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_detail, sizeof(last_detail), fmt, ap);
	va_end(ap);
}

const char *npu_last_error(void)
{
	return last_detail;
}
