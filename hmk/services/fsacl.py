"""POSIX access control lists, as Linux's fs/posix_acl.c keeps them on a tmpfs: the extended
attributes system.posix_acl_access and system.posix_acl_default, in their xattr format
(struct posix_acl_xattr_header, version 2, then 8-byte entries: tag, permissions, id).

- setting one parses and checks it (a version other than 2: EOPNOTSUPP; a bad size, tag, id or
  order: EINVAL); an empty value removes it. An access ACL that says no more than the mode (only
  the owner's, the group's and the others' entries) is not kept: it sets the mode. Another sets
  the mode's bits from it (the group's from its mask) and is kept. A default ACL belongs to a
  directory (on anything else: EACCES, or nothing to do when removing one);
- chmod rewrites a kept access ACL's owner, mask (or group) and other entries from the mode;
- a node made in a directory with a default ACL gets its permissions from that ACL instead of
  the umask, an access ACL if they say more than a mode can, and (a directory) the default ACL.

DAC is not modelled (every file is accessible), so an ACL changes what stat and getxattr say,
not who may open a file.
"""

from __future__ import annotations

import struct

from hmk.linux.abi import EINVAL, EOPNOTSUPP

ACCESS, DEFAULT = b"system.posix_acl_access", b"system.posix_acl_default"
NAMES = (ACCESS, DEFAULT)
VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
UNDEFINED_ID = 0xFFFFFFFF
PERMS = 0o7  # read, write, execute

Entry = tuple[int, int, int]  # (tag, permissions, id)


def parse(value: bytes) -> list[Entry] | None | int:
    """posix_acl_from_xattr: the entries, None for an empty ACL (a removal), or -errno."""
    if not value:
        return None
    if len(value) < 4:
        return -EINVAL
    if struct.unpack_from("<I", value)[0] != VERSION:
        return -EOPNOTSUPP
    if (len(value) - 4) % 8:
        return -EINVAL
    acl = []
    for tag, perm, uid in struct.iter_unpack("<HHI", value[4:]):
        if tag in (USER, GROUP):
            if uid == UNDEFINED_ID:
                return -EINVAL
        elif tag in (USER_OBJ, GROUP_OBJ, MASK, OTHER):
            uid = UNDEFINED_ID
        else:
            return -EINVAL
        acl.append((tag, perm, uid))
    return acl or None


def valid(acl: list[Entry]) -> int:
    """posix_acl_valid: known permission bits, the owner's entry, named users, the group's
    entry, named groups, the mask (needed with named entries), the others' entry, in that
    order; 0 or -EINVAL."""
    state, needs_mask = USER_OBJ, False
    for tag, perm, _ in acl:
        if perm & ~PERMS:
            return -EINVAL
        if tag == USER_OBJ and state == USER_OBJ:
            state = USER
        elif tag == USER and state == USER or tag == GROUP and state == GROUP:
            needs_mask = True
        elif tag == GROUP_OBJ and state == USER:
            state = GROUP
        elif tag == MASK and state == GROUP:
            state = OTHER
        elif tag == OTHER and (state == OTHER or state == GROUP and not needs_mask):
            state = 0
        else:
            return -EINVAL
    return 0 if state == 0 else -EINVAL


def encode(acl: list[Entry]) -> bytes:
    """posix_acl_to_xattr."""
    return struct.pack("<I", VERSION) + b"".join(struct.pack("<HHI", *e) for e in acl)


def entries(value: bytes) -> list[Entry]:
    return list(struct.iter_unpack("<HHI", value[4:]))


def equivalent_mode(acl: list[Entry], mode: int) -> tuple[int, bool]:
    """posix_acl_equiv_mode: the mode the ACL gives (its permission bits), and whether the
    ACL says no more than that mode."""
    perms, equivalent = 0, True
    for tag, perm, _ in acl:
        if tag == USER_OBJ:
            perms |= perm << 6
        elif tag == GROUP_OBJ:
            perms |= perm << 3
        elif tag == OTHER:
            perms |= perm
        else:  # a mask, named users and groups
            equivalent = False
    for tag, perm, _ in acl:
        if tag == MASK:  # the mask is the group's bits
            perms = perms & ~0o70 | perm << 3
    return mode & ~0o777 | perms, equivalent


def chmod(value: bytes, mode: int) -> bytes:
    """__posix_acl_chmod: the owner's, the mask's (without one, the group's) and the others'
    permissions from `mode`."""
    acl = entries(value)
    masked = any(tag == MASK for tag, _, _ in acl)
    out = []
    for tag, perm, uid in acl:
        if tag == USER_OBJ:
            perm = mode >> 6 & PERMS
        elif tag == MASK or tag == GROUP_OBJ and not masked:
            perm = mode >> 3 & PERMS
        elif tag == OTHER:
            perm = mode & PERMS
        out.append((tag, perm, uid))
    return encode(out)


def inherit(default: bytes, mode: int, directory: bool):
    """posix_acl_create for a node made with `mode` in a directory with the `default` ACL:
    (its mode, its access ACL or None, its default ACL or None). The umask does not apply."""
    acl = entries(default)
    group = mask = None
    equivalent = True
    for i, (tag, perm, _) in enumerate(acl):
        if tag == USER_OBJ:
            perm &= mode >> 6 & PERMS
            mode &= perm << 6 | ~0o700
        elif tag == OTHER:
            perm &= mode & PERMS
            mode &= perm | ~0o7
        elif tag == GROUP_OBJ:
            group = i
        elif tag == MASK:
            mask = i
        else:
            equivalent = False
        acl[i] = (tag, perm, acl[i][2])
    which = mask if mask is not None else group
    if which is not None:
        tag, perm, uid = acl[which]
        perm &= mode >> 3 & PERMS
        mode &= perm << 3 | ~0o70
        acl[which] = (tag, perm, uid)
        equivalent = equivalent and mask is None
    return mode, None if equivalent else encode(acl), default if directory else None
