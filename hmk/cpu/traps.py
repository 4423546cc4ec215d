"""Why the CPU stopped a guest thread, as the CPU sees it. A personality maps each kind to what
its processes get (Linux's: a signal, hmk.linux.shim.SIGNAL_OF)."""

ABORT = "abort"  # a data or instruction abort the kernel refused (no mapping, no right)
UNDEFINED = "undefined instruction"
BREAKPOINT = "breakpoint"
OUT_OF_MEMORY = "out of memory"  # the kernel could not get a frame for it
STUCK = "nothing can run"  # every thread is blocked or suspended

# qemu's AArch64 exception numbers, as unicorn's interrupt hook reports them
EXCEPTION_NAMES = {
    1: "undefined instruction",
    3: "prefetch abort",
    4: "data abort",
    7: "breakpoint",
}
KIND_OF_EXCEPTION = {1: UNDEFINED, 3: ABORT, 4: ABORT, 7: BREAKPOINT}
