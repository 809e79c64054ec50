/*
 * The `sim` backend's one extra for tests (driver/sim.c): the harness
 * device behind an open sim npu_hw, for its statistics, its write monitor
 * and its fault hooks (rtl-sim/harness/npu_sim.h).
 */
#ifndef NPU_DRIVER_SIM_H
#define NPU_DRIVER_SIM_H

#ifdef __cplusplus
extern "C" {
#endif

struct npu_hw;
struct npu_sim;

/* The harness device of hw, or NULL if hw is not open on the sim backend. */
struct npu_sim *npu_sim_backend_device(struct npu_hw *hw);

#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_SIM_H */
