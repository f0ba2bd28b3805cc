"""Wikimedia per-article daily pageviews: fetch, pin by SHA-256 in a lock, load offline.

Endpoint (Wikimedia REST API, https://wikimedia.org/api/rest_v1/ , "Pageviews per article")::

    {EXODUS_WIKIMEDIA_API}/metrics/pageviews/per-article/{project}/all-access/user/{article}/daily/{YYYYMMDD}00/{YYYYMMDD}00

with the article URL-encoded (``/`` included).  The body is
``{"items": [{"project", "article", "granularity", "timestamp": "YYYYMMDD00", "access", "agent", "views"}]}``;
a day with no views has no item (the API omits zero days), so a missing day is read as 0 views.
Requests carry a User-Agent naming the tool and a contact URL (Wikimedia's User-Agent policy,
https://meta.wikimedia.org/wiki/User-Agent_policy); 429 and 5xx are retried with backoff,
honouring ``Retry-After`` (:class:`analysis.data.sources.remote.Http`).

Every body is cached under ``EXODUS_CACHE_DIR/wikimedia/<project>/<slug>-<start>-<end>.json`` and
pinned by SHA-256 in the lock (written on the first fetch, verified on every later one).  A body
that no longer matches its lock is refused (exit 1) naming the file and both hashes; nothing
cached is replaced.  Article names never become paths directly: :func:`analysis.data.slug.slug`.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from analysis.config import wikimedia_api, wikimedia_user_agent
from analysis.data.slug import slug as slugify  # the project's one slug function (issue 11)
from analysis.data.sources.lock import read_json_lock
from analysis.data.sources.remote import Http, NotFound, RemoteError
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
                     f"(analysis/data/sources/pageviews.py TITLES); known: {sorted(titles.values())}")


def name_of(project: str, article: str) -> str:
    """The app name of a raw title: the app of a curated title (:data:`TITLES`), else the title
    itself with spaces (any article can be fetched; it is named by its title)."""
    norm = article.replace(" ", "_")
    for app, title in TITLES.get(project, {}).items():
        if title == norm:
            return app
    return norm.replace("_", " ")


def request_url(base: str, project: str, article: str, start: date, end: date) -> str:
    a = urllib.parse.quote(article.replace(" ", "_"), safe="")
    return (f"{base.rstrip('/')}/metrics/pageviews/per-article/{project}/{ACCESS}/{AGENT}/{a}/daily/"
            f"{start:%Y%m%d}00/{end:%Y%m%d}00")


def parse_body(body: bytes, where: str, project: str, article: str, start: date | None = None,
               end: date | None = None) -> pl.DataFrame:
    """date, views from one response body, every item checked against what was asked for
    (:func:`analysis.data.sources.pageviews_body.parse_items`): a clear RemoteError, never a traceback."""
    from analysis.data.sources.pageviews_body import parse_items

    return parse_items(body, where, project, article, start, end)


DEADLINE_S = 300.0  # one body, retries and waits included: a stalled or trickling server is cut off


def wikimedia_http(max_wait: float = 3600.0) -> Http:
    """The client for Wikimedia: its User-Agent, no GitHub token, an overall deadline per body
    (:data:`DEADLINE_S`), and no redirect to another article's path."""
    return Http(token=None, max_wait=max_wait, user_agent=wikimedia_user_agent(), deadline=DEADLINE_S,
                same_path_redirects=True)


def cache_file(root: Path, e: Entry) -> Path:
    """The entry's cache file, resolved: a symlink that leads out of the cache is refused
    (:func:`analysis.data.slug.inside`), so no read or write lands outside it."""
    from analysis.data.slug import inside

    return inside(root, e.file, f"Wikimedia cache file of {e.project} {e.article!r}")


@dataclass
class Entry:
    project: str
    article: str
    app_name: str
    file: str  # relative to the cache's wikimedia/ directory
    sha256: str | None = None
    bytes: int | None = None
    qid: str | None = None  # the Wikidata item the title was resolved from (None: a raw title)
    title: str | None = None  # the sitelink title as Wikidata returned it (spaces)


@dataclass
class ViewsLock:
    projects: list[str]
    start: date
    end: date
    entries: list[Entry]
    api: str = ""
    created_utc: str = ""
    request: dict | None = None  # the --projects / --articles asked for (locks since issue 16)
    wikidata: dict | None = None  # the sitelink resolution: request URL, SHA-256, QIDs, missing

    def matches(self, projects: list[str], articles: list[str], start: date, end: date) -> bool:
        """Whether the lock pins this request (a lock without ``request``: the same title set)."""
        if (self.start, self.end) != (start, end):
            return False
        if self.request is not None:
            return (sorted(set(self.request.get("projects", []))) == sorted(set(projects))
                    and list(self.request.get("articles", [])) == [a.strip() for a in articles])
        try:
            wanted = plan(projects, articles, start, end)
        except InputError:
            return False
        return {(e.project, e.article) for e in self.entries} == {(e.project, e.article) for e in wanted}

    def to_json(self) -> dict:
        return {"format": FORMAT, "source": "wikipedia", "api": self.api, "access": ACCESS, "agent": AGENT,
                "projects": self.projects, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "created_utc": self.created_utc, "licence": "CC0 1.0 (Wikimedia pageview data)",
                "note": "sha256/bytes of each response body, recorded on the first fetch and verified on every later one",
                **({"request": self.request} if self.request is not None else {}),
                **({"wikidata": self.wikidata} if self.wikidata is not None else {}),
                "entries": [e.__dict__ for e in self.entries]}


