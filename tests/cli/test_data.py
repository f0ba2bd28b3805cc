"""Bad paths give one line, never a traceback (issue 20): --out or --lock naming a directory
is refused before any work (exit 2); a write past the file-size limit (EFBIG, ``ulimit -f``) is
a one-line storage error (exit 1) with nothing published."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [
    ["data", "fetch", "--lock", "{dir}"],
    ["data", "fetch", "--source", "wikipedia", "--projects", "en.wikipedia", "--articles", "Signal", "--start",
     "2021-01-01", "--end", "2021-01-31", "--lock", "{dir}"],
    ["data", "lock", "--countries", "us", "--charts", "top_free_overall", "--start", "2021-01-01", "--end",
     "2021-01-02", "--out", "{dir}"],
    ["data", "convert", "app-rankings", "{dir}/none.json", "--out", "{dir}"],
    ["data", "lock", "--countries", "us", "--charts", "top_free_overall", "--start", "2021-01-01", "--end",
     "2021-01-02", "--out", "{file}/x.json"],
])
def test_out_or_lock_naming_a_directory_is_refused_before_any_work(args, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_WIKIMEDIA_API", "http://127.0.0.1:9")  # never reached
    (tmp_path / "f").write_text("x")
    argv = [a.format(dir=tmp_path, file=tmp_path / "f") for a in args]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("exodus: error: ") and "\n" not in err and "Traceback" not in err
    assert "is a directory; give a file path" in err or "is a file, not a directory" in err
    assert not (tmp_path / "cache").exists()


def test_an_os_error_that_escapes_a_command_is_one_line(monkeypatch, capsys):
    import errno

    cli_main = sys.modules["analysis.cli.main"]

    def boom(args):
        raise OSError(errno.EFBIG, "File too large", "/reports/x.svg")

    monkeypatch.setattr(cli_main, "_cmd_verify", boom)
    assert cli.main(["verify"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("exodus: error: cannot read or write a file: file too large for the file-size limit (ulimit -f) "
                   "(/reports/x.svg)")


EFBIG_RUN = """
import resource, sys
from analysis import cli
from analysis.report.run import runner

def execute(build, values, cell_timeout):
    (build / "figures").mkdir()
    (build / "figures" / "x.svg").write_bytes(b"x" * 200_000)  # past the 100 kB limit: EFBIG
    return [], None

runner._execute = execute
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
sys.exit(cli.main(["run", "-p", "apps=Telegram", "-p", "countries=us"]))
"""


@pytest.mark.slow
def test_a_run_past_the_file_size_limit_is_one_line_exit_1_and_publishes_nothing(tmp_path):
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-c", EFBIG_RUN], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "EXODUS_REPORTS_DIR": str(reports),
                               "EXODUS_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)})
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert err[-1].startswith("exodus: error: cannot write the report under") and "Traceback" not in proc.stderr
    assert "file too large for the file-size limit (ulimit -f)" in err[-1]
    assert not list(reports.rglob("manifest.json")) and not list(reports.rglob(".build-*"))
