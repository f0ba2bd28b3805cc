"""Article titles from Wikidata sitelinks, against the tests' own loopback server (Wikidata's
wbgetentities and the Wikimedia pageviews API in their real formats): app names, raw and pinned
titles, 13 editions, a missing sitelink, an item redirect, a changed upstream, the lock, and the
README's real-data command run verbatim."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pytest
from werkzeug import Response

from analysis import cli
from analysis.config import ROOT
from analysis.data import apps
from analysis.data.sources import pageviews as wm
from analysis.data.sources import wikidata as wd
from analysis.data.sources.remote import Http, RemoteError
from analysis.errors import InputError

EDITIONS = ["en", "de", "fr", "es", "pt", "it", "ru", "ja", "hi", "ar", "fa", "tr", "id"]
# Served sitelinks (titles with spaces, as Wikidata returns them); Twitter has no fawiki link here.
SIGNAL = {"en": "Signal (software)", "de": "Signal (Messenger)", "fr": "Signal (application)",
          "es": "Signal (software)", "pt": "Signal (software)", "it": "Signal (software)",
          "ru": "Signal (программа)", "ja": "Signal (アプリケーション)", "hi": "सिग्नल (सॉफ्टवेयर)",
          "ar": "سيجنال (برنامج)", "fa": "سیگنال (نرم‌افزار)", "tr": "Signal (yazılım)", "id": "Signal (perangkat lunak)"}
TWITTER = {e: "Twitter" for e in EDITIONS if e != "fa"}
START, END = date(2020, 12, 20), date(2021, 1, 31)
PV = re.compile(r"/api/metrics/pageviews/per-article/([a-z.]+)/all-access/user/(.+)/daily/(\d{8})00/(\d{8})00")


def served_views(project: str, article: str, day: date) -> int:
    """Deterministic views of any article: a base from its name, tenfold from 8 Jan 2021."""
    base = 100 + int(hashlib.sha256(f"{project}/{article}".encode()).hexdigest()[:4], 16) % 900
    return base * (10 if day >= date(2021, 1, 8) else 1) + day.day


class Server:
    """Wikidata (``/wikidata/w/api.php``) and pageviews (``/api/...``) on one loopback port."""

    def __init__(self) -> None:
        self.sitelinks = {q: {"enwiki": a, "dewiki": a} for a, q in apps.QIDS.items()}  # every app: en and de
        self.sitelinks[apps.QIDS["Signal"]] = {f"{e}wiki": t for e, t in SIGNAL.items()}
        self.sitelinks[apps.QIDS["Twitter"]] = {f"{e}wiki": t for e, t in TWITTER.items()}
        self.redirects: dict[str, str] = {}  # merged item -> target
        self.title_redirects: dict[tuple[str, str], str] = {}  # (site, redirect page) -> article
        self.wikidata_calls: list[dict] = []
        self.pageview_calls: list[tuple[str, str]] = []

    def entity(self, q: str) -> dict:
        target = self.redirects.get(q, q)
        if target not in self.sitelinks:
            return {"id": q, "missing": ""}
        ent = {"type": "item", "id": target, "sitelinks": {
            s: {"site": s, "title": t, "badges": []} for s, t in self.sitelinks[target].items()}}
        if target != q:
            ent["redirects"] = {"from": q, "to": target}
        return ent

    def by_title(self, args) -> dict:
        """wbgetentities&sites=..&titles=..: the item with that sitelink, the edition's redirects followed."""
        assert args["redirects"] == "yes" and "_" not in args["titles"]  # titles go to Wikidata with spaces
        site = args["sites"]
        title = self.title_redirects.get((site, args["titles"]), args["titles"])
        hit = [q for q, links in self.sitelinks.items() if links.get(site) == title]
        if not hit:
            return {"entities": {"-1": {"site": site, "title": args["titles"], "missing": ""}}, "success": 1}
        return {"entities": {hit[0]: self.entity(hit[0])}, "success": 1}

    def handler(self, request):
        if request.path == "/wikidata/w/api.php":
            self.wikidata_calls.append(dict(request.args))
            if "titles" in request.args:
                return Response(json.dumps(self.by_title(request.args)), content_type="application/json")
            ids = request.args["ids"].split("|")
            return Response(json.dumps({"entities": {q: self.entity(q) for q in ids}, "success": 1}),
                            content_type="application/json")
        m = PV.fullmatch(unquote(request.path))
        if not m:
            return Response("bad path", status=400)
        project, article, s, e = m.groups()
        self.pageview_calls.append((project, article))
        d0, d1 = (date.fromisoformat(f"{x[:4]}-{x[4:6]}-{x[6:]}") for x in (s, e))
        items = [{"project": project, "article": article, "granularity": "daily", "timestamp": f"{d:%Y%m%d}00",
                  "access": "all-access", "agent": "user", "views": served_views(project, article, d)}
                 for d in (d0 + timedelta(days=i) for i in range((d1 - d0).days + 1))]
        return Response(json.dumps({"items": items}), content_type="application/json")


