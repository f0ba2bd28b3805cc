"""Lock files: exactly which archive snapshots a study uses, so it can be rebuilt years later.

A lock (JSON, under ``data/locks/``) lists one entry per snapshot: the file's path in the
archive, the commit, the snapshot time (the commit time, UTC), the UTC day it stands for, and
its SHA-256 and size once downloaded (``null`` until the first ``exodus data fetch``).  It also
records the request (stores, countries, charts, window, selection rule) and the days on which a
chart had no snapshot (``gaps``).

Selection rules (one snapshot set per path and UTC day, among the commits in the window):

- ``nearest:H`` - the commit nearest to H:00 UTC on that day (ties: the earlier);
  ``nearest:H1,H2,...`` - one per listed hour (for a daily median over a few hours);
- ``all`` - every commit (for daily best or median over all hours; large).

Building a lock lists the commits of each path through :mod:`analysis.data.sources.remote` (or ``git
log`` in a local clone, see :mod:`analysis.data.sources.fetch`), page by page; progress is saved after
every page in ``<lock>.partial.json`` so an interrupted or rate-limited run resumes where it
stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from analysis.data.sources import archive as ar
from analysis.errors import DataError, InputError

FORMAT = "exodus-lock/1"
SOURCE = "app-rankings"
# The archive's path grammar, anchored: a lock entry's path is a relative path of exactly this
# form (no leading "/", no "..", no other directory), so it can never leave the cache or mirror.
ENTRY_PATH = re.compile(
    r"(?:app_store|play_store)/rankings/[a-z]{2}_[A-Z_]{1,40}\.json"
    r"|(?:app_store|play_store)/[a-z]{2}/[A-Z_]{1,40}_\d{8}_\d{6}\.json"
)


@dataclass(frozen=True)
class Rule:
    hours: tuple[int, ...] | None  # None = all commits

    def __str__(self) -> str:
        return "all" if self.hours is None else "nearest:" + ",".join(map(str, self.hours))


def parse_rule(text: str) -> Rule:
    t = str(text).strip().lower()
    if t == "all":
        return Rule(None)
    m = re.fullmatch(r"nearest:(\d{1,2}(?:,\d{1,2})*)", t)
    if m:
        hours = tuple(sorted({int(h) for h in m.group(1).split(",")}))
        if all(0 <= h <= 23 for h in hours):
            return Rule(hours)
    raise InputError(f"unknown selection rule {text!r}: use nearest:H, nearest:H1,H2,... (UTC hours 0-23) or all")


# GitHub's rules: an owner is 1-39 letters, digits or single inner hyphens; a repository name is
# 1-100 of letters, digits, ".", "_", "-", and neither "." nor "..".  The repo becomes part of
# request URLs, so nothing else (no "/..", no "?", no "%2e") may pass.
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_NAME = r"[A-Za-z0-9._-]{1,100}"
REPO_RE = re.compile(rf"({_OWNER})/({_NAME})")


def check_repo(repo: object) -> str:
    """``repo`` if it is a GitHub ``owner/name``; InputError naming it otherwise."""
    m = REPO_RE.fullmatch(repo) if isinstance(repo, str) else None
    if m is None or m.group(2) in (".", ".."):
        raise InputError(f"repo {repo!r} is not a GitHub owner/name (e.g. {ar.REPO}); it becomes part of request "
                         "URLs, so it is checked strictly")
    return repo


@dataclass
class Request:
    """What a lock asks for."""

    stores: list[str]
    countries: list[str]
    charts: list[str]
    start: date
    end: date
    rule: str = "nearest:12"
    source: str = SOURCE
    repo: str = ar.REPO

    def __post_init__(self) -> None:
        self.rule = str(parse_rule(self.rule))
        check_repo(self.repo)
        if self.start > self.end:
            raise InputError(f"empty window: --start {self.start} is after --end {self.end}")
        for s in self.stores:
            if s not in ar.STORE_DIRS.values():
                raise InputError(f"unknown store {s!r}; expected one of {sorted(ar.STORE_DIRS.values())}")
        for c in self.countries:
            if c not in ar.COUNTRIES:
                raise InputError(f"unknown country {c!r}: the archive covers {list(ar.COUNTRIES)}")
        known = sorted(set(ar.NATIVE_CHARTS.values()))
        for c in self.charts:
            if c not in known:
                raise InputError(f"unknown chart {c!r}; known: {known}")
        if not (self.stores and self.countries and self.charts):
            raise InputError("give at least one store, country and chart")

    def paths(self) -> list[tuple[str, str, str, str]]:
        """(path, store, country, chart) for every requested chart file."""
        return [(ar.archive_path(s, c, ch), s, c, ch) for s in self.stores for c in self.countries for ch in self.charts]

    def since(self) -> str:
        return f"{self.start.isoformat()}T00:00:00Z"

    def until(self) -> str:
        return f"{self.end.isoformat()}T23:59:59Z"

    def to_json(self) -> dict:
        return {"source": self.source, "repo": self.repo, "stores": self.stores, "countries": self.countries,
                "charts": self.charts, "start": self.start.isoformat(), "end": self.end.isoformat(), "rule": self.rule}


@dataclass
class Entry:
    path: str
    store: str
    country: str
    chart: str
    date: str
    commit: str
    snapshot_utc: str
    sha256: str | None = None
    bytes: int | None = None

    @property
    def label(self) -> str:
        return f"{self.path} at commit {self.commit[:12]} ({self.snapshot_utc})"


@dataclass
class Lock:
    request: Request
    entries: list[Entry]
    gaps: list[dict] = field(default_factory=list)  # {"path", "date"}: no snapshot that day
    created_utc: str = ""

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            **self.request.to_json(),
            "created_utc": self.created_utc,
            "licence": ar.LICENCE,
            "source_url": ar.REPO_URL,
            "raw_url_template": "{raw_base}/" + self.request.repo + "/{commit}/{path}",
            "note": "snapshot_utc is the commit time (UTC); sha256/bytes are filled by the first "
                    "'exodus data fetch' and verified on every later one",
            "entries": [asdict(e) for e in self.entries],
            "gaps": self.gaps,
        }

    def complete_hashes(self) -> bool:
        return all(e.sha256 for e in self.entries)


def write_json_atomic(path: Path, obj: dict) -> None:
    """Write JSON via a temporary file and rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json_lock(path: Path, fmt: str, what: str) -> dict:
    """The JSON object of a lock file of format ``fmt``; :class:`DataError` naming the file when it
    is missing, not JSON, or another kind of lock (``what`` says which kind was expected)."""
    src = str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("lock file not found", file=src) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"is not a JSON lock file: {exc}", file=src) from None
    if not isinstance(raw, dict) or raw.get("format") != fmt:
        raise DataError(f"not a {what} (format {fmt!r})", file=src)
    return raw


