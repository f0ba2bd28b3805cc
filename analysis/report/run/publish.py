"""The storage side of a run: one version per hash, verified reuse, strict manifests, and
one-line errors when the reports directory cannot be written.

- :func:`version_lock` takes an exclusive ``flock`` on ``<study>/.locks/<hash>.lock`` for the
  whole check-build-publish sequence, so two identical concurrent runs yield one version: the
  second waits, then finds the first's version and answers "identical".
- :func:`find_identical` returns an existing complete version with the same hash only after
  :func:`analysis.report.run.verify.verify_version` has recomputed its files; a tampered one is
  never "identical" (the run then writes a fresh version beside it and says so).
- :func:`write_manifest` writes strict JSON (non-finite numbers as null, listed under
  ``json_notes``), sealed field by field (:mod:`analysis.report.run.seal`), through a temporary
  file and a rename: never a 0-byte manifest.
- :func:`storage_error` turns an ``OSError`` (read-only file system, full disk, permissions)
  into a one-line :class:`analysis.errors.StorageError` (exit 1).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from analysis.errors import StorageError
from analysis.figures.safejson import strict
from analysis.report.run.seal import SEAL_KEY, seal
from analysis.report.run.verify import verify_version

_REASONS = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EFBIG: "file too large for the file-size limit (ulimit -f)",
}


def describe(exc: OSError) -> str:
    """Why a write failed, and where: ``read-only file system (/path)``."""
    reason = _REASONS.get(exc.errno or -1, exc.strerror or type(exc).__name__)
    return reason + (f" ({exc.filename})" if exc.filename else "")


def storage_error(exc: OSError, root: Path) -> StorageError:
    """One line: what could not be written, why, and that nothing was published."""
    return StorageError(f"cannot write the report under {root}: {describe(exc)}; nothing was published "
                        "and the partial build was removed")


def cannot_write(exc: BaseException) -> bool:
    """True for the OSErrors that mean 'this directory cannot be written'."""
    return isinstance(exc, OSError) and exc.errno in _REASONS


@contextlib.contextmanager
def version_lock(study_dir: Path, vhash: str) -> Iterator[bool]:
    """Hold an exclusive lock on the version hash; yields False (no lock) when the directory
    cannot be written at all, in which case no version can be published either."""
    try:
        locks = study_dir / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        fh = open(locks / f"{vhash[:32]}.lock", "a")  # noqa: SIM115 (held across the yield)
    except OSError as exc:
        if cannot_write(exc):
            yield False
            return
        raise
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def find_identical(study_dir: Path, vhash: str) -> tuple[Path | None, list[str]]:
    """The first complete version with hash ``vhash`` that verifies, and a note per candidate
    that did not (tampered or broken)."""
    notes = []
    for manifest in sorted(study_dir.glob("*/manifest.json")):
        if manifest.parent.name.startswith("."):
            continue
        try:
            m = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(m, dict) or m.get("version_hash") != vhash or m.get("status") != "complete":
            continue
        check = verify_version(manifest.parent)
        if check.ok:
            return manifest.parent, notes
        first = check.problems[0] if check.problems else ""
        notes.append(f"existing version {manifest.parent.name} has the same hash but failed verification "
                     f"({len(check.problems)} file(s) differ; first: {first}), so it is not reused")
    return None, notes


def write_manifest(directory: Path, manifest: dict) -> Path:
    """Write ``manifest.json`` as strict JSON, atomically (temporary file, then rename)."""
    clean, notes = strict(manifest)
    if notes:
        clean["json_notes"] = notes
    clean.pop(SEAL_KEY, None)
    clean[SEAL_KEY] = seal(clean)  # every field a reader sees, checked by exodus verify
    target = directory / "manifest.json"
    tmp = directory / f".manifest-{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(json.dumps(clean, indent=1, sort_keys=True, allow_nan=False) + "\n")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
