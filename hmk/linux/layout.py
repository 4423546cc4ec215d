"""A Linux process's address space as hmk lays it out (arm64, no randomisation).

User space ends where the core kernel's linear map of RAM begins (hmk.kernel.objects.KERNEL_BASE,
mapped in every address space): a 47.8-bit user VA, like a Linux kernel built with a smaller
VA_BITS (phones often use 39). The program sits at its ELF addresses, the heap (brk) from the page
after its last segment, the stack below STACK_TOP with the signal-return page above it, mmap
areas top-down from MMAP_BASE (STACK_TOP less Linux's minimum 128 MiB stack gap). A dynamically
linked program's interpreter is the first thing in the mmap area (`interpreter_bias`).
"""

import struct

from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.objects import KERNEL_BASE

TASK_SIZE = KERNEL_BASE  # the end of user space
STACK_TOP = TASK_SIZE - PAGE_SIZE
STACK_SIZE = 8 << 20  # RLIMIT_STACK's default, 8 MiB
STACK_FLOOR = STACK_TOP - STACK_SIZE  # nothing else may be mapped at or above it
SIGPAGE = STACK_TOP  # the page above the stack: the signal-return trampoline
# mov x8, #139 (rt_sigreturn); svc #0: what Linux's vDSO trampoline does
SIGRETURN_CODE = struct.pack("<II", 0xD2801168, 0xD4000001)
MMAP_BASE = STACK_TOP - (128 << 20)
MMAP_FLOOR = 1 << 30  # mmap's top-down search stops this far above the start of the heap
MAX_ARG_BYTES = 128 * 1024  # execve's argv + envp (an assumption; Linux allows more)
MAX_MAP_BYTES = 1 << 47  # a longer mmap or mremap is EINVAL


def page_up(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def interpreter_bias(image) -> int:
    """The load bias of an ET_DYN interpreter (an ElfImage): Linux's ``load_elf_interp`` maps
    its PT_LOADs in one piece wherever mmap puts that much (``total_mapping_size``, page
    aligned, at no particular address): in a fresh address space the top of the mmap area.
    An ET_EXEC interpreter stays at its own addresses (bias 0)."""
    if image.elf_type != "ET_DYN":
        return 0
    first, end = image.span
    return MMAP_BASE - page_up(end - first) - (first - image.bias)
