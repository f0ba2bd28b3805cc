"""Get exactly the locked snapshot files, verify them, and build the rank panel from them.

Where files come from, in order:

1. the cache, ``data/cache/app-rankings/<commit>/<path>`` (``EXODUS_CACHE_DIR`` relocates
   ``data/cache``; gitignored);
2. a mirror, ``EXODUS_DATA_MIRROR=<dir>``, for offline machines and archives, in any of three
   layouts: by commit, ``<dir>/<commit>/<path>`` (what the cache looks like, so a copied
   cache is a mirror); by path, ``<dir>/<path>`` (one version per path, e.g. a checkout of one
   commit: accepted only where its SHA-256 matches the lock); or a git clone of the archive
   (``<dir>/.git`` exists: ``git show <commit>:<path>``; a ``--filter=blob:none`` clone works);
3. the network: ``{raw_base}/{repo}/{commit}/{path}`` (``EXODUS_RAW_BASE``), only in ``fetch``.

Every file is checked against the lock's SHA-256 before use.  A download that does not match,
or does not parse as a chart, is never written to the cache; a cached file that no longer
matches is moved aside (``*.mismatch``) rather than trusted or deleted.  The first fetch of a
lock records each file's SHA-256 and size in it (written atomically, also when a later file
fails, so no recorded hash is lost).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.config import cache_dir as cache_root  # EXODUS_CACHE_DIR
from analysis.config import data_mirror as mirror_dir  # EXODUS_DATA_MIRROR
from analysis.data.panel import read_panel
from analysis.data.slug import inside
from analysis.data.sources import archive as ar
from analysis.data.sources.daily import DEFAULT_RULE, to_daily
from analysis.data.sources.lock import Entry, Lock, Progress, lock_sha256, read_lock, write_lock
from analysis.data.sources.remote import Http, commits_url, next_link, parse_commits, raw_url
from analysis.errors import DataError, InputError

CONVERTER_VERSION = "1"  # bump when the conversion changes, so cached panels are rebuilt


def files_dir(cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "app-rankings"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def cached_file(entry: Entry, cache: Path | None = None) -> Path:
    """``<cache>/app-rankings/<commit>/<path>``, checked to lie inside the cache."""
    return inside(files_dir(cache), Path(entry.commit) / entry.path, "lock entry path")


def mismatch(entry: Entry, index: int, got: str, where: str, lock_file: str) -> DataError:
    return DataError(
        f"entry {index} ({entry.label}): the file from {where} has SHA-256 {got}, the lock records "
        f"{entry.sha256}; it was not used or kept. The archive's history may have been rewritten or "
        "the lock edited: check the lock, or make a new one with 'exodus data lock' (nothing already "
        "cached was removed)",
        file=lock_file,
    )


def _from_git(repo: Path, entry: Entry) -> bytes | None:
    try:
        r = subprocess.run(["git", "-C", str(repo), "show", f"{entry.commit}:{entry.path}"],
                           capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


def from_mirror(entry: Entry, mirror: Path) -> tuple[bytes, str] | None:
    """The entry's bytes from a mirror (see module docstring), with where they came from."""
    by_commit = inside(mirror, Path(entry.commit) / entry.path, "lock entry path")
    if by_commit.is_file():
        return by_commit.read_bytes(), str(by_commit)
    by_path = inside(mirror, entry.path, "lock entry path")
    if by_path.is_file() and entry.sha256 is not None:  # one version per path: only if it is the locked one
        data = by_path.read_bytes()
        if sha256(data) == entry.sha256:
            return data, str(by_path)
    if is_git_clone(mirror):
        data = _from_git(mirror, entry)
        if data is not None:
            return data, f"git {mirror} {entry.commit[:12]}:{entry.path}"
    return None


def _check(entry: Entry, index: int, data: bytes, where: str, lock_file: str) -> pl.DataFrame:
    """Verify the hash (if the lock has one) and that the bytes are a valid chart snapshot."""
    got = sha256(data)
    if entry.sha256 is not None and got != entry.sha256:
        raise mismatch(entry, index, got, where, lock_file)
    return ar.read_snapshot(data, f"{where} (lock entry {index})", ar.parse_path(entry.path),
                            ar.parse_time(entry.snapshot_utc))


