"""Linux's rules for a process's ids: real, effective and saved user and group ids.

credentials(7), setresuid(2), setreuid(2), setuid(2): a privileged process (effective uid 0)
sets any id; another may only pick among its current real, effective and saved ids (setreuid's
real id: only the real or effective one). Ids are 32-bit (uid_t: a register's upper half is
not read); -1 (0xFFFFFFFF) leaves one as it is, and is no id to set (EINVAL: uid_valid).
File permissions do not follow the ids in hmk (every file is accessible, as to root).
"""

from hmk.linux.abi import EINVAL, EPERM

UNCHANGED = 0xFFFFFFFF


def setres(ids: list[int], privileged: bool, new) -> int:
    """set[res]uid/gid: `ids` (real, effective, saved) become `new`, UNCHANGED kept."""
    new = [x & 0xFFFFFFFF for x in new]
    if not privileged and any(x != UNCHANGED and x not in ids for x in new):
        return -EPERM
    for i, x in enumerate(new):
        if x != UNCHANGED:
            ids[i] = x
    return 0


def setre(ids: list[int], privileged: bool, r: int, e: int) -> int:
    """setre[ug]id: the saved id follows the new effective one when the real id is set or the
    effective id changes to other than the real one."""
    r, e = r & 0xFFFFFFFF, e & 0xFFFFFFFF
    real = ids[0] if r == UNCHANGED else r
    effective = ids[1] if e == UNCHANGED else e
    saved = effective if r != UNCHANGED or (e != UNCHANGED and e != ids[0]) else UNCHANGED
    if not privileged and (r != UNCHANGED and r not in ids[:2]):
        return -EPERM  # an unprivileged real id: only to the real or effective one
    return setres(ids, privileged, (real, e, saved))


def set_one(ids: list[int], privileged: bool, value: int) -> int:
    """set[ug]id: root sets all three ids; others only the effective one, and only to the real
    or the saved id."""
    value &= 0xFFFFFFFF
    if value == UNCHANGED:
        return -EINVAL
    if not privileged and value not in (ids[0], ids[2]):
        return -EPERM
    new = (value, value, value) if privileged else (UNCHANGED, value, UNCHANGED)
    return setres(ids, privileged, new)
