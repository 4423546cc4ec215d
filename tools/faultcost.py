"""Host CPU time per fault (or fork) of checkouts of hmk side by side, in one session: each
checkout's own hmk (its extensions built in place) runs the bundled `lat OP N` in a process of
its own, the best of 3 runs at N = FEW and at N = MANY, and the difference over MANY - FEW is
the cost of one operation (start-up and exit cancel out).

    python tools/faultcost.py /path/to/old/hmk .                 # the default rows
    python tools/faultcost.py . --rows fault-write:linux:200:16200,fork:hm-phone:5:45

CPU time (time.process_time), not wall time: this machine is shared, and wall time moves more.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

ROWS = "fault-write:linux:200:16200,fault-write:hm-phone:200:16200,fault-write:sel4:200:16200"
ROWS += ",fault-read:linux:200:16200,fork:hm-phone:5:45"

ONE = r"""
import io, sys, time
from hmk.system.simulation import run_program
from hmk.workloads import path

op, system, few, many = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def best(n):
    times = []
    for _ in range(3):
        start = time.process_time()
        run_program(str(path("lat")), [op, str(n)], out=io.BytesIO(), err=io.BytesIO(),
                    system=system)
        times.append(time.process_time() - start)
    return min(times)

print((best(many) - best(few)) / (many - few) * 1e6)
"""


def cost(tree: str, op: str, system: str, few: str, many: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
    run = subprocess.run(
        [sys.executable, "-c", ONE, op, system, few, many],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        return "failed: " + (run.stderr.strip().splitlines() or ["?"])[-1]
    return f"{float(run.stdout):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", help="checkouts of hmk, their extensions built")
    parser.add_argument("--rows", default=ROWS, help="OP:SYSTEM:FEW:MANY,... (lat operations)")
    args = parser.parse_args()
    print("operation | system | " + " | ".join(args.trees) + "  (host us per operation)")
    for row in args.rows.split(","):
        op, system, few, many = row.split(":")
        cells = [cost(tree, op, system, few, many) for tree in args.trees]
        print(f"{op} | {system} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
