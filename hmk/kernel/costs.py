"""The kernel's calibration table: instruction budgets of kernel paths.

A budget counts the instructions of a path's straight-line work (ALU, branches, address
arithmetic) with every memory access an L1D hit. The kernel turns instructions into core cycles
at the core's kernel IPC (`CoreKernel.work_cycles`: instructions per cycle of kernel code, a
calibrated parameter, docs/calibration.md). The rest of a path's cost emerges from the model:
its logged accesses are timed by the memory hierarchy and `path_cycles` adds their stalls
(dependent loads in full, write-allocate fills and streamed copies overlapped, the DRAM
write-backs the path causes at the board's write bandwidth). Exception entry and return are the
core's (its profile), charged by the caller (docs/kernel-design.md, 4.).

Each entry gives its source or states the assumption. Context for all of them: arm64 Linux 5.10
spends 422 instructions on a null syscall, entry and exit included, and 892 on a read fault
(docs/linux-paths.md); seL4's whole IPC call fastpath, capability lookups included, is 404
cycles on Cortex-A57 (seL4's performance page, sel4bench, 2023; docs/sources.md), so a lookup is
a small slice of that. The services' budgets are in their own modules (`costs`), the Linux
shim's in hmk.linux.shim, a call's placement's in hmk.services.placement, the Linux kernel
model's in hmk.monolithic.costs.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.events import READ, WRITE

LINE = 64  # bytes: an access this large is a whole cache line

BUDGETS = {
    # measured on arm64 Linux, taken for any kernel on the same core: an exception from EL0
    # and the return to it (the vectors, kernel_entry saving the 34 registers with the
    # Spectre-BHB loop, and ret_to_user restoring them): 208 instructions (docs/linux-paths.md:
    # the null syscall with kpti=0, 375, less the dispatch, 98, and getppid's own, 69). Without
    # KPTI's trampoline: none of the profiles' cores (Cortex-A55, A72, A76, A77) is affected by
    # Meltdown, so Linux leaves KPTI off on them (Arm's "Speculative Processor Vulnerability"
    # table; arm64's kpti_safe_list) and HM has no reason to pay for it. With KPTI it is 255. The
    # hardware and its mitigations are the same whatever kernel runs on it. The frame is
    # L1-resident in steady state, so no accesses are logged for it.
    "exception.frame": 208,
    # assumed: bounds, type and rights checks are ~3 compare-and-branch pairs plus the slot
    # address arithmetic around 5 loads: ~20 dual-issued instructions on a big core
    "cap.lookup": 20,
    # assumed: two lookups' checks, 7 field stores and the CDT link (~2x a lookup), plus the
    # rights-subset and badge checks
    "cap.derive": 45,
    # assumed: the CDT unlink and refcount update, ~the work of a derive's copy
    "cap.delete": 40,
    # assumed: one deletion while descending the CDT, per slot deleted (the walk's loads are
    # charged separately, as stalls)
    "cap.revoke_per_slot": 30,
    # derived from arm64 Linux's measured switch (docs/linux-paths.md, context_switch_roundtrip:
    # schedule() 2067 instructions a switch) without what HM does not do: CFS's pick and
    # dequeue (497 + 286: HM's run queue is a priority bitmap and a FIFO, its loads and
    # stores logged here), pressure-stall accounting (psi_task_switch, 235), the eager FP/SIMD
    # save (fpsimd_thread_switch, 111: HM attaches FP state lazily) and switch_mm (108: the
    # address-space switch is charged as ipc.ttbr_switch): 830, plus ~20 for the bitmap pick
    "sched.switch": 850,
    # derived the same way: a wake-up is Linux's try_to_wake_up (1386 instructions a wake-up,
    # of which enqueue_task_fair and check_preempt_wakeup 656) with HM's FIFO append instead of
    # CFS's enqueue (~20): 750; a block is a dequeue (~20) and the wait-list append (~20)
    "sched.wake": 750,
    "sched.block": 40,
    # assumed: waking a sleeping core is a software-generated interrupt (GICv3: one write of
    # ICC_SGI1R_EL1 naming the target, after a DSB so the woken thread's queue is visible):
    # the target list built and the write, ~30 instructions
    "ipi.send": 30,
    # assumed: the woken core's IRQ (its exception entry and return are the core's, charged
    # apart): the GIC's acknowledge (ICC_IAR1_EL1) and end of interrupt (ICC_EOIR1_EL1) and
    # the dispatch to the scheduler's handler, as Linux's gic_handle_irq and scheduler_ipi:
    # ~150 instructions
    "ipi.receive": 150,
    # assumed: a thread moved to another core's run queue (sched_setaffinity taking it off a
    # core it may not run on; Linux's move_queued_task without CFS's work): both run queues
    # locked and released in order (~40), the FIFO unlink and append (~20 each, as in
    # sched.block and sched.wake; their loads and stores are logged) and the new mask and
    # core written (~20): ~100
    "sched.migrate": 100,
    # assumed: the wake-up placement on cores of different capacities (docs/smp.md,
    # "Placement"), per core: its run queue's current thread and bitmap read (their loads
    # are the core's cache lines, ~2), its capacity compared with the best so far (~3) and
    # the loop (~3): ~10 a core
    "sched.wake_place": 10,
    # assumed: a broadcast invalidation, per page, is a TLBI VALE1IS with its address
    # arithmetic (the DSB ISH before and after it counted in tlbi.remote): ~5 instructions
    "tlbi.broadcast": 5,
    # assumed: the DSB ISH after a broadcast TLBI waits until every other core that may hold
    # the entries has dropped them (an interconnect round trip and the core's TLB walk of the
    # request): ~100 cycles' worth a core; cores that never ran the ASID are taken not to delay
    # it. No published cycle count for the Cortex-A72/A77 was found.
    "tlbi.remote": 100,
    # derived from arm64 Linux's measured read fault (docs/linux-paths.md, anon_read_fault):
    # the fault's decode and dispatch (el0_da .. do_mem_abort, 43), the region lookup
    # (find_vma, 67) and the table walk and checks (handle_mm_fault less do_anonymous_page, 253,
    # less its memory-cgroup event count, 80: HM has no memory cgroups): 283. do_page_fault's
    # own work (196: the mmap lock, perf events, retries) is left out: HM's kernel reads the
    # region table its memory manager keeps, with no lock to take (an assumption)
    "pf.check": 283,
    # a new anonymous page recorded in the memory manager's page records for reclaim (owner,
    # address, the LRU: hmk.kernel.pagerecords): Linux's page_add_new_anon_rmap (227) and
    # lru_cache_add (493), measured on the same fault (anon_write_fault), less their memory-
    # cgroup counters (memcg.new_page 444 less mem_cgroup_charge 227: 217): 503
    "pf.record": 503,
    # assumed: pop a frame (ring index arithmetic), build and store each descriptor, DSB ISHST
    # before returning so the walker sees it: ~20 instructions, and the barrier's wait counted
    # as ~20 more
    "pf.install": 40,
    # measured: arm64 Linux's clear_page, a loop of DC ZVA (one 64-byte line each) with its
    # address arithmetic: 264 instructions per 4 KiB page (docs/linux-paths.md, the write
    # fault's clear_page); HM's zeroing is taken to be the same loop. The 64 line writes are
    # logged and timed with the write-backs they cause.
    "pf.zero_page": 264,
    # assumed: replacing a valid descriptor (a write to the shared zero page): break-before-
    # make, i.e. an invalid descriptor stored, DSB, TLBI VAE1IS of the page, DSB, the new one:
    # ~10 instructions, and the two barriers' waits counted as ~10 each
    "pf.replace": 30,
    # assumed: building the fault message for the memory manager / pager (badge, va, access,
    # ESR) before the IPC the caller makes (charged separately): ~10 register moves
    "pf.upcall": 10,
    # assumed: the refusal is decided here; what the process gets for it is its personality's
    "pf.segv": 5,
    # assumed: argument checks, the walk (~5 per level), the descriptor build and store
    "vs.map": 40,
    # assumed: the walk and checks of map, one descriptor store, no descriptor build
    "vs.unmap": 30,
    # assumed: as unmap, plus rebuilding the descriptor's permission bits
    "vs.protect": 35,
    # L4Re on Cortex-A76 (L4Re's performance page): null syscall round trip 138, IPC within
    # one address space 247, across 384 cycles. Read as one-way IPCs (a round trip, two kernel
    # entries, could not cost less than 2 x 138 = 276), one IPC adds 247 - 138 = 109 cycles of
    # kernel path to a syscall's entry and exit, warm (L1 hits). Assumed: HM's call path is that
    # much less ~10 cycles for having no thread switch (the activation replaces it): 100 cycles,
    # taken as ~100 instructions (about one a cycle in kernel code on the A76). seL4's whole
    # call fastpath is 404 cycles on the older, narrower Cortex-A57 (entry/exit included).
    "ipc.fast_call": 100,
    # seL4 reply 408 vs call 404 on Cortex-A57 (sel4bench): the two paths cost about the same;
    # assumed equal to the call.
    "ipc.fast_reply": 100,
    # L4Re A76: 384 - 247 = 137 cycles measured for crossing address spaces in one IPC. hmk
    # charges it all to the TTBR0/ASID write, ISB and the VSpace state changes (an upper bound:
    # the measurement may include a few TLB/cache misses that hmk times separately), taken as
    # ~137 instructions' worth as ipc.fast_call is.
    "ipc.ttbr_switch": 137,
    # assumed: seL4's slowpath decodes the syscall generically and redoes the checks the
    # fastpath specialises; taken as 2x the fastpath's work (no published split found).
    "ipc.slow_extra": 200,
    # assumed: an 8-byte word copied by an ldr/str pair; the stores are in the log (timed by
    # path_cycles: write-allocate fills overlapped), the caller's user-buffer loads are not
    # modeled.
    "ipc.copy_per_word": 2,
    # assumed: making an activation zeroes ~18.5 KiB (stack, buffer, TLS) at the pf.zero_page
    # rate (264 instructions / 4 KiB: ~1220) plus ~80 instructions of allocator and record
    # set-up
    "ipc.grow": 1300,
    # assumed: one capability copied into the server's slot: two checks, 7 field stores and
    # the CDT link, ~2x a lookup
    "ipc.cap_transfer": 40,
    # assumed: the wait-queue append (a few stores) and the decision; the scheduler's block is
    # charged by the thread layer
    "ipc.block": 30,
    # assumed: the wait-queue pop and the activation refill on a reply with waiters
    "ipc.handoff": 30,
    # assumed: a new TCB: argument checks, 34 register stores and 8 field stores (timed
    # separately), the run-queue insert: ~40 instructions of straight-line work
    "thread.create": 40,
    # assumed: a thread state change (yield, suspend, resume, set-priority): checks and the
    # run-queue edit, whose loads and stores are timed separately
    "thread.op": 20,
    # assumed: an endpoint record and its first activations: ~as thread.create
    "ep.create": 40,
    # assumed: the timer interrupt: acknowledge and re-arm the generic timer (two system
    # register writes), the slice decrement and the decision: ~30
    "timer.tick": 30,
    # an expired timer run (an alarm: a timerfd's expiry): the hrtimer taken off its queue and
    # its callback called, as __hrtimer_run_queues's own 132 instructions a timer interrupt on
    # arm64 Linux (linux_paths.json, timer_interrupt: it runs the tick's hrtimer), and assumed
    # ~30 for the callback's lock, count and wake-up call (timerfd_tmrproc; the threads it
    # wakes are the scheduler's wake-ups)
    "timer.alarm": 162,
    # assumed (hmk's model of IC1, not a published HM mechanism): entering or
    # leaving a kernel-space service domain without a privilege change or a TTBR0 switch, e.g.
    # switching a domain register and the stack: ~a third of an exception entry
    "ic1.switch": 15,
    # assumed: argument checks (pool id, index bounds and allocation bit, va alignment and
    # range, rights), the object's page range (~3 shifts), the token record's 6 stores and,
    # per page, the descriptor build and store beside the walk's address arithmetic (~5 per
    # level, the walk's loads timed separately): ~60 dual-issued instructions for one page,
    # like vs.map plus the token bookkeeping. DSB ISHST before returning is in the ~20.
    "token.grant": 60,
    # assumed: as vs.unmap (the walk's arithmetic, one descriptor store and the check that it
    # still maps the granted kernel page), per page; the token loads and the free are in it
    "token.revoke_per_page": 30,
}


def path_cycles(budget: int, latencies, log, l1_hit: int, mlp: int = 1, drain: float = 0) -> int:
    """A kernel path's cycles: `budget` (its straight-line work, already in cycles) plus the
    stalls of what it logged (`log`, with one latency per access in `latencies`, as
    BatchHierarchy.run returns them):

    - a load smaller than a line waits for its data: kernel paths are chains of dependent
      loads, so each one's latency beyond an L1D hit adds in full;
    - a line-sized load (a copy's source, streamed) and a store smaller than a line (its line
      fetched for write-allocate) take a miss buffer each: their extra latency overlaps, `mlp`
      at a time (the core's outstanding misses);
    - a line-sized store (DC ZVA, a copy's destination line) allocates its line without a
      fetch: no stall of its own;
    - `drain`: the cycles DRAM needs to absorb the dirty lines the path's accesses evicted to
      it (hmk.kernel.core: written-back lines x the profile's DRAM write rate); the path takes
      at least that long, since the write-back buffer holds only a few lines.
    """
    lat = np.maximum(np.asarray(latencies, dtype=np.int64) - l1_hit, 0)
    kinds, sizes = np.asarray(log["kind"]), np.asarray(log["size"])
    line = sizes >= LINE
    waits = int(lat[(kinds == READ) & ~line].sum())
    streams = int(lat[((kinds == READ) & line) | ((kinds == WRITE) & ~line)].sum())
    cycles = budget + waits + -(-streams // max(mlp, 1))
    return int(max(cycles, -(-drain // 1)))
