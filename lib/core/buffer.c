/*
 * Buffers (npu.h, "buffers"): memory the CPU and the device share, made
 * by the library or imported from a dma-buf, and runs that take them
 * instead of pointers. The device kind decides what it reaches in place
 * (npui_device_ops.buffer_attach / buffers_in_place: on a hardware device
 * the backend's buf_alloc and buf_import, driver/backend.h); everything
 * else is staged by device.c's job steps, one counted copy per tensor.
 *
 * An imported fd is dup()ed and mmap()ed shared. Whether it is a dma-buf
 * is found out once, at import: DMA_BUF_IOCTL_SYNC either works (then the
 * library brackets its own CPU access with it) or fails with ENOTTY (a
 * memfd, a tmpfs or shm file: plain shared memory, coherent, nothing to
 * bracket). Any other failure of the probe refuses the import.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "core/runtime.h"
#include "ir/arena.h"

/* Why a buffer call failed: in npu_last_error(), and with NPU_DEBUG set
 * one line on stderr. */
#define buffer_why(...)                                                                            \
	do {                                                                                       \
		npui_set_detail(__VA_ARGS__);                                                      \
		if (getenv("NPU_DEBUG"))                                                           \
			fprintf(stderr, "libnpu: %s\n", npu_last_error());                         \
	} while (0)

/* Page-granular: what mmap and the device's mappings (IOMMU, sim) take. */
static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

/* Link a finished buffer into its device (a user of it, as a model). */
static void buffer_publish(npu_device *dev, struct npu_buffer *b)
{
	pthread_mutex_lock(&dev->lock);
	b->next = dev->buffers;
	dev->buffers = b;
	dev->users++;
	pthread_mutex_unlock(&dev->lock);
}

/* The device's share of b (its mapping or DMA buffer). */
static int buffer_attach(npu_device *dev, struct npu_buffer *b)
{
	if (dev->ops->buffer_attach)
		return dev->ops->buffer_attach(dev, b);
	if (b->host)
		return NPU_OK; /* an import: the mapping is all there is */
	b->host = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), b->map_size);
	if (!b->host)
		return NPU_ERR_NO_MEM;
	memset(b->host, 0, b->map_size);
	return NPU_OK;
}

/* Undo buffer_attach and the import's mapping; frees b. */
static void buffer_destroy(npu_device *dev, struct npu_buffer *b)
{
	if (dev->ops->buffer_detach)
		dev->ops->buffer_detach(dev, b);
	else if (b->fd < 0)
		free(b->host);
	if (b->fd >= 0) {
		if (b->host)
			munmap(b->host, b->map_size);
		close(b->fd);
	}
	free(b);
}

int npu_buffer_alloc(npu_device *dev, size_t size, npu_buffer **out)
{
	struct npu_buffer *b;
	int rc;

	if (!dev || !out || !size) {
		buffer_why("buffer: %s", !size ? "size 0" : "NULL argument");
		return NPU_ERR_INVALID_ARG;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NPU_ERR_NO_MEM;
	b->dev = dev;
	b->fd = -1;
	b->size = size;
	b->map_size = page_round(size);
	rc = buffer_attach(dev, b);
	if (rc != NPU_OK) {
		free(b);
		return rc;
	}
	buffer_publish(dev, b);
	*out = b;
	return NPU_OK;
}

/* Is fd a dma-buf (DMA_BUF_IOCTL_SYNC works) or plain shared memory
 * (ENOTTY)? 1, 0, or -1 with the reason set. */
static int probe_dmabuf(int fd)
{
	struct dma_buf_sync sync = {DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};

	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0) {
		if (errno == ENOTTY)
			return 0;
		buffer_why("buffer: DMA_BUF_IOCTL_SYNC on fd %d: %s", fd, strerror(errno));
		return -1;
	}
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
	return 1;
}

int npu_buffer_import_dmabuf(npu_device *dev, int fd, npu_buffer **out)
{
	struct npu_buffer *b;
	off_t end;
	int rc = NPU_ERR_INVALID_ARG;

	if (!dev || !out || fd < 0) {
		buffer_why("buffer: %s", fd < 0 ? "negative fd" : "NULL argument");
		return NPU_ERR_INVALID_ARG;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NPU_ERR_NO_MEM;
	b->dev = dev;
	b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (b->fd < 0) {
		buffer_why("buffer: fd %d: %s", fd, strerror(errno));
		free(b);
		return errno == EMFILE ? NPU_ERR_NO_MEM : NPU_ERR_INVALID_ARG;
	}
	/* A dma-buf tells its size through lseek(SEEK_END); so does a file. */
	end = lseek(b->fd, 0, SEEK_END);
	if (end <= 0) {
		buffer_why("buffer: fd %d has no size (%s)", fd,
		           end < 0 ? strerror(errno) : "empty");
		goto err;
	}
	b->size = (size_t)end;
	b->map_size = page_round(b->size);
	b->host = mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->host == MAP_FAILED) {
		b->host = NULL;
		buffer_why("buffer: fd %d cannot be mapped: %s", fd, strerror(errno));
		goto err;
	}
	b->dmabuf_sync = probe_dmabuf(b->fd);
	if (b->dmabuf_sync < 0)
		goto err;
	rc = buffer_attach(dev, b);
	if (rc != NPU_OK)
		goto err;
	buffer_publish(dev, b);
	*out = b;
	return NPU_OK;
err:
	if (b->host)
		munmap(b->host, b->map_size);
	close(b->fd);
	free(b);
	return rc;
}

