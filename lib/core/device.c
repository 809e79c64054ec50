/*
 * Devices: the backend registry, URI resolution, the per-device worker
 * thread, and job submission/wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime.h"
#include "driver/backend.h"

extern const struct npui_device_ops npui_cpu_device_ops;
extern const struct npui_device_ops npui_hw_device_ops;

#define MAX_NAMES 16

static const char *device_names[MAX_NAMES + 1];
static pthread_once_t device_names_once = PTHREAD_ONCE_INIT;

static void device_names_fill(void)
{
	unsigned n = 0;

	device_names[n++] = npui_cpu_device_ops.name;
	for (const struct npu_backend_ops *const *b = npu_backend_list(); *b && n < MAX_NAMES; b++)
		device_names[n++] = (*b)->name;
	device_names[n] = NULL;
}

/* "cpu" first, then every driver backend (driver/backend.c). */
const char *const *npu_backend_names(void)
{
	pthread_once(&device_names_once, device_names_fill);
	return device_names;
}

uint64_t npui_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The URI's scheme names the reference device or a driver backend. */
static const struct npui_device_ops *device_find(const char *uri, const char **args,
                                                 const struct npu_backend_ops **backend)
{
	const char *colon = strchr(uri, ':');
	size_t len = colon ? (size_t)(colon - uri) : strlen(uri);

	*args = colon ? colon + 1 : "";
	*backend = NULL;
	if (len == strlen(npui_cpu_device_ops.name) && !memcmp(uri, npui_cpu_device_ops.name, len))
		return &npui_cpu_device_ops;
	*backend = npu_backend_find(uri, len);
	return *backend ? &npui_hw_device_ops : NULL;
}

static int job_run(npu_device *dev, struct npu_job *job)
{
	npu_model *m = job->m;
	const struct npui_tensor *in = &m->g->tensors[m->g->input];
	const struct npui_tensor *out = &m->g->tensors[m->g->output];
	size_t in_n = (size_t)in->h * in->w * in->c;
	size_t out_n = (size_t)out->h * out->w * out->c;
	int rc;

	if (job->io.input_type == NPU_IO_FLOAT32)
		npu_quantize(job->io.input, in_n, in->q.scale, in->q.zero_point,
		             m->bufs[m->g->input]);
	else
		memcpy(m->bufs[m->g->input], job->io.input, in_n);

	rc = dev->ops->run ? dev->ops->run(dev, m) : npui_run_cpu(dev, m);
	if (rc != NPU_OK)
		return rc;

	if (job->io.output_type == NPU_IO_FLOAT32)
		npu_dequantize(m->bufs[m->g->output], out_n, out->q.scale, out->q.zero_point,
		               job->io.output);
	else
		memcpy(job->io.output, m->bufs[m->g->output], out_n);
	return NPU_OK;
}