@pytest.fixture
def server(httpserver, monkeypatch, tmp_path):
    s = Server()
    httpserver.expect_request(re.compile(r"/(api|wikidata)/.*")).respond_with_handler(s.handler)
    monkeypatch.setenv("EXODUS_WIKIMEDIA_API", httpserver.url_for("/api"))
    monkeypatch.setenv("EXODUS_WIKIDATA_API", httpserver.url_for("/wikidata/w/api.php"))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path / "data" / "locks"))
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path / "reports"))
    return s


def fetch(tmp_path, projects, articles, lock="wiki-views.json", log=None):
    return wm.fetch_views(list(projects), list(articles), START, END, tmp_path / "data" / "locks" / lock,
                          http=Http(user_agent="exodus-test", sleep=lambda s: None, log=lambda m: None),
                          log=log or (lambda m: None))


def test_articles_are_app_names_raw_titles_or_edition_pinned_titles():
    specs = wd.parse_articles(["Signal", "whatsapp", "Signal_(software)", "de:Signal (Messenger)", "Mission:_Impossible"])
    assert [(s.kind, s.value, s.edition) for s in specs] == [
        ("app", "Signal", None), ("app", "WhatsApp", None), ("title", "Signal_(software)", None),
        ("pinned", "Signal_(Messenger)", "de"), ("title", "Mission:_Impossible", None)]
    assert wd.request_url("https://www.wikidata.org/w/api.php", ["Q1", "Q2"]) == (
        "https://www.wikidata.org/w/api.php?action=wbgetentities&ids=Q1|Q2&props=sitelinks&format=json")
    assert wd.site_id("de.wikipedia") == "dewiki" and wd.site_id("zh-yue.wikipedia") == "zh_yuewiki"
    with pytest.raises(InputError, match="empty item"):
        wd.parse_articles(["Signal", " "])


def test_app_names_resolve_on_13_editions_and_a_missing_sitelink_is_skipped_in_one_line(server, tmp_path):
    lines: list[str] = []
    views = fetch(tmp_path, [f"{e}.wikipedia" for e in EDITIONS], ["Signal", "Twitter"], log=lines.append)
    assert len(server.wikidata_calls) == 1  # one call for every app
    call = server.wikidata_calls[0]
    assert call == {"action": "wbgetentities", "ids": f"{apps.QIDS['Signal']}|{apps.QIDS['Twitter']}",
                    "props": "sitelinks", "format": "json"}
    asked = set(server.pageview_calls)
    assert {(f"{e}.wikipedia", t.replace(" ", "_")) for e, t in SIGNAL.items()} <= asked  # spaces -> underscores
    assert ("fa.wikipedia", "Twitter") not in asked and len(asked) == 13 + 12
    skipped = [m for m in lines if m.startswith("skipped:")]
    assert skipped == [f"skipped: Twitter has no article on fa.wikipedia (Wikidata {apps.QIDS['Twitter']} has no "
                       "fawiki sitelink)"]
    got = views.filter(pl.col("country") == "ja", pl.col("app_name") == "Signal", pl.col("date") == date(2021, 1, 10))
    assert got["article"].to_list() == ["Signal_(アプリケーション)"] and got["app_name"].to_list() == ["Signal"]
    assert got["views"].to_list() == [served_views("ja.wikipedia", "Signal_(アプリケーション)", date(2021, 1, 10))]
    lock = json.loads((tmp_path / "data" / "locks" / "wiki-views.json").read_text())
    ja = next(e for e in lock["entries"] if e["project"] == "ja.wikipedia" and e["app_name"] == "Signal")
    assert ja["qid"] == apps.QIDS["Signal"] and ja["title"] == "Signal (アプリケーション)"
    assert lock["wikidata"]["missing"] == [{"app_name": "Twitter", "qid": apps.QIDS["Twitter"], "project": "fa.wikipedia"}]
    assert lock["request"] == {"projects": [f"{e}.wikipedia" for e in EDITIONS], "articles": ["Signal", "Twitter"]}


