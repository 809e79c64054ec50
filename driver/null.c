/*
 * The "null" backend: no device behind it. It opens (so the plumbing
 * above it can be exercised) and answers every device operation with
 * NPU_ERR_NOT_SUPPORTED, never with made-up data.
 */
#include "driver/backend.h"

static int null_open(struct npu_hw *hw, const char *args)
{
	(void)hw;
	return args && *args ? NPU_ERR_INVALID_ARG : NPU_OK;
}

static void null_close(struct npu_hw *hw)
{
	(void)hw;
}

static int null_reg_read(struct npu_hw *hw, uint32_t offset, uint32_t *value)
{
	(void)hw;
	(void)offset;
	(void)value;
	return NPU_ERR_NOT_SUPPORTED;
}

static int null_reg_write(struct npu_hw *hw, uint32_t offset, uint32_t value)
{
	(void)hw;
	(void)offset;
	(void)value;
	return NPU_ERR_NOT_SUPPORTED;
}

static int null_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	(void)hw;
	(void)size;
	(void)flags;
	(void)buf;
	return NPU_ERR_NOT_SUPPORTED;
}

static void null_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	(void)hw;
	(void)buf;
}

static int null_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t offset, size_t len,
                         enum npu_hw_sync_dir dir)
{
	(void)hw;
	(void)buf;
	(void)offset;
	(void)len;
	(void)dir;
	return NPU_ERR_NOT_SUPPORTED;
}

static int null_submit(struct npu_hw *hw, uint32_t tail)
{
	(void)hw;
	(void)tail;
	return NPU_ERR_NOT_SUPPORTED;
}

static int null_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	(void)hw;
	(void)timeout_ms;
	return NPU_ERR_NOT_SUPPORTED;
}

static int null_reset(struct npu_hw *hw)
{
	(void)hw;
	return NPU_ERR_NOT_SUPPORTED;
}

const struct npu_backend_ops npu_null_backend = {
        .name = "null",
        .summary = "no device: every operation is NPU_ERR_NOT_SUPPORTED",
        .priv_size = 0,
        .open = null_open,
        .close = null_close,
        .reg_read = null_reg_read,
        .reg_write = null_reg_write,
        .buf_alloc = null_buf_alloc,
        .buf_free = null_buf_free,
        .buf_sync = null_buf_sync,
        .submit = null_submit,
        .wait_irq = null_wait_irq,
        .reset = null_reset,
};
