/*
 * lwnpu Verilator harness: the C ABI the driver's `sim` backend calls
 * (docs/HARDWARE.md, "Harness and C ABI").
 *
 * One struct npu_sim is one device: a Verilated npu_top ("default" or
 * "small" configuration) plus a host-memory model with a request-to-data
 * latency and a bandwidth. Device addresses are resolved through the
 * mappings made with npu_sim_map(); a burst outside every mapping gets a
 * bus error response. Single-threaded: one npu_sim must not be used from
 * two threads at once (distinct npu_sims are independent).
 */
#ifndef NPU_SIM_H
#define NPU_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct npu_sim;

struct npu_sim_config {
	const char *config;           /* "default" or "small" */
	uint32_t mem_latency;         /* cycles from request to first data; 0 = default (100) */
	uint32_t mem_bytes_per_cycle; /* 0 = default (8) */
	const char *fst_path;         /* NULL = $NPU_SIM_FST or no trace */
};

/* Create a device, held in reset for a few cycles then released.
 * Returns 0 (*out written) or -1: NULL argument, unknown config name, or
 * a trace requested from a build without FST support. */
int npu_sim_create(const struct npu_sim_config *cfg, struct npu_sim **out);
/* Destroy; NULL is a no-op. Closes the trace. */
void npu_sim_destroy(struct npu_sim *sim);

/* One register access through the CSR port (one device cycle each).
 * Returns 0 (*value written for a read), or -1 on an error response
 * (unmapped or misaligned offset). */
int npu_sim_reg_read(struct npu_sim *sim, uint32_t offset, uint32_t *value);
int npu_sim_reg_write(struct npu_sim *sim, uint32_t offset, uint32_t value);

/* Make [dev_addr, dev_addr+size) of the device address space refer to host
 * memory at host (not copied: the device reads and writes it in place).
 * Returns 0, or -1 for size 0, a NULL host, a wrapping range or an overlap
 * with an existing mapping. A single burst must lie inside one mapping. */
int npu_sim_map(struct npu_sim *sim, uint64_t dev_addr, void *host, size_t size);
/* Remove the mapping starting at dev_addr. Returns 0 or -1 (none there). */
int npu_sim_unmap(struct npu_sim *sim, uint64_t dev_addr);

/* Clock the device until irq_o is high or max_cycles pass. Returns 1 if the
 * IRQ line is high (also when it already was), 0 if the budget ran out. */
int npu_sim_run(struct npu_sim *sim, uint64_t max_cycles);
/* Device cycles since create (register accesses included). */
uint64_t npu_sim_cycles(const struct npu_sim *sim);

/* Test hooks. The next burst overlapping [addr, addr+len) is answered with
 * a bus error (one shot; a later call replaces a pending one). With on != 0
 * the memory withholds every response (read data, write acceptance, write
 * responses) until called with on == 0; withheld responses then proceed. */
void npu_sim_inject_bus_error(struct npu_sim *sim, uint64_t addr, uint64_t len);
void npu_sim_inject_hang(struct npu_sim *sim, int on);

/* Additive extensions. */
/* Memory-model statistics since create. Any pointer may be NULL. */
void npu_sim_mem_stats(const struct npu_sim *sim, uint64_t *rd_bytes, uint64_t *wr_bytes,
                       uint64_t *bus_errors);
/* Configuration name of this device ("default" or "small"). */
const char *npu_sim_config_name(const struct npu_sim *sim);

/* More test hooks (the `sim` backend's fault options, driver/sim.c). Each
 * arms one fault that fires once; arming again replaces a pending one.
 * Events are counted from the call: "burst" = every read or write burst
 * the device issues (descriptor fetches included), "descriptor fetch" = a
 * read burst at a descriptor slot of the ring (RING_BASE/RING_SIZE as last
 * written through npu_sim_reg_write), "interrupt" = a rising edge of irq_o.
 *   bus_error_after(n): bursts 1..n are answered normally, burst n+1 with
 *     a bus error (ERR_DMA_BUS).
 *   hang_after(n): at burst n+1 the memory stops answering, as
 *     npu_sim_inject_hang(sim, 1) (that burst and every one in flight);
 *     npu_sim_inject_hang(sim, 0) ends it.
 *   corrupt_desc(n): descriptor fetch n (1 = the next one) reaches the
 *     device with its opcode byte inverted (an unknown opcode: the command
 *     processor reports ERR_DESC_OPCODE); memory is not changed. 0 disarms.
 *   lose_irq(n): interrupt n (1 = the next one) is lost: npu_sim_run does
 *     not see the line high until it has been low again (IRQ_STATUS still
 *     latches the cause; acknowledging it or a soft reset lowers the line).
 *     0 disarms. */
void npu_sim_inject_bus_error_after(struct npu_sim *sim, uint64_t n);
void npu_sim_inject_hang_after(struct npu_sim *sim, uint64_t n);
void npu_sim_inject_corrupt_desc(struct npu_sim *sim, uint64_t n);
void npu_sim_inject_lose_irq(struct npu_sim *sim, uint64_t n);
/* Clock the device, whatever its IRQ line, until the memory model has
 * answered every burst issued and stayed idle for a few cycles (a reset's
 * wait for outstanding bus transactions; end an injected hang first).
 * Returns 0, or -1 if that did not happen within max_cycles. */
int npu_sim_drain(struct npu_sim *sim, uint64_t max_cycles);
/* Bus monitor: bytes written to memory outside every DMA window that had
 * WRITE permission when they landed (windows as last written through
 * npu_sim_reg_write), since create. The device's own window check refuses
 * such bursts, so anything but 0 is a bug (or a write of a failed job
 * landing after the driver moved the windows). */
uint64_t npu_sim_stray_write_bytes(const struct npu_sim *sim);

/* Engine hang (npu_top's dbg_engine_hold_i, docs/HARDWARE.md §14): while an
 * engine is held the command processor never sees it finish, so the
 * descriptor running on it does not complete and the watchdog reports
 * ERR_WATCHDOG. engine_mask: NPU_SIM_ENGINE_* bits (other bits ignored).
 * n == 0 holds them at once; n >= 1 holds them when the nth descriptor
 * (counted from the call) for one of them is fetched -- a descriptor is
 * fetched before it starts, so an earlier one of that engine still running
 * then hangs instead. A CTRL.SOFT_RESET write through npu_sim_reg_write
 * releases the hold (an armed, not yet fired hang stays armed). Arming
 * again replaces a pending one; mask 0 disarms. */
#define NPU_SIM_ENGINE_PW  0x1u
#define NPU_SIM_ENGINE_DW  0x2u
#define NPU_SIM_ENGINE_PPU 0x4u
void npu_sim_inject_engine_hang(struct npu_sim *sim, unsigned engine_mask, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* NPU_SIM_H */
