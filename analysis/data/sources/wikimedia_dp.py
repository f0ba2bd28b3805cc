"""Wikimedia's differentially-private pageviews per country, project and page: fetch and lock.

The release ``country_project_page_historical`` (9 Feb 2017 - 5 Feb 2023; see
``docs/data-sources-wiki-dp.md`` for its README, noise and licence, with sources) gives, for each
UTC day, the pageviews of every (country, project, page) whose noised count exceeds 450, with the
page's Wikidata item.  The counts carry Laplace noise of scale 30 (epsilon = 1).

Contract of the files this module reads (issue 18), checked line by line, never guessed:

- one file per UTC day, ``{base}/{YYYY-MM-DD}.tsv`` (``base`` = ``EXODUS_WIKIMEDIA_DP``);
- tab-separated, no header, exactly the columns :data:`COLUMNS`.

The release's own README documents another layout (files ``<year>-<month>-<day>.csv`` without
zero padding, six columns without ``country_code``, the count named ``private_count``); a file in
that layout, or with a header, is refused naming the difference (:func:`layout_problem`).

Each day's file is downloaded once (one day's file in memory at a time), hashed (SHA-256 of the
exact bytes, pinned in the lock) and read line by line, keeping only the rows whose ``item_id`` is one of the chosen apps' QIDs
(:data:`analysis.data.apps.QIDS`); the kept lines are cached verbatim under
``EXODUS_CACHE_DIR/wikimedia-dp/<qid-set>/<day>.tsv`` and pinned too.  The lock is rewritten after
every day, so an interrupted fetch resumes at the first day not done.  A day missing upstream
(HTTP 404) is recorded as ``missing`` and the other days go on; a changed upstream file is refused
as for the other sources.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from analysis.config import wikimedia_dp_base, wikimedia_user_agent
from analysis.data.sources.lock import read_json_lock
from analysis.data.sources.remote import Http, NotFound, RemoteError
from analysis.errors import DataError, InputError

FORMAT = "exodus-wikimedia-dp-lock/1"
SOURCE = "wikimedia-dp"
COLUMNS = ("country", "country_code", "project", "page_id", "page_title", "item_id", "pageviews")
# The columns the release's README lists (00_README.html of country_project_page_historical).
README_COLUMNS = ("country", "project", "page_id", "page_title", "item_id", "private_count")
README_URL = "https://analytics.wikimedia.org/published/datasets/country_project_page_historical/00_README.html"
FIRST_DAY, LAST_DAY = date(2017, 2, 9), date(2023, 2, 5)
NOISE = {"mechanism": "laplace", "scale": 30.0, "epsilon": 1.0}
RELEASE_THRESHOLD = 450  # only rows with more than 450 (noised) pageviews are released
LICENCE = ("not stated in the release's README; Wikimedia's research data releases default to CC0 "
           "(wikitech Data_releases) - unconfirmed, so no sample is shipped")
SCHEMA = {"date": pl.Date, "country": pl.String, "country_code": pl.String, "project": pl.String,
          "page_id": pl.Int64, "page_title": pl.String, "item_id": pl.String, "pageviews": pl.Int64,
          "app_name": pl.String}


def day_url(base: str, day: date) -> str:
    """``{base}/{YYYY-MM-DD}.tsv`` (the contract's day file)."""
    return f"{base.rstrip('/')}/{day:%Y-%m-%d}.tsv"


def resolve_apps(apps: list[str], log=print) -> dict[str, str]:
    """app -> QID for the apps that have one in :data:`analysis.data.apps.QIDS`; an app without a
    checked QID is skipped with one line (never guessed); an unknown app name is an InputError."""
    from analysis.data.apps import APPS, QIDS

    unknown = [a for a in apps if a not in APPS]
    if unknown:
        raise InputError(f"unknown app(s) {', '.join(unknown)}; known: {', '.join(sorted(APPS))}")
    skipped = [a for a in apps if a not in QIDS]
    if skipped:
        log(f"skipped (no checked Wikidata QID in analysis.data.apps.QIDS): {', '.join(skipped)}")
    out = {a: QIDS[a] for a in apps if a in QIDS}
    if not out:
        raise InputError(f"none of the apps {', '.join(apps)} has a checked Wikidata QID; known: {sorted(QIDS)}")
    return out


def layout_problem(fields: list[bytes]) -> str | None:
    """Why a line's fields are not the contract's layout, or None.  Names the difference to the
    README's documented layout and to a header line; it never maps columns by guessing."""
    low = [f.strip().decode("utf-8", "replace").lower() for f in fields]
    if low and low[0] == "country" and {"project", "page_id"} <= set(low):
        return (f"a header line ({', '.join(low)}): the contract's files have no header and exactly the columns "
                f"{', '.join(COLUMNS)}; the loader does not guess which column is which")
    if len(fields) == len(README_COLUMNS):
        return (f"{len(fields)} fields instead of {len(COLUMNS)}: this looks like the layout the release's README "
                f"documents ({', '.join(README_COLUMNS)}; no country_code) - not the contract's "
                f"({', '.join(COLUMNS)}); convert the file or give a base URL serving the contract's layout")
    if len(fields) != len(COLUMNS):
        return f"{len(fields)} tab-separated fields, expected {len(COLUMNS)} ({', '.join(COLUMNS)})"
    return None


def _check_row(fields: list[bytes]) -> str | None:
    """What is wrong with a kept row's values, or None (7 fields already checked)."""
    try:
        text = [f.decode("utf-8") for f in fields]
    except UnicodeDecodeError:
        return "not valid UTF-8"
    _, cc, project, page_id, _, qid, views = text
    if not re.fullmatch(r"[A-Za-z]{2}", cc):
        return f"country_code {cc!r} is not a two-letter ISO code"
    if not re.fullmatch(r"[a-z0-9-]+\.[a-z]+", project):
        return f"project {project!r} is not a project such as en.wikipedia"
    if not re.fullmatch(r"\d+", page_id):
        return f"page_id {page_id!r} is not a whole number"
    if not re.fullmatch(r"-?\d+", views):
        return f"pageviews {views!r} is not a whole number"
    return None


def filter_day(data: bytes, qids: frozenset[str], where: str) -> tuple[list[bytes], int]:
    """(kept lines, lines read) of one day file: the rows whose ``item_id`` is in ``qids``.

    Every line must have the contract's 7 tab-separated fields (else :func:`layout_problem`);
    kept rows are checked value by value.  A problem is a DataError naming the file and the line.
    """
    if not data.strip():
        raise DataError("the day file is empty (truncated download?); nothing was cached", file=where)
    wanted = {q.encode() for q in qids}
    kept, n = [], 0
    for n, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            raise DataError("empty line", file=where, row=n)
        fields = line.split(b"\t")
        problem = layout_problem(fields) if len(fields) != len(COLUMNS) or n == 1 else None
        if problem is None and fields[5] in wanted:
            problem = _check_row(fields)
            kept.append(line)
        if problem:
            raise DataError(f"line {n}: {problem}; nothing of this day was cached", file=where, row=n)
    return kept, n


def parse_kept(lines: list[bytes], day: date, apps_by_qid: dict[str, str]) -> pl.DataFrame:
    """The kept lines of one day as a frame (:data:`SCHEMA`)."""
    rows = [line.decode("utf-8").split("\t") for line in lines]
    return pl.DataFrame(
        [(day, r[0], r[1].upper(), r[2], int(r[3]), r[4], r[5], int(r[6]), apps_by_qid[r[5]]) for r in rows],
        schema=SCHEMA, orient="row")


@dataclass
class DayEntry:
    """One day of the lock: the original file's hash and size, and the cached kept rows."""

    date: str
    url: str
    status: str = "pending"  # pending | ok | missing (HTTP 404 upstream)
    sha256: str | None = None
    bytes: int | None = None
    lines: int | None = None
    kept: int | None = None
    file: str | None = None  # kept rows, relative to the cache's wikimedia-dp/ directory
    kept_sha256: str | None = None


@dataclass
class DPLock:
    apps: dict[str, str]  # app -> QID
    start: date
    end: date
    days: list[DayEntry]
    base: str = ""
    created_utc: str = ""
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"format": FORMAT, "source": SOURCE, "base": self.base, "readme": README_URL,
                "apps": self.apps, "skipped_apps": self.skipped, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "columns": list(COLUMNS), "noise": NOISE,
                "release_threshold": RELEASE_THRESHOLD, "licence": LICENCE, "created_utc": self.created_utc,
                "note": "sha256/bytes pin each day's original file; kept_sha256 the cached rows of the apps' QIDs",
                "days": [asdict(d) for d in self.days]}

    def same_request(self, apps: dict[str, str], start: date, end: date) -> bool:
        return (self.apps, self.start, self.end) == (apps, start, end)


