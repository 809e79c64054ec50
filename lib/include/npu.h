/*
 * libnpu: the public API of the lwnpu runtime.
 *
 * One header, plain C, no platform types. Every function that can fail
 * returns an `enum npu_status` (NPU_OK or a negative error); output
 * parameters are written only on success.
 *
 * Typical use:
 *
 *     npu_device *dev;
 *     npu_model *m;
 *     if (npu_open(NULL, &dev) != NPU_OK) ...      // $NPU_DEVICE or "cpu"
 *     if (npu_model_load_file(dev, "mnv2.npu", &m) != NPU_OK) ...
 *     struct npu_io io = {
 *             .input_type = NPU_IO_FLOAT32, .input = in, .input_size = in_bytes,
 *             .output_type = NPU_IO_FLOAT32, .output = out, .output_size = out_bytes,
 *     };
 *     int rc = npu_run(m, &io);
 *     npu_model_free(m);
 *     npu_close(dev);
 */
#ifndef NPU_H
#define NPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NPU_API_VERSION 1

/* Status codes. Values are part of the ABI: never renumber, only add. */
enum npu_status {
	NPU_OK = 0,                   /* success */
	NPU_ERR_INVALID_ARG = -1,     /* NULL pointer, bad size or flag */
	NPU_ERR_NO_MEM = -2,          /* allocation failed */
	NPU_ERR_IO = -3,              /* file could not be opened or read */
	NPU_ERR_NO_DEVICE = -4,       /* no backend of that name, or no such device */
	NPU_ERR_NOT_SUPPORTED = -5,   /* the device cannot do this */
	NPU_ERR_MODEL_MAGIC = -6,     /* not an lwnpu model file */
	NPU_ERR_MODEL_VERSION = -7,   /* model format version not supported */
	NPU_ERR_MODEL_TRUNCATED = -8, /* file shorter than its header says */
	NPU_ERR_MODEL_CHECKSUM = -9,  /* CRC32 mismatch: file corrupted */
	NPU_ERR_MODEL_TENSOR = -10,   /* bad tensor record (shape, quant) */
	NPU_ERR_MODEL_LAYER = -11,    /* bad layer record (op, params) */
	NPU_ERR_MODEL_GRAPH = -12,    /* bad graph (references, order) */
	NPU_ERR_MODEL_WEIGHTS = -13,  /* weight/bias/scale data out of range */
	NPU_ERR_SHAPE = -14,          /* buffer size does not match tensor */
	NPU_ERR_TIMEOUT = -15,        /* wait or device job timed out */
	NPU_ERR_DEVICE_FAULT = -16,   /* device reported an error */
	NPU_ERR_BUSY = -17,           /* resource in use */
	NPU_ERR_DISCONNECTED = -18,   /* device went away */
	NPU_ERR_INTERNAL = -19,       /* broken internal invariant (a bug) */
	NPU_ERR_MODEL_LABELS = -20,   /* bad class-label section */
	NPU_ERR_MODEL_METADATA = -21, /* bad input-metadata section */
	NPU_ERR_PERMISSION = -22,     /* the OS refused access to the device */
	NPU_ERR_IOMMU_FAULT = -23,    /* the IOMMU blocked a DMA of the device */
};

/* Human-readable one-line description; never NULL, also for unknown codes. */
const char *npu_strerror(int status);
/* The enumerator's name, e.g. "NPU_ERR_MODEL_CHECKSUM"; never NULL. */
const char *npu_status_name(int status);

/*
 * Detail of the last failure of a libnpu call in this thread, e.g. which
 * layer of a model was rejected and by which rule; "" when there is none.
 * Valid until the next libnpu call in the same thread.
 */
const char *npu_last_error(void);

typedef struct npu_device npu_device;
typedef struct npu_model npu_model;
typedef struct npu_job npu_job;

/* ---- devices --------------------------------------------------------- */

/*
 * Open a device by URI: "cpu", "sim", "sim:config=small", "null" (no
 * device: fails with NPU_ERR_NOT_SUPPORTED), "usb" (the first dev board;
 * "usb:BUS:ADDR" decimal, "usb:VID:PID" hex: docs/DRIVER.md);
 * npu_backend_names() lists what this build has. The part before the
 * first ':' names the backend; the rest are its options. (A DRM/GEM
 * buffer is not a device: it reaches the NPU as an imported dma-buf,
 * npu_buffer_import_dmabuf() below.) uri == NULL (or "") uses
 * $NPU_DEVICE, else "cpu".
 * Returns NPU_OK, NPU_ERR_INVALID_ARG (out NULL), NPU_ERR_NO_DEVICE
 * (no backend of that name), NPU_ERR_NO_MEM, or the backend's open error.
 */
