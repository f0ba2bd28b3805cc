"""Wikimedia's differentially-private per-country pageviews: fetch against a loopback stand-in
serving day files in the contract's layout (SYNTHETIC numbers), lock pinning, a day missing
upstream, malformed rows, the README's other layout, a changed upstream and an interrupted fetch."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta

import polars as pl
import pytest
from werkzeug import Response

from analysis import cli
from analysis.config import DEFAULT_WIKIMEDIA_DP, wikimedia_dp_base, wikimedia_user_agent
from analysis.data.sources import wikimedia_dp as dp
from analysis.data.sources.remote import Http, RemoteError
from analysis.errors import DataError, InputError

START, END = date(2021, 1, 4), date(2021, 1, 9)
QID = {"Signal": "Q19718090", "WhatsApp": "Q1049511", "Twitter": "Q918"}
# (country, code, project, page_id, title, qid, base views): the SYNTHETIC stand-in's rows
PAGES = [
    ("United States", "US", "en.wikipedia", 48331235, "Signal_(software)", "Q19718090", 900),
    ("India", "IN", "en.wikipedia", 48331235, "Signal_(software)", "Q19718090", 600),
    ("India", "IN", "hi.wikipedia", 1200001, "सिग्नल", "Q19718090", 470),
    ("Brazil", "BR", "pt.wikipedia", 5500001, "Signal_(software)", "Q19718090", 700),
    ("Germany", "DE", "de.wikipedia", 9000001, "Signal_(Messenger)", "Q19718090", 800),
    ("United States", "US", "en.wikipedia", 29425178, "WhatsApp", "Q1049511", 5000),
    ("India", "IN", "en.wikipedia", 29425178, "WhatsApp", "Q1049511", 20000),
    ("United States", "US", "en.wikipedia", 9988187, "Twitter", "Q918", 30000),
    ("United States", "US", "en.wikipedia", 736, "Albert_Einstein", "Q937", 15000),  # another item
    ("France", "FR", "fr.wikipedia", 17, "Accueil", "", 90000),  # a page without a QID
]


def views(page: tuple, day: date) -> int:
    """Deterministic SYNTHETIC counts: the base, tenfold from 7 Jan for Signal, a day wiggle."""
    jump = 10 if page[5] == "Q19718090" and day >= date(2021, 1, 7) else 1
    return page[6] * jump + 3 * day.day


def served_rows(day: date) -> list[tuple]:
    """Rows of one day; India's Hindi Signal row is below the 450 threshold (not released) on 5 Jan."""
    return [(*p[:6], views(p, day)) for p in PAGES
            if not (p[2] == "hi.wikipedia" and day == date(2021, 1, 5))]


def day_file(day: date) -> bytes:
    return "".join("\t".join(map(str, r)) + "\n" for r in served_rows(day)).encode()


PATH = re.compile(r"/dp/(\d{4}-\d{2}-\d{2})\.tsv")


class Server:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.agents: list[str] = []
        self.missing: set[date] = set()
        self.fail: dict[date, int] = {}  # day -> HTTP status served every time
        self.body: dict[date, bytes] = {}  # day -> replacement body
        self.bump = False

    def handler(self, request):
        self.calls.append(request.path)
        self.agents.append(request.headers.get("User-Agent", ""))
        m = PATH.fullmatch(request.path)
        if not m:
            return Response("bad path", status=400)
        day = date.fromisoformat(m.group(1))
        if day in self.missing:
            return Response("<html>404 Not Found</html>", status=404)
        if day in self.fail:
            return Response("busy", status=self.fail[day])
        data = self.body.get(day, day_file(day))
        if self.bump:
            data = data.replace(b"\t9", b"\t8", 1)  # one count changes upstream
        return Response(data, content_type="text/tab-separated-values")


@pytest.fixture
def srv(httpserver, monkeypatch, tmp_path):
    s = Server()
    httpserver.expect_request(re.compile(r"/dp/.*")).respond_with_handler(s.handler)
    monkeypatch.setenv("EXODUS_WIKIMEDIA_DP", httpserver.url_for("/dp"))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path / "locks"))
    return s