def test_the_lock_pins_the_response_sha256_and_a_rerun_asks_for_the_same_titles(server, tmp_path):
    fetch(tmp_path, ["en.wikipedia", "de.wikipedia"], ["Signal", "en:Parler"])
    lock_path = tmp_path / "data" / "locks" / "wiki-views.json"
    lock = json.loads(lock_path.read_text())
    body = json.dumps({"entities": {apps.QIDS["Signal"]: server.entity(apps.QIDS["Signal"])}, "success": 1}).encode()
    req, parler = lock["wikidata"]["requests"]  # the items' sitelinks, then the title lookup of en:Parler
    assert "ids=" in req["url"] and "sites=enwiki&titles=Parler" in parler["url"]
    assert req["sha256"] == hashlib.sha256(body).hexdigest() and req["bytes"] == len(body)
    assert [(e["project"], e["article"], e["app_name"]) for e in lock["entries"]] == [
        ("en.wikipedia", "Signal_(software)", "Signal"), ("en.wikipedia", "Parler", "Parler"),
        ("de.wikipedia", "Signal_(Messenger)", "Signal")]
    # upstream renames the German article; the cache is gone: the rerun still asks for the pinned title
    server.sitelinks[apps.QIDS["Signal"]]["dewiki"] = "Signal (App)"
    for p in (tmp_path / "cache").rglob("*.json"):
        p.unlink()
    server.wikidata_calls.clear()
    server.pageview_calls.clear()
    fetch(tmp_path, ["en.wikipedia", "de.wikipedia"], ["Signal", "en:Parler"])
    assert server.wikidata_calls == [] and ("de.wikipedia", "Signal_(Messenger)") in server.pageview_calls
    # a new lock resolves afresh: another title and another response hash, both recorded
    fetch(tmp_path, ["en.wikipedia", "de.wikipedia"], ["Signal", "en:Parler"], lock="other.json")
    other = json.loads((tmp_path / "data" / "locks" / "other.json").read_text())
    assert ("de.wikipedia", "Signal_(App)") in {(e["project"], e["article"]) for e in other["entries"]}
    assert other["wikidata"]["requests"][0]["sha256"] != req["sha256"]


def test_a_merged_item_is_followed_to_its_target_and_recorded(server, tmp_path, monkeypatch):
    monkeypatch.setitem(apps.QIDS, "Signal", "Q999999999")
    server.redirects["Q999999999"] = "Q19718090"
    server.sitelinks["Q19718090"] = {"enwiki": "Signal (software)"}
    fetch(tmp_path, ["en.wikipedia"], ["Signal"])
    lock = json.loads((tmp_path / "data" / "locks" / "wiki-views.json").read_text())
    assert lock["wikidata"]["items"] == [{"app_name": "Signal", "qid": "Q999999999", "resolved_qid": "Q19718090"}]
    assert [(e["article"], e["qid"]) for e in lock["entries"]] == [("Signal_(software)", "Q19718090")]


