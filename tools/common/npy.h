/*
 * Minimal NumPy .npy reader/writer for the tools (float32 and int8,
 * C order, format versions 1.0-3.0 read, 1.0 written).
 */
#ifndef NPUI_NPY_H
#define NPUI_NPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum npui_npy_dtype {
	NPUI_NPY_F32 = 1, /* '<f4' */
	NPUI_NPY_I8 = 2,  /* '|i1' */
};

#define NPUI_NPY_MAX_DIMS 8

struct npui_npy {
	enum npui_npy_dtype dtype;
	int ndim;
	size_t shape[NPUI_NPY_MAX_DIMS];
	size_t count; /* product of shape */
	void *data;   /* count elements, malloc'ed */
};

/*
 * Read a .npy file. Returns NPU_OK, NPU_ERR_IO (open/read failed),
 * NPU_ERR_INVALID_ARG (not a .npy, unsupported dtype or Fortran order,
 * size mismatch; why gets the reason), NPU_ERR_NO_MEM.
 */
int npui_npy_read(const char *path, struct npui_npy *out, char *why, size_t why_len);

/* Write count elements with the given shape. Returns NPU_OK or NPU_ERR_IO. */
int npui_npy_write(const char *path, enum npui_npy_dtype dtype, const size_t *shape, int ndim,
                   const void *data);

void npui_npy_free(struct npui_npy *n);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_NPY_H */