/* One worker per device: jobs run strictly in submission order. */
static void *device_worker(void *arg)
{
	npu_device *dev = arg;

	pthread_mutex_lock(&dev->lock);
	for (;;) {
		while (!dev->head && !dev->stop)
			pthread_cond_wait(&dev->work_cv, &dev->lock);
		if (!dev->head)
			break; /* stop requested and queue drained */
		struct npu_job *job = dev->head;
		dev->head = job->next;
		if (!dev->head)
			dev->tail = NULL;
		pthread_mutex_unlock(&dev->lock);

		int rc = job_run(dev, job);

		pthread_mutex_lock(&dev->lock);
		npu_model *m = job->m;
		if (rc == NPU_OK) {
			memcpy(m->prof, m->run_prof, sizeof(*m->prof) * m->g->num_layers);
			m->have_prof = 1;
		}
		job->status = rc;
		job->done = 1;
		m->pending--;
		pthread_cond_broadcast(&dev->done_cv);
	}
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

int npu_open(const char *uri, npu_device **out)
{
	const struct npui_device_ops *ops;
	const struct npu_backend_ops *backend;
	const char *args;
	npu_device *dev;
	int rc;

	if (!out)
		return NPU_ERR_INVALID_ARG;
	if (!uri || !*uri)
		uri = getenv("NPU_DEVICE");
	if (!uri || !*uri)
		uri = "cpu";
	if (strlen(uri) >= sizeof(dev->uri))
		return NPU_ERR_INVALID_ARG;
	ops = device_find(uri, &args, &backend);
	if (!ops) {
		npui_set_detail("no device backend for '%s'", uri);
		return NPU_ERR_NO_DEVICE;
	}

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NPU_ERR_NO_MEM;
	dev->ops = ops;
	dev->backend = backend;
	strcpy(dev->uri, uri);

	rc = ops->open(dev, args);
	if (rc != NPU_OK)
		goto err_free;

	rc = NPU_ERR_NO_MEM;
	if (pthread_mutex_init(&dev->lock, NULL))
		goto err_close;
	if (pthread_cond_init(&dev->work_cv, NULL))
		goto err_mutex;
	if (pthread_cond_init(&dev->done_cv, NULL))
		goto err_work_cv;
	if (pthread_create(&dev->worker, NULL, device_worker, dev))
		goto err_done_cv;

	*out = dev;
	return NPU_OK;

err_done_cv:
	pthread_cond_destroy(&dev->done_cv);
err_work_cv:
	pthread_cond_destroy(&dev->work_cv);
err_mutex:
	pthread_mutex_destroy(&dev->lock);
err_close:
	ops->close(dev);
err_free:
	free(dev);
	return rc;
}

void npu_close(npu_device *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	dev->stop = 1;
	pthread_cond_signal(&dev->work_cv);
	pthread_mutex_unlock(&dev->lock);
	pthread_join(dev->worker, NULL);

	pthread_cond_destroy(&dev->done_cv);
	pthread_cond_destroy(&dev->work_cv);
	pthread_mutex_destroy(&dev->lock);
	dev->ops->close(dev);
	free(dev);
}

const char *npu_device_uri(const npu_device *dev)
{
	return dev ? dev->uri : NULL;
}

static size_t tensor_elems(const struct npui_tensor *t)
{
	return (size_t)t->h * t->w * t->c;
}

static int io_check(const npu_model *m, const struct npu_io *io)
{
	size_t in_n = tensor_elems(&m->g->tensors[m->g->input]);
	size_t out_n = tensor_elems(&m->g->tensors[m->g->output]);

	if (!io->input || !io->output)
		return NPU_ERR_INVALID_ARG;
	if ((io->input_type != NPU_IO_INT8 && io->input_type != NPU_IO_FLOAT32) ||
	    (io->output_type != NPU_IO_INT8 && io->output_type != NPU_IO_FLOAT32))
		return NPU_ERR_INVALID_ARG;
	if (io->input_size != in_n * (io->input_type == NPU_IO_FLOAT32 ? 4 : 1))
		return NPU_ERR_SHAPE;
	if (io->output_size != out_n * (io->output_type == NPU_IO_FLOAT32 ? 4 : 1))
		return NPU_ERR_SHAPE;
	return NPU_OK;
}

int npu_submit(npu_model *m, const struct npu_io *io, npu_job **out)
{
	struct npu_job *job;
	npu_device *dev;
	int rc;

	if (!m || !io || !out)
		return NPU_ERR_INVALID_ARG;
	rc = io_check(m, io);
	if (rc != NPU_OK)
		return rc;
	job = calloc(1, sizeof(*job));
	if (!job)
		return NPU_ERR_NO_MEM;
	job->m = m;
	job->io = *io;
	dev = m->dev;

	pthread_mutex_lock(&dev->lock);
	if (dev->tail)
		dev->tail->next = job;
	else
		dev->head = job;
	dev->tail = job;
	m->pending++;
	pthread_cond_signal(&dev->work_cv);
	pthread_mutex_unlock(&dev->lock);

	*out = job;
	return NPU_OK;
}

int npu_wait(npu_job *job, int timeout_ms)
{
	struct timespec deadline;
	npu_device *dev;
	int rc;

	if (!job)
		return NPU_ERR_INVALID_ARG;
	dev = job->m->dev;
	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}

	pthread_mutex_lock(&dev->lock);
	while (!job->done) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&dev->done_cv, &dev->lock);
		} else if (pthread_cond_timedwait(&dev->done_cv, &dev->lock, &deadline) ==
		           ETIMEDOUT) {
			if (job->done)
				break;
			pthread_mutex_unlock(&dev->lock);
			return NPU_ERR_TIMEOUT;
		}
	}
	rc = job->status;
	pthread_mutex_unlock(&dev->lock);
	free(job);
	return rc;
}

int npu_run(npu_model *m, const struct npu_io *io)
{
	npu_job *job;
	int rc = npu_submit(m, io, &job);

	if (rc != NPU_OK)
		return rc;
	return npu_wait(job, -1);
}