def write_lock(lock: Lock, path: Path) -> None:
    write_json_atomic(path, lock.to_json())


def lock_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_lock(path: str | Path) -> Lock:
    """Read and validate a lock file; DataError names the file and the entry."""
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise DataError("lock file not found", file=src)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"is not a JSON lock file: {exc}", file=src) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DataError(f"not a lock file of format {FORMAT!r}", file=src)
    try:
        req = Request(stores=list(raw["stores"]), countries=list(raw["countries"]), charts=list(raw["charts"]),
                      start=date.fromisoformat(raw["start"]), end=date.fromisoformat(raw["end"]),
                      rule=raw["rule"], source=raw.get("source", SOURCE), repo=raw.get("repo", ar.REPO))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"the lock's request is incomplete or malformed: {exc}", file=src) from None
    except InputError as exc:
        raise DataError(f"the lock's request is invalid: {exc}", file=src) from None
    entries, seen = [], {}
    for i, e in enumerate(raw.get("entries") or [], start=1):
        try:
            entry = Entry(**{k: e.get(k) for k in Entry.__dataclass_fields__})
            _check_entry_path(entry, i)
            ar.parse_time(entry.snapshot_utc)
            date.fromisoformat(entry.date)
        except (TypeError, AttributeError, ValueError, DataError) as exc:
            raise DataError(f"entry {i} is malformed: {exc}", file=src) from None
        if not re.fullmatch(r"[0-9a-f]{40}", str(entry.commit)):
            raise DataError(f"entry {i} ({entry.path}): commit {entry.commit!r} is not a 40-hex sha", file=src)
        if entry.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", str(entry.sha256)):
            raise DataError(f"entry {i} ({entry.path}): sha256 {entry.sha256!r} is not 64 hex digits", file=src)
        key = (entry.path, entry.commit)
        if key in seen:
            raise DataError(f"entry {i} repeats entry {seen[key]} ({entry.label})", file=src)
        seen[key] = i
        entries.append(entry)
    if not entries:
        raise DataError("the lock has no entries (an empty window?)", file=src)
    return Lock(req, entries, list(raw.get("gaps") or []), raw.get("created_utc", ""))


def _check_entry_path(entry: Entry, index: int) -> None:
    """The entry's path matches :data:`ENTRY_PATH` in full and agrees with its store, country
    and chart; ValueError otherwise (read_lock names the file and the entry)."""
    if not isinstance(entry.path, str) or not ENTRY_PATH.fullmatch(entry.path):
        raise ValueError(f"path {entry.path!r} is not an archive chart path "
                         "(app_store|play_store)/rankings/{cc}_{CHART}.json")
    f = ar.parse_path(entry.path)
    if (f.store, f.country, f.chart) != (entry.store, entry.country, entry.chart):
        raise ValueError(f"path {entry.path!r} is the {f.store}/{f.country}/{f.chart} chart, but the entry says "
                         f"{entry.store}/{entry.country}/{entry.chart}")


