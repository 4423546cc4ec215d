"""fsmgr's file seals (fcntl's F_ADD_SEALS and F_GET_SEALS), as Linux's mm/memfd.c keeps them.

Seals belong to a file of a memory file system (a tmpfs file, a memfd; Linux's shmem inodes):
a file made by open starts with F_SEAL_SEAL (no seal may be added), a memfd made with
MFD_ALLOW_SEALING with none, and one made with MFD_NOEXEC_SEAL with F_SEAL_EXEC. A file of any
other kind has no seals (EINVAL). What each seal refuses (EPERM):

- F_SEAL_SHRINK, F_SEAL_GROW: a size change that way (truncate, a write or fallocate past the end);
- F_SEAL_WRITE, F_SEAL_FUTURE_WRITE: writes, a hole punched, a new shared writable mapping
  (F_SEAL_WRITE itself is refused, EBUSY, while such a mapping exists);
- F_SEAL_EXEC: a change of the execute bits (chmod); added to a file with an execute bit, it
  brings the write, grow and shrink seals with it.
"""

from __future__ import annotations

from hmk.linux.abi import EBUSY, EINVAL, EPERM, O_ACCMODE, O_RDONLY
from hmk.services.vfs import File

F_ADD_SEALS, F_GET_SEALS = 1033, 1034  # F_LINUX_SPECIFIC_BASE + 9, + 10
SEAL_COMMANDS = (F_ADD_SEALS, F_GET_SEALS)
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC = (
    0x1,
    0x2,
    0x4,
    0x8,
    0x10,
    0x20,
)
F_ALL_SEALS = 0x3F
WRITES = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE


class Seals:
    """fsmgr's part: the seals of a file, the fcntl commands, and the checks its calls make."""

    def seals_of(self, node) -> int | None:
        """The file's seals, or None for a file that cannot have any."""
        if not isinstance(node, File):
            return None
        if node.seals is None and self.mounts.of(node).memory:
            node.seals = F_SEAL_SEAL  # (shmem_get_inode's)
        return node.seals

    def fcntl_seals(self, call, f, cmd: int, arg: int) -> int:
        """F_GET_SEALS, or F_ADD_SEALS in memfd_add_seals's order: a file open for writing
        (EPERM), known seals (EINVAL), a file that has seals (EINVAL), not sealed against
        sealing (EPERM), no shared writable mapping for F_SEAL_WRITE (EBUSY)."""
        node = f.node
        if cmd == F_GET_SEALS:
            seals = self.seals_of(node)
            return -EINVAL if seals is None else seals
        if f.flags & O_ACCMODE == O_RDONLY:
            return -EPERM
        add = arg & 0xFFFFFFFF
        if add & ~F_ALL_SEALS:
            return -EINVAL
        seals = self.seals_of(node)
        if seals is None:
            return -EINVAL
        if seals & F_SEAL_SEAL:
            return -EPERM
        if add & F_SEAL_WRITE and not seals & F_SEAL_WRITE and self.mapped_writable(node):
            return -EBUSY
        if add & F_SEAL_EXEC and node.mode & 0o111:
            add |= F_SEAL_SHRINK | F_SEAL_GROW | WRITES
        node.seals = seals | add
        return 0

    def mapped_writable(self, node) -> bool:
        """Is `node` mapped shared and writable by any process?"""
        return any(
            v.file is not None and v.file[0] is node and v.shared and v.prot & 2  # PROT_WRITE
            for space in self.peers["memmgr"].spaces.values()
            for v in space.vmas
        )

    @staticmethod
    def sealed_write(node, start: int, end: int) -> int:
        """0, or -EPERM for a write of [start, end) that a seal refuses (shmem_write_begin)."""
        seals = node.seals if isinstance(node, File) else None
        if not seals:
            return 0
        if seals & WRITES or (seals & F_SEAL_GROW and end > node.size):
            return -EPERM
        return 0

    @staticmethod
    def sealed_resize(node, size: int) -> int:
        """0, or -EPERM for a change to `size` bytes that a seal refuses (shmem_setattr)."""
        seals = node.seals if isinstance(node, File) else None
        if not seals:
            return 0
        if size < node.size and seals & F_SEAL_SHRINK or size > node.size and seals & F_SEAL_GROW:
            return -EPERM
        return 0

    @staticmethod
    def sealed_allocate(node, kind: int, end: int) -> int:
        """0, or -EPERM for a fallocate a seal refuses: a hole punched in a write-sealed file,
        space past the end of a grow-sealed one (shmem_fallocate)."""
        seals = node.seals if isinstance(node, File) else None
        if not seals:
            return 0
        if kind and seals & WRITES or not kind and seals & F_SEAL_GROW and end > node.size:
            return -EPERM
        return 0

    @staticmethod
    def sealed_map(node, shared_writable: bool) -> int:
        """0, or -EPERM for a shared writable mapping of a write-sealed file."""
        seals = node.seals if isinstance(node, File) else None
        return -EPERM if seals and seals & WRITES and shared_writable else 0

    @staticmethod
    def sealed_mode(node, mode: int) -> int:
        """0, or -EPERM for a change of the execute bits of an exec-sealed file."""
        seals = node.seals if isinstance(node, File) else None
        if seals and seals & F_SEAL_EXEC and (node.mode ^ mode) & 0o111:
            return -EPERM
        return 0
