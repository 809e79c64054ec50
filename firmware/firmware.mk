# The dev-board firmware: host library, Cortex-M build, its unit tests
# under qemu-system-arm, the fuzz target (docs/USB_PROTOCOL.md).
