"""The memory manager's calls that look at memory without changing its mappings: which pages
are resident (mincore), and copies between two processes' address spaces (process_vm_readv,
process_vm_writev: Linux's cross-memory attach, as debuggers and MPI runtimes use it)."""

from __future__ import annotations

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import EFAULT, EINVAL, ENOMEM, EPERM, ESRCH
from hmk.linux.layout import page_up
from hmk.services.copies import (
    READ,
    WRITE,
    iovec_from_user,
    lines,
    log_vector,
    pages,
    past_user,
    vector_past_user,
)

UIO_MAXIOV = 1024


class MemoryQueries:
    """Handlers mixed into the memory manager (hmk.services.memmgr.MemoryManager)."""

    def sys_mincore(self, call, addr, length, vec, *_):
        """Which pages of a range are resident: a byte per page, 1 where the page table maps
        it (the zero page and copy-on-write pages too), as Linux's mincore reads the page
        tables. Linux's order: an aligned start (EINVAL), the range in user space (ENOMEM),
        the vector's (EFAULT); then a VMA at a time, at most a page of the vector at a time,
        each part written before the next is looked at (a hole: ENOMEM, a fault: EFAULT)."""
        space = call.space
        if addr % PAGE_SIZE:
            return -EINVAL
        end = addr + page_up(length)
        if past_user(addr, end - addr):  # (access_ok: even with nothing to look at)
            return -ENOMEM
        if past_user(vec, (end - addr) // PAGE_SIZE):
            return -EFAULT
        while addr < end:
            self.work(vma_find=1)
            vma = space.find(addr)
            if vma is None:
                return -ENOMEM
            stop = min(vma.end, end, addr + PAGE_SIZE * PAGE_SIZE)
            self.work(pte_walk=(stop - addr) // PAGE_SIZE)
            resident = bytes(
                int(space.tables.translate(space.root, va) is not None)
                for va in range(addr, stop, PAGE_SIZE)
            )
            if not space.write(vec, resident):
                return -EFAULT
            vec, addr = vec + len(resident), stop
        return 0

    def sys_process_vm_readv(self, call, pid, local, nlocal, remote, nremote, flags, *_):
        return self._cross_copy(call, pid, local, nlocal, remote, nremote, flags, to_remote=False)

    def sys_process_vm_writev(self, call, pid, local, nlocal, remote, nremote, flags, *_):
        return self._cross_copy(call, pid, local, nlocal, remote, nremote, flags, to_remote=True)

    def _cross_copy(self, call, pid, local, nlocal, remote, nremote, flags, to_remote: bool):
        """Bytes from one process's vectors to the other's, in order, until either side
        ends or faults: the count moved (EFAULT when nothing could be); the caller must be
        root or the target's user (ptrace's access check)."""
        if flags:
            return -EINVAL
        # Linux's order (process_vm_rw): the local vector imported (nothing to move: 0), then
        # the remote one (no bytes in it: 0), then the process
        vectors = []
        for ptr, n, imported in ((local, nlocal & 0xFFFFFFFF, True), (remote, nremote, False)):
            vec = _user_vector(call.space, ptr, n, imported)
            if isinstance(vec, int):
                return vec
            if not any(length for _, length in vec):
                return 0
            vectors.append(vec)
        target = self.peers["procmgr"].tasks.get(pid & 0xFFFFFFFF)
        if target is None or target.zombie or target.virtual:
            return -ESRCH
        me = call.task.uids
        if me[1] != 0 and me[0] not in target.uids:
            return -EPERM
        there = self.space_of(target.proc)
        source, sink = (call.space, there) if to_remote else (there, call.space)
        src_vec, dst_vec = (vectors[0], vectors[1]) if to_remote else (vectors[1], vectors[0])
        data = bytearray()
        for base, n in src_vec:  # what can be read, page by page, up to the first fault
            for start, chunk in pages_of(base, n):
                got = source.read(start, chunk)
                if got is None:
                    break
                data += got
            else:
                continue
            break
        moved = 0
        for base, n in dst_vec:
            for start, chunk in pages_of(base, n):
                chunk = min(chunk, len(data) - moved)
                if chunk <= 0 or not sink.write(start, bytes(data[moved : moved + chunk])):
                    break
                moved += chunk
            else:
                continue
            break
        log_vector(self.kernel.mem, source, src_vec, moved, READ)
        log_vector(self.kernel.mem, sink, dst_vec, moved, WRITE)
        self.work(copy_page=len(pages(0, moved)), copy_line=lines(moved))
        wanted = min(sum(n for _, n in src_vec), sum(n for _, n in dst_vec))
        return -EFAULT if wanted and not moved else moved


def _user_vector(space, ptr: int, n: int, imported: bool):
    """A struct iovec array as Linux copies it in (iovec_from_user): at most UIO_MAXIOV
    entries, no negative length (EINVAL), readable (EFAULT); an `imported` one (import_iovec)
    also within user space (access_ok: EFAULT)."""
    if n > UIO_MAXIOV:
        return -EINVAL
    vec = iovec_from_user(space, ptr, n)
    if isinstance(vec, int):
        return vec
    if imported and vector_past_user(vec):
        return -EFAULT
    return vec


def pages_of(base: int, n: int):
    """(address, length) pieces of [base, base + n) that do not cross a page."""
    while n > 0:
        chunk = min(n, PAGE_SIZE - base % PAGE_SIZE)
        yield base, chunk
        base, n = base + chunk, n - chunk