def read_dp_lock(path: Path) -> DPLock:
    """Read and validate a wiki-dp lock; DataError names the file and the day."""
    src = str(path)
    raw = read_json_lock(path, FORMAT, "Wikimedia differentially-private pageview lock")
    try:
        days = [DayEntry(**{k: d.get(k) for k in DayEntry.__dataclass_fields__}) for d in raw["days"]]
        lock = DPLock(dict(raw["apps"]), date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]), days,
                      raw.get("base", ""), raw.get("created_utc", ""), list(raw.get("skipped_apps") or []))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"malformed lock: {exc}", file=src) from None
    for d in days:
        if d.status not in ("pending", "ok", "missing"):
            raise DataError(f"day {d.date}: unknown status {d.status!r}", file=src)
        if d.file is not None and not re.fullmatch(r"q-[0-9a-f]{12}/\d{4}-\d{2}-\d{2}\.tsv", d.file):
            raise DataError(f"day {d.date}: unsafe cache path {d.file!r}", file=src)
        for h in (d.sha256, d.kept_sha256):
            if h is not None and not re.fullmatch(r"[0-9a-f]{64}", str(h)):
                raise DataError(f"day {d.date}: a SHA-256 is not 64 hex digits", file=src)
    return lock


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def qid_dir(qids: dict[str, str]) -> str:
    """Cache sub-directory of a QID set (the kept rows depend on it)."""
    return "q-" + _sha(",".join(sorted(qids.values())).encode())[:12]


