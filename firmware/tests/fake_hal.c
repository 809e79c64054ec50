/* The fake board (fake_hal.h). */
#include <string.h>

#include "driver/npu_usb_proto.h"
#include "firmware/tests/fake_hal.h"

static int fake_csr_read(void *ctx, uint32_t off, uint32_t *value)
{
	struct fake *f = ctx;

	f->csr_reads++;
	if (off == f->csr_fail_off)
		return -1;
	*value = f->regs[off / 4];
	return 0;
}

static int fake_csr_write(void *ctx, uint32_t off, uint32_t value)
{
	struct fake *f = ctx;

	f->csr_writes++;
	if (off == f->csr_fail_off)
		return -1;
	f->regs[off / 4] = value;
	f->last_csr_write_off = off;
	f->last_csr_write_val = value;
	return 0;
}

/* The core promises [addr, addr + len) inside DRAM and len > 0: a call
 * that breaks it is counted and refused (the guards catch what a wrong
 * length or address in the copy itself would do). */
static int fake_dram_stray(struct fake *f, uint64_t addr, uint32_t len)
{
	if (len && addr >= FAKE_DRAM_BASE && addr - FAKE_DRAM_BASE < FAKE_DRAM_SIZE &&
	    len <= FAKE_DRAM_SIZE - (addr - FAKE_DRAM_BASE))
		return 0;
	f->stray++;
	return 1;
}

static int fake_dram_fail(struct fake *f)
{
	if (f->dram_fail_after == FAKE_NO_FAIL)
		return 0;
	if (f->dram_fail_after == 0) {
		f->dram_fails++;
		return 1;
	}
	f->dram_fail_after--;
	return 0;
}

static int fake_dram_write(void *ctx, uint64_t addr, const uint8_t *src, uint32_t len)
{
	struct fake *f = ctx;

	f->dram_writes++;
	if (fake_dram_stray(f, addr, len) || fake_dram_fail(f))
		return -1;
	memcpy(fake_dram(f, addr), src, len);
	return 0;
}

static int fake_dram_read(void *ctx, uint64_t addr, uint8_t *dst, uint32_t len)
{
	struct fake *f = ctx;

	f->dram_reads++;
	if (fake_dram_stray(f, addr, len) || fake_dram_fail(f))
		return -1;
	memcpy(dst, fake_dram(f, addr), len);
	return 0;
}

static int fake_irq_line(void *ctx)
{
	return ((struct fake *)ctx)->irq;
}

static int fake_npu_reset(void *ctx)
{
	struct fake *f = ctx;

	f->resets++;
	return f->reset_fails ? -1 : 0;
}

uint8_t *fake_dram(struct fake *f, uint64_t addr)
{
	return f->mem + FAKE_GUARD + (addr - FAKE_DRAM_BASE);
}

int fake_dram_ok(const struct fake *f)
{
	if (f->stray)
		return 0;
	for (uint32_t i = 0; i < FAKE_GUARD; i++)
		if (f->mem[i] != FAKE_GUARD_BYTE ||
		    f->mem[FAKE_GUARD + FAKE_DRAM_SIZE + i] != FAKE_GUARD_BYTE)
			return 0;
	return 1;
}

void fake_apply(struct fake *f, const uint8_t *p, size_t n)
{
	uint8_t b[FAKE_APPLY_MAX] = {0};
	uint32_t v;

	memcpy(b, p, n < sizeof(b) ? n : sizeof(b));
	v = npu_usb_get32(b + 1);
	switch (b[0] & 3) {
	case FAKE_CSR_FAIL:
		f->csr_fail_off = v == FAKE_NO_FAIL ? FAKE_NO_FAIL : v & 0xffcu;
		break;
	case FAKE_DRAM_FAIL:
		f->dram_fail_after = v;
		break;
	case FAKE_RESET_FAIL:
		f->reset_fails = v & 1;
		break;
	default:
		f->regs[NPU_REG_IRQ_STATUS / 4 + (b[1] & 7)] = npu_usb_get32(b + 2);
		break;
	}
}

void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	memset(f->mem, FAKE_GUARD_BYTE, sizeof(f->mem));
	memset(f->mem + FAKE_GUARD, 0, FAKE_DRAM_SIZE);
	f->regs[NPU_REG_ID / 4] = NPU_HW_ID_MAGIC;
	f->regs[NPU_REG_VERSION / 4] = NPU_HW_DESC_VERSION << NPU_REG_VERSION_DESC_SHIFT |
	                               NPU_HW_VERSION_MAJOR << NPU_REG_VERSION_MAJOR_SHIFT |
	                               NPU_HW_VERSION_MINOR << NPU_REG_VERSION_MINOR_SHIFT;
	f->regs[NPU_REG_CAPS0 / 4] = 0x08081010u;
	f->regs[NPU_REG_CAPS1 / 4] = 0x00800040u;
	f->regs[NPU_REG_CAPS2 / 4] = 0x00040010u;
	f->regs[NPU_REG_CAPS3 / 4] = 0x00280410u; /* 16-byte DMA, 4 windows, 40 bits */
	f->regs[NPU_REG_CAPS_ENGINES / 4] = 0x1ffu;
	f->csr_fail_off = FAKE_NO_FAIL;
	f->dram_fail_after = FAKE_NO_FAIL;
	f->hal = (struct fw_hal){
	        .ctx = f,
	        .csr_read = fake_csr_read,
	        .csr_write = fake_csr_write,
	        .dram_base = FAKE_DRAM_BASE,
	        .dram_size = FAKE_DRAM_SIZE,
	        .dram_write = fake_dram_write,
	        .dram_read = fake_dram_read,
	        .irq_line = fake_irq_line,
	        .npu_reset = fake_npu_reset,
	        .board_id = FAKE_BOARD_ID,
	};
}