int npu_open(const char *uri, npu_device **out);

/* Give up the handle to a device; never waits for other threads. The device
 * is released (queued jobs finished, lanes stopped, backend closed) once its
 * models are all freed and its jobs all waited for: here, or in the
 * npu_model_free() or npu_wait() that comes last. NULL is a no-op. */
void npu_close(npu_device *dev);

/* The URI the device was opened with (after default resolution). */
const char *npu_device_uri(const npu_device *dev);

/* Names of registered backends, NULL-terminated static array. */
const char *const *npu_backend_names(void);

/* ---- models ---------------------------------------------------------- */

/*
 * Load a model file (docs/MODEL_FORMAT.md) and prepare it for dev.
 * Returns NPU_OK, NPU_ERR_INVALID_ARG, NPU_ERR_IO (cannot open/read),
 * NPU_ERR_NO_MEM, any NPU_ERR_MODEL_* for a malformed file, or
 * NPU_ERR_NOT_SUPPORTED when the device cannot run a layer.
 */
int npu_model_load_file(npu_device *dev, const char *path, npu_model **out);

/* As npu_model_load_file, from memory. data is copied; the caller keeps it. */
int npu_model_load_memory(npu_device *dev, const void *data, size_t size, npu_model **out);

/* Free a model. Waits for its outstanding jobs (still to be passed to
 * npu_wait()). No thread may submit to it meanwhile. NULL is a no-op. */
void npu_model_free(npu_model *model);

/* Shape and quantization of a model tensor. Batch is always 1, NHWC. */
struct npu_tensor_info {
	char name[32];
	int32_t n, h, w, c;
	float scale; /* real = scale * (q - zero_point) */
	int32_t zero_point;
	size_t elements; /* n * h * w * c */
};

/* The model's (single) input and output tensor. Returns NPU_OK or
 * NPU_ERR_INVALID_ARG. */
int npu_model_input(const npu_model *model, struct npu_tensor_info *info);
int npu_model_output(const npu_model *model, struct npu_tensor_info *info);

/* Number of layers, and class labels (0 when the model has none). */
unsigned npu_model_num_layers(const npu_model *model);
unsigned npu_model_num_labels(const npu_model *model);
/* Label of class i, or NULL when i is out of range. */
const char *npu_model_label(const npu_model *model, unsigned i);

/* How an image becomes the model's input (the model file's metadata,
 * docs/MODEL_FORMAT.md). Values are part of the ABI. */
enum npu_color {
	NPU_COLOR_UNKNOWN = 0, /* the model file says nothing */
	NPU_COLOR_GRAY = 1,    /* one grey value (luma) in every input channel */
	NPU_COLOR_RGB = 2,     /* channels 0, 1, 2 = R, G, B */
	NPU_COLOR_BGR = 3,     /* channels 0, 1, 2 = B, G, R */
};
enum npu_resize {
	NPU_RESIZE_UNKNOWN = 0,
	NPU_RESIZE_STRETCH = 1,     /* the whole image to h x w, aspect not kept */
	NPU_RESIZE_CENTER_CROP = 2, /* centred crop of h:w aspect, crop of each side, then resize */
};
enum npu_layout {
	NPU_LAYOUT_UNKNOWN = 0,
	NPU_LAYOUT_NHWC = 1, /* what the model's source framework took; npu_io is NHWC always */
	NPU_LAYOUT_NCHW = 2, /* e.g. an ONNX model: its arrays need a transpose for npu_io */
};

/*
 * Input preprocessing: resize (bilinear, half-pixel centres) to h x w as
 * `resize` says, convert to `color`, then for channel ch < c of each pixel
 * x = (p / 255 - mean[ch]) / std[ch], p the 8-bit value: the float input
 * of npu_run (NPU_IO_FLOAT32), NHWC.
 */
