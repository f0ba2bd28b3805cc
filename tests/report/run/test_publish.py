"""Storage faults and concurrency: a disk that cannot be written, a read-only reports directory, identical concurrent runs, reruns after tampering."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest

from analysis import cli
from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


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
