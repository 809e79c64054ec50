/*
 * The cosim backend's test hook (driver/cosim.c): the card protocol's
 * state under an open device, for the counters of its control page.
 */
#ifndef NPU_DRIVER_COSIM_H
#define NPU_DRIVER_COSIM_H

#include "driver/backend.h"
#include "driver/card.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The card under an open cosim device; NULL for any other device. */
struct npu_card *npu_cosim_backend_card(struct npu_hw *hw);

#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_COSIM_H */