def cache_dir(cache: Path | None = None) -> Path:
    from analysis.data.sources.fetch import cache_root

    return (cache or cache_root()) / "wikimedia-dp"


def days_between(start: date, end: date) -> list[date]:
    if start > end:
        raise InputError(f"empty window: --start {start} is after --end {end}")
    if start < FIRST_DAY or end > LAST_DAY:
        raise InputError(f"the release covers {FIRST_DAY} .. {LAST_DAY}; asked {start} .. {end}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def fetch_command(apps: list[str], start: date, end: date, lock: Path) -> str:
    return (f"exodus data fetch --source wikimedia-dp --apps {','.join(apps)} --start {start} --end {end} "
            f"--lock {lock}")


@dataclass
class FetchResult:
    lock: DPLock
    rows: pl.DataFrame  # SCHEMA: the kept rows of every day fetched
    downloaded: int = 0
    from_cache: int = 0
    missing: list[DayEntry] = field(default_factory=list)


def _open_lock(lock_path: Path, qids: dict[str, str], start: date, end: date, skipped: list[str]) -> DPLock:
    days = days_between(start, end)
    if lock_path.exists():
        lock = read_dp_lock(lock_path)
        if not lock.same_request(qids, start, end):
            raise InputError(f"{lock_path} pins another request ({lock.start} .. {lock.end}, apps "
                             f"{','.join(lock.apps)}): give another --lock, or the same arguments to resume")
        return lock
    base = wikimedia_dp_base()
    return DPLock(qids, start, end, [DayEntry(d.isoformat(), day_url(base, d)) for d in days], base,
                  datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), skipped)


def changed_file(e: DayEntry, got: str, lock_path: Path) -> RemoteError:
    return RemoteError(
        f"refused: the day file {e.url} ({e.date}) has SHA-256 {got}, but the lock {lock_path} records {e.sha256}. "
        "Upstream changed the file; nothing cached was replaced. Keep the pinned copy, or make a new lock "
        "(another --lock) to accept the new numbers")


def _from_cache(e: DayEntry, root: Path, lock_path: Path) -> list[bytes] | None:
    """The cached kept lines of a day that is done, verified; None if not cached."""
    path = root / e.file if e.file else None
    if e.status != "ok" or path is None or not path.is_file():
        return None
    data = path.read_bytes()
    if _sha(data) != e.kept_sha256:
        raise DataError(f"cached rows of {e.date} have SHA-256 {_sha(data)}, but the lock {lock_path} records "
                        f"{e.kept_sha256}: the cache was modified; delete the file to fetch the day again", file=str(path))
    return data.splitlines()


