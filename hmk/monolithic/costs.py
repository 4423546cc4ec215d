"""The Linux kernel's calibration table: instruction budgets of its paths, in core cycles.

Same convention as the core kernel's (hmk.kernel.costs): a budget is a path's straight-line work
with every memory access an L1D hit; the accesses the model logs (run-queue and tree nodes,
struct pages, FP/SIMD state, page tables) add their stalls through the memory hierarchy, and
exception entry and return are the core's (its profile) plus `exception.frame`, which both
kernels share (hmk.kernel.costs). Each budget is an instruction count of the path's common case
on arm64 Linux (docs/linux-kernel.md: how they were counted) divided by an issue rate, or an
assumption that says why.
"""

from __future__ import annotations

BUDGETS = {
    # syscall entry and exit beyond the register frame: el0_sync's dispatch, el0_svc,
    # el0_svc_common (the work-flags checks), invoke_syscall (the bounds check, the table load
    # and the indirect call), and on the way out ret_to_user's check of pending work
    "syscall.entry": 45,
    # scheduler: update_curr (runtime arithmetic, the vruntime update, min_vruntime)
    "cfs.update_curr": 25,
    # enqueue_task_fair / dequeue_task_fair beyond the tree: load-weight and PELT load-average
    # updates (__update_load_avg_se: decays), the cfs_rq counters, place_entity
    "cfs.enqueue": 90,
    "cfs.dequeue": 80,
    # pick_next_task_fair with put_prev_entity and set_next_entity around the tree edits
    "cfs.pick": 60,
    # task_tick_fair: check_preempt_tick's slice arithmetic
    "cfs.tick": 30,
    "cfs.yield": 20,
    # __schedule's frame around the class hooks: the run-queue lock, clearing the resched
    # flag, prepare_task_switch, context_switch's choice of mm, finish_task_switch
    "sched.schedule": 110,
    # cpu_switch_to: the callee-saved registers x19-x28, fp, sp, lr (6 stp + 6 ldp), sp_el0
    # and tpidr_el0; the user frame was saved at the kernel entry
    "sched.switch_to": 20,
    # check_and_switch_context: the ASID generation check and cpu_switch_mm; the TTBR0 write
    # and its ISB are charged as the core kernel's address-space switch (ipc.ttbr_switch)
    "sched.switch_mm": 30,
    # fpsimd_thread_switch + fpsimd_restore_current_state: the flag checks around saving the
    # previous thread's 32 128-bit registers, FPSR and FPCR and restoring the next's (16 stp
    # and 16 ldp of Q pairs, logged and timed)
    "fpsimd.switch": 40,
    # the timer interrupt: gic handling, hrtimer, tick_sched_timer, scheduler_tick's frame
    "timer.tick": 120,
    # do_mem_abort -> do_page_fault: the ESR decode, mmap_read_trylock, find_vma (the walk's
    # loads are logged: the VMA lookup), the access checks, handle_mm_fault's walk and the
    # PTE write with its barriers
    "fault.entry": 90,
    "fault.segv": 20,
    # do_anonymous_page's read case: the zero page's PTE made and set
    "fault.zero_page": 25,
    # do_anonymous_page's write case around the page bookkeeping (whose accesses are logged):
    # anon_vma check, alloc_zeroed_user_highpage's allocator fast path, mem_cgroup_charge,
    # page_add_new_anon_rmap, lru_cache_add and the PTE made dirty and young
    "fault.anon_page": 200,
    # wp_page_copy for the zero page: the old PTE checked, cleared and flushed
    "fault.wp_zero": 60,
    # __pte_alloc / __pmd_alloc: the table page's allocation, constructor and populate
    "fault.pte_alloc": 80,
    # clear_page: DC ZVA in a loop of 4 instructions per 64-byte block (64 blocks), the line
    # writes logged and timed
    "clear_page": 130,
}
