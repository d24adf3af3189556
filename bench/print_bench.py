"""Benchmark: an A4 300-dpi PNG print map of the embedded dataset (target < 5 s).

Measured in a fresh process including imports and font setup, then warm.

    python bench/print_bench.py
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
from export.maps import base_layers, zone_extent
from export.printmap import render_print_map
layers = base_layers(["universities", "platforms", "incubators", "science_venues", "enterprises", "communities"])
data = render_print_map(layers, title="宁波市创新资源分布图", dpi=300, fmt="png", extent=zone_extent(None))
t1 = time.perf_counter()
data = render_print_map(layers, title="宁波市创新资源分布图", dpi=300, fmt="png", extent=zone_extent(None))
t2 = time.perf_counter()
print(f"{{t1 - t0:.2f}} {{t2 - t1:.2f}} {{len(data)}}")
"""


def main() -> None:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    cold, warm, size = out.stdout.split()
    print(
        f"A4 landscape 300 dpi PNG (3507×2480), every embedded layer: fresh process {cold} s incl. imports "
        f"and data loading, warm {warm} s; {int(size) // 1024} KiB; target < 5 s "
        f"(process wall {time.perf_counter() - t:.2f} s)"
    )


if __name__ == "__main__":
    main()