def test_a_missing_item_and_a_pin_outside_the_editions_are_clear_errors(server, tmp_path, monkeypatch):
    monkeypatch.setitem(apps.QIDS, "Signal", "Q1")  # not served: "missing"
    with pytest.raises(RemoteError, match="Wikidata has no item Q1"):
        fetch(tmp_path, ["en.wikipedia"], ["Signal"])
    with pytest.raises(InputError, match="pins fr:Signal_.application. to edition 'fr', which is not in --projects"):
        fetch(tmp_path, ["en.wikipedia"], ["fr:Signal_(application)"])
    assert not (tmp_path / "data" / "locks" / "wiki-views.json").exists()


def test_a_registry_app_without_a_checked_qid_is_a_raw_title_and_says_so(server, tmp_path):
    if "Parler" in apps.QIDS:
        pytest.skip("Parler has a checked QID now")
    lines: list[str] = []
    fetch(tmp_path, ["en.wikipedia"], ["Parler"], log=lines.append)
    assert server.pageview_calls == [("en.wikipedia", "Parler")]
    assert any(m.startswith("note: Parler has no checked Wikidata QID") for m in lines)


def readme_commands() -> list[list[str]]:
    """The README's real-data fetch-and-run command, exactly as printed (continuations joined)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"((?:\.venv/bin/)?exodus data fetch --source wikipedia.*?exodus run --study wiki-views)",
                      text, re.S).group(1)
    joined = re.sub(r"\\\n\s*", " ", block)
    return [shlex.split(part) for part in joined.split("&&")]


@pytest.mark.slow
def test_the_readme_command_runs_verbatim_against_the_loopback_server(server, tmp_path, monkeypatch):
    cmds = readme_commands()
    assert [[Path(c[0]).name, *c[1:3]] for c in cmds] == [["exodus", "data", "fetch"], ["exodus", "run", "--study"]]
    assert "--articles" in cmds[0] and "Signal" in cmds[0][cmds[0].index("--articles") + 1].split(",")
    monkeypatch.chdir(tmp_path)  # the command's relative --lock data/locks/wiki-views.json lands here
    for c in cmds:
        assert cli.main(c[1:]) == 0
    lock = json.loads((tmp_path / "data" / "locks" / "wiki-views.json").read_text())  # the run may change cwd
    assert lock["wikidata"]["requests"] and {e["app_name"] for e in lock["entries"]} >= {"Signal", "WhatsApp"}
    version = next((tmp_path / "reports" / "wiki-views").glob("wiki-views-*"))
    table = pl.read_csv(version / "tables" / "study_views.csv", try_parse_dates=True)
    row = table.filter(pl.col("country") == "de", pl.col("app_name") == "Signal", pl.col("date") == date(2021, 1, 10))
    assert row["views"].to_list() == [served_views("de.wikipedia", "Signal_(Messenger)", date(2021, 1, 10))]


def test_a_raw_title_that_redirects_is_followed_to_the_article_and_named_after_its_app(server, tmp_path):
    server.title_redirects[("enwiki", "Signal (messaging app)")] = "Signal (software)"
    lines: list[str] = []
    views = fetch(tmp_path, ["en.wikipedia", "de.wikipedia"], ["en:Signal_(messaging_app)", "de:Signal (Messenger)",
                                                               "Parler"], log=lines.append)
    assert set(server.pageview_calls) == {("en.wikipedia", "Signal_(software)"), ("en.wikipedia", "Parler"),
                                          ("de.wikipedia", "Signal_(Messenger)"), ("de.wikipedia", "Parler")}
    assert "followed: en.wikipedia 'Signal_(messaging_app)' -> 'Signal_(software)' (Wikidata Q19718090)" in lines
    assert "note: de.wikipedia 'Parler' has no Wikidata item: asked for as given" in lines
    assert sorted(views.select("country", "app_name").unique().rows()) == [
        ("de", "Parler"), ("de", "Signal"), ("en", "Parler"), ("en", "Signal")]
    lock = json.loads((tmp_path / "data" / "locks" / "wiki-views.json").read_text())
    assert lock["wikidata"]["redirects"] == [{"project": "en.wikipedia", "from": "Signal_(messaging_app)",
                                              "to": "Signal_(software)", "qid": "Q19718090"}]
    assert len(lock["wikidata"]["requests"]) == 4  # one lookup per edition and title
