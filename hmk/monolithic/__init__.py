"""A Linux-like monolithic kernel's mechanisms (docs/linux-kernel.md): the `linux` composition's
kernel, beside HM's core kernel (hmk.kernel) on the same substrate."""
