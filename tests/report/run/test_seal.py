"""The manifest's own fields are covered by exodus verify (issue 20, item 1 and the first major
break): an edited field is reported TAMPERED by name, and the landing page never shows content
from a manifest that fails verification."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from analysis import cli
from analysis.report.run import runner
from analysis.report.run.publish import write_manifest
from analysis.report.run.seal import SEAL_KEY, seal, version_hash
from analysis.report.run.verify import TAMPERED, VERIFIED, verify_version

PARAMS = {"study": "demo", "seed": 1}
INPUTS = [{"name": "panel.parquet", "sha256": "a" * 64, "bytes": 3}]
CODE = "c" * 64


def _version(root: Path, created: str, paragraph: str, **extra) -> Path:
    vhash = version_hash(PARAMS, {"panel.parquet": "a" * 64}, CODE)
    name = f"demo-{created[:10].replace('-', '')}-{vhash[:12]}"
    v = root / "demo" / name
    v.mkdir(parents=True)
    (v / "index.html").write_text("<html></html>")
    outputs = [{"path": "index.html", "sha256": hashlib.sha256(b"<html></html>").hexdigest()}]
    write_manifest(v, {"version": name, "version_hash": vhash, "status": "complete", "study": "demo",
                       "created_utc": created, "parameters": PARAMS, "inputs": INPUTS, "code_fingerprint": CODE,
                       "headline": [{"series": "Signal us ios", "estimate": -1.0, "ci_low": -1.5, "ci_high": -0.5}],
                       "answer": {"paragraphs": [["Signal", paragraph]], "notes": [], "figure": None},
                       "outputs": outputs, **extra})
    return v


def _edit(v: Path, change) -> None:
    m = json.loads((v / "manifest.json").read_text())
    change(m)
    (v / "manifest.json").write_text(json.dumps(m))


def test_a_written_manifest_is_sealed_and_verifies(tmp_path):
    v = _version(tmp_path, "2021-01-01T00:00:00+00:00", "Signal climbed.")
    m = json.loads((v / "manifest.json").read_text())
    assert m[SEAL_KEY] == seal(m) and "answer.paragraphs" in m[SEAL_KEY]
    assert verify_version(v).status == VERIFIED


@pytest.mark.parametrize(("change", "field", "what"), [
    (lambda m: m["headline"][0].update(estimate=-9.0), "headline", "changed since publication"),
    (lambda m: m["answer"]["paragraphs"][0].__setitem__(1, "Signal fell."), "answer.paragraphs", "changed"),
    (lambda m: m.update(title="fake"), "title", "added after publication"),
    (lambda m: m.pop("created_utc"), "created_utc", "removed"),
    (lambda m: m.update(status="failed"), "status", "changed"),
])
def test_verify_names_each_edited_manifest_field_and_exits_1(change, field, what, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    v = _version(tmp_path, "2021-01-01T00:00:00+00:00", "Signal climbed.")
    _edit(v, change)
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    print(out)
    assert f"TAMPERED {v.name}: 1 difference(s)" in out
    assert f"manifest field {field}: {what}" in out


def test_a_reseal_does_not_hide_a_parameter_edit_from_the_version_hash(tmp_path):
    v = _version(tmp_path, "2021-01-01T00:00:00+00:00", "Signal climbed.")

    def reseal(m):
        m["parameters"]["seed"] = 2
        m[SEAL_KEY] = seal(m)

    _edit(v, reseal)
    check = verify_version(v)
    assert check.status == TAMPERED
    assert check.problems == [p for p in check.problems if p.startswith("manifest field version_hash:")]
    assert len(check.problems) == 1


def test_a_manifest_without_a_seal_is_not_verified(tmp_path):
    v = _version(tmp_path, "2021-01-01T00:00:00+00:00", "Signal climbed.")
    _edit(v, lambda m: m.pop(SEAL_KEY))
    check = verify_version(v)
    assert check.status == TAMPERED and "has no content_sha256 seal" in check.problems[0]


def test_the_landing_page_never_shows_content_from_a_manifest_that_fails_verification(tmp_path):
    old = _version(tmp_path, "2021-01-01T00:00:00+00:00", "Signal climbed, older version.")
    new = _version(tmp_path, "2021-02-01T00:00:00+00:00", "Signal climbed, newer version.")
    index = runner.write_index(tmp_path).read_text()
    assert "newer version" in index and "older version" not in index
    _edit(new, lambda m: m["answer"]["paragraphs"][0].__setitem__(1, "FAKE ANSWER"))
    _edit(new, lambda m: m["headline"][0].update(estimate=-9.0))
    index = runner.write_index(tmp_path).read_text()
    assert "FAKE ANSWER" not in index and "newer version" not in index
    assert "older version" in index and old.name in index  # the newest verified answer instead
    assert "(withheld: this version fails exodus verify)" in index
    assert "\u00d78,100" not in index  # exp(9) = 8,103: the edited headline, as headline_text formats it


def test_a_real_build_writes_a_sealed_manifest_whose_edits_verify_names(tmp_path, monkeypatch):
    from tests.report.run.test_publish import _fast_execute

    monkeypatch.setattr(runner, "_execute", _fast_execute())
    out = runner.run("demo", {"apps": "Telegram", "countries": "us"}, root=tmp_path)
    assert out.status == "complete" and verify_version(out.path).status == VERIFIED
    _edit(out.path, lambda m: m["parameters"].update(seed=7))
    problems = verify_version(out.path).problems
    assert any(p.startswith("manifest field parameters.seed: changed") for p in problems), problems


def test_verify_reports_failed_runs_apart_not_as_verified_versions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    _version(tmp_path, "2021-01-01T00:00:00+00:00", "Signal climbed.")
    failed = _version(tmp_path, "2021-01-02T00:00:00+00:00", "x", failure={"error": "boom"})
    target = tmp_path / "demo" / "failed" / f"{failed.name}-000000-abcdef"
    target.parent.mkdir()
    failed.rename(target)
    assert cli.main(["verify"]) == 0
    out = capsys.readouterr().out.splitlines()
    print(out)
    assert out[-1] == "1 of 1 versions verified; 1 failed run(s) reported apart (1 intact)"
    assert any(line.startswith(f"FAILED RUN {failed.name}") and "not a verified version" in line for line in out)
