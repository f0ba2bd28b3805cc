"""Run a study: execute the notebooks with papermill and write an immutable report version.

A version lives in ``reports/<study>/<version>/`` and is built in a temporary sibling directory,
then renamed into place, so a killed run never leaves a version that looks complete.  Its id is
``<study>-<UTC date>-<hash>``, the hash covering what determines the results: parameters, the
SHA-256 of every input, and a fingerprint of the code (package and notebooks).  Rerunning with
identical inputs finds the existing version instead of writing a duplicate.  A failed run is
kept under ``reports/<study>/failed/`` with the failing notebook and cell named, and the
command exits non-zero.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import nbformat

from analysis import params as params_mod
from analysis.config import NOTEBOOKS, ROOT, reports_dir
from analysis.data.studies import StudyData, load_study, sha256
from analysis.data.transform import select_series
from analysis.errors import InputError, ParameterError
from analysis.report import html as pages

NOTEBOOK_ORDER = ("01_data_overview.ipynb", "02_its.ipynb", "03_summary.ipynb", "04_robustness.ipynb")
KERNEL_NAME = "exodus"
PACKAGES = ("polars", "altair", "statsmodels", "papermill", "numpy", "scipy", "pandas",
            "vl-convert-python", "nbconvert", "ipykernel", "pyarrow")
RUN_ENV = {
    "EXODUS_RUN": "1",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "POLARS_MAX_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "TZ": "UTC",
}


@dataclass
class RunOutcome:
    status: str  # "complete" | "identical" | "failed"
    path: Path
    version: str
    message: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "failed" else 0


def notebooks() -> list[Path]:
    return [NOTEBOOKS / n for n in NOTEBOOK_ORDER]


def ensure_kernel() -> str:
    """Install (idempotently) a kernelspec that runs *this* interpreter, so runs never pick up
    another environment's ``python3`` kernel."""
    kdir = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": "Python (exodus)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    kdir.mkdir(parents=True, exist_ok=True)
    target = kdir / "kernel.json"
    text = json.dumps(spec, indent=1)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return KERNEL_NAME


