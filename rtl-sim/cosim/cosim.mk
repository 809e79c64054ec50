# The co-simulated PCIe card: npu-cosim (docs/PCIE.md).