def select(commits: pl.DataFrame, rule: str, start: date, end: date) -> pl.DataFrame:
    """Pick snapshots from ``commits`` (path, commit, snapshot_utc as UTC datetime) by ``rule``.

    Returns path, commit, snapshot_utc, date (UTC day), sorted by path and time.
    """
    r = parse_rule(rule)
    c = commits.with_columns(pl.col("snapshot_utc").dt.date().alias("date")).filter(
        pl.col("date").is_between(start, end)
    )
    if r.hours is not None:
        target = pl.col("date").cast(pl.Datetime("us", "UTC")) + pl.duration(hours=pl.col("hour"))
        c = (
            c.join(pl.DataFrame({"hour": list(r.hours)}, schema={"hour": pl.Int64}), how="cross")
            .with_columns((pl.col("snapshot_utc") - target).abs().alias("_dist"))
            .sort("_dist", "snapshot_utc")
            .group_by("path", "date", "hour", maintain_order=True).first()
            .unique(subset=["path", "commit"])
        )
    return c.select("path", "commit", "snapshot_utc", "date").sort("path", "snapshot_utc")


def gaps(selected: pl.DataFrame, paths: list[str], start: date, end: date) -> pl.DataFrame:
    """(path, date) pairs in the window with no selected snapshot."""
    days = pl.DataFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    want = pl.DataFrame({"path": paths}).join(days, how="cross")
    return want.join(selected.select("path", "date").unique(), on=["path", "date"], how="anti").sort("path", "date")


# -- building a lock -----------------------------------------------------------------------

Lister = Callable[[str, str, str, str | None], Iterator[tuple[list[tuple[str, str]], str | None]]]
"""lister(path, since, until, resume_cursor) yields (commits of one page, cursor of the next
page or None); the cursor is what a resumed run passes back."""


class Progress:
    """tqdm bar on a terminal, one line per step otherwise (logs stay readable)."""

    def __init__(self, total: int, desc: str, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.bar = None
        self.total, self.desc, self.done = total, desc, 0
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="file", file=self.stream)

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text[-60:])
        else:
            print(f"{self.desc}: [{self.done}/{self.total}] {text}", file=self.stream, flush=True)

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def partial_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name.removesuffix(".json") + ".partial.json")


def build_lock(req: Request, lock_path: Path, lister: Lister, progress: Progress | None = None,
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Lock:
    """List the commits of every requested path (resuming from ``<lock>.partial.json``), select
    snapshots by the rule and write the lock.  An exception leaves the partial file for resuming.
    """
    part_file = partial_path(lock_path)
    state = {"request": req.to_json(), "paths": {}}
    if part_file.exists():
        try:
            saved = json.loads(part_file.read_text())
        except json.JSONDecodeError:
            saved = None
        if saved and saved.get("request") == req.to_json():
            state = saved
        elif saved:
            raise InputError(f"{part_file} holds progress for a different request; delete it or give the "
                             "same arguments to resume")
    paths = req.paths()
    progress = progress or Progress(len(paths), "lock")
    try:
        for path, *_ in paths:
            st = state["paths"].setdefault(path, {"commits": [], "cursor": None, "done": False})
            if st["done"]:
                progress.step()
                continue
            for page, cursor in lister(path, req.since(), req.until(), st["cursor"]):
                st["commits"].extend(page)
                st["cursor"] = cursor
                st["done"] = cursor is None
                write_json_atomic(part_file, state)
                progress.note(f"{path}: {len(st['commits'])} commits")
            st["done"] = True
            write_json_atomic(part_file, state)
            progress.step()
    finally:
        progress.close()

    rows = [(p, sha, when) for p in state["paths"] for sha, when in state["paths"][p]["commits"]]
    commits = pl.DataFrame(rows, schema={"path": pl.String, "commit": pl.String, "when": pl.String}, orient="row")
    commits = commits.with_columns(
        pl.col("when").str.to_datetime(time_zone="UTC", time_unit="us").alias("snapshot_utc")
    ).unique(subset=["path", "commit"])
    chosen = select(commits, req.rule, req.start, req.end)
    empty = [p for p, *_ in paths if p not in set(chosen["path"].to_list())]
    if empty:
        raise InputError(
            f"empty window: no commit touched {empty[0]}"
            + (f" (and {len(empty) - 1} more path(s))" if len(empty) > 1 else "")
            + f" between {req.since()} and {req.until()}; the archive starts on 2020-10-10"
        )
    meta = {p: (s, c, ch) for p, s, c, ch in paths}
    entries = [
        Entry(path=p, store=meta[p][0], country=meta[p][1], chart=meta[p][2], date=d.isoformat(), commit=sha,
              snapshot_utc=t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for p, sha, t, d in chosen.iter_rows()
    ]
    gap_rows = gaps(chosen, [p for p, *_ in paths], req.start, req.end)
    lock = Lock(req, entries, [{"path": p, "date": d.isoformat()} for p, d in gap_rows.iter_rows()],
                now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    write_lock(lock, lock_path)
    part_file.unlink(missing_ok=True)
    return lock