def http() -> Http:
    return Http(user_agent=wikimedia_user_agent(), sleep=lambda s: None, log=lambda m: None)


def fetch(tmp_path, apps=("Signal", "WhatsApp"), log=None):
    return dp.fetch_dp(list(apps), START, END, tmp_path / "locks" / "wiki-dp.json", http=http(),
                       log=log or (lambda m: None))


def cli_args(tmp_path, apps="Signal,WhatsApp"):
    return ["data", "fetch", "--source", "wikimedia-dp", "--apps", apps, "--start", str(START), "--end", str(END),
            "--lock", str(tmp_path / "locks" / "wiki-dp.json")]


def days() -> list[date]:
    return [START + timedelta(days=i) for i in range((END - START).days + 1)]


def test_the_day_url_and_the_default_base_follow_the_contract(monkeypatch):
    monkeypatch.delenv("EXODUS_WIKIMEDIA_DP", raising=False)
    assert wikimedia_dp_base() == DEFAULT_WIKIMEDIA_DP
    assert DEFAULT_WIKIMEDIA_DP == "https://analytics.wikimedia.org/published/datasets/country_project_page_historical"
    assert dp.day_url(DEFAULT_WIKIMEDIA_DP + "/", date(2021, 1, 7)) == DEFAULT_WIKIMEDIA_DP + "/2021-01-07.tsv"


def test_fetch_keeps_exactly_the_apps_rows_and_pins_every_original_file(srv, tmp_path):
    res = fetch(tmp_path)
    want = [(d, r[1], r[2], r[5], r[6]) for d in days() for r in served_rows(d) if r[5] in (QID["Signal"], QID["WhatsApp"])]
    got = res.rows.select("date", "country_code", "project", "item_id", "pageviews").rows()
    assert sorted(got) == sorted(want) and res.downloaded == len(days()) and not res.missing
    assert set(res.rows.filter(pl.col("item_id") == QID["Signal"])["app_name"]) == {"Signal"}
    lock = json.loads((tmp_path / "locks" / "wiki-dp.json").read_text())
    assert lock["format"] == dp.FORMAT and lock["noise"] == {"mechanism": "laplace", "scale": 30.0, "epsilon": 1.0}
    assert lock["release_threshold"] == 450 and lock["apps"] == {"Signal": QID["Signal"], "WhatsApp": QID["WhatsApp"]}
    for e in lock["days"]:
        original = day_file(date.fromisoformat(e["date"]))
        assert e["status"] == "ok" and e["sha256"] == hashlib.sha256(original).hexdigest()
        assert e["bytes"] == len(original) and e["lines"] == len(served_rows(date.fromisoformat(e["date"])))
        cached = (tmp_path / "cache" / "wikimedia-dp" / e["file"]).read_bytes()
        assert e["kept_sha256"] == hashlib.sha256(cached).hexdigest() and len(cached.splitlines()) == e["kept"]
    assert all(a == wikimedia_user_agent() for a in srv.agents)


def test_a_second_fetch_and_the_offline_loader_read_the_cache_only(srv, tmp_path):
    first = fetch(tmp_path)
    n = len(srv.calls)
    again = fetch(tmp_path)
    assert again.rows.equals(first.rows) and len(srv.calls) == n and again.from_cache == len(days())
    lock, rows = dp.load_locked_dp(tmp_path / "locks" / "wiki-dp.json")
    assert rows.equals(first.rows) and len(srv.calls) == n and lock.start == START


def test_progress_shows_days_done_and_remaining(srv, tmp_path):
    lines: list[str] = []
    fetch(tmp_path, log=lines.append)
    assert lines[0] == (f"[1/6 days, 5 remaining] 2021-01-04: 7 of {len(served_rows(START))} rows kept "
                        f"(downloaded, sha256 {hashlib.sha256(day_file(START)).hexdigest()[:12]})")
    assert lines[-1].startswith("[6/6 days, 0 remaining] 2021-01-09:")


