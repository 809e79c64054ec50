/*
 * Internal runtime structures: devices, models, jobs.
 *
 * A device is a backend found by name (the URI part before ':') plus one
 * worker thread that runs queued jobs in order. npu_run() is npu_submit()
 * + npu_wait(); nothing in the library calls a device synchronously from
 * the caller's thread, so the sync path is exactly the async path.
 */
#ifndef NPUI_RUNTIME_H
#define NPUI_RUNTIME_H

#include <pthread.h>
#include <stdint.h>

#include "npu.h"
#include "core/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npui_ref_plan;

/*
 * A device kind. Every hook is called with the device's lock NOT held.
 */
struct npui_device_ops {
	const char *name;    /* URI scheme: "cpu", "sim", ... */
	const char *summary; /* one line for --help listings */
	/* Open: args is the text after "name:" ("" if none). Returns NPU_OK or
	 * an error; on error nothing is left allocated. Required. */
	int (*open)(npu_device *dev, const char *args);
	/* Release everything open() made. Required. */
	void (*close)(npu_device *dev);
	/* Build the device's schedule for a validated model (placement,
	 * tiling, command streams). Optional: NULL means "run every layer
	 * on the CPU kernels". May block; returns NPU_OK, NPU_ERR_NO_MEM,
	 * NPU_ERR_NOT_SUPPORTED. */
	int (*model_prepare)(npu_device *dev, npu_model *m);
	/* Undo model_prepare. Optional (NULL when model_prepare is NULL). */
	void (*model_release)(npu_device *dev, npu_model *m);
	/* Run the whole graph once. The input tensor's buffer is filled;
	 * writes every other tensor and m->run_prof. Called only from the
	 * device's worker thread, so at most one run per device at a time.
	 * Returns NPU_OK or the job's error. Optional: NULL runs the CPU
	 * kernels (npui_run_cpu). */
	int (*run)(npu_device *dev, npu_model *m);
	/* Fill the device-dependent fields of *cost (bound, peaks, clock).
	 * Optional: NULL leaves them 0 (no NPU). */
	void (*model_cost)(const npu_device *dev, const npu_model *m, struct npu_model_cost *cost);
};

struct npu_backend_ops;

struct npu_device {
	const struct npui_device_ops *ops;
	/* The driver backend behind a hardware device (NULL for "cpu"). */
	const struct npu_backend_ops *backend;
	char uri[256];
	void *priv; /* backend state */

	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* worker: a job was queued, or stop */
	pthread_cond_t done_cv; /* waiters: some job finished */
	pthread_t worker;
	struct npu_job *head, *tail;
	int stop;
	unsigned num_models;
};

struct npu_model {
	npu_device *dev;
	struct npui_graph *g;
	struct npui_ref_plan *plan;
	int8_t *arena; /* all activation tensors */
	int8_t **bufs; /* bufs[t]: tensor t inside arena */
	size_t arena_size;
	void *dev_priv; /* backend's schedule */

	/* Written by the worker during a run, published under dev->lock. */
	struct npu_layer_profile *run_prof;
	struct npu_layer_profile *prof;
	unsigned have_prof;
	unsigned pending; /* submitted, not yet finished */
};

struct npu_job {
	npu_model *m;
	struct npu_io io;
	int status;
	int done;
	struct npu_job *next;
};

/* The driver-level device behind a hardware npu_device, NULL for "cpu"
 * (tests use it for fault injection through the npu_hw_* gate). */
struct npu_hw *npui_device_hw(npu_device *dev);

/* Run every layer of m with the CPU kernels, recording per-layer time. */
int npui_run_cpu(npu_device *dev, npu_model *m);

/* Record the detail of a failure for npu_last_error() (this thread). */
void npui_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic nanoseconds. */
uint64_t npui_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_RUNTIME_H */
