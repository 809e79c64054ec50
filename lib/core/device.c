/*
 * Devices: the backend registry, URI resolution, the per-device lanes
 * (threads), and job submission/wait: a job acquires one of its model's
 * execution contexts, then walks the model's steps, each on its lane.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/dma-buf.h>
#include <sys/ioctl.h>

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

static uint32_t job_steps(const npu_model *m)
{
	/* A graph with no layers still has one (empty) step: in, then out. */
	return m->num_steps ? m->num_steps : 1;
}

static struct npui_lane *step_lane(npu_device *dev, const npu_model *m, uint32_t step)
{
	unsigned k = step < m->num_steps ? m->step_lane[step] : NPUI_LANE_CPU;

	return &dev->lanes[k < dev->num_lanes ? k : NPUI_LANE_CPU];
}

/* Bracket the library's CPU access to an imported dma-buf (start, then
 * end): the kernel's rule for CPU access to a buffer a device may also
 * use (Documentation/driver-api/dma-buf.rst). Nothing for a buffer made
 * here or an fd that is no dma-buf (import found out). */
static void buffer_cpu_access(const struct npu_buffer *b, int start, uint64_t rw)
{
	struct dma_buf_sync sync = {(start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) | rw};

	if (!b || !b->dmabuf_sync)
		return;
	while (ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &sync) < 0 && (errno == EINTR || errno == EAGAIN))
		;
}

/* One copy of n bytes between buffer b and the device's memory. */
static void buffer_count(struct npu_buffer *b, size_t n)
{
	if (!b)
		return;
	__atomic_add_fetch(&b->copies, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&b->bytes_copied, n, __ATOMIC_RELAXED);
}

/* Run the job's current step; the first step also fills the input, the
 * last one delivers the output. Called on the step's lane, unlocked. */
static int job_step(npu_device *dev, struct npu_job *job)
{
	npu_model *m = job->m;
	struct npui_ctx *c = job->ctx;
	const struct npui_tensor *in = &m->g->tensors[m->g->input];
	const struct npui_tensor *out = &m->g->tensors[m->g->output];
	size_t in_n = (size_t)in->h * in->w * in->c;
	size_t out_n = (size_t)out->h * out->w * out->c;
	int rc = NPU_OK;

	if (job->step == 0 && !(job->in_place & NPUI_IN_PLACE_INPUT)) {
		if (job->io.input_type == NPU_IO_FLOAT32) {
			npu_quantize(job->io.input, in_n, in->q.scale, in->q.zero_point,
			             c->bufs[m->g->input]);
		} else {
			buffer_cpu_access(job->in_buf, 1, DMA_BUF_SYNC_READ);
			memcpy(c->bufs[m->g->input], job->io.input, in_n);
			buffer_cpu_access(job->in_buf, 0, DMA_BUF_SYNC_READ);
			buffer_count(job->in_buf, in_n);
		}
	}

	if (job->step < m->num_steps)
		rc = dev->ops->run_step ? dev->ops->run_step(dev, m, c, job->step)
		                        : npui_run_cpu(dev, m, c);
	if (rc != NPU_OK || job->step + 1 < job_steps(m))
		return rc;

	if (job->in_place & NPUI_IN_PLACE_OUTPUT)
		return NPU_OK;
	if (job->io.output_type == NPU_IO_FLOAT32) {
		npu_dequantize(c->bufs[m->g->output], out_n, out->q.scale, out->q.zero_point,
		               job->io.output);
	} else {
		buffer_cpu_access(job->out_buf, 1, DMA_BUF_SYNC_WRITE);
		memcpy(job->io.output, c->bufs[m->g->output], out_n);
		buffer_cpu_access(job->out_buf, 0, DMA_BUF_SYNC_WRITE);
		buffer_count(job->out_buf, out_n);
	}
	return NPU_OK;
}

/* Locked helpers below: dev->lock held. */

static void lane_push(struct npui_lane *ln, struct npu_job *job)
{
	job->next = NULL;
	if (ln->tail)
		ln->tail->next = job;
	else
		ln->head = job;
	ln->tail = job;
	pthread_cond_signal(&ln->cv);
}

/* Give context c to job and queue its first step. Contexts are handed out
 * in submission order and every lane is one FIFO thread, so by induction
 * over the steps a model's jobs complete in submission order. */
