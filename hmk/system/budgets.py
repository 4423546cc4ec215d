"""The calibration table's instruction budgets, changed for a run (`hmk run --set`,
`run_program(budgets=...)`, a sweep's `budget.` knobs).

A budget is named `kernel.NAME` (the core kernel's, hmk/kernel/costs.py), `linux.NAME` (the
Linux kernel model's, hmk/monolithic/costs.py) or `SERVICE.OP` (a service's `costs`, e.g.
`fsmgr.walk`). `changed(budgets)` sets them for the duration of a `with` block and puts the
table back after it, so a run's changes never outlive it. Every consumer reads its budgets when
a run is built or a path is taken, never when its module is imported, so a change reaches the
compiled twins and the references alike (tests/test_budgets.py).
"""

from __future__ import annotations

import contextlib
import tomllib


def tables() -> dict[str, dict]:
    """{where: the dict of its budgets}: "kernel", "linux" and each service's name."""
    from hmk.kernel.costs import BUDGETS as KERNEL  # noqa: PLC0415
    from hmk.monolithic.costs import BUDGETS as LINUX  # noqa: PLC0415
    from hmk.services.registry import SERVICES  # noqa: PLC0415

    return {"kernel": KERNEL, "linux": LINUX, **{cls.name: cls.costs for cls in SERVICES}}


def known() -> dict[str, float]:
    """{"kernel.NAME" ...: its value} of every budget."""
    return {f"{where}.{name}": v for where, table in tables().items() for name, v in table.items()}


def _locate(name: str, every: dict[str, dict]) -> tuple[dict, str]:
    where, _, key = name.partition(".")
    if where not in every:
        raise ValueError(f"budget {name!r}: no budgets {where!r}; budgets are {', '.join(every)}.*")
    if key not in every[where]:
        raise ValueError(f"budget {name!r}: {where} has no budget {key!r}")
    return every[where], key


def _value(name: str, value) -> float | int:
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value, 0)
        except ValueError:
            raise ValueError(f"budget {name!r}: {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise ValueError(f"budget {name!r}: a number of instructions, 0 or more, not {value!r}")
    return value


def check(budgets: dict) -> dict[str, float | int]:
    """`budgets` ({name: value}, values numbers or their text) checked: ValueError, one line,
    naming the first bad one."""
    every = tables()
    out = {}
    for name, value in budgets.items():
        _locate(name, every)
        out[name] = _value(name, value)
    return out


@contextlib.contextmanager
def changed(budgets: dict | None):
    """The budgets set for the block, the table as it was after it."""
    if not budgets:
        yield
        return
    budgets = check(budgets)
    every, old = tables(), []
    try:
        for name, value in budgets.items():
            table, key = _locate(name, every)
            old.append((table, key, table[key]))
            table[key] = value
        yield
    finally:
        for table, key, value in reversed(old):
            table[key] = value


def parse_set(texts: list[str]) -> dict[str, str]:
    """`--set NAME=VALUE` texts as {name: value text}."""
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--set {text}: give NAME=VALUE, e.g. kernel.ipc.fast_call=120")
        out[name.strip()] = value.strip()
    return out


def read_file(path: str) -> dict:
    """A budgets file (TOML): `"kernel.ipc.fast_call" = 120` lines, or tables ([kernel],
    [fsmgr], [budgets]) of them; {name: value}."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ValueError(f"--budgets {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"--budgets {path}: not TOML: {e}") from None
    flat = {}
    for key, value in _flatten(data, ""):
        flat[key.removeprefix("budgets.")] = value
    return flat


def _flatten(table: dict, prefix: str):
    """(dotted name, value) of every value in `table` (a dotted key without quotes is a nested
    table in TOML: its parts join again here)."""
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from _flatten(value, name)
        else:
            yield name, value
