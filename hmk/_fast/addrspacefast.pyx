# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.services.addrspace.AddressSpace's page walks at fork, exit and
unmap: `share_into` (fork's copy-on-write sharing) and `unmap_pages` (a range's pages unmapped:
munmap, MADV_DONTNEED, and the whole image at exit and execve). The same steps as the
reference, page by page in the same order, with the same memory-manager state at the end
(copy-on-write sets, share counts, resident pages, frames); the pages each VMA maps are found
with each page table read once (hmk._fast.vspacefast's walk), the kernel's page-table edits are
made at C level with the reference's logged accesses, and the memory manager's kernel calls are
charged together after the walk (MemoryManager.kernel_calls: the same cycles as a charge after
each). tests/test_fork_twin.py holds the two together under hypothesis.
"""

from libc.stdint cimport uint64_t

from hmk._fast.shared cimport OK
from hmk._fast.vspacefast cimport FastVSpaces

from hmk.kernel.costs import BUDGETS
from hmk.linux.abi import PROT_EXEC, PROT_WRITE

cdef long long WRITABLE = PROT_WRITE, EXECUTABLE = PROT_EXEC


def share_into(space, child, bint cow):
    """AddressSpace.share_into(child, cow)."""
    k, mm = space.kernel, space.mm
    cdef FastVSpaces vs = k.vspaces.twin()
    cdef long long parent = space.proc.vspace, into = child.proc.vspace, zero = k.zero_page
    cdef dict shared = mm.shared, mem_d = vs.mem_d
    cdef set own_cow = space.cow, child_cow = child.cow
    cdef list budgets = [], ends = []
    cdef long long done = 0, touched = 0, before, pages = 0, asid
    cdef Py_ssize_t j, n
    # the budgets read at each call, not at import: a run may set them (hmk run --set)
    cdef long long MAP = BUDGETS["vs.map"], PROTECT = BUDGETS["vs.protect"]
    cdef uint64_t page, pa
    cdef int prot
    cdef bint writable, executable, private, borrowed
    for v in space.vmas:
        before = done
        prot = v.prot
        writable, executable, private = prot & WRITABLE, prot & EXECUTABLE, not v.shared
        n = vs.c_mapped(parent, v.start, v.end) if vs.valid(parent) else 0
        for j in range(n):
            page, pa = vs.found_va[j], vs.found_pa[j]
            if <long long>pa == zero:  # read-only in both already, never freed
                vs.c_map(into, page, pa, False, executable)
                budgets.append(MAP)
                ends.append(mem_d["n_log"])
                pages += 1
                done += 1
                continue
            borrowed = writable and not cow and page not in own_cow and private
            if writable and private and not borrowed:  # copy-on-write: the parent loses
                # write access until it copies or is alone
                vs.c_protect(parent, page, False, executable, True, &asid)
                budgets.append(PROTECT)
                ends.append(mem_d["n_log"])
                own_cow.add(page)
                child_cow.add(page)
            err = vs.c_map(into, page, pa, borrowed or not private and writable, executable)
            budgets.append(MAP)
            ends.append(mem_d["n_log"])
            if err != OK:
                continue
            if not prot:
                vs.c_protect(into, page, False, False, False, &asid)
            shared[pa] = shared.get(pa, 1) + 1
            pages += 1
            done += 1
        touched += done > before
    child.pages += pages
    mm.kernel_calls(budgets, ends)
    mm.work(cow_share=done, fork_anon_vma=touched)
    return done


def unmap_pages(space, start, end):
    """AddressSpace._unmap_pages(start, end): (the pages unmapped, how many frames went)."""
    k, mm = space.kernel, space.mm
    cdef FastVSpaces vs = k.vspaces.twin()
    cdef long long i = space.proc.vspace, freed = 0, asid
    cdef dict mem_d = vs.mem_d
    cdef set cow = space.cow
    cdef list budgets = [], ends = [], dropped = []
    cdef Py_ssize_t j, n
    cdef uint64_t page, pa
    cdef long long UNMAP = BUDGETS["vs.unmap"]
    release = mm.release
    n = vs.c_mapped(i, start, end) if vs.valid(i) and start < end else 0
    for j in range(n):
        page, pa = vs.found_va[j], vs.found_pa[j]
        err = vs.c_unmap(i, page, &asid)
        budgets.append(UNMAP)
        ends.append(mem_d["n_log"])
        if err == OK:
            freed += release(pa)
            cow.discard(page)
            dropped.append(page)
    space.pages -= len(dropped)
    mm.kernel_calls(budgets, ends)
    return dropped, freed
