"""A hostile Wikimedia server (issue 20), against a loopback server: every case is a clear
RemoteError (exit 1) and nothing is cached or pinned, never a traceback or a silently changed
answer."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Response

from analysis import cli
from analysis.data.slug import PathEscape
from analysis.data.sources import pageviews as wm
from analysis.data.sources.pageviews_body import MAX_DAILY_VIEWS, parse_items
from analysis.data.sources.remote import RateLimited, RemoteError
from tests.data.sources.test_pageviews import END, START, Server, body, fetch, http

SIGNAL = "Signal_(software)"


@pytest.fixture
def api(httpserver, monkeypatch, tmp_path):
    """The loopback Wikimedia and Wikidata server of tests/data/sources/test_pageviews.py (the APIs' real format)."""
    import re

    s = Server()
    httpserver.expect_request(re.compile(r"/(api|wikidata)/.*")).respond_with_handler(s.handler)
    monkeypatch.setenv("EXODUS_WIKIMEDIA_API", httpserver.url_for("/api"))
    monkeypatch.setenv("EXODUS_WIKIDATA_API", httpserver.url_for("/wikidata/w/api.php"))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path / "locks"))
    return s


def _items(**change) -> list[dict]:
    items = json.loads(body("en.wikipedia", SIGNAL, START, END))["items"]
    items[3].update(change)
    return items


def _serve(api, payload) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps({"items": payload}).encode()
    api.fail[SIGNAL] = [(200, {"Content-Type": "application/json"}, raw)]


def _refused(api, tmp_path, h=None) -> str:
    with pytest.raises(RemoteError) as exc:
        fetch(tmp_path, articles=(SIGNAL,), h=h)
    assert exc.value.exit_code == 1
    assert not list((tmp_path / "cache").rglob("*.json"))  # nothing cached
    assert not (tmp_path / "locks" / "wiki-views.json").exists()  # nothing pinned
    return str(exc.value)


@pytest.mark.parametrize(("payload", "phrases"), [
    (b'{"items": [{"timestamp": "2020122000", "views": 3, "article": "Signal_\xff"}]}',
     ["is not UTF-8 (byte 70 of 75 is b'\\xff')", "nothing was cached"]),
    (_items(views=10**20), ["item 4", f"views 100000000000000000000 is outside 0..{MAX_DAILY_VIEWS:,}"]),
    (_items(views=-5), ["item 4", "views -5 is outside 0.."]),
    (_items(views=12.7), ["item 4", "views 12.7 is not a whole count (float)", "never truncated"]),
    (_items(views=True), ["item 4", "views True is not a whole count (bool)"]),
    (_items(views="12"), ["views '12' is not a whole count (str)"]),
    (_items(timestamp="2020122000"), ["item 4: day 2020-12-20 appears twice in the body"]),
    (_items(timestamp="2019010100"), ["item 4: day 2019-01-01 is outside the requested 2020-12-20 .. 2021-01-31"]),
    (_items(timestamp="20201223"), ["item 4: timestamp '20201223' is not YYYYMMDD00"]),
    (_items(article="Telegram_(software)"), ["item 4 is for en.wikipedia 'Telegram_(software)', not the article asked for"]),
    (_items(project="de.wikipedia"), ["item 4 is for de.wikipedia 'Signal_(software)'"]),
    (_items(granularity="monthly"), ["item 4: granularity 'monthly', not daily"]),
])
def test_a_hostile_body_is_refused_naming_the_item_and_nothing_is_pinned(payload, phrases, api, tmp_path):
    _serve(api, payload)
    message = _refused(api, tmp_path)
    assert "en.wikipedia 'Signal_(software)'" in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)


def test_the_exact_served_numbers_still_pass():
    """Control: the API's real format passes, and the day count and sum are the served ones."""
    df = parse_items(body("en.wikipedia", SIGNAL, START, END), "x", "en.wikipedia", SIGNAL, START, END)
    assert df.height == (END - START).days + 1
    from tests.data.sources.test_pageviews import served_views

    assert df["views"].sum() == sum(served_views("en.wikipedia", SIGNAL, d) for d in df["date"])


def test_a_redirect_to_another_article_is_refused(api, httpserver, tmp_path):
    other = wm.request_url(httpserver.url_for("/api"), "en.wikipedia", "Telegram_(software)", START, END)
    api.fail[SIGNAL] = [(302, {"Location": other}, "")]
    h = wm.wikimedia_http()
    h.sleep, h.log = (lambda s: None), (lambda m: None)
    message = _refused(api, tmp_path, h)
    assert "redirects (HTTP 302) to another resource" in message and "Telegram_%28software%29" in message
    assert not any("Telegram" in c for c in api.calls)  # the other article was never fetched


def test_a_trickling_server_is_cut_off_at_the_overall_deadline(httpserver, tmp_path):
    def trickle(request):
        def drip():
            for _ in range(40):
                yield b" "
                time.sleep(0.1)
        return Response(drip(), content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(trickle)
    h = wm.wikimedia_http()
    h.deadline, h.timeout = 1.0, 5.0
    t0 = time.monotonic()
    with pytest.raises(RemoteError, match="overall deadline of 1 s for one download"):
        h.get(httpserver.url_for("/slow"))
    assert time.monotonic() - t0 < 2.5  # the drip alone would take 4 s


def test_a_retry_after_past_the_deadline_stops_at_once_naming_wikimedia_not_github(api, tmp_path):
    api.fail[SIGNAL] = [(429, {"Retry-After": "600"}, "slow down")]
    sleeps: list[float] = []
    h = wm.wikimedia_http()
    h.sleep, h.log = sleeps.append, (lambda m: None)
    with pytest.raises(RateLimited) as exc:
        fetch(tmp_path, articles=(SIGNAL,), h=h)
    assert sleeps == [] and "localhost:" in str(exc.value) and "GITHUB_TOKEN" not in str(exc.value)


def test_an_endless_429_names_the_host_and_never_github_token(api, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    api.fail[SIGNAL] = [(429, {"Retry-After": "1"}, "Too many requests")] * 10
    with pytest.raises(RateLimited) as exc:
        fetch(tmp_path, articles=(SIGNAL,), h=http([]))
    message = str(exc.value)
    assert "rate limit reached (HTTP 429)" in message and "localhost:" in message
    assert "GITHUB_TOKEN" not in message


def test_a_symlink_in_the_cache_never_leads_a_write_outside_it(api, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    edition = wm.plan(["en.wikipedia"], [SIGNAL], START, END)[0].file.split("/")[0]
    (tmp_path / "cache" / "wikimedia").mkdir(parents=True)
    (tmp_path / "cache" / "wikimedia" / edition).symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathEscape, match="outside"):
        fetch(tmp_path, articles=(SIGNAL,))
    assert not list(outside.iterdir())


def test_a_hostile_body_through_the_cli_exits_1_in_one_line(api, tmp_path, capsys):
    _serve(api, _items(views=10**20))
    code = cli.main(["data", "fetch", "--source", "wikipedia", "--projects", "en.wikipedia", "--articles", SIGNAL,
                     "--start", str(START), "--end", str(END), "--lock", str(tmp_path / "l.json")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("exodus: error: ") and "Traceback" not in err
    assert "item 4" in err and "views 100000000000000000000 is outside" in err
