"""`hmk paper`: the HM paper's evaluation (OSDI 2024) regenerated on the model, beside the
published values (docs/paper.md).

    experiments.py   the five experiments: their runs, cells and table rows
    runs.py          the simulations, one bundled program each, on a pool of processes
    page.py          docs/paper.md: tables, sources, gaps; the cells read back from a page
    figures.py       a PNG per experiment (matplotlib)
    command.py       the command line
"""
