"""An open file's owner: the thread, process or process group its I/O signals would go to, as
Linux's f_owner keeps it (fs/fcntl.c): fcntl's F_SETOWN and F_GETOWN (a negative id: a process
group), F_SETOWN_EX and F_GETOWN_EX (struct f_owner_ex: F_OWNER_TID, F_OWNER_PID,
F_OWNER_PGRP), F_SETSIG and F_GETSIG (the signal to send instead of SIGIO: 0 to 64), and a
socket's FIOSETOWN, SIOCSPGRP, FIOGETOWN and SIOCGPGRP. Setting an id no
live thread, process, group or session has is ESRCH; reading it back gives 0 once no task of
its kind holds it. The owner is kept and read back; SIGIO itself is not sent (O_ASYNC is not
modelled). Each function takes the process manager, which knows the ids.
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    EFAULT,
    EINVAL,
    ESRCH,
    F_GETOWN,
    F_GETOWN_EX,
    F_GETSIG,
    F_OWNER_PGRP,
    F_OWNER_PID,
    F_OWNER_TID,
    F_SETOWN,
    F_SETOWN_EX,
    F_SETSIG,
    NSIG,
)

OWNER_COMMANDS = (F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETSIG, F_GETSIG)
KINDS = {F_OWNER_TID: "tid", F_OWNER_PID: "tgid", F_OWNER_PGRP: "pgid"}
TYPES = {kind: t for t, kind in KINDS.items()}
NOBODY = ("tid", 0)  # a new file's (Linux's zeroed f_owner: PIDTYPE_PID, no pid)


def set_owner(procmgr, f, who: int) -> int:
    """F_SETOWN: `who` > 0 a process, < 0 the process group -who, 0 nobody (f_setown)."""
    who = struct.unpack("<i", struct.pack("<I", who & 0xFFFFFFFF))[0]
    if who == -(2**31):
        return -EINVAL
    kind = "pgid" if who < 0 else "tgid"
    if who and not procmgr.holds_id(abs(who), "any"):
        return -ESRCH
    f.owner = (kind, abs(who))
    return 0


def get_owner(procmgr, f) -> int:
    """F_GETOWN: the owner's id, negative for a process group, 0 if none is alive (f_getown)."""
    kind, n = f.owner
    if not n or not procmgr.holds_id(n, kind):
        return 0
    return -n if kind == "pgid" else n


def fcntl_owner(procmgr, space, f, cmd: int, arg: int) -> int:
    """fcntl's owner commands on the open file `f` (`space`: the caller's memory)."""
    if cmd == F_SETOWN:
        return set_owner(procmgr, f, arg)
    if cmd == F_GETOWN:
        return get_owner(procmgr, f)
    if cmd == F_SETSIG:
        if not 0 <= struct.unpack("<i", struct.pack("<I", arg & 0xFFFFFFFF))[0] <= NSIG:
            return -EINVAL  # (an int, valid_signal's)
        f.signum = arg & 0xFFFFFFFF
        return 0
    if cmd == F_GETSIG:
        return f.signum
    if cmd == F_SETOWN_EX:
        raw = space.read(arg, 8)
        if raw is None:
            return -EFAULT
        type_, pid = struct.unpack("<ii", raw)
        if type_ not in KINDS:
            return -EINVAL
        if pid and (pid < 0 or not procmgr.holds_id(pid, "any")):
            return -ESRCH
        f.owner = (KINDS[type_], pid)
        return 0
    kind, n = f.owner  # F_GETOWN_EX
    alive = n if n and procmgr.holds_id(n, kind) else 0
    return 0 if space.write(arg, struct.pack("<ii", TYPES[kind], alive)) else -EFAULT