def test_an_app_without_a_qid_is_skipped_with_one_line(srv, tmp_path):
    lines: list[str] = []
    res = fetch(tmp_path, apps=("Signal", "Parler", "Gab"), log=lines.append)
    assert lines[0] == "skipped (no checked Wikidata QID in analysis.data.apps.QIDS): Parler, Gab"
    assert set(res.rows["app_name"]) == {"Signal"} and res.lock.skipped == ["Parler", "Gab"]
    with pytest.raises(InputError, match="unknown app"):
        fetch(tmp_path, apps=("Signal", "NoSuchApp"))


@pytest.mark.slow  # two CLI runs: about 2 s
def test_a_day_missing_upstream_is_named_and_the_other_days_go_on(srv, tmp_path, capsys):
    srv.missing = {date(2021, 1, 6)}
    assert cli.main(cli_args(tmp_path)) == 0
    cap = capsys.readouterr()
    assert re.search(r"2021-01-06: not found upstream \(HTTP 404\): http://\S+/dp/2021-01-06\.tsv", cap.err)
    assert "1 day(s) missing upstream (HTTP 404), treated as unknown (no data), not censored: 2021-01-06" in cap.out
    lock = json.loads((tmp_path / "locks" / "wiki-dp.json").read_text())
    status = {e["date"]: e["status"] for e in lock["days"]}
    assert status.pop("2021-01-06") == "missing" and set(status.values()) == {"ok"}
    srv.missing = set()  # published later: the rerun fetches only that day
    srv.calls.clear()
    assert cli.main(cli_args(tmp_path)) == 0
    assert srv.calls == ["/dp/2021-01-06.tsv"]


def test_a_malformed_row_is_named_by_file_and_line_and_nothing_of_it_is_cached(srv, tmp_path, capsys):
    bad = day_file(date(2021, 1, 6)).splitlines()
    bad[2] = bad[2].replace(b"\t" + str(views(PAGES[2], date(2021, 1, 6))).encode(), b"\t12x")
    srv.body[date(2021, 1, 6)] = b"\n".join(bad) + b"\n"
    assert cli.main(cli_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert re.search(r"file http://\S+/dp/2021-01-06\.tsv, row 3: line 3: pageviews '12x' is not a whole number", err)
    lock = json.loads((tmp_path / "locks" / "wiki-dp.json").read_text())
    assert [e["status"] for e in lock["days"]] == ["ok", "ok", "pending", "pending", "pending", "pending"]
    assert not list((tmp_path / "cache").rglob("2021-01-06.tsv"))


def test_a_row_with_a_missing_field_anywhere_is_named(srv, tmp_path):
    lines = day_file(START).splitlines()
    lines[8] = b"\t".join(lines[8].split(b"\t")[:5])  # a row of another item, cut short
    srv.body[START] = b"\n".join(lines)
    with pytest.raises(DataError, match=r"row 9: line 9: 5 tab-separated fields, expected 7"):
        fetch(tmp_path)


@pytest.mark.parametrize("kind", ["header", "readme_layout"])
def test_a_file_in_another_layout_is_refused_naming_the_difference(srv, tmp_path, kind):
    rows = [r for r in served_rows(START)]
    if kind == "header":
        body = "\t".join(dp.COLUMNS) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)
        want = r"line 1: a header line \(country, country_code, project.*does not guess"
    else:  # the README's documented six columns, without country_code
        body = "".join("\t".join(map(str, (r[0], *r[2:]))) + "\n" for r in rows)
        want = r"line 1: 6 fields instead of 7: this looks like the layout the release's README documents"
    srv.body[START] = body.encode()
    with pytest.raises(DataError, match=want):
        fetch(tmp_path)