def local_bytes(entry: Entry, index: int, lock_file: str, cache: Path | None = None,
                mirror: Path | None = None) -> tuple[pl.DataFrame, bytes] | None:
    """A verified local copy of the entry (cache, then mirror), or None if there is none."""
    f = cached_file(entry, cache)
    if f.is_file():
        data = f.read_bytes()
        if entry.sha256 is None or sha256(data) == entry.sha256:
            return _check(entry, index, data, str(f), lock_file), data
        os.replace(f, f.with_name(f.name + ".mismatch"))  # never trusted, never silently deleted
    if mirror is not None:
        found = from_mirror(entry, mirror)
        if found is not None:
            data, where = found
            return _check(entry, index, data, where, lock_file), data
    return None


@dataclass
class FetchResult:
    lock: Lock
    from_cache: int = 0
    from_mirror: int = 0
    downloaded: int = 0
    hashes_recorded: int = 0
    panel: pl.DataFrame | None = None
    panel_path: Path | None = None


def fetch(lock_path: Path, http: Http | None = None, cache: Path | None = None, mirror: Path | None = None,
          raw: str | None = None, rule: str = DEFAULT_RULE, out: Path | None = None,
          progress: Progress | None = None) -> FetchResult:
    """Make every locked file available and verified locally, then write the daily panel.

    Files already cached (or in the mirror) are not downloaded again.  Raises DataError (exit
    2) for a hash mismatch or an invalid file, RemoteError (exit 1) when the network fails;
    either way the hashes recorded so far are saved in the lock and the cache is intact.
    """
    from analysis.data.sources.remote import raw_base

    lock = read_lock(lock_path)
    src = str(lock_path)
    mirror = mirror if mirror is not None else mirror_dir()
    raw = raw or raw_base()
    res = FetchResult(lock)
    frames = []
    progress = progress or Progress(len(lock.entries), "fetch")
    try:
        for i, e in enumerate(lock.entries, start=1):
            f = cached_file(e, cache)
            was_cached = f.is_file()
            local = local_bytes(e, i, src, cache, mirror)
            if local is not None:
                frame, data = local
                if was_cached and f.is_file():
                    res.from_cache += 1
                else:
                    res.from_mirror += 1
            else:
                http = http or Http()
                url = raw_url(raw, lock.request.repo, e.commit, e.path)
                data, _ = http.get(url)
                frame = _check(e, i, data, url, src)  # raises before anything is written
                write_atomic(f, data)
                res.downloaded += 1
                progress.note(f"downloaded {e.path} @ {e.commit[:8]}")
            if e.sha256 is None:
                e.sha256, e.bytes = sha256(data), len(data)
                res.hashes_recorded += 1
            frames.append(frame.with_columns(pl.lit(f"{e.commit}/{e.path}").alias("_file")))
            progress.step()
    finally:
        progress.close()
        if res.hashes_recorded:
            write_lock(lock, lock_path)
    panel = build_panel(frames, rule, src)
    res.panel = panel
    res.panel_path = out or panel_cache_path(lock_path, rule, cache)
    res.panel_path.parent.mkdir(parents=True, exist_ok=True)
    panel.write_parquet(res.panel_path)
    return res


def build_panel(frames: list[pl.DataFrame], rule: str, source: str) -> pl.DataFrame:
    snapshots = ar.combine_snapshots(frames)
    return to_daily(snapshots, rule, source=source)


def panel_cache_path(lock_path: Path, rule: str, cache: Path | None = None) -> Path:
    """Where the panel built from a lock is kept: keyed by the lock's bytes, the daily rule and
    the converter version, so any change rebuilds it."""
    key = f"{lock_sha256(lock_path)[:16]}-{rule.replace(':', '')}-v{CONVERTER_VERSION}"
    return files_dir(cache) / "panels" / f"{lock_path.stem}-{key}.parquet"


