"""Version storage: identical inputs stored once, gzipped (hard links to a content-addressed blob,
never to a tampered one); executed notebooks and Vega-Lite specs gzipped reproducibly and
readable back byte for byte; exodus verify detects a tampered compressed file."""

from __future__ import annotations

import gzip
import hashlib
import json

import nbformat
import pytest

from analysis.data.slug import PathEscape
from analysis.report.run import storage


def test_identical_inputs_of_two_versions_share_one_blob_named_by_its_sha256(tmp_path):
    store, blob = tmp_path / "demo" / ".inputs", b"date,rank\n2021-01-08,1\n"
    a = storage.write_input(tmp_path / "demo" / "v1" / "inputs", "panel.csv", blob, store)
    b = storage.write_input(tmp_path / "demo" / "v2" / "inputs", "panel.csv", blob, store)
    sha = hashlib.sha256(blob).hexdigest()
    assert a.name == "panel.csv.gz" and a.read_bytes() == b.read_bytes() and gzip.decompress(a.read_bytes()) == blob
    assert storage.read_input(tmp_path / "demo" / "v1", "panel.csv") == blob
    assert a.stat().st_ino == b.stat().st_ino == (store / f"{sha}.gz").stat().st_ino and a.stat().st_nlink == 3
    other = storage.write_input(tmp_path / "demo" / "v2" / "inputs", "events.csv", b"x\n", store)
    assert other.stat().st_ino != a.stat().st_ino and sorted(p.name for p in store.iterdir()) == sorted(
        [f"{sha}.gz", hashlib.sha256(b"x\n").hexdigest() + ".gz"])


def test_a_tampered_blob_is_replaced_and_never_linked_into_a_new_version(tmp_path):
    store, blob = tmp_path / ".inputs", b"the exact bytes"
    old = storage.write_input(tmp_path / "v1", "a.csv", blob, store)
    old.chmod(0o644)
    old.write_bytes(b"tampered")  # through the link: the blob (and v1) changed
    new = storage.write_input(tmp_path / "v2", "a.csv", blob, store)
    assert gzip.decompress(new.read_bytes()) == blob and old.read_bytes() == b"tampered"  # v1 stays tampered: verify says so
    assert new.stat().st_ino != old.stat().st_ino


def test_an_input_name_cannot_leave_the_inputs_directory(tmp_path):
    with pytest.raises(PathEscape):
        storage.write_input(tmp_path / "v1" / "inputs", "../../escape.csv", b"x", tmp_path / ".inputs")


def test_notebooks_are_gzipped_byte_identically_and_read_back(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        nbformat.write(nb, tmp_path / d / "01.ipynb")
        assert storage.compress_notebooks(tmp_path / d) == [tmp_path / d / "01.ipynb.gz"]
    assert (tmp_path / "a" / "01.ipynb.gz").read_bytes() == (tmp_path / "b" / "01.ipynb.gz").read_bytes()
    assert not (tmp_path / "a" / "01.ipynb").exists()
    back = storage.read_notebook(tmp_path / "a" / "01.ipynb")  # the plain name finds the .gz
    assert back.cells[0].source == "1 + 1"


def test_a_large_input_round_trips_byte_exactly_at_under_a_fifth_of_its_size(tmp_path):
    rows = "".join(f"2021-01-{d % 28 + 1:02d},us,app_store,Signal,{d % 200 + 1},{d * 0.123456789:.9f}\n" for d in range(20_000))
    blob = ("date,country,store,app_name,rank,log_rank\n" + rows).encode()
    gz = storage.write_input(tmp_path / "v" / "inputs", "panel.csv", blob, tmp_path / ".inputs")
    again = storage.write_input(tmp_path / "w" / "inputs", "panel.csv", blob, tmp_path / "other-store")
    assert storage.read_input(tmp_path / "v", "panel.csv") == blob  # byte-exact, every byte
    assert gz.read_bytes() == again.read_bytes()  # level 9, mtime 0, no name: the same .gz every time
    assert len(blob) > 800_000 and gz.stat().st_size < len(blob) / 5


def test_specs_are_gzipped_reproducibly_and_read_back_as_the_same_json(tmp_path):
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.4.json", "mark": "line",
            "data": {"values": [{"date": f"2021-01-{d:02d}", "rank": d * 1.5, "app": "Signal \u2028<b>"} for d in range(1, 29)]}}
    text = json.dumps(spec, sort_keys=True, indent=1) + "\n"
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "f.vl.json").write_text(text, encoding="utf-8")
        (tmp_path / d / "f.svg").write_text("<svg/>")
        assert storage.compress_files(tmp_path / d, "*.vl.json") == [tmp_path / d / "f.vl.json.gz"]
    assert (tmp_path / "a" / "f.vl.json.gz").read_bytes() == (tmp_path / "b" / "f.vl.json.gz").read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["f.svg", "f.vl.json.gz"]  # the SVG stays plain
    assert storage.read_stored(tmp_path / "a" / "f.vl.json") == text.encode()  # the plain name finds the .gz
    assert storage.read_spec(tmp_path / "a" / "f.vl.json.gz") == spec
    with pytest.raises(OSError, match="not a readable gzip"):
        (tmp_path / "a" / "g.vl.json.gz").write_bytes(b"\x1f\x8b garbage")
        storage.read_stored(tmp_path / "a" / "g.vl.json.gz")


