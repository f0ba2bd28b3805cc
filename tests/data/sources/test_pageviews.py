"""Wikimedia per-article pageviews: fetch against a loopback server in the API's real format,
lock pinning, retries, 404, truncated JSON, a changed upstream, and the wiki-views study."""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta
from urllib.parse import unquote

import polars as pl
import pytest
from werkzeug import Response

from analysis import cli
from analysis.config import wikimedia_user_agent
from analysis.data.sources import pageviews as wm
from analysis.data.sources.remote import Http, RemoteError
from analysis.errors import InputError

START, END = date(2020, 12, 20), date(2021, 1, 31)
ARTICLES = {("en.wikipedia", "Signal_(software)"): 1000, ("en.wikipedia", "Telegram_(software)"): 3000,
            ("de.wikipedia", "Signal_(Messenger)"): 200}


def served_views(project: str, article: str, day: date) -> int:
    """Deterministic daily views: a base, a jump from 8 Jan 2021, a weekday wiggle."""
    base = ARTICLES[(project, article)]
    return base * (10 if day >= date(2021, 1, 8) else 1) + 7 * day.weekday() + day.day


def body(project: str, article: str, start: date, end: date, skip: date | None = None) -> bytes:
    """The API's response format (one item per day with views; a zero day is omitted)."""
    items = []
    d = start
    while d <= end:
        if d != skip:
            items.append({"project": project, "article": article, "granularity": "daily",
                          "timestamp": f"{d:%Y%m%d}00", "access": "all-access", "agent": "user",
                          "views": served_views(project, article, d)})
        d += timedelta(days=1)
    return json.dumps({"items": items}).encode()


SITELINKS = {"Q19718090": {"enwiki": "Signal (software)", "dewiki": "Signal (Messenger)"}}


def wikidata_body(ids: list[str]) -> bytes:
    """wbgetentities&props=sitelinks in the API's format (titles with spaces)."""
    return json.dumps({"entities": {q: {"type": "item", "id": q, "sitelinks": {
        site: {"site": site, "title": t, "badges": []} for site, t in SITELINKS[q].items()}} for q in ids},
        "success": 1}).encode()


PATH = re.compile(r"/api/metrics/pageviews/per-article/([a-z.]+)/all-access/user/(.+)/daily/(\d{8})00/(\d{8})00")


class Server:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.agents: list[str] = []
        self.fail: dict[str, list] = {}  # article -> queued (status, headers, body) responses
        self.bump = False  # serve changed numbers (a recomputed upstream)

    def handler(self, request):
        self.calls.append(request.path)
        self.agents.append(request.headers.get("User-Agent", ""))
        if request.path == "/wikidata/w/api.php":
            assert request.args["action"] == "wbgetentities" and request.args["props"] == "sitelinks"
            if "titles" in request.args:  # a raw title's item: found by its sitelink, else "missing"
                site, title = request.args["sites"], request.args["titles"]
                hit = [q for q, links in SITELINKS.items() if links.get(site) == title]
                data = wikidata_body(hit) if hit else json.dumps(
                    {"entities": {"-1": {"site": site, "title": title, "missing": ""}}, "success": 1}).encode()
                return Response(data, content_type="application/json")
            return Response(wikidata_body(request.args["ids"].split("|")), content_type="application/json")
        m = PATH.fullmatch(unquote(request.path))
        if not m:
            return Response("bad path", status=400)
        project, article, s, e = m.groups()
        if self.fail.get(article):
            status, headers, text = self.fail[article].pop(0)
            return Response(text, status=status, headers=headers)
        if (project, article) not in ARTICLES:
            return Response(json.dumps({"type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
                                        "title": "Not found.", "detail": "The date(s) you used are valid, but we "
                                        "either do not have data for those date(s), or the project you asked for "
                                        "is not loaded yet."}), status=404, content_type="application/json")
        data = body(project, article, date.fromisoformat(f"{s[:4]}-{s[4:6]}-{s[6:]}"),
                    date.fromisoformat(f"{e[:4]}-{e[4:6]}-{e[6:]}"), skip=date(2020, 12, 25))
        if self.bump:
            data = data.replace(b'"views": ', b'"views": 1', 1)  # one day's count changes
        return Response(data, content_type="application/json")


@pytest.fixture
def api(httpserver, monkeypatch, tmp_path):
    s = Server()
    httpserver.expect_request(re.compile(r"/(api|wikidata)/.*")).respond_with_handler(s.handler)
    monkeypatch.setenv("EXODUS_WIKIMEDIA_API", httpserver.url_for("/api"))
    monkeypatch.setenv("EXODUS_WIKIDATA_API", httpserver.url_for("/wikidata/w/api.php"))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path / "reports"))
    return s