def load_locked_panel(lock_path: Path, rule: str = DEFAULT_RULE, cache: Path | None = None,
                      mirror: Path | None = None, fetch_hint: str = "") -> pl.DataFrame:
    """The daily panel of a lock from local files only (cache or mirror); never the network.

    Stops at once with an InputError naming ``exodus data fetch`` and ``EXODUS_DATA_MIRROR`` when
    a file is not available locally, or when the lock has no hashes yet (never fetched).
    """
    lock = read_lock(lock_path)
    mirror = mirror if mirror is not None else mirror_dir()
    hint = fetch_hint or f"exodus data fetch --lock {lock_path}"
    where = f"the cache ({files_dir(cache)})" + (f" or the mirror {mirror}" if mirror else
                                                  " (EXODUS_DATA_MIRROR is not set)")
    if not lock.complete_hashes():
        n = sum(e.sha256 is None for e in lock.entries)
        raise InputError(f"{n} of {len(lock.entries)} snapshots in {lock_path} have no SHA-256 yet: the lock "
                         f"was never fetched. Run '{hint}' (network), or set EXODUS_DATA_MIRROR=<dir> to a "
                         "local copy of the archive and run the same command")
    cached = panel_cache_path(lock_path, rule, cache)
    if cached.is_file():
        return read_panel(cached)
    def stop(missing: list[tuple[int, Entry]]) -> InputError:
        i, e = missing[0]
        return InputError(
            f"{len(missing)} of {len(lock.entries)} snapshots pinned in {lock_path} are not in {where}; "
            f"first: entry {i}, {e.label}. Run '{hint}' to download and verify them, or set "
            "EXODUS_DATA_MIRROR=<dir> to a local copy (<dir>/<commit>/<path>, or a clone of the archive)"
        )

    if mirror is None:  # stop at once, before reading anything
        missing = [(i, e) for i, e in enumerate(lock.entries, start=1) if not cached_file(e, cache).is_file()]
        if missing:
            raise stop(missing)
    frames, missing = [], []
    for i, e in enumerate(lock.entries, start=1):
        local = local_bytes(e, i, str(lock_path), cache, mirror)
        if local is None:  # not available, or a cached copy failed verification and was set aside
            missing.append((i, e))
        elif not missing:
            frames.append(local[0].with_columns(pl.lit(f"{e.commit}/{e.path}").alias("_file")))
    if missing:
        raise stop(missing)
    panel = build_panel(frames, rule, str(lock_path))
    cached.parent.mkdir(parents=True, exist_ok=True)
    panel.write_parquet(cached)
    return panel


# -- commit listers for analysis.data.sources.lock.build_lock -------------------------------------------

def github_lister(http: Http, repo: str, api: str | None = None) -> Callable[..., Iterator[tuple[list, str | None]]]:
    """List commits of a path page by page through the REST API; the cursor is the next URL."""
    api = api or http.api

    def lister(path: str, since: str, until: str, cursor: str | None):
        url = cursor or commits_url(api, repo, path, since, until)
        while url:
            payload, hdrs = http.get_json(url)
            page = parse_commits(payload, url)
            url = next_link(hdrs.get("link"))
            yield page, url

    return lister


def git_lister(clone: Path) -> Callable[..., Iterator[tuple[list, str | None]]]:
    """List commits of a path with ``git log`` in a local clone of the archive (no API calls)."""

    def lister(path: str, since: str, until: str, cursor: str | None):
        r = subprocess.run(
            ["git", "-C", str(clone), "log", "--format=%H %cI", f"--since={since}", f"--until={until}", "--", path],
            capture_output=True, text=True, check=False,
        )
        if r.returncode != 0:
            raise InputError(f"git log failed in the mirror {clone}: {r.stderr.strip()}")
        page = []
        for line in r.stdout.split("\n"):
            if line.strip():
                sha, when = line.split(" ", 1)
                page.append((sha, ar.parse_time(when).strftime("%Y-%m-%dT%H:%M:%SZ")))
        yield page, None

    return lister


def is_git_clone(d: Path | None) -> bool:
    """A working clone (``.git``) or a bare one (``HEAD`` and ``objects/``)."""
    return d is not None and ((d / ".git").exists() or ((d / "HEAD").is_file() and (d / "objects").is_dir()))


def require_lock(lock_path: Path) -> None:
    if not lock_path.exists():
        raise InputError(f"lock file {lock_path} not found: create it with 'exodus data lock ... --out {lock_path}'")
