"""fsmgr's extended attributes: the twelve calls (set, get, list and remove; by path, by path
not following a last symbolic link, by descriptor), with the work each is charged
(hmk.services.fsmgr's `costs`).

A node's attributes are kept on it (`Node.xattrs`, name -> value), on the file systems that keep
them (a tmpfs, devfs, an imported tree's memory upper layer: hmk.services.fstypes); procfs and
the kernel's internal file systems keep none (EOPNOTSUPP; listing gives nothing). As Linux's
fs/xattr.c and tmpfs's simple_xattrs answer:

- names are "user.", "trusted." or "security." and a suffix (another namespace is EOPNOTSUPP, a
  bare prefix EINVAL), at most 255 bytes (longer or empty: ERANGE); a value at most 64 KiB
  (E2BIG); XATTR_CREATE on an existing name is EEXIST, XATTR_REPLACE or a removal of a missing
  one ENODATA; a buffer too small for a value or a list ERANGE, a size 0 asks for the size;
- user.* belongs to regular files and directories only (on anything else: EPERM to change,
  ENODATA to read); trusted.* to root (another process: EPERM to change, ENODATA to read, and
  listing leaves them out);
- a socket keeps none: sockfs answers its own system.sockprotoname, and refuses to set or
  remove security.* (EOPNOTSUPP, EAGAIN: left to a security module, and there is none);
- a change on a read-only tree is EROFS, and announces IN_ATTRIB; listing gives the names in
  descending byte order, as tmpfs's red-black tree of them does.
"""

from __future__ import annotations

import stat

from hmk.hw.events import READ
from hmk.linux.abi import (
    AT_FDCWD,
    E2BIG,
    EACCES,
    EAGAIN,
    EBADF,
    EEXIST,
    EFAULT,
    EINVAL,
    ENODATA,
    ENOENT,
    EOPNOTSUPP,
    EPERM,
    ERANGE,
    EROFS,
    IN_ATTRIB,
    XATTR_CREATE,
    XATTR_LIST_MAX,
    XATTR_NAME_MAX,
    XATTR_REPLACE,
    XATTR_SIZE_MAX,
)
from hmk.services import fsacl
from hmk.services.copies import lines, log_user
from hmk.services.fsnames import _int
from hmk.services.fstypes import XATTRS
from hmk.services.vfs import Dir, Symlink

NAMESPACES = (b"user.", b"trusted.", b"security.")
SOCKPROTONAME = b"system.sockprotoname"  # a socket's protocol's name (sockfs)
STICKY = 0o1000


