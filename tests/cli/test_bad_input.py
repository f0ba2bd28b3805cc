"""The bad-input corpus: each case stops `exodus run` before any notebook runs, with exit code
2 and a one-paragraph message naming file, column and row where they apply; no report version
is written, complete or otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import cli
from analysis.config import EVENTS_FILE

HEADER = "date,store,country,chart,app_id,app_name,rank\n"


def panel_rows(n_days: int = 40) -> str:
    from datetime import date, timedelta

    rows = []
    for d in range(n_days):
        day = (date(2021, 1, 1) + timedelta(days=d)).isoformat()
        rows.append(f"{day},ios,us,top_free_overall,a,AppA,{1 + d % 3}")
        rows.append(f"{day},ios,us,top_free_overall,b,AppB,{10 + d % 5}")
    return "\n".join(rows) + "\n"


GOOD = HEADER + panel_rows()
CUSTOM = ["-p", "comparison_cutoff=2021-01-25", "-p", "pre_days=20", "-p", "post_days=10",
          "-p", "apps=AppA,AppB", "-p", "countries=us"]


def _replace_line(text: str, line_no: int, new: str) -> str:
    lines = text.splitlines()
    lines[line_no] = new
    return "\n".join(lines) + "\n"


# name -> (file name, file content or None, extra -p arguments, phrases expected in the message)
CORPUS = {
    "empty CSV": ("empty.csv", "", [], ["empty.csv", "empty"]),
    "header only": ("header.csv", HEADER, [], ["header.csv", "no rows"]),
    "ragged CSV row": ("ragged.csv", GOOD.replace("AppB,11\n", "AppB,11,extra\n", 1), [], ["ragged.csv", "row 4", "fields"]),
    "malformed parquet": ("bad.parquet", "PAR1 this is not parquet", [], ["bad.parquet", "cannot be read as parquet"]),
    "missing column": ("nocol.csv", GOOD.replace(",rank\n", ",position\n", 1), [], ["nocol.csv", "missing column", "rank"]),
    "duplicate key": ("dup.csv", GOOD + "2021-01-01,ios,us,top_free_overall,a,AppA,7\n", [],
                      ["dup.csv", "column 'app_id'", "row 81", "duplicate key", "row 1"]),
    "rank zero": ("rank0.csv", _replace_line(GOOD, 3, "2021-01-02,ios,us,top_free_overall,a,AppA,0"), [],
                  ["rank0.csv", "column 'rank'", "row 3", ">= 1"]),
    "rank not integer": ("rankf.csv", _replace_line(GOOD, 3, "2021-01-02,ios,us,top_free_overall,a,AppA,2.5"), [],
                         ["rankf.csv", "column 'rank'", "row 3", "not an integer"]),
    "unparseable date": ("date.csv", _replace_line(GOOD, 5, "2021-01-3x,ios,us,top_free_overall,a,AppA,2"), [],
                         ["date.csv", "column 'date'", "row 5", "unparseable date"]),
    "date with a time (irregular)": ("time.csv", _replace_line(GOOD, 5, "2021-01-03T14:00,ios,us,top_free_overall,a,AppA,2"), [],
                                     ["time.csv", "column 'date'", "row 5"]),
    "intervention outside the data": ("ok1.csv", GOOD, ["-p", "comparison_cutoff=2022-01-01"], ["outside the data"]),
    "too few pre-period days": ("ok2.csv", GOOD, ["-p", "pre_days=3"], ["pre_days must be at least 7"]),
    "window before the data": ("ok3.csv", GOOD, ["-p", "pre_days=60"], ["reaches before the data"]),
    "empty app selection": ("ok4.csv", GOOD, ["-p", "apps=[]"], ["no apps selected"]),
    "unknown app": ("ok5.csv", GOOD, ["-p", "apps=AppZ"], ["['AppZ'] not in the data", "available"]),
    "empty country selection": ("ok6.csv", GOOD, ["-p", "countries=[]"], ["no countries selected"]),
    "unknown parameter": ("ok7.csv", GOOD, ["-p", "windw=3"], ["unknown parameter 'windw'", "pre_days (int)", "apps (list[str])"]),
    "wrongly typed value": ("ok8.csv", GOOD, ["-p", "pre_days=twenty"], ["'pre_days' expects int, got 'twenty'"]),
    "bad alpha": ("ok9.csv", GOOD, ["-p", "alpha=1.5"], ["alpha"]),
    "unknown error model": ("ok11.csv", GOOD, ["-p", "errors=robust"], ["model parameters", "errors must be one of", "'robust'"]),
    "unknown impact shape": ("ok12.csv", GOOD, ["-p", "impact=zigzag"], ["impact must be one of"]),
    "bad downloads exponent": ("ok13.csv", GOOD, ["-p", "downloads_exponent=1.1,0.8"], ["exponent range"]),
    "malformed events file": ("ok10.csv", GOOD, ["EVENTS"], ["events.csv", "column 'kind'", "row 2", "unknown kind"]),
    "missing panel file": (None, None, [], ["nowhere.csv", "not found"]),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_input_exits_2_with_a_precise_message_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    name, content, extra, phrases = CORPUS[case]
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    path = tmp_path / (name or "nowhere.csv")
    if content is not None:
        path.write_text(content)
    args = ["run", "--study", "custom", "-p", f"panel_file={path}", *CUSTOM]
    if extra == ["EVENTS"]:
        events = tmp_path / "events.csv"
        lines = EVENTS_FILE.read_text().splitlines()
        lines[2] = lines[2].replace(",other,", ",riot,")
        events.write_text("\n".join(lines) + "\n")
        args += ["-p", f"events_file={events}"]
    else:
        args += extra
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    message = err.strip()
    assert message.startswith("exodus: error: ") and "\n" not in message  # one paragraph
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert not list(reports.rglob("manifest.json"))  # no version, complete or failed
    assert not list(reports.rglob(".build-*"))


def test_good_custom_panel_runs_end_to_end_as_real_not_synthetic(tmp_path, monkeypatch, capsys):
    """The corpus cases fail only because of their defect: the same panel, intact, runs."""
    from analysis.report.run import runner

    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    values = runner.check_inputs_only("custom", {"panel_file": str(path), "comparison_cutoff": "2021-01-25",
                                                 "pre_days": "20", "post_days": "10", "apps": "AppA,AppB",
                                                 "countries": "us"})
    assert values["panel_file"] == str(path)
    from analysis.data.studies.registry import load_study

    data = load_study("custom", panel_file=str(path))
    assert data.synthetic is False and data.panel.height == 80
    assert any(s.get("sha256") for s in data.sources)


def test_panel_file_with_another_study_is_refused(tmp_path):
    from analysis.data.studies.registry import load_study
    from analysis.errors import InputError

    with pytest.raises(InputError, match="--study custom"):
        load_study("demo", panel_file=str(Path(tmp_path) / "x.csv"))


# ==================================================================== hardening (issue 11)
# Confinement, lock grammar, verification, strict JSON, degenerate `exodus fit` inputs and
# storage faults.  Each case prints nothing but the one-line message it asserts.

import errno  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
from datetime import date  # noqa: E402

import polars as pl  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from analysis.data.slug import PathEscape, inside, slug  # noqa: E402
from analysis.errors import DataError  # noqa: E402

TRAVERSALS = ["a/../../../../outside/x", "../demo/demo-20210101-abc/figures/02_its-its-signal", "/etc/passwd",
              "..", ".", "", "a\\..\\..\\x", "C:\\x", "a\x00b", "<!--<script>", "</script>", "Signal", "signal"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_slug_is_safe_and_marks_every_change(name):
    s = slug(name)
    assert re.fullmatch(r"[a-z0-9_-]+", s) and ".." not in s and "/" not in s
    assert (s == name) == bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name))
    assert (slug(s) == s) == (s == name)  # a changed name's slug is changed again: no name takes another's slug


@given(st.text(max_size=80), st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_slug_is_safe_and_injective_on_arbitrary_unicode(a, b):
    for name in (a, b):
        assert re.fullmatch(r"[a-z0-9_-]{1,64}", slug(name))
    if a != b:
        assert slug(a) != slug(b)


def test_slug_keeps_case_apart_and_plain_names_unchanged():
    assert slug("forest-level") == "forest-level" and slug("signal") == "signal"
    assert slug("Signal").startswith("signal-") and slug("Signal") != slug("signal")


@pytest.mark.parametrize("name", TRAVERSALS)
def test_figure_and_table_names_from_data_stay_inside_the_version(name, tmp_path):
    from analysis.report.page.outputs import Outputs, write_table

    version = tmp_path / "reports" / "demo" / "v1"
    out = Outputs(str(version), "02_its")
    p = out.path("figures", f"its-{name}")
    assert p.is_relative_to(version.resolve()) and p.parent == (version / "figures").resolve()
    write_table(pl.DataFrame({"x": [1]}), out.path("tables", name, ".csv"))
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert len(written) == 1 and written[0].is_relative_to(version / "tables")


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/passwd"])
def test_inside_refuses_paths_that_leave_their_root(rel, tmp_path):
    with pytest.raises(PathEscape, match="outside"):
        inside(tmp_path / "root", rel)


def test_inside_refuses_a_symlink_that_leaves_its_root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(PathEscape, match="outside"):
        inside(tmp_path / "root", "link/x")


def _lock_file(tmp_path, path: str, store="ios", country="us", sha=None) -> Path:
    from analysis.data.sources.lock import Entry, Lock, Request, write_lock

    req = Request(stores=["ios"], countries=["us"], charts=["top_free_overall"], start=date(2021, 1, 1),
                  end=date(2021, 1, 1))
    entry = Entry(path=path, store=store, country=country, chart="top_free_overall", date="2021-01-01",
                  commit="a" * 40, snapshot_utc="2021-01-01T12:00:00Z", sha256=sha)
    out = tmp_path / "lock.json"
    write_lock(Lock(req, [entry]), out)
    return out


@pytest.mark.parametrize(("path", "phrase"), [
    ("/tmp/app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("../../app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("app_store/rankings/../../../../outside/app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("x/app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("app_store/rankings/us_TOP_FREE_IOS.json\n", "is not an archive chart path"),
    ("play_store/rankings/us_TOP_FREE.json", "but the entry says ios/us"),
])
def test_lock_entry_paths_must_match_the_archive_grammar_in_full(path, phrase, tmp_path):
    from analysis.data.sources.lock import read_lock

    with pytest.raises(DataError, match="entry 1 is malformed") as exc:
        read_lock(_lock_file(tmp_path, path))
    assert phrase in str(exc.value) and "lock.json" in str(exc.value)


def test_a_good_lock_entry_still_reads(tmp_path):
    from analysis.data.sources.lock import read_lock

    assert read_lock(_lock_file(tmp_path, "app_store/rankings/us_TOP_FREE_IOS.json")).entries[0].country == "us"


def test_a_bogus_hash_never_renames_a_file_outside_the_cache(tmp_path):
    """Even an entry that bypasses read_lock cannot reach outside the cache or the mirror."""
    from analysis.data.sources import fetch
    from analysis.data.sources.lock import Entry

    victim = tmp_path / "victim.json"
    victim.write_text("[]")
    e = Entry(path="../../../victim.json", store="ios", country="us", chart="top_free_overall", date="2021-01-01",
              commit="a" * 40, snapshot_utc="2021-01-01T12:00:00Z", sha256="0" * 64)
    with pytest.raises(PathEscape, match="lock entry path"):
        fetch.local_bytes(e, 1, "lock.json", cache=tmp_path / "cache" / "x")
    with pytest.raises(PathEscape, match="lock entry path"):
        fetch.from_mirror(e, tmp_path / "mirror")
    assert victim.read_text() == "[]" and not list(tmp_path.glob("*.mismatch"))


# -------------------------------------------------------------------- verification


def _fake_version(root: Path, name: str = "demo-20210101-abc", vhash: str = "h" * 64, **extra) -> Path:
    from analysis.report.run.publish import write_manifest

    v = root / "demo" / name
    (v / "figures").mkdir(parents=True)
    (v / "figures" / "a.svg").write_text("<svg/>")
    (v / "index.html").write_text("<html></html>")
    outputs = [{"path": p.relative_to(v).as_posix(), "sha256": __import__("hashlib").sha256(p.read_bytes()).hexdigest()}
               for p in sorted(v.rglob("*")) if p.is_file()]
    write_manifest(v, {"version": name, "version_hash": vhash, "status": "complete", "study": "demo",
                       "created_utc": "2021-01-01T00:00:00+00:00", "outputs": outputs, **extra})
    return v


def test_verify_reports_each_changed_missing_and_unlisted_file_and_exits_1(tmp_path, monkeypatch, capsys):
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    v = _fake_version(reports)
    assert cli.main(["verify"]) == 0
    assert capsys.readouterr().out.splitlines() == ["verified demo-20210101-abc: 2 files match the manifest",
                                                    "1 of 1 versions verified"]
    (v / "figures" / "a.svg").write_text("<svg>tampered</svg>")
    (v / "index.html").unlink()
    (v / "figures" / "evil.png").write_text("x")
    assert cli.main(["verify", "demo-20210101-abc"]) == 1
    out = capsys.readouterr().out
    print(out)
    assert "TAMPERED demo-20210101-abc: 3 difference(s) from the manifest (2 files listed)" in out
    assert "figures/a.svg: sha256" in out and "index.html: missing" in out
    assert "figures/evil.png: not in the manifest" in out


def test_verify_of_an_unknown_version_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    assert cli.main(["verify", "nope"]) == 2
    assert "unknown version 'nope'" in capsys.readouterr().err


def test_a_tampered_version_is_not_identical_and_the_index_marks_it(tmp_path):
    from analysis.report.run import publish, runner

    reports = tmp_path / "reports"
    v = _fake_version(reports)
    assert publish.find_identical(reports / "demo", "h" * 64) == (v, [])
    (v / "figures" / "a.svg").write_text("<svg>tampered</svg>")
    found, notes = publish.find_identical(reports / "demo", "h" * 64)
    assert found is None and "failed verification" in notes[0] and "figures/a.svg" in notes[0]
    broken = reports / "demo" / "demo-20210102-def"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"version": "demo-2021')  # truncated
    index = runner.write_index(reports).read_text()
    assert "tampered: 1 file(s) differ" in index
    assert "demo-20210102-def" in index and "broken: manifest.json is truncated or not JSON" in index


# -------------------------------------------------------------------- strict JSON


def test_json_in_html_cannot_close_or_comment_out_its_script_element():
    from analysis.figures.safejson import script_json
    from analysis.report.page.display import spec_html

    spec = {"data": {"values": [{"app": "<!--<script>", "y": float("nan")}, {"app": "</script>&\u2028\u2029", "y": 1.0}]}}
    html_text = spec_html(spec)
    body = html_text.split('class="exodus-spec">', 1)[1].rsplit("</script>", 1)[0]
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body and "NaN" not in body
    back = json.loads(body)
    assert back["data"]["values"][0] == {"app": "<!--<script>", "y": None}
    assert back["usermeta"]["exodus_nonfinite"] == ["$.data.values[0].y: nan written as null"]
    assert json.loads(script_json({"x": "</script>"})) == {"x": "</script>"}


def test_manifest_is_strict_json_with_a_note(tmp_path):
    from analysis.report.run.publish import write_manifest

    write_manifest(tmp_path, {"parameters": {"downloads_exponent": [1.0, float("inf")]}})
    text = (tmp_path / "manifest.json").read_text()
    assert "Infinity" not in text
    m = json.loads(text)
    assert m["parameters"]["downloads_exponent"] == [1.0, None]
    assert m["json_notes"] == ["$.parameters.downloads_exponent[1]: inf written as null"]


def test_figure_spec_files_are_strict_json(tmp_path):
    import altair as alt

    from analysis.report.page.outputs import write_figure

    chart = alt.Chart(alt.Data(values=[{"x": 1, "y": float("nan")}, {"x": 2, "y": 3.0}])).mark_point().encode(x="x:Q", y="y:Q")
    paths = write_figure(chart, tmp_path / "f", png=False)
    text = paths[0].read_text()
    assert "NaN" not in text and json.loads(text)["usermeta"]["exodus_nonfinite"]


# -------------------------------------------------------------------- exodus fit on degenerate data

DAYS = [date(2021, 1, 1) + __import__("datetime").timedelta(days=i) for i in range(40)]


def _fit(capsys, path, *extra):
    code = cli.main(["fit", str(path), "--date-col", "d", "--outcome", "y", "--intervention", "2021-01-20", *extra])
    err = capsys.readouterr().err.strip()
    print(err)
    return code, err


def _frame(y, **cols) -> pl.DataFrame:
    return pl.DataFrame({"d": DAYS[: len(y)], "y": y, **cols})


@pytest.mark.parametrize(("make", "extra", "phrases"), [
    (lambda: _frame([5.0] * 40), [], ["group (the only group)", "constant (5 on all 40 rows)"]),
    (lambda: pl.concat([_frame([float(i % 7) + i / 10 for i in range(40)], g=["a"] * 40),
                        _frame([float(i % 5) + i / 7 for i in range(30)], g=["b"] * 30)]),
     ["--intervention", "2021-02-05", "--by", "g", "--seasonality", "none"],
     ["group g=b", "rank-deficient", "level@2021-02-05"]),
    (lambda: _frame([1.0 + i for i in range(39)] + [float("inf")]), [], ["column 'y', row 40", "not a finite number"]),
    (lambda: _frame(DAYS[:40]), [], ["column 'y'", "type Date", "refused rather than cast"]),
    (lambda: _frame([i % 2 == 0 for i in range(40)]), [], ["column 'y'", "type Boolean"]),
    (lambda: _frame([[1.0, 2.0]] * 40), [], ["column 'y'", "type List"]),
    (lambda: _frame([1.0 + i for i in range(40)]), ["--outcome", "d"], ["--outcome and --date-col are the same column 'd'"]),
])
def test_fit_refuses_degenerate_designs_naming_group_or_row(make, extra, phrases, tmp_path, capsys):
    path = tmp_path / "data.parquet"
    make().write_parquet(path)
    code, err = _fit(capsys, path, *extra)
    assert code == 2 and err.startswith("exodus: error: ") and "\n" not in err and "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, (phrase, err)


def test_fit_caps_what_by_may_allocate(tmp_path, capsys):
    n = 5000  # one group per row, 5,000 days: 25 million cells
    days = pl.date_range(date(2000, 1, 1), date(2000, 1, 1) + __import__("datetime").timedelta(days=n - 1), "1d", eager=True)
    path = tmp_path / "wide.csv"
    pl.DataFrame({"d": days, "y": [float(i % 9) for i in range(n)], "id": [f"r{i}" for i in range(n)]}).write_csv(path)
    code = cli.main(["fit", str(path), "--date-col", "d", "--outcome", "y", "--intervention", "2005-01-01", "--by", "id"])
    err = capsys.readouterr().err.strip()
    print(err)
    assert code == 2 and "5,000 groups x 5,000 periods = 25,000,000 cells" in err and "unique per row" in err


def test_fit_names_the_row_of_a_ragged_csv(tmp_path, capsys):
    path = tmp_path / "ragged.csv"
    path.write_text("d,y\n" + "".join(f"{d},{i}\n" for i, d in enumerate(DAYS)).replace("2021-01-04,3\n", "2021-01-04,3,9\n"))
    code, err = _fit(capsys, path)
    assert code == 2 and "ragged.csv" in err and "row 4" in err and "truncate_ragged_lines" not in err


# -------------------------------------------------------------------- storage faults and concurrency


def _fast_execute(delay: float = 0.0):
    """Stand-in for the notebooks: writes one figure and completes (the storage layer is what
    these tests exercise)."""
    import time

    def execute(data, params, build, cell_timeout):
        time.sleep(delay)
        (build / "figures").mkdir()
        (build / "figures" / "x.vl.json").write_text("{}")
        return [{"notebook": "01_data_overview.ipynb", "status": "complete", "seconds": 0.0}], None, []

    return execute


def _fail_writes(monkeypatch, code: int, when=lambda p: True):
    """Simulate a read-only or full file system at the write layer (root ignores chmod)."""
    import builtins
    import os

    def boom(p):
        raise OSError(code, os.strerror(code), str(p))

    real_mkdir, real_wt, real_wb, real_open, real_replace = Path.mkdir, Path.write_text, Path.write_bytes, builtins.open, os.replace

    def mkdir(self, *a, **k):
        if when(self) and not self.is_dir():
            boom(self)
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: boom(self) if when(self) else real_wt(self, *a, **k))
    monkeypatch.setattr(Path, "write_bytes", lambda self, *a, **k: boom(self) if when(self) else real_wb(self, *a, **k))
    monkeypatch.setattr(os, "replace", lambda s, d, *a, **k: boom(d) if when(Path(d)) else real_replace(s, d, *a, **k))

    def opener(f, mode="r", *a, **k):
        if any(c in mode for c in "wax+") and when(Path(f)):
            boom(f)
        return real_open(f, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", opener)


@pytest.fixture
def fast_runner(monkeypatch):
    from analysis.report.run import runner

    monkeypatch.setattr(runner, "_execute", _fast_execute())
    return runner


@pytest.mark.parametrize(("code", "reason"), [(errno.EROFS, "read-only file system"), (errno.ENOSPC, "no space left on device")])
def test_a_disk_that_cannot_be_written_gives_one_line_exit_1_and_no_build(code, reason, fast_runner, tmp_path,
                                                                          monkeypatch, capsys):
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    (reports / "demo").mkdir(parents=True)
    # the disk fills up (or turns read-only) when the manifest is written, after the notebooks ran
    _fail_writes(monkeypatch, code, when=lambda p: p.name.startswith(".manifest-"))
    assert cli.main(["run", "-p", "apps=Telegram", "-p", "countries=us"]) == 1
    err = capsys.readouterr().err.strip()
    print(err)
    assert err.startswith("exodus: error: cannot write the report under") and "\n" not in err
    assert reason in err and "partial build was removed" in err
    assert not list(reports.rglob(".build-*")) and not list(reports.rglob("manifest.json"))
    assert not list(reports.rglob(".manifest-*"))


def test_a_read_only_reports_dir_fails_new_runs_in_one_line_and_answers_identical_reruns(fast_runner, tmp_path,
                                                                                       monkeypatch, capsys):
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    assert cli.main(["run", "-p", "apps=Telegram", "-p", "countries=us"]) == 0
    capsys.readouterr()
    _fail_writes(monkeypatch, errno.EROFS, when=lambda p: str(p).startswith(str(reports)))
    assert cli.main(["run", "-p", "apps=Telegram", "-p", "countries=us"]) == 0
    err = capsys.readouterr().err.strip()
    print(err)
    assert "identical to existing version" in err and "index.html was not updated: read-only file system" in err
    assert cli.main(["run", "-p", "apps=Telegram", "-p", "countries=us,de"]) == 1
    err = capsys.readouterr().err.strip()
    print(err)
    assert err.startswith("exodus: error: cannot write the report") and "read-only file system" in err
    assert "\n" not in err


def test_identical_concurrent_runs_yield_one_version(tmp_path, monkeypatch):
    from analysis.report.run import runner

    monkeypatch.setattr(runner, "_execute", _fast_execute(delay=1.5))
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(
        runner.run("demo", {"apps": "Telegram", "countries": "us"}, root=tmp_path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.status for o in outcomes) == ["complete", "identical"]
    assert len({o.path for o in outcomes}) == 1
    assert len([p for p in (tmp_path / "demo").iterdir() if p.name.startswith("demo-")]) == 1


def test_an_identical_rerun_after_tampering_writes_a_fresh_version_and_says_why(fast_runner, tmp_path):
    first = fast_runner.run("demo", {"apps": "Telegram", "countries": "us"}, root=tmp_path)
    (first.path / "figures" / "x.vl.json").write_text('{"tampered": true}')
    again = fast_runner.run("demo", {"apps": "Telegram", "countries": "us"}, root=tmp_path)
    print(again.message)
    assert again.status == "complete" and again.path != first.path
    assert f"existing version {first.path.name} has the same hash but failed verification" in again.message
    index = (tmp_path / "index.html").read_text()
    assert "tampered: 1 file(s) differ" in index

# ---------------------------------------------------------------- the pre-flight (issue 11)

def _run(tmp_path, monkeypatch, capsys, *extra: str, panel: str = GOOD) -> tuple[int, str, Path]:
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    path = tmp_path / "panel.csv"
    path.write_text(panel)
    code = cli.main(["run", "--study", "custom", "-p", f"panel_file={path}", *CUSTOM, *extra])
    return code, capsys.readouterr().err.strip(), reports


def _assert_refused(code: int, message: str, reports: Path, phrases: list[str]) -> None:
    assert code == 2, message
    assert message.startswith("exodus: error: ") and "\n" not in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert not list(reports.rglob("manifest.json")) and not list(reports.rglob(".build-*"))


@pytest.mark.parametrize("param", ["reported_ranks_file", "bigtech_events_file", "events_file"])
@pytest.mark.parametrize("defect", ["missing", "directory"])
def test_file_parameters_must_be_existing_files(param, defect, tmp_path, monkeypatch, capsys):
    target = tmp_path / "given"
    if defect == "directory":
        target.mkdir()
    code, message, reports = _run(tmp_path, monkeypatch, capsys, "-p", f"{param}={target}")
    phrase = "not found" if defect == "missing" else "is a directory"
    _assert_refused(code, message, reports, [param, str(target), phrase])


@pytest.mark.parametrize(
    ("extra", "phrases"),
    [
        (["-p", "seed=-1"], ["seed must be an integer from 0 to 2**32-1", "-1"]),
        (["-p", "focus_app=AppB", "-p", "apps=AppA"], ["focus_app 'AppB' is not in the selection", "apps=['AppA']"]),
        (["-p", "focus_country=gb"], ["focus_country 'gb' is not in the selection", "countries=['us']"]),
        (["-p", "downloads_exponent=1,inf"], ["downloads_exponent must be two finite numbers", "inf"]),
        (["-p", "placebo_apps=Discord,Twitter"], ["placebo_apps ['Discord', 'Twitter'] not in the data",
                                                   "available: ['AppA', 'AppB']"]),
        (["-p", "default_depth=12"], ["panel.csv", "column 'rank'", "row 8", "deeper than default_depth=12", "(found 13)"]),
    ],
)
def test_bad_values_are_refused_before_anything_runs(extra, phrases, tmp_path, monkeypatch, capsys):
    code, message, reports = _run(tmp_path, monkeypatch, capsys, *extra)
    _assert_refused(code, message, reports, phrases)


def test_data_defaults_adapt_to_a_custom_panel(tmp_path):
    """The default placebo apps (absent here) and focus app/country adapt, with notes."""
    from analysis.report.run.preflight import preflight

    path = tmp_path / "panel.csv"
    path.write_text(GOOD)
    checked = preflight("custom", {"panel_file": str(path), "comparison_cutoff": "2021-01-25", "pre_days": "20",
                                   "post_days": "10", "apps": "AppB,AppA", "countries": "us"})
    p = checked.params
    assert p.placebo_apps == [] and p.focus_app == "AppB" and p.focus_country == "us"
    assert any("placebo_apps" in n for n in checked.notes) and any("focus_app" in n for n in checked.notes)


def test_panel_without_chart_depth_takes_the_default_depth(tmp_path):
    from analysis.data.censoring import chart_days
    from analysis.data.studies.registry import load_study

    path = tmp_path / "panel.csv"
    path.write_text(GOOD)
    data = load_study("custom", panel_file=str(path), default_depth=50)
    assert data.chart_depth == 50 and data.panel["chart_depth"].unique().to_list() == [50]
    assert chart_days(data.panel)["chart_depth"].unique().to_list() == [50]  # what notebook 01 needs


def test_relative_paths_resolve_against_the_callers_directory(tmp_path, monkeypatch):
    """What is hashed is what is analysed: a relative panel_file is the caller's file, made
    absolute for the notebooks, even when the project root holds a file of the same name."""
    from analysis.config import ROOT
    from analysis.data.studies.base import sha256
    from analysis.report.run.preflight import preflight

    caller = tmp_path / "elsewhere"
    caller.mkdir()
    (caller / "panel.csv").write_text(GOOD)
    decoy = ROOT / "panel.csv"
    assert not decoy.exists()
    decoy.write_text(GOOD.replace("AppA,1\n", "AppA,2\n"))
    try:
        monkeypatch.chdir(caller)
        checked = preflight("custom", {"panel_file": "panel.csv", "comparison_cutoff": "2021-01-25",
                                       "pre_days": "20", "post_days": "10", "apps": "AppA", "countries": "us"})
    finally:
        decoy.unlink()
    assert checked.params.panel_file == str(caller / "panel.csv")
    assert sha256(checked.data.inputs["panel-panel.csv"]) == sha256((caller / "panel.csv").read_bytes())


def test_side_files_are_hashed_inputs(tmp_path, shared_data):
    from analysis.report.run.preflight import preflight

    reported = shared_data / "reported_app_metrics" / "reported_ranks.csv"
    if not reported.exists():
        pytest.skip("reported ranks not available")
    checked = preflight("demo", {"reported_ranks_file": str(reported)})
    assert checked.data.inputs["reported-reported_ranks.csv"] == reported.read_bytes()


@pytest.mark.slow
def test_custom_panel_with_default_placebos_and_no_chart_depth_runs(tmp_path, monkeypatch, capsys):
    """README step 5 as written: a custom panel without chart_depth, default placebo apps."""
    code, message, reports = _run(tmp_path, monkeypatch, capsys)
    assert code == 0, message
    assert "note: placebo_apps" in message
    (manifest,) = reports.rglob("manifest.json")
    import json

    m = json.loads(manifest.read_text())
    assert m["status"] == "complete" and m["parameters"]["placebo_apps"] == []
    assert m["parameters"]["panel_file"] == str(tmp_path / "panel.csv")


@pytest.mark.slow
def test_non_estimable_selection_completes_and_says_not_identified(tmp_path, monkeypatch, capsys):
    """Signal in the US is below the chart before January: nothing is estimable, the run
    completes and the summary says why."""
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    code = cli.main(["run", "-p", "apps=Signal", "-p", "countries=us"])
    err = capsys.readouterr().err
    assert code == 0, err
    (manifest,) = tmp_path.rglob("manifest.json")
    page = (manifest.parent / "index.html").read_text()
    assert "not identified" in page.lower() and "pre-period" in page
