"""Article titles per Wikipedia edition from Wikidata sitelinks: ``--articles`` of the pageview fetch.

``exodus data fetch --source wikipedia --articles`` takes a comma-separated list of

- **app names** of the registry with a checked Wikidata item (:data:`analysis.data.apps.QIDS`,
  e.g. ``Signal``): resolved per edition through the item's **sitelinks**, the title each
  edition's article has on Wikidata (``dewiki`` -> ``Signal (Messenger)``);
- **raw titles** (``Signal_(software)``): asked for as given on every edition of ``--projects``;
- **pinned titles** ``edition:Title`` (``de:Signal_(Messenger)``): that title on that edition only.

One call resolves every app (Wikidata API, module ``wbgetentities``,
https://www.wikidata.org/w/api.php?action=help&modules=wbgetentities)::

    {EXODUS_WIKIDATA_API}?action=wbgetentities&ids=Q1|Q2&props=sitelinks&format=json

The body is ``{"entities": {"Q1": {"id", "sitelinks": {"enwiki": {"site", "title"}, ...}}}}``;
an item merged into another (a Wikidata **redirect**) comes back under the target's ``id`` with
``"redirects": {"from", "to"}``, which is followed and recorded; an unknown item has ``"missing"``.
Titles come back with spaces and are sent to the pageviews API with underscores.  An app whose
item has no sitelink for an edition has no article there: it is reported in one line and skipped.

The resolution (each app's QID and resolved QID, each edition's title, the request URL and the
SHA-256 of the response body) is written into the pageview lock, and a fetch with an existing
lock takes its titles from the lock without calling Wikidata, so a rerun years later asks for
exactly the same articles.  Raw and pinned titles are looked up too, one call per edition and
title (``?action=wbgetentities&sites=dewiki&titles=...&props=sitelinks&format=json&normalize=yes&redirects=yes``):
pageviews count each title separately, so a title that is a **redirect page** on its edition is
followed to the article it points to (the item's sitelink; logged and recorded under
``redirects``), and a title of an app's item is named after that app.  A title without a
Wikidata item is asked for as given (and named by its title).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass

from analysis.config import wikidata_api
from analysis.data.apps import APPS, QIDS
from analysis.data.sources.remote import Http, RemoteError
from analysis.errors import InputError

PIN = re.compile(r"^([a-z]{2,3}(?:-[a-z]{2,8})?):(.+)$")
BATCH = 50  # wbgetentities takes at most 50 ids per call


@dataclass(frozen=True)
class ArticleSpec:
    """One item of ``--articles``: ``kind`` is ``app``, ``title`` (every edition) or ``pinned``."""

    kind: str
    value: str
    edition: str | None = None
    unchecked_app: bool = False  # a registry app without a checked QID, taken as a raw title


@dataclass(frozen=True)
class Resolved:
    """One article to fetch: edition, title (underscores) and app; ``qid`` when from Wikidata."""

    project: str
    article: str
    app_name: str
    qid: str | None = None
    title: str | None = None  # as Wikidata returned it (spaces)


def parse_articles(items: list[str]) -> list[ArticleSpec]:
    """Classify each ``--articles`` item.  A registry app without a checked QID (Parler, ...) is a
    raw title; :func:`resolve` says so in one line, because that title may not be the app's article."""
    by_lower = {a.lower(): a for a in QIDS}
    registry = {a.lower(): a for a in APPS}
    out = []
    for raw in items:
        item = raw.strip()
        if not item:
            raise InputError("--articles holds an empty item (two commas in a row?)")
        m = PIN.match(item)
        if m:
            out.append(ArticleSpec("pinned", m.group(2).strip().replace(" ", "_"), m.group(1)))
        elif item.lower() in by_lower:
            out.append(ArticleSpec("app", by_lower[item.lower()]))
        elif item.lower() in registry:
            out.append(ArticleSpec("title", item.replace(" ", "_"), unchecked_app=True))
        else:
            out.append(ArticleSpec("title", item.replace(" ", "_")))
    return out


def site_id(project: str) -> str:
    """Wikidata's site id of an edition: ``de.wikipedia`` -> ``dewiki`` (``-`` becomes ``_``)."""
    return project.split(".")[0].replace("-", "_") + "wiki"


def request_url(api: str, qids: list[str]) -> str:
    """The documented call: ``?action=wbgetentities&ids=Q1|Q2&props=sitelinks&format=json``."""
    return f"{api}?action=wbgetentities&ids={'|'.join(qids)}&props=sitelinks&format=json"


def title_url(api: str, site: str, title: str) -> str:
    """The item of one edition's title, redirects on that edition followed (``redirects=yes``)."""
    t = urllib.parse.quote(title.replace("_", " "), safe="")
    return f"{api}?action=wbgetentities&sites={site}&titles={t}&props=sitelinks&format=json&normalize=yes&redirects=yes"


