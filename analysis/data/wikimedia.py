"""Wikimedia per-article daily pageviews: fetch, pin by SHA-256 in a lock, load offline.

Endpoint (Wikimedia REST API, https://wikimedia.org/api/rest_v1/ , "Pageviews per article")::

    {EXODUS_WIKIMEDIA_API}/metrics/pageviews/per-article/{project}/all-access/user/{article}/daily/{YYYYMMDD}00/{YYYYMMDD}00

with the article URL-encoded (``/`` included).  The body is
``{"items": [{"project", "article", "granularity", "timestamp": "YYYYMMDD00", "access", "agent", "views"}]}``;
a day with no views has no item (the API omits zero days), so a missing day is read as 0 views.
Requests carry a User-Agent naming the tool and a contact URL (Wikimedia's User-Agent policy,
https://meta.wikimedia.org/wiki/User-Agent_policy); 429 and 5xx are retried with backoff,
honouring ``Retry-After`` (:class:`analysis.data.remote.Http`).

Every body is cached under ``EXODUS_CACHE_DIR/wikimedia/<project>/<slug>-<start>-<end>.json`` and
pinned by SHA-256 in the lock (written on the first fetch, verified on every later one).  A body
that no longer matches its lock is refused (exit 1) naming the file and both hashes; nothing
cached is replaced.  Article names never become paths directly: :func:`analysis.data.slug.slug`.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from analysis.config import wikimedia_api, wikimedia_user_agent
from analysis.data.remote import Http, NotFound, RemoteError
from analysis.data.slug import slug as slugify  # the project's one slug function (issue 11)
from analysis.errors import DataError, InputError

FORMAT = "exodus-wikimedia-lock/1"
ACCESS, AGENT = "all-access", "user"
# Curated article titles of the seed apps per edition.  Source: each title is the article's name
# on that edition (https://{lang}.wikipedia.org/wiki/{title}), i.e. the Wikidata sitelink of the
# app's item; en titles are confirmed by the shipped top-100 data.  Editions without an article
# for an app have no entry (an unknown title is an error, never a guess).
TITLES: dict[str, dict[str, str]] = {
    "en.wikipedia": {"Signal": "Signal_(software)", "Telegram": "Telegram_(software)", "WhatsApp": "WhatsApp",
                     "Parler": "Parler", "Gab": "Gab_(social_network)", "Twitter": "Twitter"},
    "de.wikipedia": {"Signal": "Signal_(Messenger)", "Telegram": "Telegram_(Messenger)", "WhatsApp": "WhatsApp",
                     "Parler": "Parler_(soziales_Netzwerk)", "Twitter": "Twitter"},
    "fr.wikipedia": {"Signal": "Signal_(application)", "Telegram": "Telegram_(application)", "WhatsApp": "WhatsApp",
                     "Parler": "Parler_(réseau_social)", "Twitter": "Twitter"},
    "pt.wikipedia": {"Signal": "Signal_(software)", "Telegram": "Telegram_(aplicativo)", "WhatsApp": "WhatsApp",
                     "Twitter": "Twitter"},
    "es.wikipedia": {"Signal": "Signal_(software)", "Telegram": "Telegram", "WhatsApp": "WhatsApp",
                     "Parler": "Parler", "Twitter": "Twitter"},
    "hi.wikipedia": {"WhatsApp": "व्हाट्सऐप", "Twitter": "ट्विटर"},
}


def project_of(project: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}\.wikipedia", project):
        raise InputError(f"unknown project {project!r}: give a language edition such as en.wikipedia or de.wikipedia")
    return project


def app_for(project: str, article: str) -> str:
    """The app an article stands for in ``project`` (curated :data:`TITLES`); unknown is an error."""
    titles = TITLES.get(project)
    if titles is None:
        raise InputError(f"no curated article titles for {project!r}; editions with titles: {sorted(TITLES)}")
    norm = article.replace(" ", "_")
    for app, title in titles.items():
        if title == norm:
            return app
    raise InputError(f"article {article!r} is not in the curated title mapping of {project} "
                     f"(analysis/data/wikimedia.py TITLES); known: {sorted(titles.values())}")


def request_url(base: str, project: str, article: str, start: date, end: date) -> str:
    a = urllib.parse.quote(article.replace(" ", "_"), safe="")
    return (f"{base.rstrip('/')}/metrics/pageviews/per-article/{project}/{ACCESS}/{AGENT}/{a}/daily/"
            f"{start:%Y%m%d}00/{end:%Y%m%d}00")


def parse_body(body: bytes, where: str, project: str, article: str) -> pl.DataFrame:
    """date, views from one response body; truncated or malformed JSON is a clear RemoteError."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RemoteError(f"{where}: the response for {project} {article!r} is not complete JSON "
                          f"({exc.msg} at byte {getattr(exc, 'pos', '?')} of {len(body)}): truncated? nothing was cached") from None
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise RemoteError(f"{where}: the response for {project} {article!r} has no 'items' list")
    rows = []
    for i, it in enumerate(items, start=1):
        try:
            ts, views = str(it["timestamp"]), int(it["views"])
            day = datetime.strptime(ts[:8], "%Y%m%d").date()
        except (KeyError, TypeError, ValueError):
            raise RemoteError(f"{where}: item {i} for {project} {article!r} lacks a valid timestamp or views") from None
        rows.append((day, views))
    return pl.DataFrame(rows, schema={"date": pl.Date, "views": pl.Int64}, orient="row")


