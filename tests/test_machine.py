"""The functional CPU: unicorn over hmk's RAM and page tables, with native recording hooks.

Guest programs are tiny assembly files in tests/guest/, built with the AArch64 cross compiler
(skipped without it). A test kernel maps ELF segments on first touch (read-only code pages)."""

import shutil
import subprocess

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from hmk.cpu.machine import GuestFault, Machine
from hmk.errors import InternalError
from hmk.hw.events import FETCH, READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, FlatMemory

CC = shutil.which("aarch64-linux-gnu-gcc")
pytestmark = pytest.mark.skipif(CC is None, reason="aarch64-linux-gnu-gcc is not installed")
GUEST = __import__("pathlib").Path(__file__).parent / "guest"
ASID = 3


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("guest")

    def build(name):
        exe = out / name
        if not exe.exists():
            subprocess.run([CC, "-nostdlib", "-static", "-o", exe, GUEST / f"{name}.S"], check=True)
        return exe

    return build


class SegmentKernel:
    """Maps PT_LOAD pages on first touch (code read-only); write, exit; nothing else."""

    def __init__(self, exe, ram_bytes=64 << 20):
        self.mem = FlatMemory(ram_bytes, table_frames=256)
        self.root = self.mem.root(ASID)
        with open(exe, "rb") as f:
            elf = ELFFile(f)
            self.entry = elf.header.e_entry
            self.segments = [
                (s["p_vaddr"], s["p_memsz"], s.data(), bool(s["p_flags"] & 2))
                for s in elf.iter_segments()
                if s["p_type"] == "PT_LOAD"
            ]
        self.faults = []
        self.out = b""
        self.status = None

    def page_fault(self, machine, vaddr, access):
        self.faults.append((vaddr, access))
        page = vaddr & ~(PAGE_SIZE - 1)
        for start, memsz, data, writable in self.segments:
            if start <= vaddr < start + memsz:
                if self.mem.tables.translate(self.root, page) is not None:
                    return False  # present but the access is not allowed: SIGSEGV
                pa = self.mem._alloc_data()
                lo, hi = max(page, start), min(page + PAGE_SIZE, start + len(data))
                if lo < hi:
                    self.mem.ram[pa + lo - page : pa + hi - page] = np.frombuffer(
                        data[lo - start : hi - start], np.uint8
                    )
                self.mem.tables.map(self.root, page, pa, writable=writable)
                return True
        return False

    def syscall(self, machine):
        nr = machine.reg(8)
        if nr == 64:  # write(fd, buf, n)
            va, n = machine.reg(1), machine.reg(2)
            pa = machine.recorder.translate(va)
            self.out += self.mem.ram[pa : pa + n].tobytes()
            machine.set_reg(0, n)
        elif nr == 93:  # exit
            self.status = machine.reg(0)
            machine.stop()
        else:
            machine.set_reg(0, -38)


def run(exe, event_capacity=1 << 20):
    kernel = SegmentKernel(exe)
    machine = Machine(kernel.mem.ram, kernel, event_capacity=event_capacity)
    machine.set_space(kernel.root, ASID)
    batches = []
    machine.sink = lambda blocks, events: batches.append((blocks.copy(), events.copy()))
    machine.run(kernel.entry, sp=0x7FFF0000)
    offset = 0
    for b, e in batches:  # event_start is relative to its own batch
        b["event_start"] += offset
        offset += len(e)
    blocks = np.concatenate([b for b, _ in batches])
    events = np.concatenate([e for _, e in batches])
    return kernel, machine, blocks, events


def test_hello_output_status_and_events(build):
    kernel, machine, blocks, events = run(build("hello_asm"))
    assert kernel.out == b"hello\n"
    assert kernel.status == 42
    # first touches: the code page (fetch), then the two .bss pages (8 KiB of stores)
    bss = kernel.segments[1][0]
    assert kernel.faults == [
        (kernel.entry & ~0xFFF, "fetch"),
        (bss, "write"),
        (bss + 4096, "write"),
    ]
    data = events[events["kind"] != FETCH]
    # one literal-pool load (ldr x3, =buf) and 1024 stores to .bss, at virtual addresses
    assert (data["kind"] == READ).sum() == 1
    stores = data[data["kind"] == WRITE]
    assert len(stores) == 1024
    assert np.array_equal(stores["addr"], bss + 8 * np.arange(1024, dtype=np.uint64))
    assert set(events["asid"]) == {ASID}
    # every block is announced by fetch events covering its bytes, in order
    first_fetch = events[blocks["event_start"]]
    assert np.all(first_fetch["kind"] == FETCH)
    assert np.array_equal(first_fetch["addr"], blocks["addr"])
    assert np.all(blocks["ninsn"] * 4 == blocks["size"])


