"""The functional CPU: unicorn running AArch64 EL0 code over hmk's simulated physical RAM.

RAM is one numpy buffer, mapped once as unicorn's physical memory. Guest virtual addresses are
translated by unicorn's virtual-TLB mode, whose fill hook (native, hmk._fast.uchooks) walks the
current address space's ARMv8 page tables in that RAM; so frames can be shared and mappings
changed by editing tables and flushing unicorn's TLB (`flush_tlb`). Native hooks record executed
blocks and memory accesses into buffers that `drain()` hands to a sink in batches.

The kernel side is not here: the CPU traps into whatever object is passed as `traps`, with
    traps.page_fault(machine, vaddr, access) -> bool     map the page (True) or refuse (False)
    traps.syscall(machine)                               an SVC; may call machine.stop()
    traps.guest_fault(machine, kind, detail) -> bool     optional: an exception the guest
                                                         caused; True to go on at machine.pc
    traps.instruction_at(va) -> bytes | None             optional: the running program's 4
                                                         bytes at va (exact fault addresses)
    traps.counter(which) -> int                          optional: the generic timer's
                                                         "frequency" (CNTFRQ_EL0) or "count"
                                                         (CNTVCT_EL0, CNTPCT_EL0) now
so the CPU side can be reused unchanged when the kernel changes. The timing side gets every
batch of recorded blocks and events through `sink(blocks, events)`; `on_sync()` runs when every
batch before the current one has been consumed, `on_boundary(machine)` when a full buffer
stopped the CPU between two blocks (where a timer interrupt can be taken). `interrupt(intno)`,
if given, takes the CPU's exceptions in the machine's place: a compiled twin of its
`_on_interrupt` (drain, sync, traps.syscall for an SVC; the rest it hands back to it).
"""

from __future__ import annotations

import ctypes
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError
from unicorn import arm64_const as A
from unicorn.unicorn_const import (
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_ERR_INSN_INVALID,
    UC_HOOK_BLOCK,
    UC_HOOK_INSN,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_WRITE,
    UC_HOOK_TLB_FILL,
    UC_MEM_FETCH,
    UC_MEM_READ,
    UC_MEM_WRITE,
    UC_TLB_VIRTUAL,
)
from unicorn.unicorn_py3.unicorn import uclib

from hmk._fast.uchooks import Recorder
from hmk.cpu import ucpython
from hmk.cpu.traps import (
    ABORT,
    EXCEPTION_NAMES,
    KIND_OF_EXCEPTION,
    OUT_OF_MEMORY,
    UNDEFINED,
)
from hmk.errors import OutOfMemory, internal
from hmk.hw.events import BLOCK_DTYPE

FAULT_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int)
COUNTER_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)
ACCESS_NAMES = {UC_MEM_READ: "read", UC_MEM_WRITE: "write", UC_MEM_FETCH: "fetch"}
UNTIL = (1 << 64) - 1  # run until stopped (outside the 48-bit user range: never executed)
EXCP_SWI = 2  # qemu's exception number for SVC, as unicorn reports it
X = [getattr(A, f"UC_ARM64_REG_X{i}") for i in range(29)] + [A.UC_ARM64_REG_X29, A.UC_ARM64_REG_X30]

SYSCALL_REGS = (*X[:6], X[8])
# a thread's context as the kernel saves it in its TCB: x0-x30, sp, pc, pstate (NZCV)
CONTEXT_REGS = (*X, A.UC_ARM64_REG_SP, A.UC_ARM64_REG_PC, A.UC_ARM64_REG_NZCV)
# what else a thread owns on the core (saved functionally, not timed: see docs/kernel-design.md)
Q = tuple(getattr(A, f"UC_ARM64_REG_Q{i}") for i in range(32))
EXTRA_REGS = (*Q, A.UC_ARM64_REG_FPCR, A.UC_ARM64_REG_FPSR, A.UC_ARM64_REG_TPIDR_EL0)
INLINE_BATCH = 4096  # events: smaller batches are timed on the spot (a thread hand-off costs more)
SEEN_BLOCKS = 1 << 17  # a program image's table of blocks seen (watch_new_code): 1 MiB