struct npu_input_info {
	int32_t h, w, c;        /* the input tensor's */
	enum npu_color color;   /* NPU_COLOR_UNKNOWN: the file has no metadata */
	enum npu_resize resize; /* NPU_RESIZE_UNKNOWN when color is */
	float crop;             /* CENTER_CROP: fraction of each side kept, (0, 1]; else 0 */
	enum npu_layout layout;
	float mean[4]; /* entries >= c are 0 */
	float std[4];  /* entries >= c are 0; without metadata mean 0 and std 1 */
};

/* The model's input preprocessing. Returns NPU_OK (also for a file
 * without metadata: color, resize, layout UNKNOWN) or NPU_ERR_INVALID_ARG. */
int npu_model_input_info(const npu_model *model, struct npu_input_info *info);

/* ---- running ---------------------------------------------------------- */

enum npu_io_type {
	NPU_IO_INT8 = 0,    /* raw quantized bytes in the tensor's quant */
	NPU_IO_FLOAT32 = 1, /* float; quantized/dequantized by the library */
};

/*
 * One inference's buffers. Sizes are in bytes and must equal the tensor's
 * elements times 1 (INT8) or 4 (FLOAT32), else NPU_ERR_SHAPE.
 * The buffers must stay valid until the job completes.
 */
struct npu_io {
	enum npu_io_type input_type;
	const void *input;
	size_t input_size;
	enum npu_io_type output_type;
	void *output;
	size_t output_size;
};

/*
 * Queue one inference. Never blocks on the device; jobs of one model run
 * in submission order. *job is written on NPU_OK and must be passed to
 * npu_wait() exactly once it has completed.
 * Returns NPU_OK, NPU_ERR_INVALID_ARG, NPU_ERR_SHAPE, NPU_ERR_NO_MEM.
 */
int npu_submit(npu_model *model, const struct npu_io *io, npu_job **job);

/*
 * Wait up to timeout_ms (< 0: forever) for a job. On completion the job is
 * freed and its result returned: NPU_OK or the job's error (e.g.
 * NPU_ERR_DEVICE_FAULT). NPU_ERR_TIMEOUT leaves the job alive: wait again.
 * Valid after npu_model_free() of the job's model and npu_close() of its
 * device.
 */
int npu_wait(npu_job *job, int timeout_ms);

/* Synchronous inference: npu_submit() then npu_wait(job, -1). */
int npu_run(npu_model *model, const struct npu_io *io);

/* ---- buffers: zero-copy input and output ------------------------------ */

/*
 * A buffer is memory both the CPU and the device reach: allocated by the
 * library in the device's own DMA memory, or imported from a dma-buf (a
 * GEM buffer exported with drmPrimeHandleToFD, a camera frame). A run
 * with buffers hands the device the buffers' addresses where the
 * backend can (docs/API.md, "Buffers"): the device reads the input and
 * writes the output in place, and no byte is copied. Where it cannot, the
 * library copies between the buffer and the device's memory, and counts
 * every copy (npu_buffer_stats). Buffer data is the tensor's raw int8
 * bytes (NPU_IO_INT8), NHWC.
 *
 * A buffer belongs to the device it was made on and keeps it alive (as a
 * model does) until npu_buffer_free().
 */
typedef struct npu_buffer npu_buffer;

/* A new zeroed buffer of size bytes (> 0) in memory the device reaches.
 * Returns NPU_OK, NPU_ERR_INVALID_ARG, NPU_ERR_NO_MEM or the backend's
 * error. */
int npu_buffer_alloc(npu_device *dev, size_t size, npu_buffer **out);

/*
 * Import the dma-buf fd (or any mmap()able fd: a memfd, a shared-memory
 * file) as a buffer of its whole size. The library keeps its own
 * duplicate of fd (the caller may close fd) and maps it shared. Where the
 * backend can, the device maps the same memory (no copy ever); otherwise
 * runs stage through device memory with counted copies. Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (fd not open, empty or not mmap()able),
 * NPU_ERR_NO_MEM, or the backend's error.
 */
int npu_buffer_import_dmabuf(npu_device *dev, int fd, npu_buffer **out);

/* The buffer's CPU mapping (read and write), valid until
 * npu_buffer_free(); NULL for NULL. For an imported dma-buf the caller
 * brackets its own CPU access with DMA_BUF_IOCTL_SYNC on its fd, as the
 * kernel asks; the library does so around its own. */
void *npu_buffer_map(npu_buffer *buf);

