/*
 * The co-simulated lwnpu PCIe card (docs/PCIE.md "npu-cosim"): the
 * Verilated NPU behind the host interface of driver/npu_card.h, served
 * as an ivshmem server on a Unix socket. QEMU's ivshmem-doorbell device
 * (or the cosim backend, driver/cosim.c, which does what QEMU does) is
 * its one client at a time: the card's memory is a memfd both map, the
 * doorbell and the MSI-X vector are eventfds passed at connect.
 *
 * Single-threaded: npu_cosim_serve() runs the NPU and answers the host
 * on the calling thread until npu_cosim_stop().
 */
#ifndef NPU_RTL_SIM_COSIM_H
#define NPU_RTL_SIM_COSIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NPU_COSIM_DEFAULT_MEM (256ull << 20)

struct npu_cosim_config {
	const char *socket_path;    /* where the ivshmem server listens */
	uint64_t mem_size;          /* BAR2 bytes, a power of two; 0 = 256 MiB */
	const char *npu_config;     /* "default" or "small"; NULL = default */
	uint64_t kill_after_cycles; /* fault: SIGKILL itself after N cycles; 0 = off */
	int quiet;                  /* no messages but errors */
};

struct npu_cosim;

/* Make the card: its memory, the NPU, the control page (READY last) and
 * the listening socket (it appears at socket_path only once it listens).
 * Returns 0, or -1 with the reason in why. */
int npu_cosim_create(const struct npu_cosim_config *cfg, struct npu_cosim **out, char *why,
                     size_t why_len);
/* Serve hosts until npu_cosim_stop(). Returns 0, or -1 on a failure of
 * the server itself (poll, accept), said on stderr. */
int npu_cosim_serve(struct npu_cosim *c);
/* Make npu_cosim_serve() return soon. Async-signal-safe, any thread. */
void npu_cosim_stop(struct npu_cosim *c);
/* State STOPPED, socket removed, everything freed. NULL is a no-op. */
void npu_cosim_destroy(struct npu_cosim *c);

#ifdef __cplusplus
}
#endif

#endif /* NPU_RTL_SIM_COSIM_H */
