"""Stale build directories (issue 20): `kill -9` leaves `.build-*` behind; the next run removes
it, and only it: a build whose owner is still running is never touched, whatever its age."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.report.run import builds
from analysis.report.run.runner import remove_stale_builds

OWNER = """
import sys, time
from pathlib import Path
import pytest

from analysis.report.run import builds
build = Path(sys.argv[1])
with builds.owned(build):
    build.mkdir()
    (build / "partial.svg").write_bytes(b"x" * 1000)
    print("building", flush=True)
    time.sleep(120)
"""


@pytest.mark.slow  # a subprocess importing the package
def test_only_the_build_of_a_dead_run_is_removed(tmp_path):
    study = tmp_path / "demo"
    study.mkdir()
    build = study / ".build-abc"
    child = subprocess.Popen([sys.executable, "-c", OWNER, str(build)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout.readline().strip() == "building"
        old = time.time() - 3 * 24 * 3600
        os.utime(build, (old, old))  # old, but its owner is alive
        assert remove_stale_builds(study) == [] and build.is_dir()
        os.kill(child.pid, signal.SIGKILL)  # the run is killed mid-build
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
    assert build.is_dir()  # kill -9 leaves it behind ...
    assert remove_stale_builds(study) == [build]  # ... and the next run removes it
    assert not build.exists() and not builds.lock_path(build).exists()


def test_a_build_without_an_owner_file_is_removed_only_after_a_day(tmp_path):
    fresh, old = tmp_path / ".build-fresh", tmp_path / ".build-old"
    fresh.mkdir()
    old.mkdir()
    t = time.time() - 2 * 24 * 3600
    os.utime(old, (t, t))
    assert remove_stale_builds(tmp_path) == [old] and fresh.is_dir()


def test_a_finished_build_releases_and_removes_its_owner_lock(tmp_path):
    build = tmp_path / ".build-x"
    with builds.owned(build):
        build.mkdir()
        assert builds.lock_path(build).exists() and not builds.stale(build)
    assert not builds.lock_path(build).exists()


def test_a_symlinked_study_directory_is_refused_and_nothing_is_written_through_it(tmp_path, monkeypatch, capsys):
    from analysis import cli
    from analysis.report.run import runner
    from tests.report.run.test_publish import _fast_execute

    monkeypatch.setattr(runner, "_execute", _fast_execute())
    reports, elsewhere = tmp_path / "reports", tmp_path / "elsewhere"
    reports.mkdir()
    elsewhere.mkdir()
    (reports / "demo").symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    assert cli.main(["run", "-p", "apps=Telegram", "-p", "countries=us"]) == 2
    err = capsys.readouterr().err
    assert f"{reports / 'demo'} is a symbolic link (to {elsewhere})" in err
    assert list(elsewhere.iterdir()) == []
