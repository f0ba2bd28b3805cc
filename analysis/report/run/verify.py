"""Verify published report versions against their manifests (``exodus verify``).

A version's ``manifest.json`` records the SHA-256 of every other file in the version
directory (``outputs``).  :func:`verify_version` recomputes them and reports, per file, what
differs: a changed file, a missing one, or a file the manifest does not list (something written
into the version after it was published).  A manifest that cannot be parsed makes the version
``broken``.  The manifest's own fields are covered by its seal (:mod:`analysis.report.run.seal`):
a changed, added or removed field is reported by name, and so is a ``version_hash`` that is not
the hash of the manifest's parameters, inputs and code.  Tampering that rewrites a field and its
seal consistently is not detectable here (no secret key).  Each input is stored gzipped
(``inputs/<name>.gz``): besides the file's own SHA-256, its decompressed bytes must have the raw
SHA-256 the manifest records for the input (:func:`analysis.report.run.storage.input_problems`).  Every HTML page must be able to
draw its charts: one inlined Vega bundle with the pinned SHA-256 and a parseable Vega-Lite spec
per chart (:func:`analysis.report.page.vega_pin.page_problems`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import InputError
from analysis.report.page.vega_pin import page_problems
from analysis.report.run.seal import seal_problems
from analysis.report.run.storage import input_problems

VERIFIED, TAMPERED, BROKEN = "verified", "tampered", "broken"


@dataclass
class VersionCheck:
    """Result of verifying one version directory."""

    path: Path
    version: str
    status: str  # "verified" | "tampered" | "broken"
    n_files: int = 0
    problems: list[str] = field(default_factory=list)  # one line per differing file

    @property
    def ok(self) -> bool:
        return self.status == VERIFIED

    def summary(self) -> str:
        if self.ok:
            return f"verified {self.version}: {self.n_files} files match the manifest"
        if self.status == BROKEN:
            return f"BROKEN {self.version}: {self.problems[0]}"
        return (f"TAMPERED {self.version}: {len(self.problems)} difference(s) from the manifest "
                f"({self.n_files} files listed)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(directory: Path) -> dict:
    """The parsed manifest; ValueError with the reason when it is missing, truncated or not JSON."""
    try:
        m = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"manifest.json unreadable: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"manifest.json is truncated or not JSON ({exc})") from None
    if not isinstance(m, dict) or not isinstance(m.get("outputs"), list):
        raise ValueError("manifest.json has no list of outputs")
    return m


def _tree(directory: Path) -> tuple[list[str], list[str]]:
    """(regular files, symbolic links) under ``directory``, relative, never following a link."""
    files, links = [], []
    for here, dirs, names in os.walk(directory, followlinks=False):
        for name in dirs + names:
            p = Path(here) / name
            rel = p.relative_to(directory).as_posix()
            if p.is_symlink():
                links.append(rel)
            elif name in names:
                files.append(rel)
    return sorted(files), sorted(links)


def _file_problems(directory: Path, listed: dict[str, str]) -> list[str]:
    """Changed, missing and unlisted files, symbolic links (a version holds regular files only:
    a link can point anywhere, so its target proves nothing), and pages whose charts cannot draw."""
    files, links = _tree(directory)
    problems = [f"{rel}: a symbolic link (to {os.readlink(directory / rel)!r}); a version holds regular files only"
                for rel in links]
    if directory.is_symlink():
        problems.append(f"the version directory is a symbolic link (to {os.readlink(directory)!r})")
    for rel, want in sorted(listed.items()):
        f = directory / rel
        if rel in links:
            continue
        if not f.is_file():
            problems.append(f"{rel}: missing (manifest sha256 {want[:16]}...)")
        elif (got := _sha256(f)) != want:
            problems.append(f"{rel}: sha256 {got[:16]}... differs from the manifest's {want[:16]}...")
    problems += [f"{rel}: not in the manifest (written after publication?)" for rel in files
                 if rel != "manifest.json" and rel not in listed]
    for rel in (r for r in files if r.endswith(".html")):
        try:
            problems += page_problems((directory / rel).read_text(encoding="utf-8"), rel)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{rel}: unreadable page ({exc})")
    return problems


def verify_version(directory: Path) -> VersionCheck:
    """Recompute the SHA-256 of every file the manifest lists (see module docstring)."""
    directory = Path(directory)
    try:
        m = read_manifest(directory)
    except ValueError as exc:
        return VersionCheck(directory, directory.name, BROKEN, 0, [str(exc)])
    listed: dict[str, str] = {}
    problems = seal_problems(m)
    for item in m["outputs"]:
        rel = str(item.get("path", "")) if isinstance(item, dict) else ""
        if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            problems.append(f"manifest lists an invalid path {rel!r}")
            continue
        listed[rel] = str(item.get("sha256"))
    problems += _file_problems(directory, listed)
    if "inputs" in m:  # a run's manifest: each stored input (gzipped) must hold the raw bytes its sha256 names
        problems += input_problems(directory, m["inputs"])
    version = str(m.get("version") or directory.name)
    return VersionCheck(directory, version, TAMPERED if problems else VERIFIED, len(listed), problems)


def version_dirs(root: Path) -> list[Path]:
    """Every published or failed version directory under ``root`` (builds excluded)."""
    found = [p.parent for p in root.glob("*/*/manifest.json") if p.parent.parent.name != "failed"]
    found += [p.parent for p in root.glob("*/failed/*/manifest.json")]
    return sorted(d for d in found if not any(part.startswith(".") for part in d.relative_to(root).parts))


def resolve_versions(root: Path, names: list[str]) -> list[Path]:
    """Version directories named by id (``demo-20210108-abc``) or path; InputError if unknown."""
    if not names:
        return version_dirs(root)
    known = {d.name: d for d in version_dirs(root)}
    out = []
    for n in names:
        p = Path(n)
        if (p / "manifest.json").exists():
            out.append(p)
        elif n in known:
            out.append(known[n])
        else:
            raise InputError(f"unknown version {n!r}: not a version directory and not under {root} "
                             f"({len(known)} versions there)")
    return out


def is_failed_run(directory: Path) -> bool:
    """A failed run's directory (kept under ``<study>/failed/``): never counted as verified."""
    return directory.parent.name == "failed"


def verify_command(root: Path, names: list[str], stream) -> int:
    """Print one summary line per version and one line per differing file; exit 1 if any
    version is tampered or broken, else 0.  Failed runs (``<study>/failed/``) are checked the
    same way but reported and counted apart: an intact failed run is not a verified version."""
    dirs = resolve_versions(root, names)
    if not dirs:
        print(f"no versions under {root}", file=stream)
        return 0
    bad, published, failed, failed_intact = 0, 0, 0, 0
    for d in dirs:
        check = verify_version(d)
        run_failed = is_failed_run(d)
        line = check.summary()
        if run_failed:
            failed += 1
            failed_intact += check.ok
            line = (f"FAILED RUN {check.version}: {check.n_files} files match the manifest (not a verified version)"
                    if check.ok else f"FAILED RUN, {line}")
        else:
            published += 1
        print(line, file=stream)
        if not check.ok:
            bad += 1
            for problem in check.problems[: 50] if check.status == TAMPERED else []:
                print(f"  {problem}", file=stream)
    ok = published - (bad - (failed - failed_intact))
    tail = f"; {failed} failed run(s) reported apart ({failed_intact} intact)" if failed else ""
    print(f"{ok} of {published} versions verified{tail}", file=stream)
    return 1 if bad else 0
