"""Benchmark: the wall time of a whole report run against the floor papermill itself imposes.

``RATIO report_vs_floor`` = wall time of ``exodus run --study demo`` (a fresh reports directory,
so nothing is reused) divided by the wall time of papermill executing the same number of
notebooks with the same kernel, each notebook doing only ``import numpy, polars``.  Both are
measured in this run, alternately, best of ``--repeat`` each, so machine load affects both
sides alike.  Lower is better: 1.0 would mean the study costs nothing beyond starting kernels.

The script also prints the run's peak memory (largest resident set of any process of the run:
the runner or one of its kernels).  Usage: ``python bench/bench_report.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Runs a command and reports the peak RSS (KiB on Linux) of its process tree on stderr's last line.
_RUSAGE = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n"
)

_FLOOR = (
    "import sys, papermill as pm\n"
    "for src, out in zip(sys.argv[1::2], sys.argv[2::2]):\n"
    "    pm.execute_notebook(src, out, kernel_name=KERNEL, progress_bar=False, log_output=False)\n"
)


def floor_notebook() -> dict:
    """A notebook with a parameters cell and one cell importing numpy and polars."""
    def cell(src: str, tags: list[str]) -> dict:
        return {"cell_type": "code", "execution_count": None, "metadata": {"tags": tags},
                "outputs": [], "source": src}

    return {"cells": [cell("output_dir = ''", ["parameters"]), cell("import numpy, polars", [])],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of ``cmd``; exits if it fails."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _RUSAGE, *cmd], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    kib, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"benchmark command failed (exit {rc}): {' '.join(cmd)}")
    return wall, int(kib) // 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2, help="measurements of each side (best is kept)")
    ap.add_argument("--study", default="demo")
    args = ap.parse_args()

    from analysis.report.run.kernel import notebooks, run_kernel

    kernel = run_kernel()
    n = len(notebooks())
    exodus = str(Path(sys.executable).with_name("exodus"))
    floor_times, run_times, peaks = [], [], []
    with tempfile.TemporaryDirectory(prefix="exodus-bench-") as tmp:
        tmp_path = Path(tmp)
        nb_args = []
        for i in range(n):
            src = tmp_path / f"floor{i}.ipynb"
            src.write_text(json.dumps(floor_notebook()))
            nb_args += [str(src), str(tmp_path / f"floor{i}-out.ipynb")]
        floor_cmd = [sys.executable, "-c", f"KERNEL = {kernel!r}\n" + _FLOOR, *nb_args]
        for r in range(args.repeat):
            floor_times.append(measured(floor_cmd, dict(os.environ))[0])
            env = dict(os.environ, EXODUS_REPORTS_DIR=str(tmp_path / f"reports{r}"))
            wall, peak = measured([exodus, "run", "--study", args.study], env)
            run_times.append(wall)
            peaks.append(peak)
    floor, run = min(floor_times), min(run_times)
    print(f"notebooks: {n}; kernel: {kernel}; repeats: {args.repeat}")
    print(f"floor (papermill, {n} notebooks importing numpy+polars): best {floor:.1f}s of "
          + ", ".join(f"{t:.1f}" for t in floor_times))
    print(f"exodus run --study {args.study}: best {run:.1f}s of " + ", ".join(f"{t:.1f}" for t in run_times))
    print(f"peak memory of the run (largest process): {max(peaks)} MiB")
    print(f"RATIO report_vs_floor {run / floor:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