@dataclass
class Entry:
    project: str
    article: str
    app_name: str
    file: str  # relative to the cache's wikimedia/ directory
    sha256: str | None = None
    bytes: int | None = None


@dataclass
class ViewsLock:
    projects: list[str]
    start: date
    end: date
    entries: list[Entry]
    api: str = ""
    created_utc: str = ""

    def to_json(self) -> dict:
        return {"format": FORMAT, "source": "wikipedia", "api": self.api, "access": ACCESS, "agent": AGENT,
                "projects": self.projects, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "created_utc": self.created_utc, "licence": "CC0 1.0 (Wikimedia pageview data)",
                "note": "sha256/bytes of each response body, recorded on the first fetch and verified on every later one",
                "entries": [e.__dict__ for e in self.entries]}


def read_views_lock(path: Path) -> ViewsLock:
    src = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("lock file not found", file=src) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"is not a JSON lock file: {exc}", file=src) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DataError(f"not a Wikimedia pageview lock (format {FORMAT!r})", file=src)
    try:
        entries = [Entry(**{k: e.get(k) for k in Entry.__dataclass_fields__}) for e in raw["entries"]]
        lock = ViewsLock(list(raw["projects"]), date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]),
                         entries, raw.get("api", ""), raw.get("created_utc", ""))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"malformed lock: {exc}", file=src) from None
    for i, e in enumerate(entries, start=1):
        if Path(e.file).is_absolute() or ".." in Path(e.file).parts or not re.fullmatch(r"[a-z0-9._/-]+", e.file):
            raise DataError(f"entry {i}: unsafe cache path {e.file!r}", file=src)
        if e.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", e.sha256):
            raise DataError(f"entry {i} ({e.project} {e.article}): sha256 is not 64 hex digits", file=src)
    return lock


def cache_dir(cache: Path | None = None) -> Path:
    from analysis.data.fetch import cache_root

    return (cache or cache_root()) / "wikimedia"


def _write_atomic(path: Path, data: bytes) -> None:
    from analysis.data.fetch import _write_atomic as w

    w(path, data)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def changed_body(e: Entry, path: Path, got: str, lock_file: Path) -> RemoteError:
    return RemoteError(
        f"refused: the response for {e.project} {e.article!r} ({path}) has SHA-256 {got}, but the lock "
        f"{lock_file} records {e.sha256}. Upstream changed the data (Wikimedia recomputes pageviews at times); "
        "nothing cached was replaced. Keep the pinned copy, or make a new lock (another --lock) to accept the new numbers")


def plan(projects: list[str], articles: list[str], start: date, end: date) -> list[Entry]:
    """One entry per (project, article); articles are resolved per edition (an app name or a title)."""
    if start > end:
        raise InputError(f"empty window: --start {start} is after --end {end}")
    out = []
    for p in map(project_of, projects):
        for a in articles:
            title = TITLES.get(p, {}).get(a, a)  # an app name resolves to the edition's title
            app = app_for(p, title)
            out.append(Entry(p, title, app, f"{slugify(p)}/{slugify(title)}-{start:%Y%m%d}-{end:%Y%m%d}.json"))
    return out


