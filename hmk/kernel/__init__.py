"""The kernel side. Today: a minimal single-process Linux ABI (minimal.py) so real static
programs run on the timed CPU; the HM core kernel (IC0) and its services replace it next."""
