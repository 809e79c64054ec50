/*
 * A recorded exchange with the firmware core: what the board's USB driver
 * handed to fw_control/fw_bulk_out/fw_bulk_in/fw_intr_in/fw_poll, in
 * order, as a byte string. The virtual board writes one per session when
 * NPU_VBOARD_RECORD names a file (firmware/vboard); the fuzz target
 * (firmware/fuzz) reads the same format, so the recorded exchanges of real
 * runs are its seeds, and it replays any byte string as such a session.
 *
 * A trace is a sequence of records: kind (1 byte), length (2 bytes,
 * little-endian), then length bytes of payload:
 *   FW_TRACE_CONTROL   8-byte setup packet, then the OUT data (if any)
 *   FW_TRACE_BULK_OUT  bytes of a bulk OUT transfer, its last piece
 *   FW_TRACE_BULK_MORE bytes of a bulk OUT transfer, more pieces follow
 *   FW_TRACE_BULK_IN   2-byte payload: the host read up to that many bytes
 *   FW_TRACE_INTR_IN   no payload: the host polled the interrupt endpoint
 *   FW_TRACE_IRQ       1-byte payload: the NPU's interrupt line is now 0/1
 *   FW_TRACE_POLL      no payload: one main-loop step (fw_poll)
 *   FW_TRACE_FAKE      the test board's own (firmware/tests/fake_hal.h,
 *                      fake_apply): a fault switched or an NPU register
 *                      set; the unit tests and the fuzz target write and
 *                      read it, a recorder of a real session never does
 * A reader ignores unknown kinds and stops at a truncated record.
 */
#ifndef LWNPU_FIRMWARE_FW_TRACE_H
#define LWNPU_FIRMWARE_FW_TRACE_H

enum fw_trace_kind {
	FW_TRACE_CONTROL = 1,
	FW_TRACE_BULK_OUT = 2,
	FW_TRACE_BULK_MORE = 3,
	FW_TRACE_BULK_IN = 4,
	FW_TRACE_INTR_IN = 5,
	FW_TRACE_IRQ = 6,
	FW_TRACE_POLL = 7,
	FW_TRACE_FAKE = 0x80,
};

#define FW_TRACE_HDR_BYTES 3u

#endif /* LWNPU_FIRMWARE_FW_TRACE_H */
