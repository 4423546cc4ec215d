"""asv benchmarks of hmk (see docs/performance.md).

With `asv run --python=same` asv imports these from the Python that runs it and installs
nothing, so hmk must be importable there: pip-installed (editable) or on PYTHONPATH. If it is
not, fall back to the clone this folder belongs to (its extensions must be built in place:
`python setup.py build_ext --inplace`).
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("hmk") is None:
    _REPO = Path(__file__).resolve().parents[2]
    if (_REPO / "hmk" / "__init__.py").is_file():
        sys.path.insert(0, str(_REPO))
