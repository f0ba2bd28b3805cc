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
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from analysis import params as params_mod
from analysis.config import NOTEBOOKS, ROOT, RUN_FLAG, reports_dir
from analysis.data.studies import sha256
from analysis.errors import InputError
from analysis.report import html as pages
from analysis.report import publish, storage
from analysis.report.answer_section import (
    AnswerSection,
    headline_from_answer,
    headline_text,
    load_answer_section,
)
from analysis.report.execute import _locate_failure, _progress, share_study_fit  # noqa: F401  (re-exported for tests)
from analysis.report.execute import execute_notebooks as _execute
from analysis.report.preflight import Preflight, preflight

NOTEBOOK_ORDER = ("01_data_overview.ipynb", "02_its.ipynb", "03_summary.ipynb", "04_robustness.ipynb")
KERNEL_NAME = "exodus"
RUN_KERNEL_NAME = "exodus-run"
PACKAGES = ("polars", "altair", "statsmodels", "papermill", "numpy", "scipy", "pandas",
            "vl-convert-python", "nbconvert", "ipykernel", "pyarrow")
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


def ensure_kernel(name: str = KERNEL_NAME, env: dict[str, str] | None = None) -> str:
    """Install (idempotently) a kernelspec that runs *this* interpreter, so runs never pick up
    another environment's ``python3`` kernel (started by :mod:`analysis.report.kernel_launch`:
    ipykernel without the shutdown interrupt's error line).  ``env`` goes into the kernelspec (jupyter_client
    merges it over the parent's environment when it starts the kernel): the kernel gets its
    environment without the runner changing its own ``os.environ``."""
    kdir = Path(sys.prefix) / "share" / "jupyter" / "kernels" / name
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "analysis.report.kernel_launch", "-f", "{connection_file}",
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