def read_views_lock(path: Path) -> ViewsLock:
    src = str(path)
    raw = read_json_lock(path, FORMAT, "Wikimedia pageview lock")
    try:
        entries = [Entry(**{k: e.get(k) for k in Entry.__dataclass_fields__}) for e in raw["entries"]]
        lock = ViewsLock(list(raw["projects"]), date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]),
                         entries, raw.get("api", ""), raw.get("created_utc", ""), raw.get("request"),
                         raw.get("wikidata"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"malformed lock: {exc}", file=src) from None
    for i, e in enumerate(entries, start=1):
        if Path(e.file).is_absolute() or ".." in Path(e.file).parts or not re.fullmatch(r"[a-z0-9._/-]+", e.file):
            raise DataError(f"entry {i}: unsafe cache path {e.file!r}", file=src)
        if e.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", e.sha256):
            raise DataError(f"entry {i} ({e.project} {e.article}): sha256 is not 64 hex digits", file=src)
    return lock


def cache_dir(cache: Path | None = None) -> Path:
    from analysis.data.sources.fetch import cache_root

    return (cache or cache_root()) / "wikimedia"


def write_atomic(path: Path, data: bytes) -> None:
    from analysis.data.sources.fetch import write_atomic as w

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


def new_lock(projects: list[str], articles: list[str], start: date, end: date, http: Http, log=print) -> ViewsLock:
    """A lock for a new request: titles resolved per edition (:mod:`analysis.data.sources.wikidata`)."""
    from analysis.data.sources import wikidata

    projects = [project_of(p) for p in projects]
    found, record = wikidata.resolve(wikidata.parse_articles(articles), projects, http, name_of, log)
    entries = [Entry(r.project, r.article, r.app_name,
                     f"{slugify(r.project)}/{slugify(r.article)}-{start:%Y%m%d}-{end:%Y%m%d}.json", qid=r.qid,
                     title=r.title) for r in found]
    return ViewsLock(sorted(set(projects)), start, end, entries, "", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     {"projects": list(projects), "articles": [a.strip() for a in articles]}, record)


def fetch_views(projects: list[str], articles: list[str], start: date, end: date, lock_path: Path,
                http: Http | None = None, cache: Path | None = None, log=print) -> pl.DataFrame:
    """Fetch (or reuse from the cache) every article's daily views and pin each body in the lock.

    Raises RemoteError (exit 1) for a 404 (named by article), a truncated body, or a body that
    differs from the lock; InputError (exit 2) for unknown titles or a lock of another request.
    """
    base = wikimedia_api()
    http = http or wikimedia_http()
    if start > end:
        raise InputError(f"empty window: --start {start} is after --end {end}")
    if lock_path.exists():  # the lock's titles, never re-resolved: a rerun asks for the same articles
        lock = read_views_lock(lock_path)
        if not lock.matches(projects, articles, start, end):
            raise InputError(f"{lock_path} pins another request ({lock.start} .. {lock.end}, "
                             f"{len(lock.entries)} articles): give another --lock, or the same arguments")
    else:
        lock = new_lock(projects, articles, start, end, http, log)
        lock.api = base
    root = cache_dir(cache)
    frames, recorded = [], 0
    try:
        for i, e in enumerate(lock.entries, start=1):
            path = cache_file(root, e)
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
            df = parse_body(data, str(path) if how == "cache" else url, e.project, e.article, start, end)
            if how == "downloaded":
                write_atomic(path, data)
            if e.sha256 is None:
                e.sha256, e.bytes = _sha(data), len(data)
                recorded += 1
            log(f"[{i}/{len(lock.entries)}] {e.project} {e.article} -> {e.app_name}: {df.height} days, "
                f"{int(df['views'].sum()) if df.height else 0} views ({how}, sha256 {e.sha256[:12]})")
            frames.append(_tag(df, e, start, end))
    finally:
        if recorded:
            from analysis.data.sources.lock import write_json_atomic

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
            f"\"{','.join((lock.request or {}).get('articles') or sorted({e.article for e in lock.entries}))}\" --start {lock.start} --end {lock.end} --lock {lock_path}")
    frames = []
    for e in lock.entries:
        path = cache_file(cache_dir(cache), e)
        if e.sha256 is None or not path.is_file():
            raise InputError(f"{e.project} {e.article!r} pinned in {lock_path} is not in the cache ({path}): "
                             f"run '{hint}' (network, or a loopback mirror with EXODUS_WIKIMEDIA_API)")
        data = path.read_bytes()
        if _sha(data) != e.sha256:
            raise changed_body(e, path, _sha(data), lock_path)
        frames.append(_tag(parse_body(data, str(path), e.project, e.article, lock.start, lock.end), e, lock.start,
                           lock.end))
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
