"""The core kernel's result codes: 0, or a negative error.

They are HM's own kernel interface (core-kernel calls return them in x0, workloads/hm/hmcalls.h
names them for guest programs), numbered as Linux numbers the errno of the same name, so that a
program sees familiar values; EBADTYPE has no Linux counterpart and lies outside their range.
The compiled twins use the same values (hmk/_fast/kernel_abi.pxd; tests compare them).
"""

OK = 0
EPERM = -1  # rights missing, or not a subset of the source's
ENOENT = -2  # an empty slot, or no such object
ESRCH = -3  # not a live TCB
EAGAIN = -11  # no activation free: the caller was queued (BLOCKED)
ENOMEM = -12  # a pool is exhausted
EBUSY = -16  # a notification already has a waiter
EEXIST = -17  # the destination slot is occupied, or the page is mapped
EINVAL = -22  # an index outside its table, a bad object reference or argument
EPIPE = -32  # a dead endpoint
ENOSYS = -38  # no such call
EMSGSIZE = -90  # a message or reply longer than the 2 KiB receive buffer
EBADTYPE = -200  # the capability is of another type

BLOCKED = EAGAIN  # the calling thread was queued or blocked; it is woken later
