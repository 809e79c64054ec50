# The PCIe guest job (docs/PCIE.md).