/* The buffer's size in bytes; 0 for NULL. */
size_t npu_buffer_size(const npu_buffer *buf);

/* Free a buffer: waits for the jobs that use it, unmaps it from the
 * device and the process, closes the library's fd. NULL is a no-op. */
void npu_buffer_free(npu_buffer *buf);

/* One inference's buffers: input and output tensors as int8 bytes at the
 * given offsets (multiples of 64) of buffers of the model's device. */
struct npu_buffer_io {
	npu_buffer *input;
	size_t input_offset;
	npu_buffer *output;
	size_t output_offset;
};

/*
 * As npu_submit() with buffers. The buffers may be larger than the
 * tensors; input and output must not overlap. Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (NULL, a buffer of another device or one already
 * freed, an offset not a multiple of 64, overlapping input and output),
 * NPU_ERR_SHAPE (a tensor does not fit its buffer from its offset),
 * NPU_ERR_NO_MEM.
 */
int npu_submit_buffers(npu_model *model, const struct npu_buffer_io *io, npu_job **job);

/* Synchronous: npu_submit_buffers() then npu_wait(job, -1). */
int npu_run_buffers(npu_model *model, const struct npu_buffer_io *io);

/* What a buffer's jobs cost in copies, counted since it was made. */
struct npu_buffer_stats {
	uint32_t device_mapped; /* 1: the device reaches this memory itself */
	uint64_t uses;          /* tensors of completed jobs it held (in or out) */
	uint64_t in_place;      /* of those, read or written by the device in place */
	uint64_t copies;        /* the others: one copy each, by the library */
	uint64_t bytes_copied;  /* bytes of those copies */
};

/* Fill *stats. Returns NPU_OK or NPU_ERR_INVALID_ARG. */
int npu_buffer_stats(const npu_buffer *buf, struct npu_buffer_stats *stats);

/* ---- profile ---------------------------------------------------------- */

/* One layer of the last completed run. */
struct npu_layer_profile {
	char name[32];
	char op[16];           /* "conv", "dwconv", "fc", "add", ... */
	char engine[8];        /* "cpu", "pw", "dw", ... */
	uint64_t cycles;       /* NPU cycles (0 on the CPU) */
	uint64_t cpu_ns;       /* host time spent on the CPU for this layer */
	uint64_t macs;         /* multiply-accumulates */
	uint64_t dram_bytes;   /* bytes moved to/from device memory */
	uint64_t bound_cycles; /* physical bound, docs/PERFORMANCE.md; 0 on cpu */
	uint32_t folded;       /* 1: op cost nothing (folded into addressing) */
};

/*
 * Per-layer records of the model's last completed run. Writes at most max
 * records to out and the number of layers to *count.
 * Returns NPU_OK, NPU_ERR_INVALID_ARG.
 */
int npu_model_profile(const npu_model *model, struct npu_layer_profile *out, unsigned max,
                      unsigned *count);

/* Cost of a model on the device it was loaded on (docs/PERFORMANCE.md,
 * "The bound"). */
struct npu_model_cost {
	uint64_t macs;                /* conv + FC multiply-accumulates */
	uint64_t bound_cycles;        /* whole-network physical bound; 0 on cpu */
	uint64_t min_dram_bytes;      /* weights once + input + output */
	uint32_t peak_macs_per_cycle; /* PW array rows*cols; 0 on cpu */
	uint32_t dw_macs_per_cycle;   /* DW engine lanes; 0 on cpu */
	double dram_bytes_per_cycle;  /* memory model / board; 0 on cpu */
	double clock_mhz;             /* nominal clock for cycles -> time; 0 on cpu */
};

/* Fill *cost. Returns NPU_OK or NPU_ERR_INVALID_ARG. */
int npu_model_cost(const npu_model *model, struct npu_model_cost *cost);

/* ---- quantization helpers (exactly the library's own) ------------------ */

/* q = clamp(round_half_away(x / scale) + zero_point, -128, 127), in double. */
void npu_quantize(const float *x, size_t n, float scale, int32_t zero_point, int8_t *q);
/* x = scale * (q - zero_point). */
void npu_dequantize(const int8_t *q, size_t n, float scale, int32_t zero_point, float *x);
/* Numerically stable softmax of n floats; out may alias x. */
void npu_softmax(const float *x, size_t n, float *out);

#ifdef __cplusplus
}
#endif

#endif /* NPU_H */