def http(sleeps: list | None = None) -> Http:
    return Http(user_agent=wikimedia_user_agent(), sleep=(sleeps.append if sleeps is not None else lambda s: None),
                log=lambda m: None)


def fetch(tmp_path, projects=("en.wikipedia",), articles=("Signal_(software)", "Telegram_(software)"), h=None):
    return wm.fetch_views(list(projects), list(articles), START, END, tmp_path / "locks" / "wiki-views.json",
                          http=h or http(), log=lambda m: None)


def test_url_is_the_documented_per_article_endpoint_with_the_article_encoded():
    url = wm.request_url("https://wikimedia.org/api/rest_v1", "en.wikipedia", "AC/DC", date(2021, 1, 1), date(2021, 1, 31))
    assert url == ("https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/"
                   "AC%2FDC/daily/2021010100/2021013100")
    assert wm.request_url("b", "de.wikipedia", "Signal (Messenger)", START, START).endswith("/Signal_%28Messenger%29/daily/2020122000/2020122000")


def test_fetch_returns_exactly_the_served_numbers_and_pins_every_body(api, tmp_path):
    views = fetch(tmp_path, projects=("en.wikipedia", "de.wikipedia"), articles=("Signal",))
    assert views.height == 2 * ((END - START).days + 1)
    for r in views.iter_rows(named=True):
        project = f"{r['country']}.wikipedia"
        want = 0 if r["date"] == date(2020, 12, 25) else served_views(project, r["article"], r["date"])
        assert r["views"] == want
    lock = json.loads((tmp_path / "locks" / "wiki-views.json").read_text())
    assert lock["format"] == wm.FORMAT and lock["start"] == "2020-12-20"
    for e in lock["entries"]:
        data = (tmp_path / "cache" / "wikimedia" / e["file"]).read_bytes()
        import hashlib
        assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["bytes"] == len(data)
        assert re.fullmatch(r"[a-z0-9_/-]+\.json", e["file"].replace(".json", "").replace("-", "_") + ".json")
    assert all(a == wikimedia_user_agent() for a in api.agents) and "exodus-research-package" in api.agents[0]


def test_user_agent_names_the_tool_and_the_contact(monkeypatch):
    monkeypatch.setenv("EXODUS_WIKIMEDIA_CONTACT", "me@example.org")
    assert wikimedia_user_agent().startswith("exodus-research-package/1.0 (") and "me@example.org" in wikimedia_user_agent()


def test_second_fetch_reads_the_cache_and_touches_no_network(api, tmp_path):
    first = fetch(tmp_path)
    n = len(api.calls)
    assert fetch(tmp_path).equals(first) and len(api.calls) == n


def test_429_with_retry_after_is_waited_out(api, tmp_path):
    api.fail["Signal_(software)"] = [(429, {"Retry-After": "7"}, "Too many requests")]
    sleeps: list[float] = []
    views = fetch(tmp_path, h=http(sleeps))
    assert sleeps == [7.0] and views.height == 2 * ((END - START).days + 1)


def test_503_is_retried_with_backoff_honouring_retry_after(api, tmp_path):
    api.fail["Signal_(software)"] = [(503, {"Retry-After": "3"}, "busy"), (502, {}, "bad gateway")]
    sleeps: list[float] = []
    fetch(tmp_path, h=http(sleeps))
    assert sleeps == [3.0, 4.0]  # Retry-After, then exponential backoff 2**2


def test_404_is_reported_by_article_name(api, tmp_path):
    with pytest.raises(RemoteError, match=r"article not found \(HTTP 404\): en.wikipedia 'Parler'") as exc:
        fetch(tmp_path, articles=("Parler",))
    assert exc.value.exit_code == 1