static void job_start(npu_device *dev, struct npu_job *job, struct npui_ctx *c)
{
	c->job = job;
	job->ctx = c;
	job->step = 0;
	lane_push(step_lane(dev, job->m, 0), job);
}

/* A completed job's buffers: one use each, in place or (counted at the
 * copy) not. */
static void buffers_note_use(const struct npu_job *job)
{
	struct npu_buffer *b[2] = {job->in_buf, job->out_buf};
	const unsigned bit[2] = {NPUI_IN_PLACE_INPUT, NPUI_IN_PLACE_OUTPUT};

	for (int k = 0; k < 2; k++) {
		if (!b[k])
			continue;
		__atomic_add_fetch(&b[k]->uses, 1, __ATOMIC_RELAXED);
		if (job->in_place & bit[k])
			__atomic_add_fetch(&b[k]->in_place, 1, __ATOMIC_RELAXED);
	}
}

static void job_finish(npu_device *dev, struct npu_job *job, int rc)
{
	npu_model *m = job->m;
	struct npui_ctx *c = job->ctx;

	if (rc == NPU_OK) {
		memcpy(m->prof, c->run_prof, sizeof(*m->prof) * m->g->num_layers);
		m->have_prof = 1;
	}
	c->job = NULL;
	job->ctx = NULL;
	if (job->in_buf)
		job->in_buf->pending--;
	if (job->out_buf)
		job->out_buf->pending--;
	if (rc == NPU_OK)
		buffers_note_use(job);
	if (m->wait_head) {
		struct npu_job *next = m->wait_head;

		m->wait_head = next->next;
		if (!m->wait_head)
			m->wait_tail = NULL;
		job_start(dev, next, c);
	}
	job->status = rc;
	job->done = 1;
	m->pending--;
	dev->active--;
	if (dev->stop && !dev->active)
		for (unsigned k = 0; k < dev->num_lanes; k++)
			pthread_cond_signal(&dev->lanes[k].cv);
	pthread_cond_broadcast(&dev->done_cv);
}

/* Count the two lanes working for different frames of one model. */
static void overlap_note(npu_device *dev, const struct npui_lane *ln, const struct npu_job *job)
{
	npu_model *m = job->m;
	const struct npu_job *o;

	if (ln->kind == NPUI_LANE_CPU)
		m->ovl.cpu_steps++;
	else
		m->ovl.npu_steps++;
	if (dev->num_lanes < 2)
		return;
	o = dev->lanes[ln->kind == NPUI_LANE_CPU ? NPUI_LANE_NPU : NPUI_LANE_CPU].running;
	if (!o || o->m != m || o == job)
		return;
	m->ovl.overlaps++;
	if ((ln->kind == NPUI_LANE_CPU) == (job->seq < o->seq))
		m->ovl.cpu_behind_npu++;
}

/* A lane: run the step of the job at the head of its queue, then pass the
 * job to the lane of its next step, or finish it. Exits on stop once no
 * job of the device is left anywhere (another lane may still hand it one). */
