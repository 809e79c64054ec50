# The virtual board (firmware/vboard) and the USB tests: their own
# binary, linked with libumockdev-preload first (docs/USB_PROTOCOL.md).
