"""Mutated ELF files, hardware profiles and system files (tests/input_mutations.py): each loads,
or is refused with ONE line of hmk's own error type, within a bounded time. tools/fuzz_inputs.py
runs the same mutations by the thousand, with the command line and hmk.System's options."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from input_mutations import HELLO, mutate_elf, profile_files, system_file, write_files

from hmk.cpu.elf import ElfError, parse_elf
from hmk.cpu.timing import TimingModel
from hmk.hw.engine import BatchHierarchy
from hmk.hw.profile import ProfileError, load_soc
from hmk.system import SystemFileError, load_system

ELF = HELLO.read_bytes()
BOUNDED = settings(deadline=timedelta(seconds=5), derandomize=True)


def one_line(error: Exception, start: str = "") -> None:
    text = str(error)
    assert text and "\n" not in text and text.startswith(start), text


@settings(BOUNDED, max_examples=200)
@given(rng=st.randoms(use_true_random=False))
def test_a_mutated_program_loads_or_is_refused_in_one_line(rng):
    data = mutate_elf(ELF, rng)
    try:
        image = parse_elf(data, "fuzz")
    except ElfError as e:
        one_line(e, "fuzz: ")
        return
    # what was read is no more than the file holds, and the image is whole
    assert sum(len(s.data) for s in image.segments) <= len(data)
    assert all(len(s.data) == s.filesz <= s.memsz for s in image.segments)


@settings(BOUNDED, max_examples=120)
@given(rng=st.randoms(use_true_random=False))
def test_a_mutated_profile_loads_or_is_refused_in_one_line(rng):
    """An accepted profile must also build its core's caches, TLBs and timing model: the
    bounds keep what they hold small."""
    with tempfile.TemporaryDirectory() as root:
        write_files(Path(root), profile_files(rng))
        try:
            soc = load_soc(Path(root) / "soc.toml")
        except ProfileError as e:
            one_line(e, f"{root}/")
            return
        for cluster in soc.clusters:
            BatchHierarchy(soc.hierarchy(cluster.name, cores=1))
            TimingModel(cluster.core)


@settings(BOUNDED, max_examples=150)
@given(rng=st.randoms(use_true_random=False))
def test_a_mutated_system_file_loads_or_is_refused_in_one_line(rng):
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / "system.toml"
        path.write_bytes(system_file(rng))
        try:
            composition = load_system(path)
        except SystemFileError as e:
            one_line(e, f"{path}: ")
            return
        assert {s for d in composition.domains for s in d.services} >= {"fsmgr", "procmgr"}