def code_fingerprint() -> str:
    """SHA-256 over the package's source and the notebooks (what produces the results)."""
    h = hashlib.sha256()
    files = sorted((ROOT / "analysis").rglob("*.py")) + sorted(NOTEBOOKS.glob("*.ipynb"))
    for f in files:
        name = f.relative_to(ROOT) if f.is_relative_to(ROOT) else Path(f.parent.name) / f.name
        h.update(str(name).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def git_state() -> dict:
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", "analysis", "notebooks", "data", "pyproject.toml", "uv.lock")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment() -> dict:
    versions = {}
    for p in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[p] = importlib.metadata.version(p)
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def load_run_data(values: dict) -> StudyData:
    """The study's data exactly as the notebooks will load it."""
    return load_study(values["study"], seed=values["seed"], daily_rule=values["daily_rule"],
                      panel_file=values["panel_file"], events_file=values["events_file"])


def validate_values(values: dict, data: StudyData) -> None:
    """Check parameter values against the data before any notebook runs (fail fast, exit 2)."""
    try:
        when = date.fromisoformat(str(values["intervention_date"]))
    except ValueError:
        raise ParameterError(
            f"intervention_date must be YYYY-MM-DD, got {values['intervention_date']!r}"
        ) from None
    first, last = data.panel["date"].min(), data.panel["date"].max()
    if not first < when <= last:
        raise ParameterError(f"intervention_date {when} is outside the data ({first} .. {last})")
    for name in ("pre_days", "post_days"):
        if values[name] < 7:
            raise ParameterError(f"{name} must be at least 7, got {values[name]}")
    if (when - first).days < values["pre_days"]:
        raise ParameterError(
            f"pre_days={values['pre_days']} reaches before the data: only {(when - first).days} days "
            f"between {first} and the intervention {when}"
        )
    if not 0 < values["alpha"] < 0.5:
        raise ParameterError(f"alpha must be in (0, 0.5), got {values['alpha']}")
    from analysis.models.downloads import _check_range
    from analysis.models.its import ITSSpec

    try:  # the model the notebooks will declare: an invalid choice stops here, not mid-run
        ITSSpec(when, values["pre_days"], values["post_days"], transform=values["transform"], alpha=values["alpha"],
                errors=values["errors"], impact=values["impact"], seasonality=values["seasonality"],
                censored=values["censored"], chart_depth=data.chart_depth)
    except ValueError as exc:
        raise ParameterError(f"model parameters: {exc}") from None
    if len(values["downloads_exponent"]) != 2:
        raise ParameterError(f"downloads_exponent must be two numbers [low, high], got {values['downloads_exponent']}")
    _check_range(tuple(values["downloads_exponent"]))
    select_series(data.panel, values["apps"], values["countries"], values["store"], values["chart"])


def version_hash(values: dict, inputs: dict[str, str], fingerprint: str) -> str:
    blob = json.dumps({"parameters": values, "inputs": inputs, "code": fingerprint}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _existing(study_dir: Path, vhash: str) -> Path | None:
    for manifest in sorted(study_dir.glob("*/manifest.json")):
        if manifest.parent.name.startswith("."):
            continue
        with contextlib.suppress(OSError, json.JSONDecodeError):
            m = json.loads(manifest.read_text())
            if m.get("version_hash") == vhash and m.get("status") == "complete":
                return manifest.parent
    return None


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


def _publish(build: Path, final: Path) -> Path:
    """Rename the finished build into place; never replace an existing version (a forced or
    concurrent identical run gets a suffix)."""
    target = final
    for _ in range(5):
        try:
            if target.exists():
                raise FileExistsError(target)
            build.rename(target)  # atomic on one filesystem; fails if target appeared meanwhile
            return target
        except (FileExistsError, OSError):
            target = final.with_name(f"{final.name}-{uuid.uuid4().hex[:6]}")
    raise RuntimeError(f"could not publish {build}")


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


def run(
    study: str = "demo",
    overrides: dict[str, str] | None = None,
    *,
    root: Path | None = None,
    cell_timeout: int = 900,
    force: bool = False,
) -> RunOutcome:
    """Execute the study's notebooks and write a report version (see module docstring)."""
    import papermill as pm

    overrides = dict(overrides or {})
    root = Path(root) if root else reports_dir()
    specs = params_mod.collect(notebooks())
    if "study" in overrides and overrides["study"] != study:
        raise ParameterError("give the study with --study, not -p study=...")
    overrides["study"] = study
    values = params_mod.resolve(specs, overrides)
    data = load_run_data(values)
    validate_values(values, data)

    inputs = {name: sha256(blob) for name, blob in sorted(data.inputs.items())}
    fingerprint = code_fingerprint()
    vhash = version_hash(values, inputs, fingerprint)
    now = datetime.now(UTC)
    version = f"{study}-{now:%Y%m%d}-{vhash[:12]}"
    study_dir = root / study
    study_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(study_dir)
    existing = _existing(study_dir, vhash)
    if existing is not None and not force:
        write_index(root)
        return RunOutcome("identical", existing, existing.name,
                          f"identical to existing version {existing.name} (same parameters, inputs and code)")

    build = study_dir / f".build-{uuid.uuid4().hex}"
    build.mkdir()
    (build / "inputs").mkdir()
    for name, blob in data.inputs.items():
        (build / "inputs" / name).write_bytes(blob)
    for key, val in RUN_ENV.items():
        os.environ[key] = val
    kernel = ensure_kernel()
    interactive = sys.stderr.isatty()
    results, failure = [], None
    for i, nb in enumerate(notebooks(), start=1):
        declared = {p.name for p in params_mod.parse_parameters(params_mod.parameters_cell(nb))}
        nb_params = {k: v for k, v in values.items() if k in declared}
        nb_params["output_dir"] = str(build)
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
        except Exception as exc:  # kernel died, timeout, ...
            failure = {"notebook": nb.name, "status": "failed", "cell_index": None,
                       "error": f"{type(exc).__name__}: {exc}"}
        if failure:
            results.append(failure)
            _progress(f"[{i}/{len(NOTEBOOK_ORDER)}] {nb.name}: FAILED in cell {failure['cell_index']} "
                      f"({failure.get('cell_source', '')!r}): {failure['error']}")
            break
        normalise_notebook(out, build)

    status = "failed" if failure else "complete"
    manifest = {
        "version": version,
        "version_hash": vhash,
        "study": study,
        "title": data.title,
        "synthetic": data.synthetic,
        "status": status,
        "created_utc": now.isoformat(timespec="seconds"),
        "git": git_state(),
        "code_fingerprint": fingerprint,
        "environment": environment(),
        "parameters": values,
        "inputs": [{"name": n, "sha256": h, "bytes": len(data.inputs[n])} for n, h in inputs.items()],
        "sources": data.sources,
        "notebooks": results,
    }
    if failure:
        manifest["failure"] = failure
    try:
        _write_pages(build, manifest)
    except Exception as exc:  # rendering failed: keep the run, marked failed
        manifest["status"] = status = "failed"
        manifest["failure"] = {"notebook": None, "error": f"report rendering: {type(exc).__name__}: {exc}"}
    manifest["headline"] = headline_estimates(build)
    manifest["outputs"] = [
        {"path": str(p.relative_to(build)), "sha256": sha256(p.read_bytes())}
        for p in sorted(build.rglob("*")) if p.is_file() and p.name != "manifest.json"
    ]
    # The manifest is written last: a directory without one is never a finished version.
    (build / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")

    if status == "complete":
        final = _publish(build, study_dir / version)
        message = f"report written to {final}"
    else:
        final = study_dir / "failed" / f"{version}-{now:%H%M%S}-{uuid.uuid4().hex[:6]}"
        final.parent.mkdir(exist_ok=True)
        build.rename(final)
        f = manifest["failure"]
        message = (f"run FAILED in {f.get('notebook')} cell {f.get('cell_index')} "
                   f"({f.get('cell_source', '')!r}): {f.get('error')}; "
                   f"partial outputs kept in {final}")
    write_index(root)
    return RunOutcome(status, final, final.name, message)


def _write_pages(build: Path, manifest: dict) -> None:
    """The version's single self-contained report page (``index.html``)."""
    sections = []
    for r in manifest["notebooks"]:
        nb = build / "notebooks" / r["notebook"]
        if nb.exists():
            sections.append((r["notebook"].removesuffix(".ipynb"), pages.notebook_body(nb)))
    files = {
        "figures": sorted(p.name for p in (build / "figures").glob("*")) if (build / "figures").exists() else [],
        "tables": sorted(p.name for p in (build / "tables").glob("*.csv")) if (build / "tables").exists() else [],
    }
    (build / "index.html").write_text(pages.report_page(manifest, sections, files), encoding="utf-8")


def headline_estimates(version_dir: Path) -> list[dict]:
    """The level effects of the summary notebook's headline table (for the index and diffs)."""
    path = version_dir / "tables" / "03_summary-headline.csv"
    if not path.exists():
        return []
    import polars as pl

    df = pl.read_csv(path)
    return [
        {"series": f"{r['app_name']} {r['country'].upper()}", "estimate": round(r["estimate"], 4),
         "ci_low": round(r["ci_low"], 4), "ci_high": round(r["ci_high"], 4)}
        for r in df.iter_rows(named=True) if r["estimate"] is not None  # bounds have no point estimate
    ]


def headline(m: dict, n: int = 4) -> str:
    return "; ".join(f"{h['series']}: {h['estimate']:+.2f} [{h['ci_low']:+.2f}, {h['ci_high']:+.2f}]"
                     for h in (m.get("headline") or [])[:n])


def _manifests(root: Path) -> list[tuple[Path, dict]]:
    found = []
    paths = sorted(root.glob("*/*/manifest.json")) + sorted(root.glob("*/failed/*/manifest.json"))
    for manifest in paths:
        if any(part.startswith(".") for part in manifest.relative_to(root).parts[:-1]):
            continue  # a build still in progress or killed: never listed
        try:
            found.append((manifest.parent, json.loads(manifest.read_text())))
        except (OSError, json.JSONDecodeError):
            continue
    return found


def write_index(root: Path) -> Path:
    """Rewrite ``reports/index.html`` from the manifests, atomically and under a lock."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        versions = []
        for directory, m in _manifests(root):
            versions.append({
                "version": m.get("version"),
                "href": f"{directory.relative_to(root)}/index.html",
                "study": m.get("study"),
                "created_utc": m.get("created_utc"),
                "commit": (m.get("git", {}).get("commit") or "")[:10] + (" (dirty)" if m.get("git", {}).get("dirty") else ""),
                "status": m.get("status"),
                "headline": headline(m),
                "parameters": m.get("parameters", {}),
                "inputs": {i["name"]: i["sha256"] for i in m.get("inputs", [])},
                "estimates": {h["series"]: h["estimate"] for h in m.get("headline") or []},
            })
        versions.sort(key=lambda r: r["created_utc"] or "", reverse=True)
        tmp = root / f".index-{uuid.uuid4().hex}.html"
        tmp.write_text(pages.index_page(versions), encoding="utf-8")
        os.replace(tmp, root / "index.html")
    return root / "index.html"


def check_inputs_only(study: str, overrides: dict[str, str]) -> dict:
    """Resolve and validate parameters without running anything (used by tests and the CLI)."""
    specs = params_mod.collect(notebooks())
    values = params_mod.resolve(specs, {**overrides, "study": study})
    data = load_run_data(values)
    validate_values(values, data)
    return values


def remove_stale_builds(study_dir: Path, older_than_s: float = 24 * 3600) -> list[Path]:
    """Delete ``.build-*`` directories left by killed runs (older than a day)."""
    removed = []
    for d in study_dir.glob(".build-*"):
        if time.time() - d.stat().st_mtime > older_than_s:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


__all__ = ["RunOutcome", "run", "write_index", "InputError"]