def _download(e: DayEntry, http: Http, qids: dict[str, str], root: Path, lock_path: Path) -> list[bytes] | None:
    """Download one day, verify it against the lock, keep the QIDs' rows and cache them; None on 404."""
    url = e.url = day_url(wikimedia_dp_base(), date.fromisoformat(e.date))  # where it is fetched from now
    try:
        data, _ = http.get(url)
    except NotFound:
        e.status = "missing"
        return None
    if e.sha256 is not None and _sha(data) != e.sha256:
        raise changed_file(e, _sha(data), lock_path)
    kept, n = filter_day(data, frozenset(qids.values()), url)
    blob = b"".join(line + b"\n" for line in kept)
    e.file = f"{qid_dir(qids)}/{e.date}.tsv"
    from analysis.data.sources.fetch import write_atomic

    write_atomic(root / e.file, blob)
    e.status, e.sha256, e.bytes, e.lines, e.kept, e.kept_sha256 = "ok", _sha(data), len(data), n, len(kept), _sha(blob)
    return kept


def fetch_dp(apps: list[str], start: date, end: date, lock_path: Path, http: Http | None = None,
             cache: Path | None = None, log=print) -> FetchResult:
    """Fetch (or reuse) every day of ``start .. end`` for ``apps`` and pin it in ``lock_path``.

    Resumes from the lock (rewritten after every day).  A 404 day is recorded as missing and the
    others continue; a changed upstream file is a RemoteError (exit 1), a malformed file a
    DataError naming file and line (exit 2); both keep the days already done.
    """
    from analysis.data.sources.lock import write_json_atomic

    qids = resolve_apps(apps, log)
    skipped = [a for a in apps if a not in qids]
    lock = _open_lock(lock_path, qids, start, end, skipped)
    http = http or Http(user_agent=wikimedia_user_agent())
    root, by_qid = cache_dir(cache), {q: a for a, q in qids.items()}
    res, frames = FetchResult(lock, pl.DataFrame(schema=SCHEMA)), []
    total = len(lock.days)
    for i, e in enumerate(lock.days, start=1):
        kept = _from_cache(e, root, lock_path)
        how = "cache"
        if kept is None:
            try:
                kept, how = _download(e, http, qids, root, lock_path), "downloaded"
            finally:
                write_json_atomic(lock_path, lock.to_json())
        if kept is None:
            res.missing.append(e)
            log(f"[{i}/{total} days, {total - i} remaining] {e.date}: not found upstream (HTTP 404): {e.url}; "
                "recorded as missing, the other days go on")
            continue
        res.downloaded += how == "downloaded"
        res.from_cache += how == "cache"
        frames.append(parse_kept(kept, date.fromisoformat(e.date), by_qid))
        log(f"[{i}/{total} days, {total - i} remaining] {e.date}: {e.kept} of {e.lines} rows kept "
            f"({how}, sha256 {e.sha256[:12]})")
    write_json_atomic(lock_path, lock.to_json())
    if len(res.missing) == total:
        raise RemoteError(
            f"no day was found: all {total} day files returned HTTP 404 (e.g. {res.missing[0].url}). The base URL "
            f"({wikimedia_dp_base()}) does not serve the contract's layout {{base}}/{{YYYY-MM-DD}}.tsv; the release's "
            f"README ({README_URL}) documents files country_project_page/<year>-<month>-<day>.csv without zero "
            "padding and without a country_code column. Set EXODUS_WIKIMEDIA_DP to a mirror in the contract's layout")
    res.rows = pl.concat([res.rows, *frames]).sort("date", "app_name", "country_code", "project")
    return res


def load_locked_dp(lock_path: Path, cache: Path | None = None) -> tuple[DPLock, pl.DataFrame]:
    """The lock and its kept rows from the cache only (never the network), each file verified."""
    lock = read_dp_lock(lock_path)
    hint = fetch_command([*lock.apps, *lock.skipped], lock.start, lock.end, lock_path)
    by_qid = {q: a for a, q in lock.apps.items()}
    frames = [pl.DataFrame(schema=SCHEMA)]
    for e in lock.days:
        if e.status == "missing":
            continue
        kept = _from_cache(e, cache_dir(cache), lock_path)
        if kept is None:
            raise InputError(f"day {e.date} pinned in {lock_path} is not fetched or not in the cache: run '{hint}' "
                             "(network, or a loopback mirror with EXODUS_WIKIMEDIA_DP)")
        frames.append(parse_kept(kept, date.fromisoformat(e.date), by_qid))
    return lock, pl.concat(frames).sort("date", "app_name", "country_code", "project")
