"""hmk: a cycle-level model of the HongMeng microkernel on ARMv8 hardware profiles."""

__version__ = "0.1.0"

_LAZY = {
    "System": "hmk.api",
    "ScriptError": "hmk.api",
}  # imported on first use: `import hmk` stays light


def __getattr__(name: str):
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hmk' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
