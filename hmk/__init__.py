"""hmk: a cycle-level model of the HongMeng microkernel on ARMv8 hardware profiles."""

__version__ = "0.1.0"