def version_hash(values: dict, inputs: dict[str, str], fingerprint: str) -> str:
    blob = json.dumps({"parameters": values, "inputs": inputs, "code": fingerprint}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


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
        except OSError as exc:
            if publish.cannot_write(exc):
                raise
            target = final.with_name(f"{final.name}-{uuid.uuid4().hex[:6]}")
    raise RuntimeError(f"could not publish {build}")


def run(
    study: str = "demo",
    overrides: dict[str, str] | None = None,
    *,
    root: Path | None = None,
    cell_timeout: int = 900,
    force: bool = False,
) -> RunOutcome:
    """Execute the study's notebooks and write a report version (see module docstring)."""
    root = Path(root) if root else reports_dir()
    checked = preflight(study, dict(overrides or {}))  # every parameter and file, before anything runs
    data = checked.data
    values = {k: v for k, v in checked.params.as_dict().items() if k not in params_mod.INTERNAL}
    for note in checked.notes:
        _progress(f"note: {note}")

    inputs = {name: sha256(blob) for name, blob in sorted(data.inputs.items())}
    fingerprint = code_fingerprint()
    vhash = version_hash(values, inputs, fingerprint)
    now = datetime.now(UTC)
    version = f"{study}-{now:%Y%m%d}-{vhash[:12]}"
    study_dir = root / study
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise publish.storage_error(exc, root) from None
    with publish.version_lock(study_dir, vhash):  # identical concurrent runs: the second waits
        with contextlib.suppress(OSError):
            remove_stale_builds(study_dir)
        existing, notes = publish.find_identical(study_dir, vhash)
        if existing is not None and not force:
            warn = _index_quietly(root)
            return RunOutcome("identical", existing, existing.name,
                              f"identical to existing version {existing.name} (same parameters, inputs and code; "
                              f"its files verified against its manifest){warn}")
        build = study_dir / f".build-{uuid.uuid4().hex}"
        try:
            outcome = _build(build, study_dir, checked, values, inputs, fingerprint, vhash, version, now,
                             cell_timeout)
        except OSError as exc:
            shutil.rmtree(build, ignore_errors=True)
            if publish.cannot_write(exc):
                raise publish.storage_error(exc, root) from None
            raise
    if notes:
        outcome.message = "; ".join(notes) + f"; {outcome.message}"
    outcome.message += _index_quietly(root)
    return outcome


def _index_quietly(root: Path) -> str:
    """Rewrite the index; on a read-only or full disk return a note instead of failing."""
    try:
        write_index(root)
    except OSError as exc:
        if not publish.cannot_write(exc):
            raise
        return f" (the index {root / 'index.html'} was not updated: {publish.describe(exc)})"
    return ""


def _build(build: Path, study_dir: Path, checked: Preflight, values: dict, inputs: dict[str, str],
           fingerprint: str, vhash: str, version: str, now: datetime, cell_timeout: int) -> RunOutcome:
    """Write inputs, execute, render, write the manifest last, then publish (or keep as failed)."""
    data = checked.data
    build.mkdir()
    (build / "inputs").mkdir()
    for name, blob in data.inputs.items():  # hard links to reports/<study>/.inputs/<sha256>: stored once
        storage.write_input(build / "inputs", name, blob, study_dir / storage.STORE)
    why = share_study_fit(data, checked.params, build)
    if why:
        _progress(f"note: the study fit is left to the notebooks ({why})")
    results, failure = _execute(build, checked.params, cell_timeout)
    if data.views is not None:  # the pageview outcome exactly as loaded (served numbers, censoring explicit)
        from analysis.data.wiki_studies import write_views_table

        write_views_table(data.views, build / "tables" / "study_views.csv")
    status = "failed" if failure else "complete"
    manifest = {
        "version": version, "version_hash": vhash, "study": values["study"], "title": data.title,
        "synthetic": data.synthetic, "status": status, "created_utc": now.isoformat(timespec="seconds"),
        "git": git_state(), "code_fingerprint": fingerprint, "environment": environment(), "parameters": values,
        "inputs": [{"name": n, "sha256": h, "bytes": len(data.inputs[n])} for n, h in inputs.items()],
        "parameter_notes": list(checked.notes), "sources": data.sources, "notebooks": results,
    }
    if data.notes:
        manifest["study_notes"] = data.notes
    if failure:
        manifest["failure"] = failure
    section = None
    try:
        section = load_answer_section(build, values.get("apps"))
        if section is not None:
            manifest["answer"] = {"paragraphs": [list(p) for p in section.paragraphs], "notes": section.notes,
                                  "figure": section.figure_svg,
                                  "coverage": section.coverage.to_dicts() if section.coverage is not None else None}
        _write_pages(build, manifest, section)
    except OSError:
        raise
    except Exception as exc:  # rendering failed: keep the run, marked failed
        manifest["status"] = status = "failed"
        manifest["failure"] = {"notebook": None, "error": f"report rendering: {type(exc).__name__}: {exc}"}
    manifest["headline"] = headline_from_answer(section.answer, values.get("apps"), section.outcome) if section is not None else []
    storage.compress_notebooks(build / "notebooks")  # the page shows them; kept as .ipynb.gz
    manifest["outputs"] = [
        {"path": p.relative_to(build).as_posix(), "sha256": sha256(p.read_bytes())}
        for p in sorted(build.rglob("*")) if p.is_file() and p.name != "manifest.json"
    ]
    # The manifest is written last: a directory without one is never a finished version.
    publish.write_manifest(build, manifest)
    if status == "complete":
        final = _publish(build, study_dir / version)
        return RunOutcome(status, final, final.name, f"report written to {final}")
    final = study_dir / "failed" / f"{version}-{now:%H%M%S}-{uuid.uuid4().hex[:6]}"
    final.parent.mkdir(exist_ok=True)
    build.rename(final)
    f = manifest["failure"]
    return RunOutcome(status, final, final.name,
                      f"run FAILED in {f.get('notebook')} cell {f.get('cell_index')} "
                      f"({f.get('cell_source', '')!r}): {f.get('error')}; partial outputs kept in {final}")


def _write_pages(build: Path, manifest: dict, answer: AnswerSection | None = None) -> None:
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
    (build / "index.html").write_text(pages.report_page(manifest, sections, files, answer), encoding="utf-8")


def headline(m: dict, n: int = 4) -> str:
    """One line for the versions index, from the manifest's headline (the answer table)."""
    return headline_text(m.get("headline") or [], n)


def _manifests(root: Path) -> list[tuple[Path, dict | None, str]]:
    """(directory, manifest or None, integrity) of every version, broken manifests included:
    integrity is "verified", "tampered: N file(s) differ" or "broken: <reason>"."""
    from analysis.report.verify import BROKEN, VERIFIED, read_manifest, verify_version, version_dirs

    found = []
    for directory in version_dirs(root):
        check = verify_version(directory)
        try:
            m = read_manifest(directory)
        except ValueError:
            m = None
        if check.status == VERIFIED:
            mark = VERIFIED
        elif check.status == BROKEN:
            mark = f"broken: {check.problems[0]}"
        else:
            mark = f"tampered: {len(check.problems)} file(s) differ (exodus verify {check.version})"
        found.append((directory, m, mark))
    return found


def _index_row(root: Path, directory: Path, m: dict | None, integrity: str) -> dict:
    """One row of the index (and of its compare widget's data)."""
    href = f"{directory.relative_to(root).as_posix()}/index.html"
    if m is None:
        return {"version": directory.name, "href": href, "study": directory.relative_to(root).parts[0],
                "created_utc": None, "commit": "", "status": "broken", "integrity": integrity, "headline": "",
                "parameters": {}, "inputs": {}, "estimates": {}}
    git = m.get("git") if isinstance(m.get("git"), dict) else {}
    return {
        "version": m.get("version") or directory.name,
        "href": href,
        "study": m.get("study"),
        "created_utc": m.get("created_utc"),
        "commit": (git.get("commit") or "")[:10] + (" (dirty)" if git.get("dirty") else ""),
        "status": m.get("status"),
        "integrity": integrity,
        "headline": headline(m),
        "parameters": m.get("parameters", {}),
        "inputs": {i["name"]: i["sha256"] for i in m.get("inputs", [])},
        "estimates": {h["series"]: h["estimate"] for h in m.get("headline") or []},
    }


def write_index(root: Path) -> Path:
    """Rewrite ``reports/index.html`` from the manifests, atomically and under a lock.  Every
    version is verified against its manifest; broken manifests are listed as broken."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        versions, found = [], _manifests(root)
        for directory, m, integrity in found:
            try:
                versions.append(_index_row(root, directory, m, integrity))
            except (AttributeError, KeyError, TypeError):  # a manifest of the wrong shape
                versions.append(_index_row(root, directory, None, "broken: manifest.json has an unexpected shape"))
        versions.sort(key=lambda r: r["created_utc"] or "", reverse=True)
        tmp = root / f".index-{uuid.uuid4().hex}.html"
        try:
            from analysis.report.landing import landing_page

            tmp.write_text(landing_page(root, versions, found), encoding="utf-8")
            os.replace(tmp, root / "index.html")
        finally:
            tmp.unlink(missing_ok=True)
    return root / "index.html"


def check_inputs_only(study: str, overrides: dict[str, str]) -> dict:
    """The pre-flight alone: checked parameter values, nothing run or written."""
    params = preflight(study, overrides).params
    return {k: v for k, v in params.as_dict().items() if k not in params_mod.INTERNAL}


def remove_stale_builds(study_dir: Path, older_than_s: float = 24 * 3600) -> list[Path]:
    """Delete ``.build-*`` directories left by killed runs (older than a day)."""
    removed = []
    for d in study_dir.glob(".build-*"):
        if time.time() - d.stat().st_mtime > older_than_s:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


__all__ = ["RunOutcome", "run", "write_index", "InputError"]