__all__ = ["BLOCK_DTYPE", "Machine", "GuestFault"]


class GuestFault(Exception):
    """The guest cannot go on: it touched memory it may not (the kernel refused the fault), ran
    an undefined instruction, or the kernel could not serve it (simulated RAM exhausted, nothing
    left to run). `kind` says which (hmk.cpu.traps)."""

    def __init__(self, pc, detail, kind=ABORT):
        super().__init__(f"guest fault at pc={pc:#x}: {detail}")
        self.pc = pc
        self.kind = kind


class RunAborted(Exception):
    """The simulator (not the guest) ended the run, e.g. at a run limit; str() says why."""


class Machine:
    def __init__(
        self,
        ram: np.ndarray,
        traps,
        line_bits: int = 6,
        event_capacity: int = 1 << 20,
        pipelined: bool = True,
        *,
        sink=None,
        on_sync=None,
        on_boundary=None,
        interrupt=None,
        impl: str = "cython",
    ):
        if ram.dtype != np.uint8 or ram.ndim != 1 or len(ram) % 4096:
            raise ValueError("ram must be a 1-D uint8 array whose size is a multiple of 4 KiB")
        self.ram = ram
        self.traps = traps
        self.uc = uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        uc.ctl_set_cpu_model(A.UC_CPU_ARM64_MAX)  # ARMv8.x extensions (LSE atomics, ...)
        uc.ctl_set_page_size(4096)  # unicorn's AArch64 default is 1 KiB pages
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        uc.mem_map_ptr(0, len(ram), UC_PROT_ALL, ram.ctypes.data)
        uc.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)  # FP/SIMD usable at EL0 (glibc needs it)
        # the control path (registers, emu_start, the interrupt hook): unicorn's C API through
        # the compiled binding, or its Python binding (the reference, or when it is not built)
        self.cpu, regs = _control(uc, impl)
        self._syscall_regs, self._context_regs = regs(SYSCALL_REGS), regs(CONTEXT_REGS)
        self._extra_regs = regs(EXTRA_REGS, wide=Q)
        emu_stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
        self.recorder = rec = Recorder(ram, line_bits, emu_stop, event_capacity=event_capacity)
        self._fault_cb = FAULT_CB(self._on_fault)  # kept alive as long as the machine
        rec.set_fault_callback(ctypes.cast(self._fault_cb, ctypes.c_void_p).value)
        if hasattr(traps, "counter"):  # generic-timer reads answered from the simulated clock
            self._counter_cb = COUNTER_CB(self._on_counter)
            rec.set_counter_callback(ctypes.cast(self._counter_cb, ctypes.c_void_p).value)
        hooks = Recorder.hook_addresses()
        self._mem_hook = hooks["mem"]
        self._handles = [
            self._hook(UC_HOOK_TLB_FILL, hooks["tlb_fill"]),
            self._hook(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, hooks["mem"]),
            self._hook(UC_HOOK_BLOCK, hooks["block"]),
            self._hook(UC_HOOK_INSN, hooks["sysreg"], ctypes.c_int(A.UC_ARM64_INS_MRS)),
        ]
        self.cpu.on_interrupt(self._on_interrupt if interrupt is None else interrupt)
        # called with (blocks, events) for every batch, in order; with `pipelined`, on a worker
        # thread while the CPU runs on, so the two host cores share the work
        self.sink = sink
        # the kernel's view of batch boundaries: `on_sync()` right after every batch before
        # the current one is consumed (a deterministic point to read the simulated clock), and
        # `on_boundary(machine)` when a full buffer stopped the CPU between two blocks (a
        # point where the kernel may take a timer interrupt and switch threads)
        self.on_sync = on_sync
        self.on_boundary = on_boundary
        self.pipelined = pipelined
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="hmk-sink") if pipelined else None
        self._pending = None
        self._stopped = False
        self._error = None
        self._kind = ABORT
        # whether the last out-of-memory stop can run its instruction again (a page fault's)
        self.retryable = False
        self._bug = None  # a host exception in a kernel handler: hmk's bug (InternalError)
        self._abort = None  # why the simulator ends the run (RunAborted), if it does
        self._refused = None  # (page address, access) of the last access the kernel refused
        self._code = None  # the program image whose translations unicorn holds
        self._seen = None  # per program image, the blocks it ran (watch_new_code)

    def _hook(self, kind: int, fn: int, *insn) -> ctypes.c_size_t:
        """Register the native hook at address `fn` for every address, on the recorder's
        state; its handle."""
        h = ctypes.c_size_t()
        status = uclib.uc_hook_add(
            self.uc._uch,
            ctypes.byref(h),
            kind,
            ctypes.c_void_p(fn),
            ctypes.c_void_p(self.recorder.state_address),
            ctypes.c_uint64(1),
            ctypes.c_uint64(0),
            *insn,
        )
        if status != 0:
            raise RuntimeError(f"uc_hook_add failed: {UcError(status)}")
        return h

    def record_memory(self, on: bool) -> None:
        """Record every fetch, load and store (the default), or, off, the executed blocks
        alone (a functional stretch of a sampled run: hmk.system.sampling). Off removes the
        memory hook, so that unicorn runs at its own speed: code translated while a memory
        hook is listed sends every access through unicorn's slow path (which calls the hooks),
        code translated without one does not, so the translations are flushed at each change.
        unicorn takes a deleted hook off its lists only when an emu_start ends, so a run of no
        instruction (from UNTIL to UNTIL) ends one. Between batches, the CPU stopped."""
        if on == self.recorder.record_events:
            return
        if on:
            self._handles[1] = self._hook(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._mem_hook)
        else:
            status = uclib.uc_hook_del(self.uc._uch, self._handles[1])
            if status != 0:
                raise RuntimeError(f"uc_hook_del failed: {UcError(status)}")
            pc = self.pc
            self.cpu.emu_start(UNTIL, UNTIL)
            self.set_pc(pc)
        self.recorder.record_events = on
        self.flush_code()

    @property
    def fault_address(self) -> int:
        """The exact address of the last refused access (FAR_EL1's; hmk.cpu.far), read once
        unicorn has stopped on it; 0 when there was none."""
        if self._refused is None:
            return 0
        from hmk.cpu.far import fault_address  # noqa: PLC0415  (capstone: only for a fault)

        vaddr, access = self._refused
        code = getattr(self.traps, "instruction_at", lambda va: None)
        return fault_address(self.uc, vaddr, access == UC_MEM_FETCH, code)

    # ---- registers
    def reg(self, n: int) -> int:
        return self.cpu.reg(X[n])

    def syscall_registers(self) -> tuple[int, ...]:
        """x0-x5 and x8 (the syscall number) in one call."""
        return self.cpu.read(self._syscall_regs)

    def set_reg(self, n: int, value: int) -> None:
        self.cpu.set_reg(X[n], value & (1 << 64) - 1)

    def context(self) -> list[int]:
        """The 34 registers a context switch saves (x0-x30, sp, pc, pstate)."""
        return list(self.cpu.read(self._context_regs))

    def set_context(self, regs) -> None:
        self.cpu.write(self._context_regs, [int(r) for r in regs])

    def extra_context(self) -> list[int]:
        """FP/SIMD registers, FPCR, FPSR and TPIDR_EL0."""
        return list(self.cpu.read(self._extra_regs))

    def set_extra_context(self, regs) -> None:
        self.cpu.write(self._extra_regs, regs)

    def set_pc(self, pc: int) -> None:
        self.cpu.set_reg(A.UC_ARM64_REG_PC, pc)

    @property
    def pc(self) -> int:
        return self.cpu.reg(A.UC_ARM64_REG_PC)

    @property
    def sp(self) -> int:
        return self.cpu.reg(A.UC_ARM64_REG_SP)

    # ---- address space and TLB
    def set_space(self, root: int, asid: int, core: int = 0, code=None) -> None:
        """The kernel's TTBR0 write: fills walk `root`; events are tagged with `asid`. `code`:
        which program image the space runs (see `use_code`)."""
        self.recorder.set_space(root, asid, core)
        self.flush_tlb()
        self.use_code(code)

    def use_code(self, code) -> None:
        """The program image now running (any hashable key; None: unchanged). unicorn finds
        translated code by virtual address first (its jump cache survives a TLB flush), so
        when another image runs, as after an execve or a switch to a process running another
        program, its translations go. Processes forked from one image share the key."""
        if code is not None and code != self._code:
            self.flush_code()
            self._code = code
            self._watch()

    def watch_new_code(self, code=None) -> None:
        """From now on note, per program image, every block run (the recorder's `last_new`,
        `stop_on_new`), the current image being `code` (None: as use_code last said)."""
        self._seen = {}
        self.use_code(code)
        self._watch()

    def _watch(self) -> None:
        if self._seen is not None:
            table = self._seen.get(self._code)
            if table is None:
                table = self._seen[self._code] = np.zeros(SEEN_BLOCKS + 1, np.uint64)
            self.recorder.watch_code(table)

    def flush_tlb(self) -> None:
        """Forget unicorn's cached translations (after a page-table change)."""
        self.recorder.forget_translations()
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def flush_code(self) -> None:
        """Forget unicorn's translated code (a frame that held code is being reused: its
        translations, found by physical address, would run the old instructions)."""
        self.uc.ctl_flush_tb()

    # ---- running
    @property
    def stopped(self) -> bool:
        """The run is ending (the program exited, or the kernel stopped or killed it)."""
        return self._stopped

    def stop(self) -> None:
        """End the current run (e.g. the program exited)."""
        self._stopped = True
        self.cpu.emu_stop()

    def kill(self, detail: str, kind: str) -> None:
        """End the run as a guest fault: run() raises GuestFault(detail, kind)."""
        self._error, self._kind = detail, kind
        self.stop()

    @property
    def aborting(self) -> bool:
        """abort() was called: the run ends as soon as the CPU stops."""
        return self._abort is not None

    def abort(self, reason: str) -> None:
        """End the run for the simulator's own reason: run() raises RunAborted(reason), which
        is not offered to the guest kernel as a fault."""
        self._abort = reason
        self.cpu.emu_stop()

    def run(self, pc: int, sp: int | None = None) -> None:
        """Run from `pc` until stop(); drains the buffers whenever they fill and at the end,
        and returns when the sink has seen everything. Raises GuestFault when an access could
        not be mapped, RunAborted after abort()."""
        if sp is not None:
            self.cpu.set_reg(A.UC_ARM64_REG_SP, sp)
        self._stopped = False
        try:
            while True:
                try:
                    self.cpu.emu_start(pc, UNTIL)
                except UcError as e:
                    self._raise_bug()
                    self.drain()
                    if self._abort is not None:
                        raise RunAborted(self._abort) from None
                    if self._stopped and self._error is None:
                        return
                    kind = UNDEFINED if e.errno == UC_ERR_INSN_INVALID else self._kind
                    if self._recover(kind, self._error or str(e)):
                        pc = self.pc
                        continue
                    raise GuestFault(self.pc, self._error or str(e), kind) from None
                self._raise_bug()
                if self._abort is None and self._error is not None:
                    self.drain()
                    if self._recover(self._kind, self._error):
                        pc = self.pc
                        continue
                    raise GuestFault(self.pc, self._error, self._kind)
                self.drain()
                if self._abort is not None:
                    raise RunAborted(self._abort)
                if self._stopped:
                    return
                if self.on_boundary is not None:
                    self.on_boundary(self)
                    if self._stopped:
                        if self._error is not None:
                            raise GuestFault(self.pc, self._error, self._kind)
                        return
                pc = self.pc  # stopped because a buffer filled: resume where it left off
        finally:
            self.sync()

    def _raise_bug(self) -> None:
        """A kernel handler that raised inside a hook (unicorn's C frames cannot carry a
        Python exception) ends the run here as hmk's bug, never as the guest's fault."""
        if self._bug is not None:
            bug, self._bug = self._bug, None
            raise internal(bug, "a kernel handler") from bug

    def _recover(self, kind: str, detail: str) -> bool:
        """Offer a guest fault to the kernel (`traps.guest_fault(machine, kind, detail)`),
        which may deliver a signal and go on with some thread: True to resume at self.pc."""
        handler = getattr(self.traps, "guest_fault", None)
        if handler is None:
            return False
        saved = self._error, self._kind
        self._error, self._kind, self._stopped = None, ABORT, False
        if handler(self, kind, detail) and not self._stopped:
            return True
        if self._error is None:
            self._error, self._kind = saved
        return False

    def drain(self) -> None:
        """Hand what the hooks recorded to the sink (asynchronously when pipelined)."""
        if self._pending is not None:  # the buffer set the hooks switch to must be free again
            self.sync()
        if self.on_sync is not None:
            self.on_sync()
        if self.recorder.translations_crowded:
            self.flush_tlb()
        blocks, events = self.recorder.take()
        if self.sink is None or not (len(blocks) or len(events)):
            return
        if self._worker is not None and len(events) >= INLINE_BATCH:
            self._pending = self._worker.submit(self.sink, blocks, events)
        else:
            self.sink(blocks, events)

    def sync(self) -> None:
        """Wait until the sink has consumed every batch (re-raising what it raised)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        if self._worker is not None:
            self.sync()
            self._worker.shutdown()

    # ---- hooks that reach Python
    def _on_fault(self, vaddr: int, access: int) -> int:
        try:
            ok = self.traps.page_fault(self, vaddr, ACCESS_NAMES.get(access, "read"))
        except OutOfMemory as e:  # simulated RAM exhausted (Linux: the OOM killer)
            self._error, self._kind = f"out of memory: {e}", OUT_OF_MEMORY
            self.retryable = True  # nothing changed: the access can run again
            return 0
        except Exception as e:  # noqa: BLE001  (unicorn's C frames cannot carry it: run() raises it)
            self._bug = e
            self.cpu.emu_stop()
            return 0
        if not ok:
            self._error = f"{ACCESS_NAMES.get(access, access)} of {vaddr:#x} not mapped"
            self._refused = vaddr, access
        return 1 if ok else 0

    def _on_counter(self, reg: int, op2: int) -> int:
        """An MRS of the generic timer (op2 0: CNTFRQ_EL0, else a counter): the register gets
        the simulated value and the instruction is skipped (1). A counter read first times
        everything recorded so far (the rest of its own block is timed with the next batch),
        so it reads the clock at this instruction, deterministically."""
        try:
            if op2 == 0:
                value = self.traps.counter("frequency")
            else:
                self.sync()
                if self.on_sync is not None:
                    self.on_sync()
                blocks, events = self.recorder.take()
                if self.sink is not None and (len(blocks) or len(events)):
                    self.sink(blocks, events)
                value = self.traps.counter("count")
            self.cpu.set_reg(reg, value)
        except Exception as e:  # noqa: BLE001  (unicorn's C frames cannot carry it: run() raises it)
            self._bug = e
            self.cpu.emu_stop()
        return 1

    def _on_interrupt(self, intno: int) -> None:
        if intno != EXCP_SWI:
            self._kind = KIND_OF_EXCEPTION.get(intno, UNDEFINED)
            self._error = f"CPU exception {intno} ({EXCEPTION_NAMES.get(intno, 'other')})"
            self.cpu.emu_stop()
            return
        self.drain()  # keep timing in program order: what ran before the SVC first
        try:
            if self._pending is not None:  # the kernel may change page tables or read the
                self.sync()  # simulated clock
            self.traps.syscall(self)
        except OutOfMemory as e:  # simulated RAM exhausted (Linux: the OOM killer)
            self._error, self._kind = f"out of memory: {e}", OUT_OF_MEMORY
            self.retryable = False  # the call may have done part of its work
            self.cpu.emu_stop()
        except Exception as e:  # noqa: BLE001  (unicorn's C frames cannot carry it: run() raises it)
            self._bug = e
            self.cpu.emu_stop()


def _control(uc, impl: str):
    """The control path of `uc` and its register-batch type: hmk._fast.ucapi's compiled binding
    (impl "cython", when built) or hmk.cpu.ucpython's reference."""
    if impl not in ("python", "cython"):
        raise ValueError(f"machine: unknown control-path implementation {impl!r}")
    if impl == "cython":
        try:
            from hmk._fast.ucapi import Cpu, Registers  # noqa: PLC0415
        except ImportError:  # not built: unicorn's Python binding does the same
            pass
        else:
            return Cpu(uc), Registers
    return ucpython.UcPython(uc), ucpython.Registers