def _entities(body: bytes, url: str) -> dict:
    """The ``entities`` object of a ``wbgetentities`` response; :class:`RemoteError` naming the URL
    for a body that is not the API's JSON, an API error, or a response without entities."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RemoteError(f"{url}: the Wikidata response is not complete JSON ({exc.msg}): truncated?") from None
    if isinstance(payload, dict) and "error" in payload:
        err = payload["error"]
        raise RemoteError(f"{url}: Wikidata API error {err.get('code')!r}: {err.get('info')}")
    entities = payload.get("entities") if isinstance(payload, dict) else None
    if not isinstance(entities, dict):
        raise RemoteError(f"{url}: the Wikidata response has no 'entities' object")
    return entities


def parse_title(body: bytes, url: str, site: str) -> dict | None:
    """``{"qid", "title"}`` of the item a title lookup found (its ``site`` sitelink: the article's
    own title, a redirect followed), or None when the title has no item (``"-1": {"missing"}``)."""
    entities = _entities(body, url)
    for ent in entities.values():
        if isinstance(ent, dict) and "missing" not in ent and site in (ent.get("sitelinks") or {}):
            return {"qid": str(ent["id"]), "title": str(ent["sitelinks"][site]["title"])}
    return None


def parse_sitelinks(body: bytes, url: str, qids: list[str]) -> dict[str, dict]:
    """Requested QID -> ``{"qid": resolved QID, "titles": {site: title}}``; redirects followed.

    A body that is not the API's JSON, an API error, or a requested item that is missing is a
    :class:`RemoteError` naming the URL and the QID (exit 1), never a silent skip.
    """
    entities = _entities(body, url)
    out = {}
    for q in qids:
        ent = entities.get(q) or next((e for e in entities.values() if isinstance(e, dict)
                                       and (e.get("redirects") or {}).get("from") == q), None)
        if not isinstance(ent, dict) or "missing" in ent:
            raise RemoteError(f"{url}: Wikidata has no item {q} (missing): check analysis.data.apps.QIDS")
        links = ent.get("sitelinks") or {}
        try:
            titles = {site: str(v["title"]) for site, v in links.items()}
        except (TypeError, KeyError):
            raise RemoteError(f"{url}: item {q} has a sitelink without a title") from None
        out[q] = {"qid": str(ent.get("id", q)), "titles": titles}
    return out


def fetch_sitelinks(qids: list[str], http: Http) -> tuple[dict[str, dict], list[dict]]:
    """Sitelinks of ``qids`` (batches of :data:`BATCH`) and one record per request (URL, SHA-256, bytes)."""
    api = wikidata_api()
    items: dict[str, dict] = {}
    calls = []
    for i in range(0, len(qids), BATCH):
        batch = qids[i:i + BATCH]
        url = request_url(api, batch)
        body, _ = http.get(url)
        items.update(parse_sitelinks(body, url, batch))
        calls.append({"url": url, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)})
    return items, calls


def resolve_title(project: str, title: str, http: Http, name_of, calls: list[dict], redirects: list[dict],
                  log=print) -> Resolved:
    """A raw or pinned title through Wikidata: the article's own title (a redirect followed, and
    recorded in ``redirects``) and its app (from :data:`QIDS`); a title without an item is kept."""
    site = site_id(project)
    url = title_url(wikidata_api(), site, title)
    body, _ = http.get(url)
    calls.append({"url": url, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)})
    found = parse_title(body, url, site)
    if found is None:
        log(f"note: {project} {title!r} has no Wikidata item: asked for as given")
        return Resolved(project, title, name_of(project, title))
    article = found["title"].replace(" ", "_")
    if article != title:
        log(f"followed: {project} {title!r} -> {article!r} (Wikidata {found['qid']})")
        redirects.append({"project": project, "from": title, "to": article, "qid": found["qid"]})
    by_qid = {q: a for a, q in QIDS.items()}
    return Resolved(project, article, by_qid.get(found["qid"]) or name_of(project, article), found["qid"], found["title"])


def resolve(specs: list[ArticleSpec], projects: list[str], http: Http, name_of, log=print
            ) -> tuple[list[Resolved], dict]:
    """The articles to fetch, in edition order, and the resolution record for the lock.

    ``name_of(project, article)`` names the app of a raw or pinned title.  An app without a
    sitelink on an edition is logged in one line and skipped (listed under ``missing``).
    """
    editions = {p.split(".")[0]: p for p in projects}
    for s in specs:
        if s.kind == "pinned" and s.edition not in editions:
            raise InputError(f"--articles pins {s.edition}:{s.value} to edition {s.edition!r}, which is not in "
                             f"--projects ({', '.join(projects)})")
    for s in specs:
        if s.unchecked_app:
            log(f"note: {s.value} has no checked Wikidata QID (analysis.data.apps.QIDS): asked for as the title "
                f"{s.value!r} on every edition; pin each edition's article as edition:Title if that is not it")
    apps = list(dict.fromkeys(s.value for s in specs if s.kind == "app"))
    items, calls = fetch_sitelinks([QIDS[a] for a in apps], http) if apps else ({}, [])
    out: list[Resolved] = []
    missing: list[dict] = []
    redirects: list[dict] = []
    for p in projects:
        for s in specs:
            if s.kind == "app":
                item = items[QIDS[s.value]]
                title = item["titles"].get(site_id(p))
                if title is None:
                    log(f"skipped: {s.value} has no article on {p} (Wikidata {item['qid']} has no "
                        f"{site_id(p)} sitelink)")
                    missing.append({"app_name": s.value, "qid": item["qid"], "project": p})
                    continue
                out.append(Resolved(p, title.replace(" ", "_"), s.value, item["qid"], title))
            elif s.kind == "title" or editions[s.edition] == p:
                out.append(resolve_title(p, s.value, http, name_of, calls, redirects, log))
    seen: set[tuple[str, str]] = set()
    unique = [r for r in out if not ((r.project, r.article) in seen or seen.add((r.project, r.article)))]
    if not unique:
        raise InputError("no article to fetch: every app of --articles lacks an article on the editions asked for")
    record = {"api": wikidata_api(), "requests": calls, "missing": missing, "redirects": redirects,
              "items": [{"app_name": a, "qid": QIDS[a], "resolved_qid": items[QIDS[a]]["qid"]} for a in apps]}
    return unique, record
