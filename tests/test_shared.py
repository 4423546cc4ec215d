"""What compiled and guest code share with the Python is defined once, in Python: the record
layouts, the constants the compiled twins use (hmk/_fast/shared.pxd), the core-kernel call
numbers HM-native programs use (workloads/hm/hmcalls.h) and the scripting channel's protocol
(workloads/script/scripthost.c) are generated from it (tools/genshared.py), and the compiled
code's own view of them is read back and compared."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from hmk.hw.events import BLOCK_DTYPE, EVENT_DTYPE

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("genshared", ROOT / "tools" / "genshared.py")
genshared = importlib.util.module_from_spec(spec)
spec.loader.exec_module(genshared)


def test_the_generated_files_are_current():
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "genshared.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout


def test_the_compiled_twins_see_the_python_values():
    """Read from the compiled module built from shared.pxd (a stale build fails here)."""
    from hmk._fast.constants import VALUES  # noqa: PLC0415

    python = {name: value for name, (_, _, value) in genshared.values().items()}
    assert python == VALUES


@pytest.mark.parametrize(
    ("record", "dtype"),
    [
        ("Event", EVENT_DTYPE),
        ("Block", BLOCK_DTYPE),
        ("Row", "hmk.cpu.classify.BLOCKINFO_DTYPE"),
        ("Insn", "hmk.cpu.classify.INSN_DTYPE"),
    ],
)
def test_the_compiled_records_are_the_numpy_dtypes(record, dtype):
    from hmk._fast.constants import LAYOUTS  # noqa: PLC0415

    if isinstance(dtype, str):
        module, name = dtype.rsplit(".", 1)
        dtype = getattr(importlib.import_module(module), name)
    size, offsets = LAYOUTS[record]
    assert size == dtype.itemsize
    assert offsets == {f: dtype.fields[f][1] for f in dtype.names}


def test_hmcalls_h_numbers_are_the_kernels():
    """The header's generated block: every core-kernel call at its number, the map window."""
    from hmk.kernel import hmcalls  # noqa: PLC0415

    text = (ROOT / "workloads" / "hm" / "hmcalls.h").read_text(encoding="utf-8")
    for n, name in hmcalls.NAMES.items():
        assert f"HM_{name.upper()} = HM_CALL_BASE + {n:#04x}," in text
    assert f"#define HM_MAP_WINDOW {hmcalls.MAP_WINDOW[0]:#x}UL" in text
