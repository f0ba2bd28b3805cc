"""How a version is stored: inputs shared by content hash, what a reader never opens compressed.

A demo version used to take about 23 MB, then 17 MB, most of it bytes that are the same in
every version (the demo's inputs), that no reader opens (executed notebooks and Vega-Lite specs:
the report page shows them) or that said the same thing twice; it now takes under 8 MB
(``tests/report/run/test_storage.py`` pins the number).

- :func:`write_input`: an input file is stored once per study, gzipped, under
  ``reports/<study>/.inputs/<sha256>.gz`` (``sha256`` of the *raw* bytes, the input's identity
  in the manifest and the version hash) and the version's ``inputs/<name>.gz`` is a **hard link**
  to it: every version still holds its exact input bytes as a regular file (copying a version
  copies them), while identical inputs of many versions take the disk space once.  ``exodus
  verify`` checks the ``.gz`` file's SHA-256 like any other file *and* that it decompresses to
  the raw SHA-256 the manifest records (:func:`input_problems`).  A stored blob whose bytes no
  longer match its name (tampered) is replaced, never linked; where hard links are impossible
  (another file system, permissions) the file is written as a copy.
- :func:`compress_files`: the executed notebooks (``notebooks/*.ipynb.gz``) and the Vega-Lite
  specs (``figures/*.vl.json.gz``; the page inlines each spec and the ``.svg`` is the figure to
  open) are stored gzipped (level 9, mtime 0, no file name: reruns are byte-identical).
- Readers of either form (plain or ``.gz``): :func:`read_stored` (bytes), :func:`read_input`,
  :func:`read_spec` and :func:`read_notebook`.  ``gunzip -k`` restores any of them by hand.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import uuid
from pathlib import Path

from analysis.data.slug import inside
from analysis.errors import InputError

STORE = ".inputs"  # under reports/<study>/ (hidden: never listed as a version)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except OSError:
        return None


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzipped reproducibly: level 9, mtime 0 and no file name in the header, so the same
    bytes always give the same ``.gz`` (identical inputs share one stored blob)."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as fh:
        fh.write(data)
    return out.getvalue()


def store_blob(store: Path, blob: bytes, name: str | None = None) -> Path:
    """``store/<name>`` (default: ``<sha256 of blob>``) holding ``blob`` (written atomically,
    read-only), reused when present and byte-identical."""
    sha = _sha256(blob)
    target = store / (name or sha)
    if _file_sha256(target) == sha:
        return target
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".{target.name}-{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_bytes(blob)
        tmp.chmod(0o444)
        os.replace(tmp, target)  # a tampered blob is replaced by a new file, not overwritten in place
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_input(inputs_dir: Path, name: str, blob: bytes, store: Path) -> Path:
    """Write input ``name`` of a version as ``inputs/<name>.gz``, a hard link to the study's
    blob ``<sha256 of blob>.gz`` (see the module docstring); a copy where linking fails.
    ``name`` is confined to ``inputs_dir``.  The path written."""
    target = inside(inputs_dir, name + ".gz", "input file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    packed = gzip_bytes(blob)
    try:
        blob_path = store_blob(store, packed, f"{_sha256(blob)}.gz")
        target.unlink(missing_ok=True)
        os.link(blob_path, target)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        target.write_bytes(packed)
    return target


def compress_files(directory: Path, pattern: str) -> list[Path]:
    """Replace every ``directory/<pattern>`` file by ``<name>.gz`` (:func:`gzip_bytes`); the new paths."""
    out = []
    for path in sorted(Path(directory).glob(pattern)):
        if not path.is_file() or path.is_symlink():
            continue
        gz = path.with_name(path.name + ".gz")
        gz.write_bytes(gzip_bytes(path.read_bytes()))
        path.unlink()
        out.append(gz)
    return out


def compress_notebooks(directory: Path) -> list[Path]:
    """Replace every ``directory/*.ipynb`` by ``*.ipynb.gz``; the new paths."""
    return compress_files(directory, "*.ipynb")


def stored_path(path: Path) -> Path:
    """``path`` itself when it exists, else its ``.gz`` form (which may not exist either)."""
    path = Path(path)
    return path if path.exists() or path.suffix == ".gz" else path.with_name(path.name + ".gz")


def read_stored(path: Path) -> bytes:
    """The bytes of a version file stored plain or gzipped: ``x`` finds ``x`` or ``x.gz``, and a
    ``.gz`` is decompressed (OSError when neither exists or the gzip is corrupt)."""
    path = stored_path(path)
    data = path.read_bytes()
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile, ValueError) as exc:
        raise OSError(f"{path.name}: not a readable gzip file ({exc})") from None


def read_input(version_dir: Path, name: str) -> bytes:
    """The exact bytes of input ``name`` of a version (``inputs/<name>`` or ``inputs/<name>.gz``)."""
    return read_stored(inside(Path(version_dir) / "inputs", name, "input file name"))


def read_spec(path: Path) -> dict:
    """A figure's Vega-Lite spec, ``figures/<stem>.vl.json`` or ``figures/<stem>.vl.json.gz``."""
    return json.loads(read_stored(path).decode("utf-8"))


def input_problems(version_dir: Path, inputs: list) -> list[str]:
    """One line per manifest input whose stored file (``inputs/<name>`` or ``inputs/<name>.gz``)
    is unreadable or does not hold the raw bytes the manifest's ``sha256`` names (the version hash
    is computed from it).  A missing file is the file check's to report (``outputs`` lists it)."""
    problems = []
    for item in inputs if isinstance(inputs, list) else []:
        name, want = (item.get("name"), item.get("sha256")) if isinstance(item, dict) else (None, None)
        if not isinstance(name, str) or not name:
            problems.append(f"manifest lists an input without a name: {item!r}")
            continue
        try:
            if not stored_path(inside(Path(version_dir) / "inputs", name, "input file name")).exists():
                continue  # no stored file: a listed one is reported missing by the file check
            got = _sha256(read_input(version_dir, name))
        except (OSError, ValueError, InputError) as exc:
            problems.append(f"inputs/{name}: unreadable ({exc})")
            continue
        if got != want:
            problems.append(f"inputs/{name}: its raw bytes have sha256 {got[:16]}..., not the manifest input's "
                            f"{str(want)[:16]}...")
    return problems


def read_notebook(path: Path):
    """An executed notebook of a version, stored plain (``.ipynb``) or compressed (``.ipynb.gz``)."""
    import nbformat

    return nbformat.reads(read_stored(path).decode("utf-8"), as_version=4)
