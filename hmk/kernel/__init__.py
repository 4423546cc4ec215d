"""HM's core kernel (IC0): objects in simulated memory, capabilities, threads and the scheduler,
VSpaces and page tables, migrating-thread IPC, notifications, address tokens, policy-free kernel
paging, and the core-kernel calls HM-native programs make (hmcalls). `core.CoreKernel` boots it;
what a process does that is not a core-kernel call goes to the personality it was started with
(`core.Personality`: hmk.linux's shim for Linux programs). Nothing here knows Linux's ABI.
"""
