"""How a version is stored: inputs shared by content hash, what a reader never opens compressed.

A demo version used to take about 23 MB, most of it bytes that are the same in every version
(the demo's inputs) or that no reader opens (executed notebooks: the report page shows them).

- :func:`write_input`: an input file is stored once per study under
  ``reports/<study>/.inputs/<sha256>`` and the version's ``inputs/<name>`` is a **hard link** to
  it: every version still holds its exact input bytes as a regular file (copying a version
  copies them; ``exodus verify`` checks them as before), while identical inputs of many
  versions take the disk space once.  A stored blob whose bytes no longer match its name
  (tampered) is replaced, never linked; where hard links are impossible (another file system,
  permissions) the file is written as a copy.
- :func:`compress_notebooks`: the executed notebooks are stored as ``notebooks/*.ipynb.gz``
  (gzip, fixed mtime, so reruns are byte-identical); :func:`read_notebook` reads either form.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import uuid
from pathlib import Path

from analysis.data.slug import inside

STORE = ".inputs"  # under reports/<study>/ (hidden: never listed as a version)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except OSError:
        return None


def store_blob(store: Path, blob: bytes) -> Path:
    """``store/<sha256>`` holding ``blob`` (written atomically, read-only), reused when present
    and intact."""
    sha = _sha256(blob)
    target = store / sha
    if _file_sha256(target) == sha:
        return target
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".{sha}-{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_bytes(blob)
        tmp.chmod(0o444)
        os.replace(tmp, target)  # a tampered blob is replaced by a new file, not overwritten in place
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_input(inputs_dir: Path, name: str, blob: bytes, store: Path) -> Path:
    """Write input ``name`` of a version as a hard link to its content-addressed blob (see the
    module docstring); a copy where linking fails.  ``name`` is confined to ``inputs_dir``."""
    target = inside(inputs_dir, name, "input file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        blob_path = store_blob(store, blob)
        target.unlink(missing_ok=True)
        os.link(blob_path, target)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        target.write_bytes(blob)
    return target


def compress_notebooks(directory: Path) -> list[Path]:
    """Replace every ``directory/*.ipynb`` by ``*.ipynb.gz`` (level 9, mtime 0); the new paths."""
    out = []
    for nb in sorted(Path(directory).glob("*.ipynb")):
        gz = nb.with_name(nb.name + ".gz")
        with open(gz, "wb") as raw, gzip.GzipFile(filename=nb.name, mode="wb", fileobj=raw, compresslevel=9,
                                                  mtime=0) as fh:
            fh.write(nb.read_bytes())
        nb.unlink()
        out.append(gz)
    return out


def read_notebook(path: Path):
    """An executed notebook of a version, stored plain (``.ipynb``) or compressed (``.ipynb.gz``)."""
    import nbformat

    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".gz").exists():
        path = path.with_name(path.name + ".gz")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return nbformat.read(fh, as_version=4)
    return nbformat.read(path, as_version=4)
