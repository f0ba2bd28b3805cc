"""Lock and fetch against a local stand-in for GitHub (loopback only) serving the real samples.

The server speaks the two interfaces the connector uses: ``GET /repos/{repo}/commits`` (JSON
pages with ``Link`` headers; rate-limit refusals on demand) and ``GET /{repo}/{sha}/{path}``
(raw files: the real sample snapshots, or altered/truncated bytes on demand).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from werkzeug import Request, Response

from analysis.cli import main
from analysis.data.sources import archive as ar
from analysis.data.sources import fetch as fetch_mod
from analysis.data.sources.lock import Request as LockRequest
from analysis.data.sources.lock import build_lock, partial_path, read_lock, select
from analysis.data.sources.remote import Http, RateLimited, RemoteError, next_link
from analysis.errors import DataError, InputError

REPO = ar.REPO
IOS = "app_store/rankings/us_TOP_FREE_IOS.json"
GP = "play_store/rankings/us_TOP_FREE.json"
DAYS = [date(2021, 1, 7), date(2021, 1, 8), date(2021, 1, 9)]
HOURS = [(0, 5), (11, 50), (12, 20), (18, 0)]  # 11:50 is nearest to noon
PAGE = 5


def fake_sha(path: str, t: datetime) -> str:
    return hashlib.sha1(f"{path}@{t.isoformat()}".encode()).hexdigest()


@dataclass
class Archive:
    """State of the fake GitHub: commits per path, files, request log, injected failures."""

    base: str
    samples: dict[str, bytes]
    commits: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    rate_limit_on: set[int] = field(default_factory=set)  # API request numbers refused
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    override: dict[str, bytes] = field(default_factory=dict)  # path -> served bytes
    truncate: set[str] = field(default_factory=set)  # paths served with a short body
    api_calls: int = 0

    def api(self, request: Request) -> Response:
        self.log.append(request)
        self.api_calls += 1
        if self.api_calls in self.rate_limit_on:
            return Response(json.dumps({"message": "API rate limit exceeded"}), status=403,
                            headers=self.rate_limit_headers, content_type="application/json")
        path = request.args["path"]
        since = datetime.fromisoformat(request.args["since"].replace("Z", "+00:00"))
        until = datetime.fromisoformat(request.args["until"].replace("Z", "+00:00"))
        page = int(request.args.get("page", 1))
        items = sorted((c for c in self.commits.get(path, []) if since <= c[1] <= until), key=lambda c: c[1], reverse=True)
        chunk = items[(page - 1) * PAGE: page * PAGE]
        body = [{"sha": sha, "commit": {"committer": {"date": t.strftime("%Y-%m-%dT%H:%M:%SZ")},
                                        "author": {"date": t.strftime("%Y-%m-%dT%H:%M:%SZ")}}} for sha, t in chunk]
        headers = {}
        if page * PAGE < len(items):
            q = "&".join(f"{k}={v}" for k, v in request.args.items() if k != "page")
            headers["Link"] = (f'<{self.base}/api/repos/{REPO}/commits?{q}&page={page + 1}>; rel="next", '
                               f'<{self.base}/api/repos/{REPO}/commits?{q}&page=99>; rel="last"')
        return Response(json.dumps(body), headers=headers, content_type="application/json")

    def raw(self, request: Request) -> Response:
        self.log.append(request)
        m = re.fullmatch(rf"/{REPO}/([0-9a-f]{{40}})/(.+)", request.path)
        path = m.group(2)
        data = self.override.get(path, self.samples[path])
        if path in self.truncate:
            r = Response(data[: len(data) // 2])
            r.headers["Content-Length"] = str(len(data))
            return r
        return Response(data, content_type="application/json")

    def raw_requests(self) -> int:
        return sum(not r.path.startswith("/api/") for r in self.log)

    def api_requests(self) -> int:
        return sum(r.path.startswith("/api/") for r in self.log)


@pytest.fixture
def archive(httpserver, shared_data, monkeypatch, tmp_path) -> Archive:
    base = httpserver.url_for("/").rstrip("/")
    d = shared_data / "app_rankings_sample"
    a = Archive(base, {IOS: (d / "us_TOP_FREE_IOS.json").read_bytes(), GP: (d / "us_TOP_FREE.json").read_bytes()})
    for path in (IOS, GP):
        a.commits[path] = [(fake_sha(path, t), t) for t in
                           (datetime(x.year, x.month, x.day, h, m, 31, tzinfo=UTC) for x in DAYS for h, m in HOURS)]
    httpserver.expect_request(re.compile(rf"/api/repos/{REPO}/commits")).respond_with_handler(a.api)
    httpserver.expect_request(re.compile(rf"/{REPO}/[0-9a-f]{{40}}/.+")).respond_with_handler(a.raw)
    monkeypatch.setenv("EXODUS_GITHUB_API", base + "/api")  # a separate "host" from the raw files
    monkeypatch.setenv("EXODUS_RAW_BASE", base)
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("EXODUS_DATA_MIRROR", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return a


class Clock:
    """Injected time: ``sleep`` advances it instead of waiting."""

    def __init__(self) -> None:
        self.t = 1_700_000_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def request(start: date = DAYS[0], end: date = DAYS[-1], rule: str = "nearest:12") -> LockRequest:
    return LockRequest(["ios", "google_play"], ["us"], ["top_free_overall"], start, end, rule)


def http(clock: Clock | None = None, max_wait: float = 3600) -> Http:
    clock = clock or Clock()
    return Http(max_wait=max_wait, sleep=clock.sleep, now=clock.now, log=lambda m: None)


def make_lock(tmp_path: Path, h: Http | None = None, req: LockRequest | None = None, name: str = "t.json"):
    out = tmp_path / "locks" / name
    return build_lock(req or request(), out, fetch_mod.github_lister(h or http(), REPO)), out


def quiet():
    from analysis.data.sources.lock import Progress

    class Q(Progress):
        def __init__(self) -> None:
            super().__init__(0, "test", stream=open(os.devnull, "w"))  # noqa: SIM115

    return Q()


def do_fetch(lock_path: Path, **kw):
    return fetch_mod.fetch(lock_path, http=kw.pop("h", None) or http(), progress=quiet(), **kw)


# -- lock ----------------------------------------------------------------------------------

def test_lock_follows_pagination_and_picks_the_snapshot_nearest_noon(archive, tmp_path):
    lock, out = make_lock(tmp_path)
    # 12 commits per path, 5 per page: 3 pages each, every one requested once
    assert archive.api_requests() == 6
    assert len(lock.entries) == 6 and out.exists()
    assert {e.snapshot_utc[11:16] for e in lock.entries} == {"11:50"}
    assert sorted({e.date for e in lock.entries}) == [d.isoformat() for d in DAYS]
    assert all(e.sha256 is None for e in lock.entries) and lock.gaps == []
    saved = json.loads(out.read_text())
    assert saved["rule"] == "nearest:12" and saved["licence"] == "none stated"
    assert read_lock(out).entries == lock.entries
    assert not partial_path(out).exists()


def test_lock_records_chart_days_without_a_snapshot(archive, tmp_path):
    lock, _ = make_lock(tmp_path, req=request(end=date(2021, 1, 10)))
    assert {(g["path"], g["date"]) for g in lock.gaps} == {(IOS, "2021-01-10"), (GP, "2021-01-10")}


def test_lock_rule_with_several_hours_keeps_one_snapshot_per_hour(archive, tmp_path):
    lock, _ = make_lock(tmp_path, req=request(rule="nearest:0,18"))
    assert sorted({e.snapshot_utc[11:16] for e in lock.entries}) == ["00:05", "18:00"]
    assert len(lock.entries) == 12


def test_select_breaks_ties_towards_the_earlier_snapshot():
    t = datetime(2021, 1, 8, tzinfo=UTC)
    commits = pl.DataFrame({"path": [IOS, IOS], "commit": ["a" * 40, "b" * 40],
                            "snapshot_utc": [t + timedelta(hours=11), t + timedelta(hours=13)]})
    assert select(commits, "nearest:12", t.date(), t.date())["commit"].to_list() == ["a" * 40]


def test_rate_limit_within_max_wait_is_waited_out_and_the_listing_completes(archive, tmp_path):
    clock = Clock()
    archive.rate_limit_on = {2}
    archive.rate_limit_headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.t) + 30)}
    lock, _ = make_lock(tmp_path, http(clock, max_wait=60))
    assert clock.slept == [31.0] and len(lock.entries) == 6


def test_retry_after_is_honoured(archive, tmp_path):
    clock = Clock()
    archive.rate_limit_on = {1}
    archive.rate_limit_headers = {"Retry-After": "7"}
    make_lock(tmp_path, http(clock))
    assert clock.slept == [7.0]


def test_rate_limit_beyond_max_wait_stops_saving_progress_and_a_rerun_resumes(archive, tmp_path):
    clock = Clock()
    archive.rate_limit_on = {4}  # after the 3 pages of the first path
    archive.rate_limit_headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.t) + 3000)}
    out = tmp_path / "locks" / "t.json"
    with pytest.raises(RateLimited, match="resets at .* Rerun the same command.*GITHUB_TOKEN"):
        build_lock(request(), out, fetch_mod.github_lister(http(clock, max_wait=60), REPO))
    saved = json.loads(partial_path(out).read_text())
    done = [p for p, s in saved["paths"].items() if s["done"]]
    assert len(done) == 1 and len(saved["paths"][done[0]]["commits"]) == 12 and not out.exists()
    before = archive.api_requests()
    lock = build_lock(request(), out, fetch_mod.github_lister(http(clock), REPO))
    assert archive.api_requests() - before == 3  # only the second path's pages
    assert len(lock.entries) == 6 and not partial_path(out).exists()


def test_a_partial_listing_for_another_request_is_not_mixed_in(archive, tmp_path):
    out = tmp_path / "locks" / "t.json"
    out.parent.mkdir(parents=True)
    partial_path(out).write_text(json.dumps({"request": {"other": 1}, "paths": {}}))
    with pytest.raises(InputError, match="different request"):
        build_lock(request(), out, fetch_mod.github_lister(http(), REPO))


def test_token_goes_to_the_api_only(archive, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    _, out = make_lock(tmp_path, Http(sleep=lambda s: None, log=lambda m: None))
    do_fetch(out, h=Http(sleep=lambda s: None, log=lambda m: None))
    api = [r for r in archive.log if r.path.startswith("/api/")]
    raw = [r for r in archive.log if not r.path.startswith("/api/")]
    assert all(r.headers.get("Authorization") == "Bearer t0ken" for r in api)
    assert raw and not any("Authorization" in r.headers for r in raw)


def test_empty_window_is_an_input_error_naming_the_path(archive, tmp_path):
    with pytest.raises(InputError, match=f"empty window: no commit touched ({re.escape(GP)}|{re.escape(IOS)})"):
        make_lock(tmp_path, req=request(start=date(2020, 1, 1), end=date(2020, 1, 3)))
    with pytest.raises(InputError, match="empty window.*after"):
        request(start=date(2021, 1, 9), end=date(2021, 1, 8))


def test_next_link_is_read_from_the_link_header():
    h = '<https://x/y?page=2>; rel="next", <https://x/y?page=5>; rel="last"'
    assert next_link(h) == "https://x/y?page=2" and next_link('<https://x/y?page=5>; rel="last"') is None


# -- fetch ---------------------------------------------------------------------------------

def test_fetch_downloads_verifies_records_hashes_and_builds_the_panel(archive, tmp_path):
    _, out = make_lock(tmp_path)
    res = do_fetch(out)
    assert (res.downloaded, res.from_cache, res.hashes_recorded) == (6, 0, 6)
    lock = read_lock(out)
    want = {IOS: hashlib.sha256(archive.samples[IOS]).hexdigest(), GP: hashlib.sha256(archive.samples[GP]).hexdigest()}
    assert all(e.sha256 == want[e.path] and e.bytes == len(archive.samples[e.path]) for e in lock.entries)
    p = res.panel
    assert sorted(p["date"].unique()) == DAYS and p.height == 3 * (100 + 199)
    assert set(p["chart_depth"]) == {100, 199} and p["snapshot_utc"].dt.strftime("%H:%M").unique().to_list() == ["11:50"]
    assert res.panel_path.exists()
    cached = fetch_mod.cached_file(lock.entries[0], tmp_path / "cache")
    assert cached.read_bytes() == archive.samples[lock.entries[0].path]


def test_a_second_fetch_reads_the_cache_and_touches_no_network(archive, tmp_path):
    _, out = make_lock(tmp_path)
    do_fetch(out)
    n = archive.raw_requests()
    res = do_fetch(out)
    assert archive.raw_requests() == n and (res.from_cache, res.downloaded, res.hashes_recorded) == (6, 0, 0)


def test_hash_mismatch_stops_with_a_clear_error_and_keeps_nothing_new_and_loses_nothing(archive, tmp_path, capsys):
    _, out = make_lock(tmp_path)
    do_fetch(out)
    lock_before = out.read_bytes()
    victim = read_lock(out).entries[3]
    f = fetch_mod.cached_file(victim, tmp_path / "cache")
    f.unlink()
    others = {p: p.read_bytes() for p in (tmp_path / "cache").rglob("*.json")}
    archive.override[victim.path] = archive.samples[victim.path].replace(b"WhatsApp", b"WhatsApq")
    code = main(["data", "fetch", "--lock", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "entry 4" in err and victim.commit[:12] in err and victim.sha256 in err and str(out) in err
    assert not f.exists()
    assert {p: p.read_bytes() for p in (tmp_path / "cache").rglob("*.json")} == others
    assert out.read_bytes() == lock_before


def test_a_truncated_download_is_never_written_and_earlier_hashes_are_saved(archive, tmp_path):
    _, out = make_lock(tmp_path)
    archive.truncate.add(GP)  # entries are sorted by path: app_store first, then play_store
    with pytest.raises(RemoteError, match="truncated download.*nothing was written"):
        do_fetch(out)
    lock = read_lock(out)
    assert [e.sha256 is not None for e in lock.entries] == [True, True, True, False, False, False]
    assert not any(fetch_mod.cached_file(e, tmp_path / "cache").exists() for e in lock.entries if e.path == GP)


def test_a_download_that_is_not_a_chart_is_refused_on_first_fetch(archive, tmp_path):
    _, out = make_lock(tmp_path)
    archive.override[GP] = b'{"message": "Not Found"}'
    with pytest.raises(DataError, match="expected a JSON array"):
        do_fetch(out)
    assert not any(fetch_mod.cached_file(e, tmp_path / "cache").exists() for e in read_lock(out).entries if e.path == GP)


def test_a_cached_file_that_no_longer_matches_is_set_aside_and_downloaded_again(archive, tmp_path):
    _, out = make_lock(tmp_path)
    do_fetch(out)
    e = read_lock(out).entries[0]
    f = fetch_mod.cached_file(e, tmp_path / "cache")
    f.write_bytes(b"[]")
    res = do_fetch(out)
    assert res.downloaded == 1 and f.read_bytes() == archive.samples[e.path]
    assert f.with_name(f.name + ".mismatch").read_bytes() == b"[]"


# -- mirror --------------------------------------------------------------------------------

def test_mirror_by_commit_serves_every_file_without_network(archive, tmp_path, monkeypatch):
    _, out = make_lock(tmp_path)
    mirror = tmp_path / "mirror"
    for e in read_lock(out).entries:
        (mirror / e.commit / e.path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / e.commit / e.path).write_bytes(archive.samples[e.path])
    monkeypatch.setenv("EXODUS_DATA_MIRROR", str(mirror))
    res = do_fetch(out)
    assert (res.from_mirror, res.downloaded) == (6, 0) and archive.raw_requests() == 0


def test_mirror_by_path_is_used_only_where_its_hash_matches_the_lock(archive, tmp_path, monkeypatch):
    _, out = make_lock(tmp_path)
    do_fetch(out)  # records hashes
    mirror = tmp_path / "mirror"
    (mirror / IOS).parent.mkdir(parents=True)
    (mirror / IOS).write_bytes(archive.samples[IOS])
    (mirror / GP).parent.mkdir(parents=True)
    (mirror / GP).write_bytes(b"[]")  # another version: never used
    lock = read_lock(out)
    assert fetch_mod.from_mirror(lock.entries[0], mirror)[0] == archive.samples[IOS]
    assert fetch_mod.from_mirror(lock.entries[-1], mirror) is None


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True).stdout


def test_a_git_clone_mirror_locks_and_fetches_offline(archive, tmp_path, monkeypatch, capsys):
    clone = tmp_path / "clone"
    clone.mkdir()
    git(clone, "init", "-q")
    entries = json.loads(archive.samples[GP])
    for i, when in enumerate(["2021-01-08T11:00:07Z", "2021-01-08T12:10:07Z", "2021-01-09T12:00:09Z"]):
        for path, data in ((IOS, archive.samples[IOS]), (GP, json.dumps(entries[i:]).encode())):
            (clone / path).parent.mkdir(parents=True, exist_ok=True)
            (clone / path).write_bytes(data)
        git(clone, "add", "-A")
        git(clone, "commit", "-q", "-m", f"Latest data: {when}", when=when)
    monkeypatch.setenv("EXODUS_DATA_MIRROR", str(clone))
    out = tmp_path / "locks" / "g.json"
    assert main(["data", "lock", "--countries", "us", "--charts", "top_free_overall", "--start", "2021-01-08",
                 "--end", "2021-01-09", "--out", str(out)]) == 0
    assert "git log" in capsys.readouterr().err
    lock = read_lock(out)
    # the IOS file only changed in the first commit: git log lists that one commit for it
    assert sorted((e.path, e.snapshot_utc) for e in lock.entries) == [
        (IOS, "2021-01-08T11:00:07Z"), (GP, "2021-01-08T12:10:07Z"), (GP, "2021-01-09T12:00:09Z")]
    assert main(["data", "fetch", "--lock", str(out)]) == 0
    assert archive.raw_requests() == 0 and archive.api_requests() == 0
    panel = fetch_mod.load_locked_panel(out)
    gp = panel.filter(pl.col("store") == "google_play")
    assert sorted(gp.group_by("date").agg(pl.col("chart_depth").first()).sort("date")["chart_depth"]) == [197, 198]


# -- command line and the jan2021 study ----------------------------------------------------

def test_cli_lock_and_fetch_round_trip(archive, tmp_path, capsys):
    out = tmp_path / "locks" / "c.json"
    assert main(["data", "lock", "--source", "app-rankings", "--countries", "us", "--charts", "top_free_overall",
                 "--start", "2021-01-07", "--end", "2021-01-09", "--out", str(out)]) == 0
    assert "6 snapshots locked" in capsys.readouterr().out
    assert main(["data", "fetch", "--lock", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 downloaded" in text and "6 SHA-256 recorded" in text and "panel: 897 rows" in text


def test_cli_lock_rate_limited_exits_1_with_the_reset_time_and_keeps_progress(archive, tmp_path, capsys):
    archive.rate_limit_on = {2}
    archive.rate_limit_headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"}
    out = tmp_path / "locks" / "c.json"
    code = main(["data", "lock", "--countries", "us", "--charts", "top_free_overall", "--start", "2021-01-07",
                 "--end", "2021-01-09", "--out", str(out), "--max-wait", "0"])
    assert code == 1 and "rate limit" in capsys.readouterr().err and partial_path(out).exists()


def test_cli_lock_never_overwrites_an_existing_lock(archive, tmp_path, capsys):
    _, out = make_lock(tmp_path)
    before = out.read_bytes()
    code = main(["data", "lock", "--countries", "us", "--charts", "top_free_overall", "--start", "2021-01-07",
                 "--end", "2021-01-09", "--out", str(out)])
    assert code == 2 and "already exists" in capsys.readouterr().err and out.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--countries", "xx", "--charts", "top_free_overall"], "unknown country 'xx'"),
        (["--countries", "us", "--charts", "top_new"], "unknown chart 'top_new'"),
        (["--countries", "us", "--charts", "top_free_overall", "--rule", "noon"], "unknown selection rule"),
    ],
)
def test_cli_lock_bad_arguments_exit_2(archive, tmp_path, capsys, args, phrase):
    code = main(["data", "lock", *args, "--start", "2021-01-07", "--end", "2021-01-09", "--out", str(tmp_path / "x.json")])
    assert code == 2 and phrase in capsys.readouterr().err and archive.api_requests() == 0


def test_cli_fetch_with_a_malformed_lock_names_the_entry(tmp_path, capsys, archive):
    _, out = make_lock(tmp_path)
    raw = json.loads(out.read_text())
    raw["entries"][2]["commit"] = "not-a-sha"
    out.write_text(json.dumps(raw))
    assert main(["data", "fetch", "--lock", str(out)]) == 2
    assert "entry 3" in capsys.readouterr().err


def test_jan2021_offline_without_a_lock_stops_at_once_naming_fetch_and_mirror(archive, capsys):
    code = main(["run", "--study", "jan2021"])
    err = capsys.readouterr().err
    assert code == 2
    assert "exodus data fetch" in err and "EXODUS_DATA_MIRROR" in err and "exodus data lock" in err
    assert archive.log == []


def test_jan2021_with_an_unfetched_lock_names_fetch_and_mirror(archive, tmp_path, capsys):
    make_lock(tmp_path, name="jan2021.json")
    archive.log.clear()
    code = main(["run", "--study", "jan2021"])
    err = capsys.readouterr().err
    assert code == 2 and "exodus data fetch --lock" in err and "EXODUS_DATA_MIRROR" in err and archive.log == []


def test_jan2021_with_a_fetched_lock_but_an_empty_cache_names_fetch_and_mirror(archive, tmp_path, capsys):
    _, out = make_lock(tmp_path, name="jan2021.json")
    do_fetch(out)
    import shutil

    shutil.rmtree(tmp_path / "cache")
    archive.log.clear()
    code = main(["run", "--study", "jan2021"])
    err = capsys.readouterr().err
    assert code == 2 and "6 of 6 snapshots" in err and "exodus data fetch" in err and "EXODUS_DATA_MIRROR" in err
    assert archive.log == []


def test_jan2021_loads_from_verified_local_files_with_provenance(archive, tmp_path):
    from analysis.data.studies.registry import load_study

    _, out = make_lock(tmp_path, name="jan2021.json")
    do_fetch(out)
    archive.log.clear()
    data = load_study("jan2021")
    assert archive.log == [] and not data.synthetic and data.chart_depth == 199
    assert set(data.panel["store"]) == {"ios", "google_play"} and data.truth is None
    src = data.sources[0]
    assert src["licence"] == "none stated" and src["url"] == ar.REPO_URL
    assert src["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() and src["lock"].endswith("jan2021.json")
    assert set(data.inputs) == {"jan2021.json", "events_jan2021.csv"}  # the lock, not copies of the files


def test_cli_fetch_without_a_lock_exits_2_naming_the_lock_command(archive, capsys):
    assert main(["data", "fetch"]) == 2  # default: the jan2021 lock, absent here
    err = capsys.readouterr().err
    assert "jan2021.json not found" in err and "exodus data lock" in err


def test_cli_lock_for_a_study_uses_its_request_and_lock_path(archive, tmp_path, capsys):
    # the jan2021 window starts on 2020-10-10; the fake archive only has January 2021 commits
    code = main(["data", "lock", "--study", "jan2021"])
    err = capsys.readouterr().err
    assert code == 2 and "empty window" in err
    assert {r.args["path"] for r in archive.log} >= {IOS, GP}
    assert not (tmp_path / "locks" / "jan2021.json").exists()


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise():
    import io

    from analysis.data.sources.lock import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    plain, tty = io.StringIO(), Tty()
    for stream in (plain, tty):
        p = Progress(2, "lock", stream=stream)
        p.note("a: 5 commits")
        p.step()
        p.close()
    assert plain.getvalue() == "lock: [0/2] a: 5 commits\n"
    assert "\r" in tty.getvalue() and "50%" in tty.getvalue()


def test_jan2021_loads_offline_from_a_copied_cache_as_mirror(archive, tmp_path, monkeypatch):
    import shutil

    from analysis.data.studies.registry import load_study

    _, out = make_lock(tmp_path, name="jan2021.json")
    do_fetch(out)
    shutil.rmtree(tmp_path / "cache" / "app-rankings" / "panels")
    shutil.move(tmp_path / "cache" / "app-rankings", tmp_path / "mirror")
    monkeypatch.setenv("EXODUS_DATA_MIRROR", str(tmp_path / "mirror"))
    archive.log.clear()
    data = load_study("jan2021", daily_rule="nearest:12")
    assert archive.log == [] and data.panel.height == 897
    assert not list((tmp_path / "cache" / "app-rankings").glob("*/app_store/**/*.json"))  # mirror files not copied