def test_truncated_json_is_a_clear_error_and_nothing_is_cached(api, tmp_path):
    full = body("en.wikipedia", "Signal_(software)", START, END)
    api.fail["Signal_(software)"] = [(200, {"Content-Type": "application/json"}, full[: len(full) // 2])]
    with pytest.raises(RemoteError, match=r"not complete JSON .*truncated\? nothing was cached"):
        fetch(tmp_path, articles=("Signal_(software)",))
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_a_changed_upstream_is_refused_naming_the_file_and_both_hashes(api, tmp_path, capsys):
    fetch(tmp_path)
    lock = tmp_path / "locks" / "wiki-views.json"
    cached = sorted((tmp_path / "cache").rglob("*.json"))
    before = {p: p.read_bytes() for p in cached}
    cached[0].unlink()  # the body must come from upstream again
    api.bump = True
    args = ["data", "fetch", "--source", "wikipedia", "--projects", "en.wikipedia", "--articles",
            "Signal_(software),Telegram_(software)", "--start", str(START), "--end", str(END), "--lock", str(lock)]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    entry = next(e for e in json.loads(lock.read_text())["entries"] if cached[0].name in e["file"])
    assert "refused" in err and str(cached[0]) in err and entry["sha256"] in err
    assert re.search(r"SHA-256 [0-9a-f]{64}, but the lock", err)
    assert not cached[0].exists() and cached[1].read_bytes() == before[cached[1]]  # nothing replaced


def test_unknown_titles_and_editions_are_input_errors():
    with pytest.raises(InputError, match="not in the curated title mapping of en.wikipedia"):
        wm.plan(["en.wikipedia"], ["Signal_(Messenger)"], START, END)
    with pytest.raises(InputError, match="no curated article titles"):
        wm.plan(["xx.wikipedia"], ["Signal"], START, END)
    with pytest.raises(InputError, match="language edition"):
        wm.plan(["en.wikipedia/../../x"], ["Signal"], START, END)
    assert [e.article for e in wm.plan(["de.wikipedia"], ["Signal", "WhatsApp"], START, END)] == ["Signal_(Messenger)", "WhatsApp"]


@pytest.mark.parametrize("name", ["Signal_(software)", "../../etc/passwd", "व्हाट्सऐप", "a/b", ".", "", "X" * 300])
def test_slugify_makes_safe_distinct_file_names(name):
    s = wm.slugify(name)
    assert re.fullmatch(r"[a-z0-9_-]+", s) and s not in (".", "..") and len(s) <= 69
    assert wm.slugify("whatsapp") == "whatsapp" and wm.slugify("WhatsApp") != wm.slugify("whatsapp")


def test_a_lock_entry_with_an_unsafe_path_is_refused(tmp_path):
    lock = tmp_path / "l.json"
    lock.write_text(json.dumps({"format": wm.FORMAT, "projects": ["en.wikipedia"], "start": "2021-01-01",
                                "end": "2021-01-02", "entries": [{"project": "en.wikipedia", "article": "X",
                                                                   "app_name": "X", "file": "../../x.json"}]}))
    with pytest.raises(InputError, match="unsafe cache path"):
        wm.read_views_lock(lock)


@pytest.mark.slow
def test_fetch_then_run_wiki_views_reports_exactly_the_served_numbers(api, tmp_path, capsys):
    args = ["data", "fetch", "--source", "wikipedia", "--projects", "en.wikipedia,de.wikipedia", "--articles",
            "Signal", "--start", str(START), "--end", str(END)]
    assert cli.main(args) == 0
    assert (tmp_path / "locks" / "wiki-views.json").exists()
    api.calls.clear()
    assert cli.main(["run", "--study", "wiki-views"]) == 0
    assert api.calls == []  # offline once fetched
    version = next((tmp_path / "reports" / "wiki-views").glob("wiki-views-*"))
    table = pl.read_csv(version / "tables" / "study_views.csv", try_parse_dates=True)
    assert table.height == 2 * ((END - START).days + 1)
    for r in table.iter_rows(named=True):
        want = 0 if r["date"] == date(2020, 12, 25) else served_views(f"{r['country']}.wikipedia", r["article"], r["date"])
        assert r["views"] == want
    m = json.loads((version / "manifest.json").read_text())
    assert m["synthetic"] is False and m["parameters"]["countries"] == ["de", "en"]
    assert m["parameters"]["apps"] == ["Signal"] and "SYNTHETIC" not in (version / "index.html").read_text()
    # The answer is on log(views), positive = more attention, the fit's numbers with their sign:
    # the served views jump tenfold from 8 Jan, so over the 14-day window from 4 Jan (10 days on)
    # the window average is close to 10/14 * log(10) = 1.64 in both editions.
    from analysis.report.answer.table import read_answer

    answer = read_answer(version / "tables" / "03_summary-answer.csv")
    fitted = pl.read_csv(version / "tables" / "02_its-event_effects.csv", infer_schema_length=None)
    wa = answer.filter(pl.col("estimand") == "window_average").sort("country")
    want = fitted.filter(pl.col("estimand") == "window_average").sort("country")
    assert wa["country"].to_list() == ["de", "en"] and set(wa["kind"]) == {"estimate"}
    assert wa["estimate"].to_list() == pytest.approx(want["estimate"].to_list(), rel=1e-9)
    assert wa["estimate"].to_list() == pytest.approx([10 / 14 * math.log(10)] * 2, abs=0.25)
    assert all("more attention" in t for t in wa["sentence"]) and answer["downloads_factor"].null_count() == answer.height
    assert json.loads((version / "manifest.json").read_text())["headline"][0]["outcome"] == "views"