def test_a_day_missing_upstream_is_recorded_and_the_other_days_are_fetched(srv, tmp_path):
    srv.missing = {date(2021, 1, 6)}
    lines: list[str] = []
    res = fetch(tmp_path, log=lines.append)
    assert [e.date for e in res.missing] == ["2021-01-06"] and res.downloaded == 5
    assert sorted(set(res.rows["date"])) == [d for d in days() if d != date(2021, 1, 6)]
    assert any(re.search(r"\[3/6 days, 3 remaining\] 2021-01-06: not found upstream \(HTTP 404\)", ln) for ln in lines)


def test_a_changed_upstream_file_is_refused_naming_it_and_both_hashes(srv, tmp_path, capsys):
    fetch(tmp_path)
    lock_path = tmp_path / "locks" / "wiki-dp.json"
    cached = sorted((tmp_path / "cache" / "wikimedia-dp").rglob("*.tsv"))
    before = {p: p.read_bytes() for p in cached}
    cached[0].unlink()  # the day must come from upstream again
    srv.bump = True
    assert cli.main(cli_args(tmp_path)) == 1
    err = capsys.readouterr().err
    pinned = hashlib.sha256(day_file(START)).hexdigest()
    changed = hashlib.sha256(day_file(START).replace(b"\t9", b"\t8", 1)).hexdigest()
    assert f"refused: the day file {wikimedia_dp_base()}/2021-01-04.tsv (2021-01-04) has SHA-256 {changed}" in err
    assert f"records {pinned}" in err and changed != pinned
    assert not cached[0].exists() and all(p.read_bytes() == before[p] for p in cached[1:])
    assert json.loads(lock_path.read_text())["days"][0]["sha256"] == pinned


def test_a_modified_cache_file_is_refused(srv, tmp_path):
    fetch(tmp_path)
    f = sorted((tmp_path / "cache" / "wikimedia-dp").rglob("*.tsv"))[1]
    f.write_bytes(f.read_bytes().replace(b"\t9", b"\t1", 1))
    with pytest.raises(DataError, match="the cache was modified"):
        dp.load_locked_dp(tmp_path / "locks" / "wiki-dp.json")


def test_an_interrupted_fetch_resumes_at_the_first_day_not_done(srv, tmp_path):
    srv.fail = {date(2021, 1, 7): 503}
    with pytest.raises(RemoteError, match="HTTP 503"):
        fetch(tmp_path)
    lock = json.loads((tmp_path / "locks" / "wiki-dp.json").read_text())
    assert [e["status"] for e in lock["days"]] == ["ok", "ok", "ok", "pending", "pending", "pending"]
    srv.fail, srv.calls = {}, []
    resumed = fetch(tmp_path)
    assert srv.calls == [f"/dp/{d}.tsv" for d in days()[3:]]
    assert resumed.from_cache == 3 and resumed.downloaded == 3
    assert sorted(resumed.rows.rows()) == sorted(fetch(tmp_path).rows.rows())
    want = [(d, r[1], r[6]) for d in days() for r in served_rows(d) if r[5] in (QID["Signal"], QID["WhatsApp"])]
    assert sorted(resumed.rows.select("date", "country_code", "pageviews").rows()) == sorted(want)


def test_a_lock_of_another_request_is_not_overwritten(srv, tmp_path):
    fetch(tmp_path)
    with pytest.raises(InputError, match="pins another request"):
        fetch(tmp_path, apps=("Signal",))


def test_days_outside_the_release_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="the release covers 2017-02-09 .. 2023-02-05"):
        dp.fetch_dp(["Signal"], date(2023, 2, 1), date(2023, 2, 10), tmp_path / "l.json", log=lambda m: None)


def test_when_every_day_is_missing_the_layout_difference_is_named(srv, tmp_path):
    srv.missing = set(days())
    with pytest.raises(RemoteError, match=r"all 6 day files returned HTTP 404 .*README .*<year>-<month>-<day>\.csv "
                                          r"without zero padding and without a country_code column"):
        fetch(tmp_path)
    lock = json.loads((tmp_path / "locks" / "wiki-dp.json").read_text())
    assert {e["status"] for e in lock["days"]} == {"missing"}
