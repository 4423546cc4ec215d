"""The Linux ABI, as one layer over HM's core kernel: what makes a process a Linux process.

    abi          the user API's numbers (errno, flags, signals, clocks), importing nothing
    numbers      every AArch64 syscall number, its name and its arguments' kinds
    syscalls     the one syscall table: each number's owning service and handler, or why it
                 answers ENOSYS; and `Call`, a syscall as a handler receives it
    shim         the ABI shim (IC0): a Linux process's SVCs to their services' handlers,
                 calls that block and run again, signal delivery, its faults to its pager
    signals      signal state, frames and the rules for interrupted calls
    credentials  the set*id rules
    clock        the shim's own calls: clocks, sleeps, sched_yield
    layout       a Linux process's address-space layout
    stack        the initial stack execve builds
    strace       --strace's lines

The core kernel (hmk.kernel) knows none of it: it forwards a process's foreign SVCs and faults
to the personality the process was started with (hmk.kernel.core.Personality); the services
(hmk.services) own the calls' handlers and state.
"""