def test_random_loop_events_are_virtual_and_complete(build):
    kernel, machine, blocks, events = run(build("randloop"))
    assert kernel.status == 0
    data = events[events["kind"] != FETCH]
    # two literal loads before the loop, then a load and a store per iteration
    assert (data["kind"] == READ).sum() == 2 + 200_000
    assert (data["kind"] == WRITE).sum() == 200_000
    loop = data[2:]
    assert np.array_equal(loop["addr"][0::2], loop["addr"][1::2])  # load then store, same word
    buf = kernel.segments[1][0]
    assert loop["addr"].min() >= buf and loop["addr"].max() < buf + (4 << 20)
    assert machine.recorder.counts["unattributed"] == 0
    # reproduce the guest's xorshift: the addresses are exactly the program's
    x, want = 0x1234, []
    for _ in range(5):
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        want.append(buf + 8 * (x & 0x7FFFF))
    assert list(loop["addr"][0:10:2]) == want


def test_small_buffers_resume_without_loss(build):
    exe = build("randloop")
    _, _, blocks_big, events_big = run(exe)
    _, _, blocks_small, events_small = run(exe, event_capacity=10_000)
    assert np.array_equal(events_big, events_small)
    assert np.array_equal(blocks_big, blocks_small)


def test_deterministic(build):
    exe = build("randloop")
    a = run(exe)[3]
    b = run(exe)[3]
    assert np.array_equal(a, b)


def test_write_to_read_only_page_faults(build):
    kernel = SegmentKernel(build("rowrite"))
    machine = Machine(kernel.mem.ram, kernel)
    machine.set_space(kernel.root, ASID)
    with pytest.raises(GuestFault, match="write of 0x400000 not mapped"):
        machine.run(kernel.entry, sp=0x7FFF0000)
    # unicorn asks for translations a page at a time: the fault names the page
    assert kernel.faults[-1] == (kernel.entry & ~0xFFF, "write")
    assert kernel.status is None


def test_kernel_bug_is_hmks_error_not_a_guest_fault(build):
    """A handler that raises inside a unicorn hook ends the run as an InternalError naming
    the handler's line; it is never offered to the kernel as the guest's fault."""

    class Broken(SegmentKernel):
        offered = 0

        def syscall(self, machine):
            raise RuntimeError("boom")

        def guest_fault(self, machine, kind, detail):
            self.offered += 1
            return False

    kernel = Broken(build("hello_asm"))
    machine = Machine(kernel.mem.ram, kernel)
    machine.set_space(kernel.root, ASID)
    with pytest.raises(
        InternalError, match=r"RuntimeError: boom at test_machine.py:\d+ in syscall"
    ):
        machine.run(kernel.entry, sp=0x7FFF0000)
    assert kernel.offered == 0


def test_native_walk_matches_the_reference():
    """The fill hook's walk (hmk/_fast/uchooks.pyx) and PageTables.translate, its Python
    reference, agree on every address and access for random mappings and permissions."""
    import ctypes

    from hypothesis import given, settings
    from hypothesis import strategies as st
    from unicorn.unicorn_py3.unicorn import uclib

    from hmk._fast.uchooks import Recorder

    emu_stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
    codes = {"read": 16, "write": 17, "fetch": 18}

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, (1 << 36) - 1),  # virtual page number (48-bit VA)
                st.booleans(),  # writable
                st.booleans(),  # executable
                st.booleans(),  # user
            ),
            min_size=1,
            max_size=20,
        ),
        st.lists(st.integers(0, (1 << 48) - 1), max_size=20),
    )
    def check(mappings, probes):
        mem = FlatMemory(8 << 20, table_frames=128)
        root = mem.root(1)
        for vpn, w, x, u in mappings:
            mem.tables.map(root, vpn << 12, mem._alloc_data(), writable=w, executable=x, user=u)
        rec = Recorder(mem.ram, 6, emu_stop)
        rec.set_space(root, 1)
        addresses = [(vpn << 12) | 0x123 for vpn, *_ in mappings] + probes
        for va in addresses:
            for name, code in codes.items():
                assert rec.translate(va, code) == mem.tables.translate(root, va, name)

    check()
