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
import os
import platform
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from analysis import params as params_mod
from analysis.config import NOTEBOOKS, ROOT, reports_dir
from analysis.data.studies.base import sha256
from analysis.errors import InputError
from analysis.models.events import cross_country
from analysis.report.answer.section import (
    AnswerSection,
    headline_from_answer,
    headline_text,
    load_answer_section,
)
from analysis.report.page import html as pages
from analysis.report.run import builds, publish, storage
from analysis.report.run.execute import locate_failure, progress  # noqa: F401  (re-exported for tests)
from analysis.report.run.execute import plan_and_execute as _execute
from analysis.report.run.kernel import KERNEL_NAME, RUN_ENV, ensure_kernel, notebooks, run_kernel  # noqa: F401  (re-exported)
from analysis.report.run.preflight import Preflight, preflight
from analysis.report.run.seal import version_hash  # noqa: F401  (re-exported: run.version_hash)

# Tables a study adds to its run beyond the notebooks', from the plan's study fit.
STUDY_TABLES = {"wiki-dp": cross_country.write_tables}

PACKAGES = ("polars", "altair", "statsmodels", "papermill", "numpy", "scipy", "pandas",
            "vl-convert-python", "nbconvert", "ipykernel", "pyarrow")


@dataclass
class RunOutcome:
    status: str  # "complete" | "identical" | "failed"
    path: Path
    version: str
    message: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "failed" else 0


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
        progress(f"note: {note}")

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
    builds.refuse_links(root, study_dir)  # a symlinked reports/<study> (or failed/) would write elsewhere
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
            with builds.owned(build):  # held while building: a killed run's lock is released by the kernel
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
    for name, blob in data.inputs.items():  # inputs/<name>.gz: hard links to .inputs/<sha256>.gz, stored once
        storage.write_input(build / "inputs", name, blob, study_dir / storage.STORE)
    results, failure, notes = _execute(data, checked.params, build, cell_timeout)
    for why in notes:
        progress(f"note: a fit of the run plan failed ({why}); the notebook that needs it fails at its cell")
    if data.views is not None:  # the pageview outcome exactly as loaded (served numbers, censoring explicit)
        from analysis.data.studies.wikipedia import write_views_table

        write_views_table(data.views, build / "tables" / "study_views.csv")
    if data.name in STUDY_TABLES and not failure:  # study-specific tables from the plan's fit
        try:
            from analysis.report.run.plan import read_plan

            STUDY_TABLES[data.name](data, read_plan(build).study, checked.params, build)
        except OSError:
            raise
        except Exception as exc:  # the run is kept, marked failed
            failure = {"notebook": None, "error": f"study tables: {type(exc).__name__}: {exc}"}
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
    storage.compress_files(build / "figures", "*.vl.json")  # the page inlines them; kept as .vl.json.gz
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
    from analysis.report.run.verify import (
        BROKEN,
        VERIFIED,
        read_manifest,
        verify_version,
        version_dirs,
    )

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
    if integrity != "verified":  # a manifest that fails verification shows nothing it claims
        return {"version": directory.name, "href": href, "study": directory.relative_to(root).parts[0],
                "created_utc": None, "commit": "", "status": "unverified", "integrity": integrity,
                "headline": "(withheld: this version fails exodus verify)", "parameters": {}, "inputs": {},
                "estimates": {}}
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
            from analysis.report.page.landing import landing_page

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
    """Delete ``.build-*`` directories left by killed runs: those whose owner's lock is free
    (:func:`analysis.report.run.builds.stale`); a build without an owner lock (an older runner) only
    when older than a day."""
    removed = []
    for d in study_dir.glob(".build-*"):
        if builds.stale(d, older_than_s):
            shutil.rmtree(d, ignore_errors=True)
            builds.lock_path(d).unlink(missing_ok=True)
            removed.append(d)
    return removed


__all__ = ["RunOutcome", "run", "write_index", "InputError"]
