"""The notebooks of a run and the kernels that execute them.

:func:`ensure_kernel` installs (idempotently) a kernelspec that runs *this* interpreter, so a
run never picks up another environment's ``python3``; :func:`run_kernel` is the one report runs
use (:data:`RUN_ENV`: one thread per library, UTC, fixed hash seed).  :func:`normalise_notebook`
strips what makes reruns differ from an executed notebook.  Both the runner and the executor
import from here, so neither imports the other.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

from analysis.config import NOTEBOOKS, RUN_FLAG

NOTEBOOK_ORDER = ("01_data_overview.ipynb", "02_its.ipynb", "03_summary.ipynb", "04_robustness.ipynb")
KERNEL_NAME = "exodus"
RUN_KERNEL_NAME = "exodus-run"
RUN_ENV = {
    RUN_FLAG: "1",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "POLARS_MAX_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "TZ": "UTC",
}


def notebooks() -> list[Path]:
    return [NOTEBOOKS / n for n in NOTEBOOK_ORDER]


def ensure_kernel(name: str = KERNEL_NAME, env: dict[str, str] | None = None) -> str:
    """Install (idempotently) a kernelspec that runs *this* interpreter, so runs never pick up
    another environment's ``python3`` kernel (started by :mod:`analysis.report.run.kernel_launch`:
    ipykernel without the shutdown interrupt's error line).  ``env`` goes into the kernelspec (jupyter_client
    merges it over the parent's environment when it starts the kernel): the kernel gets its
    environment without the runner changing its own ``os.environ``."""
    kdir = Path(sys.prefix) / "share" / "jupyter" / "kernels" / name
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "analysis.report.run.kernel_launch", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": "Python (exodus)" if env is None else "Python (exodus report run)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    if env:
        spec["env"] = dict(sorted(env.items()))
    kdir.mkdir(parents=True, exist_ok=True)
    target = kdir / "kernel.json"
    text = json.dumps(spec, indent=1)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return name


def run_kernel() -> str:
    """The kernel report runs use: this interpreter with :data:`RUN_ENV` (one thread per
    library, UTC, fixed hash seed, SVG rendering)."""
    return ensure_kernel(RUN_KERNEL_NAME, RUN_ENV)


def normalise_notebook(path: Path, build: Path) -> None:
    """Strip what makes reruns differ: timings, random cell ids, kernel-specific metadata, and
    the temporary build directory (replaced by ``.``, the version directory itself)."""
    nb = nbformat.read(path, as_version=4)
    pm = nb.metadata.get("papermill", {})
    params = dict(pm.get("parameters", {}))
    if "output_dir" in params:
        params["output_dir"] = "."
    nb.metadata["papermill"] = {"parameters": params}
    for i, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace(repr(str(build)), "'.'").replace(f'"{build}"', '"."')
        cell["id"] = f"cell-{i:03d}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell["execution_count"] = None
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = None
    nbformat.write(nb, path)
