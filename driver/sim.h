/*
 * The `sim` backend's one extra for tests (driver/sim.c): the harness
 * device behind an open sim npu_hw, for its statistics, its write monitor
 * and its fault hooks (rtl-sim/harness/npu_sim.h).
 */
#ifndef NPU_DRIVER_SIM_H
#define NPU_DRIVER_SIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct npu_hw;
struct npu_sim;

/* The harness device of hw, or NULL if hw is not open on the sim backend. */
struct npu_sim *npu_sim_backend_device(struct npu_hw *hw);

/* Bytes buf_sync has moved on an open sim device with memory=separate
 * since open: host to device, device to host. Returns 0, or -1 (nothing
 * written) when hw is not a sim device with separate memory. */
int npu_sim_backend_sync_bytes(struct npu_hw *hw, uint64_t *to_dev, uint64_t *from_dev);

#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_SIM_H */