void *npu_buffer_map(npu_buffer *b)
{
	return b ? b->host : NULL;
}

size_t npu_buffer_size(const npu_buffer *b)
{
	return b ? b->size : 0;
}

void npu_buffer_free(npu_buffer *b)
{
	npu_device *dev;

	if (!b)
		return;
	dev = b->dev;
	pthread_mutex_lock(&dev->lock);
	while (b->pending)
		pthread_cond_wait(&dev->done_cv, &dev->lock);
	for (struct npu_buffer **p = &dev->buffers; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	pthread_mutex_unlock(&dev->lock);
	buffer_destroy(dev, b);
	npui_device_put(dev);
}

int npu_buffer_stats(const npu_buffer *b, struct npu_buffer_stats *st)
{
	if (!b || !st)
		return NPU_ERR_INVALID_ARG;
	memset(st, 0, sizeof(*st));
	st->device_mapped = b->device_mapped;
	st->uses = __atomic_load_n(&b->uses, __ATOMIC_RELAXED);
	st->in_place = __atomic_load_n(&b->in_place, __ATOMIC_RELAXED);
	st->copies = __atomic_load_n(&b->copies, __ATOMIC_RELAXED);
	st->bytes_copied = __atomic_load_n(&b->bytes_copied, __ATOMIC_RELAXED);
	return NPU_OK;
}

/* One side of a buffer run: a tensor of n bytes at off of b. */
static int side_check(const char *what, const struct npu_buffer *b, size_t off, size_t n)
{
	if (off % NPUI_ARENA_ALIGN) {
		buffer_why("%s offset %zu is not a multiple of %d", what, off, NPUI_ARENA_ALIGN);
		return NPU_ERR_INVALID_ARG;
	}
	if (off > b->size || b->size - off < n) {
		buffer_why("%s tensor of %zu bytes does not fit a %zu-byte buffer at offset %zu",
		           what, n, b->size, off);
		return NPU_ERR_SHAPE;
	}
	return NPU_OK;
}

/* Both buffers are live buffers of dev; count the job in their pending.
 * Under dev->lock, so a buffer is never freed between check and count. */
static int buffers_claim(npu_device *dev, npu_buffer *in, npu_buffer *out)
{
	int found_in = 0, found_out = 0;

	pthread_mutex_lock(&dev->lock);
	for (const struct npu_buffer *p = dev->buffers; p; p = p->next) {
		found_in |= p == in;
		found_out |= p == out;
	}
	if (found_in && found_out) {
		in->pending++;
		out->pending++;
	}
	pthread_mutex_unlock(&dev->lock);
	if (!found_in || !found_out) {
		buffer_why("%s buffer is not a live buffer of device '%s' (freed, or "
		           "another device's)",
		           found_in ? "output" : "input", dev->uri);
		return NPU_ERR_INVALID_ARG;
	}
	return NPU_OK;
}

int npu_submit_buffers(npu_model *m, const struct npu_buffer_io *io, npu_job **out)
{
	npu_device *dev;
	struct npu_job *job;
	size_t in_n, out_n;
	int rc;

	if (!m || !io || !io->input || !io->output || !out) {
		buffer_why("buffer run: NULL argument");
		return NPU_ERR_INVALID_ARG;
	}
	dev = m->dev;
	in_n = (size_t)m->g->tensors[m->g->input].h * m->g->tensors[m->g->input].w *
	       m->g->tensors[m->g->input].c;
	out_n = (size_t)m->g->tensors[m->g->output].h * m->g->tensors[m->g->output].w *
	        m->g->tensors[m->g->output].c;
	/* Pointers are compared with the device's list before anything is
	 * read through them: a freed buffer is never touched. */
	rc = buffers_claim(dev, io->input, io->output);
	if (rc != NPU_OK)
		return rc;
	rc = side_check("input", io->input, io->input_offset, in_n);
	if (rc == NPU_OK)
		rc = side_check("output", io->output, io->output_offset, out_n);
	if (rc == NPU_OK && io->input == io->output &&
	    io->input_offset < io->output_offset + out_n &&
	    io->output_offset < io->input_offset + in_n) {
		buffer_why("input and output overlap in one buffer");
		rc = NPU_ERR_INVALID_ARG;
	}
	job = rc == NPU_OK ? calloc(1, sizeof(*job)) : NULL;
	if (rc == NPU_OK && !job)
		rc = NPU_ERR_NO_MEM;
	if (rc != NPU_OK) {
		pthread_mutex_lock(&dev->lock);
		io->input->pending--;
		io->output->pending--;
		pthread_cond_broadcast(&dev->done_cv);
		pthread_mutex_unlock(&dev->lock);
		return rc;
	}
	job->m = m;
	job->in_buf = io->input;
	job->out_buf = io->output;
	job->in_off = io->input_offset;
	job->out_off = io->output_offset;
	job->io.input_type = NPU_IO_INT8;
	job->io.input = (const int8_t *)io->input->host + io->input_offset;
	job->io.input_size = in_n;
	job->io.output_type = NPU_IO_INT8;
	job->io.output = (int8_t *)io->output->host + io->output_offset;
	job->io.output_size = out_n;
	if (dev->ops->buffers_in_place)
		job->in_place = dev->ops->buffers_in_place(dev, m, io->input, io->output);
	npui_job_queue(m, job, out);
	return NPU_OK;
}

int npu_run_buffers(npu_model *m, const struct npu_buffer_io *io)
{
	npu_job *job;
	int rc = npu_submit_buffers(m, io, &job);

	if (rc != NPU_OK)
		return rc;
	return npu_wait(job, -1);
}