static void *lane_main(void *arg)
{
	struct npui_lane *ln = arg;
	npu_device *dev = ln->dev;

	pthread_mutex_lock(&dev->lock);
	for (;;) {
		while (!ln->head && !(dev->stop && !dev->active))
			pthread_cond_wait(&ln->cv, &dev->lock);
		if (!ln->head)
			break;
		struct npu_job *job = ln->head;
		ln->head = job->next;
		if (!ln->head)
			ln->tail = NULL;
		ln->running = job;
		overlap_note(dev, ln, job);
		pthread_mutex_unlock(&dev->lock);

		int rc = job_step(dev, job);
		if (rc != NPU_OK)
			snprintf(job->detail, sizeof(job->detail), "%s", npu_last_error());

		pthread_mutex_lock(&dev->lock);
		ln->running = NULL;
		if (rc != NPU_OK || job->step + 1 >= job_steps(job->m)) {
			job_finish(dev, job, rc);
		} else {
			job->step++;
			lane_push(step_lane(dev, job->m, job->step), job);
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

/* Stop and join lanes [0, n): they drain every queued job first. */
static void lanes_stop(npu_device *dev, unsigned n)
{
	pthread_mutex_lock(&dev->lock);
	dev->stop = 1;
	for (unsigned k = 0; k < n; k++)
		pthread_cond_signal(&dev->lanes[k].cv);
	pthread_mutex_unlock(&dev->lock);
	for (unsigned k = 0; k < n; k++) {
		pthread_join(dev->lanes[k].thread, NULL);
		pthread_cond_destroy(&dev->lanes[k].cv);
	}
}

int npu_open(const char *uri, npu_device **out)
{
	const struct npui_device_ops *ops;
	const struct npu_backend_ops *backend;
	const char *args;
	npu_device *dev;
	unsigned started = 0;
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
	if (pthread_cond_init(&dev->done_cv, NULL))
		goto err_mutex;
	/* A device that runs steps of its own has an NPU lane beside the CPU
	 * lane; the cpu device runs everything on the CPU lane. */
	dev->num_lanes = ops->run_step ? NPUI_NUM_LANES : 1;
	for (unsigned k = 0; k < dev->num_lanes; k++) {
		struct npui_lane *ln = &dev->lanes[k];

		ln->dev = dev;
		ln->kind = (enum npui_lane_kind)k;
		if (pthread_cond_init(&ln->cv, NULL))
			goto err_lanes;
		if (pthread_create(&ln->thread, NULL, lane_main, ln)) {
			pthread_cond_destroy(&ln->cv);
			goto err_lanes;
		}
		started++;
	}

	*out = dev;
	return NPU_OK;

err_lanes:
	lanes_stop(dev, started);
	pthread_cond_destroy(&dev->done_cv);
err_mutex:
	pthread_mutex_destroy(&dev->lock);
err_close:
	ops->close(dev);
err_free:
	free(dev);
	return rc;
}

/* Drains: every queued job runs to completion before the lanes stop.
 * Called once nothing can reach the device any more (closed, no users). */
static void device_release(npu_device *dev)
{
	lanes_stop(dev, dev->num_lanes);
	pthread_cond_destroy(&dev->done_cv);
	pthread_mutex_destroy(&dev->lock);
	dev->ops->close(dev);
	free(dev);
}

/* Drop one user; the last one after npu_close() releases the device. The
 * caller must not touch dev afterwards. */
void npui_device_put(npu_device *dev)
{
	int last;

	pthread_mutex_lock(&dev->lock);
	dev->users--;
	last = dev->closed && !dev->users;
	pthread_mutex_unlock(&dev->lock);
	if (last)
		device_release(dev);
}

/* Gives up the caller's handle. With no model loaded and every job waited
 * for, the device is released here; otherwise by the npu_model_free() or
 * npu_wait() that drops its last user. */
void npu_close(npu_device *dev)
{
	int last;

	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	dev->closed = 1;
	last = !dev->users;
	pthread_mutex_unlock(&dev->lock);
	if (last)
		device_release(dev);
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
	npui_job_queue(m, job, out);
	return NPU_OK;
}

void npui_job_queue(npu_model *m, struct npu_job *job, npu_job **out)
{
	npu_device *dev = m->dev;

	job->dev = dev;
	pthread_mutex_lock(&dev->lock);
	job->seq = m->next_seq++;
	m->pending++;
	dev->active++;
	dev->users++; /* until npu_wait() frees the job */
	struct npui_ctx *free_ctx = NULL;
	for (unsigned i = 0; i < m->num_ctx && !free_ctx; i++)
		if (!m->ctx[i].job)
			free_ctx = &m->ctx[i];
	/* A free context means nobody waits (contexts pass straight from a
	 * finishing job to the next waiting one). */
	if (free_ctx && !m->wait_head) {
		job_start(dev, job, free_ctx);
	} else {
		if (m->wait_tail)
			m->wait_tail->next = job;
		else
			m->wait_head = job;
		m->wait_tail = job;
	}
	pthread_mutex_unlock(&dev->lock);
	*out = job;
}

int npu_wait(npu_job *job, int timeout_ms)
{
	struct timespec deadline;
	npu_device *dev;
	int rc;

	if (!job)
		return NPU_ERR_INVALID_ARG;
	dev = job->dev;
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
	/* The failing step ran on a lane thread: carry its detail over. */
	if (rc != NPU_OK)
		npui_set_detail("%s", job->detail);
	free(job);
	npui_device_put(dev);
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
