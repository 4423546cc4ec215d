"""hmk's layers, enforced: every module imports only from its own layer or the ones below it,
and no modules import each other in a cycle. Function-level imports count too: an import made
late is still a dependency.

    hw, _fast, workloads (data)  <  cpu  <  kernel  <  monolithic  <  linux  <  services  <  system
    <  report, fuzz  <  script, api  <  bench  <  calibration  <  fidelity  <  paper  <  cli

(docs/architecture.md draws the same picture and says what each layer may know.)
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hmk"
LAYERS = (  # a compiled twin (hmk._fast.*) is in its Python reference's layer
    ("hmk", "hmk.hw", "hmk._fast", "hmk.workloads", "hmk.hardware_profiles"),
    ("hmk.cpu", "hmk._fast.timing", "hmk._fast.uchooks", "hmk._fast.ucapi"),
    (
        "hmk.kernel",
        "hmk._fast.asidfast",
        "hmk._fast.caplookup",
        "hmk._fast.ipcfast",
        "hmk._fast.kernelclock",
        "hmk._fast.pagefault",
        "hmk._fast.pagerecords",
        "hmk._fast.pathcost",
        "hmk._fast.vspacefast",
    ),
    ("hmk.monolithic", "hmk._fast.pagebook"),
    ("hmk.linux",),
    ("hmk.services", "hmk._fast.addrspacefast"),
    ("hmk.system", "hmk._fast.crossing"),
    ("hmk.report", "hmk.fuzz"),  # hmk syscalls lists the fuzzing's known differences
    ("hmk.script", "hmk.api"),
    ("hmk.bench",),
    ("hmk.calibration",),
    ("hmk.fidelity",),
    ("hmk.paper",),
    ("hmk.sweep",),
    ("hmk.cli", "hmk.__main__"),
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyx")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def layer_of(module: str) -> int:
    """The layer of `module`: the one whose longest prefix names it."""
    best, depth = None, -1
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = i, len(prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best


def imports_of(module: str) -> set[str]:
    """The hmk modules `module` imports, wherever in the file (resolved to modules)."""
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    names = set()
    if path.suffix == ".pyx":  # Cython: its Python-level imports (cimports are _fast's own)
        names = set(re.findall(r"^\s*(?:from|import)\s+(hmk[\w.]*)", text, re.M))
    else:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    out = set()
    for name in names:
        if not name.startswith("hmk"):
            continue
        while name not in MODULES:  # `from hmk.x import y`: y is a name, not a module
            name = name.rpartition(".")[0]
        if name != module:
            out.add(name)
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_upward(module):
    mine = layer_of(module)
    upward = sorted(m for m in GRAPH[module] if layer_of(m) > mine and m != "hmk")
    assert not upward, f"{module} (layer {LAYERS[mine]}) imports from above: {upward}"


def test_no_import_cycles():
    """Tarjan's strongly connected components: every one a single module."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"modules that import each other: {cycles}"


def test_the_core_kernel_knows_nothing_of_linux():
    """Not even by name: hmk.kernel imports nothing above the CPU, and no Linux concept
    (errno tables, signals, syscall names) is spelled in it."""
    for module in (m for m in MODULES if m.startswith("hmk.kernel")):
        assert all(layer_of(m) <= layer_of("hmk.kernel") for m in GRAPH[module]), module
        text = MODULES[module].read_text(encoding="utf-8")
        for word in ("SIGSEGV", "ERESTARTSYS", "rt_sigreturn", "execve", "import errno"):
            assert word not in text, f"{module} mentions {word}"