def _sealed_version(tmp_path, raw: bytes):
    """A version holding one gzipped input and one gzipped spec, its manifest sealed as a run's."""
    from analysis.report.run.publish import write_manifest
    from analysis.report.run.seal import version_hash

    v = tmp_path / "demo" / "demo-20210101-x"
    storage.write_input(v / "inputs", "panel.csv", raw, tmp_path / "demo" / storage.STORE)
    (v / "figures").mkdir()
    (v / "figures" / "f.vl.json").write_text('{"mark": "point"}')
    storage.compress_files(v / "figures", "*.vl.json")
    inputs = [{"name": "panel.csv", "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}]
    vhash = version_hash({}, {"panel.csv": inputs[0]["sha256"]}, "code")
    m = {"version": f"demo-20210101-{vhash[:12]}", "version_hash": vhash, "status": "complete", "study": "demo",
         "parameters": {}, "inputs": inputs, "code_fingerprint": "code",
         "outputs": [{"path": p.relative_to(v).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                     for p in sorted(v.rglob("*")) if p.is_file()]}
    write_manifest(v, m)
    return v, m


@pytest.mark.parametrize("target", ["inputs/panel.csv.gz", "figures/f.vl.json.gz"])
def test_verify_detects_a_tampered_compressed_file(tmp_path, target):
    from analysis.report.run.verify import TAMPERED, VERIFIED, verify_version

    raw = b"date,rank\n2021-01-08,1\n"
    v, _ = _sealed_version(tmp_path, raw)
    assert verify_version(v).status == VERIFIED and verify_version(v).n_files == 2
    f = v / target
    f.chmod(0o644)
    f.unlink()  # the input is a hard link to the study's store: replace it, as an editor would
    f.write_bytes(gzip.compress(b"date,rank\n2021-01-08,2\n" if "inputs" in target else b'{"mark": "bar"}', mtime=0))
    check = verify_version(v)
    assert check.status == TAMPERED and check.problems[0].startswith(f"{target}: sha256 "), check.problems
    if "inputs" in target:  # its raw bytes are not the input's identity either
        assert check.problems[1].startswith("inputs/panel.csv: its raw bytes have sha256 "), check.problems


def test_verify_checks_the_raw_sha256_of_an_input_even_when_the_file_list_was_rewritten(tmp_path):
    from analysis.report.run.publish import write_manifest
    from analysis.report.run.verify import TAMPERED, verify_version

    v, m = _sealed_version(tmp_path, b"the exact bytes\n")
    gz = v / "inputs" / "panel.csv.gz"
    gz.unlink()
    gz.write_bytes(gzip.compress(b"other bytes\n", mtime=0))
    m["outputs"] = [{"path": p.relative_to(v).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                    for p in sorted(v.rglob("*")) if p.is_file() and p.name != "manifest.json"]
    write_manifest(v, {k: val for k, val in m.items() if k != "content_sha256"})  # resealed: outputs consistent
    check = verify_version(v)
    assert check.status == TAMPERED and len(check.problems) == 1, check.problems
    assert check.problems[0].startswith("inputs/panel.csv: its raw bytes have sha256 ")
    gz.unlink()
    gz.write_bytes(b"\x1f\x8b not gzip")
    assert any("inputs/panel.csv: unreadable" in p for p in verify_version(v).problems)