def fetch_views(projects: list[str], articles: list[str], start: date, end: date, lock_path: Path,
                http: Http | None = None, cache: Path | None = None, log=print) -> pl.DataFrame:
    """Fetch (or reuse from the cache) every article's daily views and pin each body in the lock.

    Raises RemoteError (exit 1) for a 404 (named by article), a truncated body, or a body that
    differs from the lock; InputError (exit 2) for unknown titles or a lock of another request.
    """
    wanted = plan(projects, articles, start, end)
    base = wikimedia_api()
    if lock_path.exists():
        lock = read_views_lock(lock_path)
        if (lock.start, lock.end, {(e.project, e.article) for e in lock.entries}) != (
                start, end, {(e.project, e.article) for e in wanted}):
            raise InputError(f"{lock_path} pins another request ({lock.start} .. {lock.end}, "
                             f"{len(lock.entries)} articles): give another --lock, or the same arguments")
    else:
        lock = ViewsLock(sorted(set(projects)), start, end, wanted, base,
                         datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    http = http or Http(user_agent=wikimedia_user_agent())
    root = cache_dir(cache)
    frames, recorded = [], 0
    try:
        for i, e in enumerate(lock.entries, start=1):
            path = root / e.file
            if path.is_file():
                data, how = path.read_bytes(), "cache"
                if e.sha256 is not None and _sha(data) != e.sha256:
                    raise changed_body(e, path, _sha(data), lock_path)
            else:
                url = request_url(base, e.project, e.article, start, end)
                try:
                    data, _ = http.get(url)
                except NotFound:
                    raise RemoteError(f"article not found (HTTP 404): {e.project} {e.article!r} ({url}); check "
                                      "the title on that edition") from None
                how = "downloaded"
                if e.sha256 is not None and _sha(data) != e.sha256:
                    raise changed_body(e, path, _sha(data), lock_path)
            df = parse_body(data, str(path) if how == "cache" else url, e.project, e.article)
            if how == "downloaded":
                _write_atomic(path, data)
            if e.sha256 is None:
                e.sha256, e.bytes = _sha(data), len(data)
                recorded += 1
            log(f"[{i}/{len(lock.entries)}] {e.project} {e.article} -> {e.app_name}: {df.height} days, "
                f"{int(df['views'].sum()) if df.height else 0} views ({how}, sha256 {e.sha256[:12]})")
            frames.append(_tag(df, e, start, end))
    finally:
        if recorded:
            from analysis.data.lock import write_json_atomic

            write_json_atomic(lock_path, lock.to_json())
    log(f"{len(lock.entries)} bodies verified; {recorded} SHA-256 recorded in {lock_path}")
    return pl.concat(frames).sort("app_name", "country", "date")


def _tag(df: pl.DataFrame, e: Entry, start: date, end: date) -> pl.DataFrame:
    """A full daily grid start..end (days the API omits had no views: 0)."""
    days = pl.DataFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    return (days.join(df, on="date", how="left")
            .with_columns(pl.col("views").fill_null(0),
                          pl.lit(e.app_name).alias("app_name"), pl.lit(e.project.split(".")[0]).alias("country"),
                          pl.lit("wikipedia").alias("store"), pl.lit(e.article).alias("article"),
                          pl.lit(False).alias("censored"))
            .select("date", "app_name", "country", "store", "article", "views", "censored"))


def load_locked_views(lock_path: Path, cache: Path | None = None) -> pl.DataFrame:
    """The locked views from the cache only (never the network), each body verified."""
    lock = read_views_lock(lock_path)
    hint = (f"exodus data fetch --source wikipedia --projects {','.join(lock.projects)} --articles "
            f"\"{','.join(sorted({e.article for e in lock.entries}))}\" --start {lock.start} --end {lock.end} --lock {lock_path}")
    frames = []
    for e in lock.entries:
        path = cache_dir(cache) / e.file
        if e.sha256 is None or not path.is_file():
            raise InputError(f"{e.project} {e.article!r} pinned in {lock_path} is not in the cache ({path}): "
                             f"run '{hint}' (network, or a loopback mirror with EXODUS_WIKIMEDIA_API)")
        data = path.read_bytes()
        if _sha(data) != e.sha256:
            raise changed_body(e, path, _sha(data), lock_path)
        frames.append(_tag(parse_body(data, str(path), e.project, e.article), e, lock.start, lock.end))
    return pl.concat(frames).sort("app_name", "country", "date")


def views_defaults(views: pl.DataFrame) -> dict:
    """Study parameters from what the lock holds (apps, editions, a window inside it)."""
    from datetime import timedelta

    first, last = views["date"].min(), views["date"].max()
    when = date(2021, 1, 8)  # the first full UTC day after the Musk tweet, as in wiki-top100
    if not (first + timedelta(days=7) <= when <= last - timedelta(days=6)):
        when = last - timedelta(days=max(7, min(30, ((last - first).days + 1) // 3)) - 1)
    pre, post = min(60, (when - first).days), min(30, (last - when).days + 1)
    return {"apps": sorted(views["app_name"].unique().to_list()), "countries": sorted(views["country"].unique().to_list()),
            "store": "wikipedia", "chart": "pageviews", "comparison_cutoff": when.isoformat(), "pre_days": pre,
            "post_days": post, "errors": "ar1", "censored": False,
            "placebo_apps": sorted(views["app_name"].unique().to_list())[:1],
            "focus_app": sorted(views["app_name"].unique().to_list())[0],
            "focus_country": sorted(views["country"].unique().to_list())[0], "coverage_replicates": 200}
