/*
 * Internal runtime structures: devices, models, execution contexts, jobs.
 *
 * A device is a backend found by name (the URI part before ':') plus its
 * lanes: one thread per kind of processor that runs work for it. The "cpu"
 * device has one lane (CPU); a hardware device has two, the NPU lane (the
 * only thread that touches the device: one NPU segment at a time) and the
 * CPU lane (CPU-fallback segments). A job is a walk over its model's
 * steps (the schedule's segments); each step is queued on its lane, so the
 * CPU fallback of frame k runs while the NPU works on frame k+1.
 *
 * A job needs an execution context of its model (an activation arena of
 * its own, on hardware also a DMA arena and descriptors relocated against
 * it): a model has NPUI_MODEL_CONTEXTS of them, so that many of its frames
 * are in flight; further jobs wait, in submission order, for one to free.
 *
 * npu_run() is npu_submit() + npu_wait(); nothing in the library calls a
 * device synchronously from the caller's thread, so the sync path is
 * exactly the async path.
 */
#ifndef NPUI_RUNTIME_H
#define NPUI_RUNTIME_H

#include <pthread.h>
#include <stdint.h>

#include "npu.h"
#include "ir/graph.h"
#include "ir/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npui_ref_plan;

/*
 * Frames of one model in flight at once, on a device with two lanes. Two
 * is what overlap needs: frame k's CPU segment runs beside frame k+1's NPU
 * segment. A third frame could only queue behind a busy lane while costing
 * one more arena (and on hardware one more DMA arena and descriptor copy).
 * A one-lane device (cpu) gets one context: a second could never run.
 */
#define NPUI_MODEL_CONTEXTS 2

/* arena_off[t] of a tensor that needs no bytes (never written or read). */
#define NPUI_NO_BYTES ((size_t)-1)

enum npui_lane_kind {
	NPUI_LANE_CPU = 0, /* CPU segments (reference kernels), the cpu device */
	NPUI_LANE_NPU = 1, /* NPU segments: ring, windows, device registers */
	NPUI_NUM_LANES = 2,
};

/* One in-flight frame's memory. Owned by at most one job at a time. */
struct npui_ctx {
	unsigned index; /* in npu_model.ctx[] */
	int8_t *arena;  /* host arena from model.c; NULL when the device owns it */
	int8_t **bufs;  /* bufs[t]: tensor t inside this context's arena */
	struct npu_layer_profile *run_prof; /* this frame's per-layer records */
	void *dev_priv;      /* device state of this context (hw: DMA arena, descs) */
	struct npu_job *job; /* holder; NULL when free. Under dev->lock. */
};

/*
 * A device kind. Every hook is called with the device's lock NOT held.
 */
struct npui_device_ops {
	const char *name;    /* URI scheme: "cpu", "sim", ... */
	const char *summary; /* one line for --help listings */
	/* Open: args is the text after "name:" ("" if none). Returns NPU_OK or
	 * an error; on error nothing is left allocated. Required. */
	int (*open)(npu_device *dev, const char *args);
	/* Release everything open() made. Called after the lanes stopped.
	 * Required. */
	void (*close)(npu_device *dev);
	/* Build the device's schedule for a validated model (placement,
	 * tiling, command streams) and its memory: it must point bufs[t] of
	 * every one of the m->num_ctx contexts at that context's own arena for
	 * every tensor with m->arena_off[t] != NPUI_NO_BYTES, and set
	 * m->num_steps / m->step_lane (malloc'd; model.c frees it). May
	 * block; called from the loading thread while the lanes may run other
	 * models' jobs. Returns NPU_OK, NPU_ERR_NO_MEM, NPU_ERR_NOT_SUPPORTED
	 * or a backend error. Optional: NULL means "one CPU step running every
	 * layer on the CPU kernels", with host arenas made by model.c. */
	int (*model_prepare)(npu_device *dev, npu_model *m);
	/* Undo model_prepare (no job of m is in flight). Optional (NULL when
	 * model_prepare is NULL). */
	void (*model_release)(npu_device *dev, npu_model *m);
	/* Run step `step` of m in context c: reads and writes only c's
	 * tensors and c->run_prof records of the step's layers. Called only
	 * from the lane m->step_lane[step] names, so at most one NPU step per
	 * device at a time. Returns NPU_OK or the job's error. Optional: NULL
	 * runs the CPU kernels (npui_run_cpu) as the single step. */
	int (*run_step)(npu_device *dev, npu_model *m, struct npui_ctx *c, uint32_t step);
	/* Fill the device-dependent fields of *cost (bound, peaks, clock).
	 * Optional: NULL leaves them 0 (no NPU). */
	void (*model_cost)(const npu_device *dev, const npu_model *m, struct npu_model_cost *cost);

