"""The Linux kernel model's calibration table: instruction budgets of its paths.

Same convention as the core kernel's (hmk.kernel.costs): a budget counts the instructions of a
path's straight-line work with every memory access an L1D hit; the kernel converts them to
cycles at the core's kernel IPC and adds the stalls of the accesses it logs (run-queue and tree
nodes, struct pages, FP/SIMD state, page tables) through the memory hierarchy. Exception entry
and return are the core's (its profile).

Every budget is measured: the instructions arm64 Linux 5.10 (Debian's 5.10.223 build, KPTI on)
executes on the path, counted per function under QEMU (docs/linux-paths.md; the numbers are in
hmk/calibration/linux_paths.json, path and function named beside each entry). A new page is
cleared once, inside its allocation (the fault asks for __GFP_ZERO: prep_new_page's
kernel_init_free_pages calls clear_page); the model charges that clear_page apart, as the
`clear_page` budget with its 64 line writes timed, and the allocation without it.
"""

from __future__ import annotations

BUDGETS = {
    # a syscall's dispatch between the exception's entry and exit (hmk.kernel.costs'
    # exception.frame: the vectors, the KPTI trampoline, kernel_entry, ret_to_user, 255):
    # el0_sync_handler .. el0_svc_common's work checks and invoke_syscall's table dispatch
    # (null_syscall: 98 of 422, getppid's own 69)
    "syscall.dispatch": 98,
    # a page fault up to the anonymous-page decision, beyond the exception frame (255 of the
    # fault's 298 for entry and exit): the abort's decode (43), do_mem_abort .. do_page_fault
    # (196), find_vma (67) and handle_mm_fault's walk and the PGFAULT event count (253 = 331 -
    # do_anonymous_page's 78); anon_read_fault
    "fault.entry": 559,
    # do_anonymous_page's read case: the zero page's PTE (anon_read_fault, 78)
    "fault.zero_page": 78,
    # do_anonymous_page's write case around the page's own steps: its checks, the PTE made
    # young and dirty and set (anon_write_fault: the rest of handle_mm_fault, 332, less its
    # share common with the read path, 173, plus set_pte_at's 13)
    "fault.anon_page": 172,
    # alloc_pages_vma .. get_page_from_freelist's per-cpu list pop and prep_new_page, less the
    # clear_page it calls (anon_write_fault: 1,088 - 264)
    "page.alloc": 825,
    "page.memcg_charge": 227,  # mem_cgroup_charge (anon_write_fault)
    "page.lru_add": 493,  # lru_cache_add_inactive_or_unevictable, the pagevec drain averaged in
    "page.rmap": 227,  # page_add_new_anon_rmap (anon_write_fault)
    "clear_page": 264,  # DC ZVA x 64 and the loop (anon_write_fault); the line writes are timed
    # a page-table page a fault allocates (__pte_alloc: allocation, memcg charge, constructor,
    # populate): 4.1 instructions per fault with one table per 512 faults (anon_write_fault),
    # i.e. ~2,100 per table, less its clear_page (264, charged apart)
    "fault.pte_alloc": 1835,
    # the memory cgroup's share of the fault paths, for a kernel booted with the controller
    # off (cgroup_disable=memory, the Raspberry Pi kernel's default): what the read and write
    # faults lose when it is (the memcg0 run against the main one, docs/linux-paths.md): the
    # read fault's PGFAULT event count (82: count_memcg_event_mm returns at once), and on a new
    # page mem_cgroup_charge and the cgroup's share of the LRU and NR_ANON_MAPPED counters
    # (526 in all on the write fault, less the event count's 82)
    "memcg.fault_event": 82,
    "memcg.new_page": 444,
    # assumed (not measured): wp_page_copy on the zero page beyond the new page's own steps:
    # the old PTE checked, cleared and flushed (ptep_clear_flush), the mmu notifiers
    "fault.wp_zero": 200,
    # assumed: do_page_fault's bad-area path up to the signal (which the personality delivers)
    "fault.segv": 50,
    # schedule(), per switch (context_switch_roundtrip: 4134 for two): its own frame with the
    # run-queue lock, psi_task_switch and finish_task_switch (837); pick_next_task_fair with
    # put_prev/set_next (497); dequeue_task_fair of the thread that blocks (286); the rest of
    # __switch_to and cpu_switch_to (228); fpsimd_thread_switch (111); check_and_switch_context,
    # the ASID check and the TTBR0 write (108)
    "sched.schedule": 837,
    "cfs.pick": 497,
    "cfs.dequeue": 286,
    "sched.switch_to": 228,
    "fpsimd.switch": 111,
    "sched.switch_mm": 108,
    # a wake-up (context_switch_roundtrip: try_to_wake_up 1580 for 1.14 wake-ups a round
    # trip): enqueue_task_fair with check_preempt_wakeup (656) and the rest of try_to_wake_up
    # (730)
    "cfs.enqueue": 656,
    "sched.wakeup": 730,
    # assumed: yield_task_fair's update_curr and skip buddy (sched_yield is not measured)
    "cfs.yield": 60,
    # assumed: a queued thread moved to another core beyond its dequeue and enqueue
    # (cfs.dequeue, cfs.enqueue): move_queued_task's two run-queue locks and set_task_cpu
    # with migrate_task_rq_fair (the vruntime made relative, the load average detached from
    # one queue and attached to the other), ~ a third of a wake-up's own work (sched.wakeup);
    # no migration path is measured (docs/linux-paths.md)
    "cfs.migrate": 250,
    # assumed: find_energy_efficient_cpu (or, overutilised, select_idle_capacity), per core
    # looked at: cpu_util_next (the core's utilisation with or without the task), util_fits_cpu
    # and the spare-capacity compare, and its share of compute_energy's sum over the domain's
    # cores (em_cpu_energy): ~60 a core; no wake-up on an asymmetric system is measured
    # (docs/linux-paths.md measures a Raspberry Pi 4B's, whose cores are of one capacity)
    "cfs.select_cpu": 60,
    # assumed: a misfit task moved to a bigger core (beyond the move's own cfs.migrate):
    # update_misfit_status at the tick, the nohz kick and the idle core's load_balance
    # finding the misfit group (update_sg_lb_stats over the cores, ~100 each), and the
    # stopper's switch in and out that moves a running task (active_load_balance_cpu_stop,
    # charged as one such scan): ~200 a core of the run
    "cfs.misfit": 200,
    # the timer interrupt, handler and tick work together (timer_interrupt: 3518 per tick)
    "timer.tick": 3518,
}
