"""The system: what a run boots and how it is assembled.

    composition   system files and presets: which service runs in which domain (hmk/system/
                  presets; docs/systems.md)
    simulation    the assembly: hardware, core kernel, services, personality, and a program
                  run on them (Simulation, run_program, RunResult)
    stats         the run's statistics under stable names (docs/stats.md)
    stacks        cycle-weighted call stacks, for flame graphs

`load_system`, `run_program` and the rest are importable from here; the model itself loads only
when a run needs it.
"""

from hmk.system.composition import (
    CLASSES,
    DEFAULT_SYSTEM,
    Composition,
    Domain,
    SystemFileError,
    list_systems,
    load_system,
    parse_system,
    registered,
    system_file,
    systems_dir,
)

_SIMULATION = ("DEFAULT_ENV", "LIMIT_STATUS", "RunResult", "Simulation", "run_program")


def __getattr__(name: str):
    if name in _SIMULATION:
        from hmk.system import simulation  # noqa: PLC0415  (heavy: numpy, unicorn, the model)

        return getattr(simulation, name)
    raise AttributeError(f"module 'hmk.system' has no attribute {name!r}")


__all__ = [
    "CLASSES",
    "DEFAULT_SYSTEM",
    "Composition",
    "Domain",
    "SystemFileError",
    "list_systems",
    "load_system",
    "system_file",
    "parse_system",
    "registered",
    "systems_dir",
    *_SIMULATION,
]