	/* Give buffer b device memory: a new DMA buffer of b->size bytes
	 * (b->host NULL: fill b->host) or, for an import (b->host set), the
	 * device's own mapping of b->host (page aligned, b->map_size bytes)
	 * when it can reach it; sets b->dev_priv and b->device_mapped.
	 * Returns NPU_OK or an error. Optional: NULL means host memory only
	 * (every run copies). */
	int (*buffer_attach)(npu_device *dev, struct npu_buffer *b);
	/* Undo buffer_attach (no job uses b). Optional with it. */
	void (*buffer_detach)(npu_device *dev, struct npu_buffer *b);
	/* Which of in, out (either may be NULL) a job of m reaches in place
	 * (NPUI_IN_PLACE_* bits); the others are staged by copies. Optional:
	 * NULL means none. */
	unsigned (*buffers_in_place)(const npu_device *dev, const npu_model *m,
	                             const struct npu_buffer *in, const struct npu_buffer *out);
};

#define NPUI_IN_PLACE_INPUT  0x1u /* the device reads the input buffer itself */
#define NPUI_IN_PLACE_OUTPUT 0x2u /* the device writes the output buffer itself */

/* A buffer (npu.h, "buffers"). Fields above `lock-guarded` are fixed
 * from creation to free. */
struct npu_buffer {
	npu_device *dev;
	void *host;             /* CPU mapping */
	size_t size;            /* bytes the caller sees */
	size_t map_size;        /* size rounded up to whole pages: the mapping */
	int fd;                 /* the library's dup of an imported fd; -1 */
	int dmabuf_sync;        /* DMA_BUF_IOCTL_SYNC works on fd (a real dma-buf) */
	uint32_t device_mapped; /* the device reaches host itself */
	void *dev_priv;         /* the device's handle (hw: struct npu_hw_buf) */
	/* Under dev->lock: */
	unsigned pending;        /* jobs submitted with it, not yet finished */
	struct npu_buffer *next; /* in the device's list of live buffers */
	/* Counters (struct npu_buffer_stats), atomic updates. */
	uint64_t uses, in_place, copies, bytes_copied;
};

struct npu_backend_ops;
struct npu_buffer;

/* One thread and its FIFO of jobs whose next step runs on it. */
struct npui_lane {
	npu_device *dev;
	enum npui_lane_kind kind;
	pthread_t thread;
	pthread_cond_t cv; /* a job was queued, or stop */
	struct npu_job *head, *tail;
	struct npu_job *running; /* job whose step runs now; NULL when idle */
};

struct npu_device {
	const struct npui_device_ops *ops;
	/* The driver backend behind a hardware device (NULL for "cpu"). */
	const struct npu_backend_ops *backend;
	char uri[256];
	void *priv; /* backend state */

	/* Guards the lanes' queues, every model's job bookkeeping (wait
	 * queue, contexts, pending, prof) and the jobs' state. Never held
	 * while a step runs. */
	pthread_mutex_t lock;
	pthread_cond_t done_cv; /* waiters: some job finished */
	struct npui_lane lanes[NPUI_NUM_LANES];
	unsigned num_lanes; /* 1 (cpu) or 2 (hardware) */
	unsigned active;    /* jobs submitted and not finished, all models */
	int stop;           /* device release: lanes exit once active is 0 */
	unsigned num_models;
	/* What keeps the device alive after npu_close(): its loaded models
	 * and its jobs not yet passed to npu_wait(). The last of npu_close(),
	 * npu_model_free() and npu_wait() to run releases the device (drains
	 * and stops the lanes, closes the backend, frees it), so none of them
	 * can touch a freed device whatever order threads call them in. */
	unsigned users;
	int closed; /* npu_close() was called */
	/* Live buffers of this device (npu_buffer_free unlinks), under lock:
	 * how a buffer of another device, or a freed one, is recognized
	 * without touching it. */
	struct npu_buffer *buffers;
};

/* How often the two lanes worked for different frames of one model at the
 * same time (tests measure that overlap happens). */
