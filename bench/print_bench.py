"""Benchmark: an A4 300-dpi PNG print map of a project (default: the demo; target < 5 s).

Measured in a fresh process including imports and font setup, then warm.

    python bench/print_bench.py [PROJECT.gpkg]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = f"""
import time, sys
t0 = time.perf_counter()
sys.path.insert(0, {str(ROOT)!r})
from layers.project import open_project
from workflows.exports import MapExportRequest, run_map_export
project = open_project(sys.argv[1] if len(sys.argv) > 1 else None)
req = MapExportRequest(format="png", dpi=300)
data = run_map_export(project, req)
t1 = time.perf_counter()
data = run_map_export(project, req)
t2 = time.perf_counter()
print(f"{{t1 - t0:.2f}} {{t2 - t1:.2f}} {{len(data)}}")
"""


def main() -> None:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CODE, *sys.argv[1:2]], capture_output=True, text=True, check=True
    )
    cold, warm, size = out.stdout.split()
    print(
        f"A4 landscape 300 dpi PNG (3507×2480), every resource layer of the project: fresh process {cold} s incl. imports "
        f"and data loading, warm {warm} s; {int(size) // 1024} KiB; target < 5 s "
        f"(process wall {time.perf_counter() - t:.2f} s)"
    )


if __name__ == "__main__":
    main()
