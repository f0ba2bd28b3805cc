"""exodus verify: changed, missing and unlisted files, unknown versions, tampered versions (moved from the bad-input corpus)."""

from __future__ import annotations

from pathlib import Path

from analysis import cli
from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


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