struct npui_overlap_stats {
	uint64_t cpu_steps, npu_steps; /* steps started on each lane */
	/* Steps that started while the other lane ran a step of a different
	 * job of the same model. */
	uint64_t overlaps;
	/* Of those, the ones where the CPU lane's job was submitted earlier
	 * than the NPU lane's: frame k's CPU fallback beside frame k+j's NPU
	 * work, the overlap docs/GOALS.md §4 asks for. */
	uint64_t cpu_behind_npu;
};

struct npu_model {
	npu_device *dev;
	struct npui_graph *g;
	struct npui_ref_plan *plan;
	/* The runtime's activation plan: tensor t at arena_off[t] (or
	 * NPUI_NO_BYTES) of an arena_size-byte arena. A device may place
	 * tensors elsewhere in its own arenas, but gives bytes to exactly
	 * these tensors. */
	size_t *arena_off;
	size_t arena_size;
	void *dev_priv; /* backend's schedule, shared by the contexts */
	/* Steps of one job, in order, and the lane each runs on. */
	uint32_t num_steps;
	uint8_t *step_lane; /* enum npui_lane_kind per step */
	unsigned num_ctx;
	struct npui_ctx ctx[NPUI_MODEL_CONTEXTS];

	/* Under dev->lock: */
	struct npu_layer_profile *prof; /* last completed job's records */
	unsigned have_prof;
	unsigned pending;                      /* submitted, not yet finished */
	struct npu_job *wait_head, *wait_tail; /* waiting for a context */
	uint64_t next_seq;                     /* submission number of the next job */
	struct npui_overlap_stats ovl;
};

struct npu_job {
	npu_device *dev; /* npu_wait may run after npu_model_free(m) */
	npu_model *m;
	struct npu_io io;
	uint64_t seq; /* submission order within the model */
	struct npui_ctx *ctx;
	uint32_t step; /* the step queued or running */
	int status;
	int done;
	char detail[512]; /* npu_last_error() of a failed step, for npu_wait */
	/* A run with buffers (npu_submit_buffers): io.input/io.output point
	 * into their mappings; in_place says which the device reaches itself
	 * (the others are copied, and counted). */
	struct npu_buffer *in_buf, *out_buf;
	size_t in_off, out_off;
	unsigned in_place;
	struct npu_job *next; /* in a lane's queue or the model's wait queue */
};

/* The driver-level device behind a hardware npu_device, NULL for "cpu"
 * (tests use it for fault injection through the npu_hw_* gate). */
struct npu_hw *npui_device_hw(npu_device *dev);

/* Drop a user of dev (a loaded model or an unwaited job; see users). It
 * may release the device: the caller must not touch dev afterwards. */
void npui_device_put(npu_device *dev);

/* The cpu device's one step: every layer of m with the CPU kernels in
 * context c, each profiled on engine "cpu". */
int npui_run_cpu(npu_device *dev, npu_model *m, struct npui_ctx *c);

/* Start layer i's profile record *p: zeroed, then its name, op, MACs and
 * the engine it runs on. */
void npui_prof_init(const npu_model *m, struct npu_layer_profile *p, uint32_t i,
                    const char *engine);

/* Layers [first, first + n) of m on the CPU kernels in context c, each
 * layer's run time recorded in its c->run_prof record (npui_prof_init'd by
 * the caller): the CPU step of every device. Returns NPU_OK. */
int npui_run_cpu_layers(npu_model *m, struct npui_ctx *c, uint32_t first, uint32_t n);

struct npui_segment;
/* Copy NPU segment seg's descriptors to out (seg->num_desc descriptors)
 * with every address its relocation records name patched to arena_addr or
 * const_addr plus the record's offset (npu_dev_reloc_patch). Returns
 * NPU_OK or NPU_ERR_INTERNAL (a record outside the segment: a scheduler
 * bug, named in npu_last_error()). */
int npui_relocate_segment(const struct npui_segment *seg, uint64_t arena_addr, uint64_t const_addr,
                          uint32_t *out);

/* Copy the model's overlap counters (for tests). Returns NPU_OK or
 * NPU_ERR_INVALID_ARG. */
int npui_model_overlap_stats(const npu_model *m, struct npui_overlap_stats *out);

/* Queue job (its m, io and buffers filled; the buffers' pending already
 * counted) exactly as npu_submit() does, and write it to *out. */
void npui_job_queue(npu_model *m, struct npu_job *job, npu_job **out);

/* Monotonic nanoseconds. */
uint64_t npui_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_RUNTIME_H */
