"""Execute a run's notebooks with papermill into its build directory, one line of progress per cell.

Papermill runs each notebook in a kernel of this interpreter (:func:`analysis.report.run.ensure_kernel`)
with the run's parameters and ``output_dir`` pointing at the build directory; the first failing
notebook stops the run and is located by cell (index in the source notebook and first line).
An ``OSError`` raised here (the build directory cannot be written) propagates: it is a storage
fault for the caller, not a failed analysis.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import nbformat

from analysis import params as params_mod
from analysis.config import ROOT


def _locate_failure(executed: Path, cell_index: int) -> dict:
    """Name the failing cell by its index in the *source* notebook and its first line.

    The executed notebook holds cells papermill added (``injected-parameters``, and the
    ``papermill-error-cell-tag`` banner before the failing cell), so the failing cell is found by
    its error output and its source index counts only the notebook's own cells.
    """
    info: dict = {"executed_cell_index": cell_index, "cell_index": cell_index, "cell_source": ""}
    added = ("injected-parameters", "papermill-error-cell-tag")
    with contextlib.suppress(Exception):
        cells = nbformat.read(executed, as_version=4).cells
        own = [c for c in cells if not set(c.metadata.get("tags", [])) & set(added)]
        for i, c in enumerate(own):
            if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
                info["cell_index"] = i
                info["execution_count"] = c.get("execution_count")
                info["cell_source"] = c.source.strip().splitlines()[0][:120]
                break
    return info


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _line_progress_engine() -> str:
    """Register (once) a papermill engine that prints one line per finished cell: quiet,
    line-based progress for CI logs, where a progress bar would be noise."""
    from papermill.engines import NBClientEngine, papermill_engines

    name = "exodus-lines"
    if name in papermill_engines._engines:
        return name

    class LineProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            original = nb_man.cell_complete
            total = len(nb_man.nb.cells)

            def cell_complete(cell, cell_index=None, **kw):
                original(cell, cell_index=cell_index, **kw)
                if cell.cell_type == "code":
                    _progress(f"      cell {cell_index + 1}/{total} done")

            nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(name, LineProgressEngine)
    return name


def execute_notebooks(build: Path, params: params_mod.StudyParams, cell_timeout: int
                      ) -> tuple[list[dict], dict | None]:
    """Run the notebooks in order into ``build``; stop at the first failure."""
    import papermill as pm

    from analysis.report.run import (
        NOTEBOOK_ORDER,
        normalise_notebook,
        notebooks,
        run_kernel,
    )

    kernel = run_kernel()
    interactive = sys.stderr.isatty()
    results, failure = [], None
    for i, nb in enumerate(notebooks(), start=1):
        nb_params = params_mod.notebook_values(params, nb.stem, str(build))
        out = build / "notebooks" / nb.name
        out.parent.mkdir(exist_ok=True)
        _progress(f"[{i}/{len(NOTEBOOK_ORDER)}] {nb.name}: running")
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                str(nb), str(out), parameters=nb_params, kernel_name=kernel, cwd=str(ROOT),
                execution_timeout=cell_timeout, progress_bar=interactive, log_output=False,
                request_save_on_cell_execute=False,
                engine_name=None if interactive else _line_progress_engine(),
            )
            results.append({"notebook": nb.name, "status": "complete", "seconds": round(time.perf_counter() - t0, 1)})
            _progress(f"[{i}/{len(NOTEBOOK_ORDER)}] {nb.name}: done in {time.perf_counter() - t0:.1f}s")
        except pm.PapermillExecutionError as exc:
            failure = {"notebook": nb.name, "status": "failed", **_locate_failure(out, exc.cell_index),
                       "error": f"{exc.ename}: {exc.evalue}"}
        except OSError:
            raise  # the build directory cannot be written: a storage fault, not a failed analysis
        except Exception as exc:  # kernel died, timeout, ...
            failure = {"notebook": nb.name, "status": "failed", "cell_index": None,
                       "error": f"{type(exc).__name__}: {exc}"}
        if failure:
            results.append(failure)
            _progress(f"[{i}/{len(NOTEBOOK_ORDER)}] {nb.name}: FAILED in cell {failure['cell_index']} "
                      f"({failure.get('cell_source', '')!r}): {failure['error']}")
            break
        normalise_notebook(out, build)
    return results, failure
