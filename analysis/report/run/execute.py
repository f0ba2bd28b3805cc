"""Execute a run's notebooks with papermill into its build directory, one line of progress per cell.

Papermill runs each notebook in a kernel of this interpreter (:func:`analysis.report.run.runner.ensure_kernel`)
with the run's parameters and ``output_dir`` pointing at the build directory; the first failing
notebook stops the run and is located by cell (index in the source notebook and first line).
An ``OSError`` raised here (the build directory cannot be written) propagates: it is a storage
fault for the caller, not a failed analysis.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import nbformat

from analysis import params as params_mod
from analysis.config import ROOT
from analysis.report.run.kernel import normalise_notebook, notebooks, run_kernel


def locate_failure(executed: Path, cell_index: int) -> dict:
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


def progress(msg: str) -> None:
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
                    name = Path(nb_man.nb.metadata.get("papermill", {}).get("input_path", "")).name
                    progress(f"      {name} cell {cell_index + 1}/{total} done")

            nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(name, LineProgressEngine)
    return name


LONGEST_FIRST = ("03_summary", "04_robustness")  # the two longest first: two workers then finish together


def _run_one(nb: Path, build: Path, params: params_mod.StudyParams, kernel: str, cell_timeout: int,
             label: str) -> dict:
    """Execute one notebook into ``build/notebooks``; its status row (with the failing cell)."""
    import papermill as pm

    out = build / "notebooks" / nb.name
    progress(f"{label} {nb.name}: running")
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(nb), str(out), parameters=params_mod.notebook_values(params, nb.stem, str(build)),
            kernel_name=kernel, cwd=str(ROOT), execution_timeout=cell_timeout, progress_bar=False,
            log_output=False, request_save_on_cell_execute=False, engine_name=_line_progress_engine(),
        )
    except pm.PapermillExecutionError as exc:
        return {"notebook": nb.name, "status": "failed", **locate_failure(out, exc.cell_index),
                "error": f"{exc.ename}: {exc.evalue}"}
    except OSError:
        raise  # the build directory cannot be written: a storage fault, not a failed analysis
    except Exception as exc:  # kernel died, timeout, ...
        return {"notebook": nb.name, "status": "failed", "cell_index": None, "error": f"{type(exc).__name__}: {exc}"}
    normalise_notebook(out, build)
    seconds = time.perf_counter() - t0
    progress(f"{label} {nb.name}: done in {seconds:.1f}s")
    return {"notebook": nb.name, "status": "complete", "seconds": round(seconds, 1)}


def freeze_plan(data, params: params_mod.StudyParams, build: Path) -> list[str]:
    """Build the run plan once and write it into ``build`` (:mod:`analysis.report.run.plan`):
    every notebook reads it.  Returns the fits that failed, with why; the notebook that needs
    such a fit fails at its cell, naming the error.  Anything else that stops the plan is
    written as the plan's failure, so waiting kernels stop at their setup cell, then re-raised."""
    from analysis.report.run.plan import build_plan, write_failure, write_plan

    try:
        plan = build_plan(params, data)
        write_plan(plan, build)
    except BaseException as exc:
        write_failure(build, f"{type(exc).__name__}: {exc}")
        raise
    return [f"{name}: {why}" for name, why in plan.errors.items()]


def plan_and_execute(data, params: params_mod.StudyParams, build: Path, cell_timeout: int
                     ) -> tuple[list[dict], dict | None, list[str]]:
    """Build the plan in a thread while the notebooks' kernels start and import (they wait for
    the plan in their setup cell): the fits overlap the kernels' start-up instead of preceding it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        planned = pool.submit(freeze_plan, data, params, build)
        results, failure = execute_notebooks(build, params, cell_timeout)
        try:
            notes = planned.result()
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - the kernels already failed at setup, naming it
            notes = [f"plan: {type(exc).__name__}: {exc}"]
    return results, failure, notes


def execute_notebooks(build: Path, params: params_mod.StudyParams, cell_timeout: int, jobs: int | None = None
                      ) -> tuple[list[dict], dict | None]:
    """Run the notebooks into ``build``, ``jobs`` at a time (default: one per CPU, at most 2).

    The notebooks are independent once the run plan is an artifact of the build (the runner
    writes it first: :func:`freeze_plan`), so they run in parallel kernels;
    results are listed in notebook order and the first failing notebook (in that order) is the
    run's failure.  Each kernel gets the run's environment from its kernelspec
    (:func:`analysis.report.run.kernel.run_kernel`), never from this process's ``os.environ``.
    """
    from concurrent.futures import ThreadPoolExecutor

    kernel = run_kernel()
    nbs = notebooks()
    (build / "notebooks").mkdir(exist_ok=True)
    jobs = jobs or max(1, min(2, os.cpu_count() or 1))
    labels = [f"[{i}/{len(nbs)}]" for i in range(1, len(nbs) + 1)]
    # Longest first (the robustness battery), so two workers finish together.
    order = sorted(range(len(nbs)), key=lambda i: (nbs[i].stem not in LONGEST_FIRST, i))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {i: pool.submit(_run_one, nbs[i], build, params, kernel, cell_timeout, labels[i]) for i in order}
        rows = [futures[i].result() for i in range(len(nbs))]
    failure = next((r for r in rows if r["status"] == "failed"), None)
    if failure is not None:
        progress(f"{failure['notebook']}: FAILED in cell {failure['cell_index']} "
                  f"({failure.get('cell_source', '')!r}): {failure['error']}")
    return rows, failure