class ExtendedAttributes:
    """The xattr calls, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    # ---- the twelve calls ----------------------------------------------------------------
    def sys_setxattr(self, call, path, name, value, size, flags, *_):
        return self._set(call, (path, True), name, value, size, flags)

    def sys_lsetxattr(self, call, path, name, value, size, flags, *_):
        return self._set(call, (path, False), name, value, size, flags)

    def sys_fsetxattr(self, call, fd, name, value, size, flags, *_):
        return self._set(call, fd, name, value, size, flags)

    def sys_getxattr(self, call, path, name, value, size, *_):
        return self._get(call, (path, True), name, value, size)

    def sys_lgetxattr(self, call, path, name, value, size, *_):
        return self._get(call, (path, False), name, value, size)

    def sys_fgetxattr(self, call, fd, name, value, size, *_):
        return self._get(call, fd, name, value, size)

    def sys_listxattr(self, call, path, buf, size, *_):
        return self._list(call, (path, True), buf, size)

    def sys_llistxattr(self, call, path, buf, size, *_):
        return self._list(call, (path, False), buf, size)

    def sys_flistxattr(self, call, fd, buf, size, *_):
        return self._list(call, fd, buf, size)

    def sys_removexattr(self, call, path, name, *_):
        return self._remove(call, (path, True), name)

    def sys_lremovexattr(self, call, path, name, *_):
        return self._remove(call, (path, False), name)

    def sys_fremovexattr(self, call, fd, name, *_):
        return self._remove(call, fd, name)

    # ---- what they do --------------------------------------------------------------------
    def _set(self, call, where, name_ptr, value_ptr, size: int, flags: int) -> int:
        if _int(flags) & ~(XATTR_CREATE | XATTR_REPLACE):
            return -EINVAL
        name = self._xattr_name(call, name_ptr)
        if isinstance(name, int):
            return name
        value = b""
        if size:
            if size > XATTR_SIZE_MAX:
                return -E2BIG
            value = call.space.read(value_ptr, size)
            if value is None:
                return -EFAULT
            log_user(self.k.mem, call.space, value_ptr, size, READ)
        node = self._xattr_node(call, where, cwd=True)
        if isinstance(node, int):
            return node
        if name in fsacl.NAMES:
            return self._set_acl(call, node, name, value)
        err = self._xattr_change(call, node, name)
        if err:
            return err
        with self.working(xattr_set=1, copy_page=int(bool(value)), copy_line=lines(len(value))):
            attrs = node.xattrs if node.xattrs is not None else {}
            if flags & XATTR_CREATE and name in attrs:
                return -EEXIST
            if flags & XATTR_REPLACE and name not in attrs:
                return -ENODATA
            attrs[name] = value
            node.xattrs = attrs
        self.notify(node, IN_ATTRIB)
        return 0

    def _get(self, call, where, name_ptr, value_ptr, size: int) -> int:
        name = self._xattr_name(call, name_ptr)
        if isinstance(name, int):
            return name
        node = self._xattr_node(call, where, cwd=True)
        if isinstance(node, int):
            return node
        if name in fsacl.NAMES:
            err = self._acl_kept(node, name)
            err = 0 if err == -ENODATA else err  # (an ACL it cannot have: none to read)
        elif name == SOCKPROTONAME and hasattr(node, "protocol_name"):
            err = 0
        else:
            err = self._xattr_allowed(call, node, name, write=False) or self._xattr_kept(node, name)
        if err:
            return err
        with self.working(xattr_get=1) as ops:
            value = (node.xattrs or {}).get(name)
            if getattr(node, "pidfs", False) and not node.xattrs:
                value = b""  # (pidfs answers any name with nothing until one is set)
            if name == SOCKPROTONAME and hasattr(node, "protocol_name"):
                value = node.protocol_name + b"\0"
            if value is None:
                return -ENODATA
            if not size:
                return len(value)
            if min(size, XATTR_SIZE_MAX) < len(value):
                return -ERANGE
            ops.update(copy_page=int(bool(value)), copy_line=lines(len(value)))
            return self._out(call, value_ptr, value) or len(value)

    def _list(self, call, where, buf: int, size: int) -> int:
        node = self._xattr_node(call, where)
        if isinstance(node, int):
            return node
        root = call.task.uids[1] == 0
        kept = getattr(node, "pidfs", False) or self.mounts.of(node).kind in XATTRS
        names = sorted(node.xattrs or (), reverse=True) if kept else []
        names = [n for n in names if root or not n.startswith(b"trusted.")]
        if hasattr(node, "protocol_name"):  # a socket: sockfs's own attribute
            names = [SOCKPROTONAME]
        acls = [n for n in fsacl.NAMES if n in names]  # the ACLs first, as posix_acl_listxattr
        names = acls + [n for n in names if n not in acls]
        blob = b"".join(n + b"\0" for n in names)
        with self.working(xattr_get=1, xattr_name=len(names)) as ops:
            if not size or not blob:
                return len(blob)
            if min(size, XATTR_LIST_MAX) < len(blob):
                return -ERANGE
            ops.update(copy_page=1, copy_line=lines(len(blob)))
            return self._out(call, buf, blob) or len(blob)

    def _remove(self, call, where, name_ptr) -> int:
        name = self._xattr_name(call, name_ptr)
        if isinstance(name, int):
            return name
        node = self._xattr_node(call, where)
        if isinstance(node, int):
            return node
        if name in fsacl.NAMES:
            return self._set_acl(call, node, name, b"")
        err = self._xattr_change(call, node, name, removing=True)
        if err:
            return err
        with self.working(xattr_set=1):
            if name not in (node.xattrs or {}):
                return -ENODATA
            del node.xattrs[name]
        self.notify(node, IN_ATTRIB)
        return 0

    def _set_acl(self, call, node, name: bytes, value: bytes) -> int:
        """A POSIX ACL set (an empty value: removed), in Linux's order (vfs_set_acl,
        set_posix_acl): the mount's write access, the value parsed, the file system's support,
        a default ACL's directory, the owner (or root), the ACL's validity. hmk.services.fsacl
        says what it does to the mode."""
        if self.mounts.of(node).readonly:
            return -EROFS
        acl = fsacl.parse(value)
        if isinstance(acl, int):
            return acl
        err = self._acl_kept(node, name)
        if err == -ENODATA:
            return 0 if acl is None else -EACCES
        if err:
            return err
        if call.task.uids[1] not in (0, node.uid):
            return -EPERM
        if acl is not None and fsacl.valid(acl):
            return -EINVAL
        with self.working(xattr_set=1, copy_line=lines(len(value))):
            attrs = node.xattrs if node.xattrs is not None else {}
            if name == fsacl.ACCESS and acl is not None:
                node.mode, equivalent = fsacl.equivalent_mode(acl, node.mode)
                acl = None if equivalent else acl
            if acl is None:
                attrs.pop(name, None)
            else:
                attrs[name] = fsacl.encode(acl)
            node.xattrs = attrs
        self.notify(node, IN_ATTRIB)
        return 0

    def _acl_kept(self, node, name: bytes) -> int:
        """Can `node` have the ACL `name`? 0, -EOPNOTSUPP (a file system without them, a
        symlink), or -ENODATA (a default ACL on anything but a directory: EACCES to set)."""
        if self.mounts.of(node).kind not in XATTRS or isinstance(node, Symlink):
            return -EOPNOTSUPP
        if name == fsacl.DEFAULT and not isinstance(node, Dir):
            return -ENODATA
        return 0

    # ---- their checks --------------------------------------------------------------------
    def _xattr_name(self, call, ptr) -> bytes | int:
        """The attribute's name copied in (at most 255 bytes: longer or empty is ERANGE)."""
        name = call.space.read_cstring(ptr, limit=XATTR_NAME_MAX + 1)
        if name is None:  # no NUL in 256 bytes, or a fault before it
            readable = call.space.read(ptr, XATTR_NAME_MAX + 1) is not None
            return -ERANGE if readable else -EFAULT
        if not name:
            return -ERANGE
        log_user(self.k.mem, call.space, ptr, len(name) + 1, READ)
        return name

    def _xattr_node(self, call, where, cwd=False):
        """The node a call names: (path, follow) or a descriptor (with `cwd`, AT_FDCWD is the
        working directory: fgetxattr and fsetxattr since Linux 6.13's *xattrat forms, not
        flistxattr or fremovexattr); or -errno."""
        if cwd and not isinstance(where, tuple) and _int(where) == AT_FDCWD:
            return self.table(call).cwd
        if isinstance(where, tuple):
            found = self._lookup(call, AT_FDCWD, where[0], follow=where[1])
            if isinstance(found, int):
                return found
            return -ENOENT if found[0] is None else found[0]
        with self.working(fdget=1):
            f = self.table(call).file(_int(where))
            return -EBADF if f is None else f.node

    def _xattr_change(self, call, node, name: bytes, removing: bool = False) -> int:
        """May the caller set or remove `name` on `node`? 0 or -errno, in Linux's order."""
        if not getattr(node, "pidfs", False) and self.mounts.of(node).readonly:
            return -EROFS
        err = self._xattr_allowed(call, node, name, write=True)
        if not err and hasattr(node, "protocol_name") and name.startswith(b"security."):
            # a socket's security.* is sockfs's: "handled by LSM", of which there is none (a
            # set's EAGAIN becomes EOPNOTSUPP in __vfs_setxattr_noperm, a removal's stays)
            return -EINVAL if name == b"security." else -EAGAIN if removing else -EOPNOTSUPP
        return err or self._xattr_kept(node, name)

    @staticmethod
    def _xattr_allowed(call, node, name: bytes, write: bool) -> int:
        """xattr_permission: the namespaces' rules (every file is accessible here, else)."""
        root = call.task.uids[1] == 0
        if name.startswith(b"trusted.") and not root:
            return -EPERM if write else -ENODATA
        if name.startswith(b"user."):
            if not stat.S_ISREG(node.mode) and not stat.S_ISDIR(node.mode):
                return -EPERM if write else -ENODATA
            sticky = isinstance(node, Dir) and node.mode & STICKY
            if sticky and write and not root and node.uid != call.task.uids[1]:
                return -EPERM
        return 0

    def _xattr_kept(self, node, name: bytes) -> int:
        """Does `node`'s file system keep attributes of `name`'s namespace? 0 or -errno.
        (pidfs, Linux 6.15's, keeps trusted.* ones only.)"""
        pidfs = getattr(node, "pidfs", False)
        if not pidfs and self.mounts.of(node).kind not in XATTRS:
            return -EOPNOTSUPP
        spaces = (b"trusted.",) if pidfs else NAMESPACES
        prefix = next((p for p in spaces if name.startswith(p)), None)
        if prefix is None:
            return -EOPNOTSUPP
        return -EINVAL if name == prefix else 0
