// Waiting for a batch of ring descriptors on the simulated device, shared by
// the device tests (npu_sim_test.cc) and the whole-schedule tests
// (npu_net_test.cc).
//
// An IRQ is not "the batch is done": IRQ_STATUS.DONE is raised by every
// descriptor with FLAG_IRQ that retires, so a batch holding more than one
// (a scheduler segment ends with its own FENCE | IRQ before the test's
// closing one; lib/core/hw_device.c flags every 256th descriptor of a long
// stream) raises it early, and the later ones may retire after the host
// acknowledged the first -- or only once the device is clocked again for
// the next batch (it does not run while the host runs a CPU segment), whose
// wait then ends at once on that stale DONE. Done is RING_HEAD == tail, as
// lib/core/hw_device.c waits for it.
#pragma once

#include <cstdint>

#include "driver/npu_regs.h"
#include "rtl-sim/harness/npu_sim.h"

namespace npu_test
{

// Runs the device until its IRQ line is high or `cycles` cycles passed (it
// may return at once if the line is already high). An IRQ is acknowledged;
// returns the IRQ_STATUS read (0: no IRQ). *spent += cycles run.
inline uint32_t RunAck(npu_sim *sim, uint64_t cycles, uint64_t *spent)
{
	const uint64_t c0 = npu_sim_cycles(sim);
	const int irq = npu_sim_run(sim, cycles);
	*spent += npu_sim_cycles(sim) - c0;
	if (!irq)
		return 0;
	uint32_t st = 0;
	npu_sim_reg_read(sim, NPU_REG_IRQ_STATUS, &st);
	npu_sim_reg_write(sim, NPU_REG_IRQ_ACK, st);
	return st;
}

inline uint32_t RingHead(npu_sim *sim)
{
	uint32_t h = 0;
	npu_sim_reg_read(sim, NPU_REG_RING_HEAD, &h);
	return h & NPU_REG_RING_HEAD_INDEX_MASK;
}

// Runs until every descriptor before `tail` has retired (RING_HEAD == tail),
// acknowledging every IRQ on the way. Returns NPU_REG_IRQ_STATUS_DONE_MASK
// when done, the IRQ_STATUS of an error IRQ (ERROR set; the device halted),
// or 0 if `budget` cycles passed first.
inline uint32_t Drain(npu_sim *sim, uint32_t tail, uint64_t budget)
{
	uint64_t spent = 0;
	while (RingHead(sim) != tail) {
		if (spent >= budget)
			return 0;
		const uint32_t st = RunAck(sim, budget - spent, &spent);
		if (st & NPU_REG_IRQ_STATUS_ERROR_MASK)
			return st;
	}
	return NPU_REG_IRQ_STATUS_DONE_MASK;
}

} // namespace npu_test
